-- A password spray for benchmarks/console_load.py: wrong passwords for ever-new usernames from ever-new addresses
-- (X-Forwarded-For, believed because the benchmark's console trusts 127.0.0.1), so every attempt gets past the
-- login throttle and costs a bcrypt check, as a spray from many machines would. Reports like wrk_report.lua.
--   WRK_REPORT=benchmarks/wrk_report.lua wrk -s benchmarks/wrk_spray.lua http://127.0.0.1:PORT/api/v1/login/access-token
dofile(os.getenv("WRK_REPORT"))

local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function request()
  sent = sent + 1
  headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255),
    math.random(1, 254))
  local body = string.format("username=spray-%d&password=wrong-password-%d", math.random(1, 1e9), sent)
  return wrk.format("POST", nil, headers, body)
end
