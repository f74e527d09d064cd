-- wrk report for benchmarks/console_load.py: prints one JSON line (prefixed "WRK_JSON ") when the run is done.
--   wrk --latency --timeout 2s -s benchmarks/wrk_report.lua -H "Authorization: Bearer ..." http://127.0.0.1:PORT/path
-- Latencies are in microseconds and cover only answers within --timeout (wrk counts later answers as "timeout"
-- and never gives up on a request); errors are wrk's counters ("status" = answers with HTTP status >= 400).
-- "sent" counts requests written, so sent - requests = requests still unanswered when the run ended.

local threads = {}
local req = nil
sent = 0

function setup(thread)
  table.insert(threads, thread)
end

function request()
  sent = sent + 1
  if req == nil then
    req = wrk.format()
  end
  return req
end

function done(summary, latency, requests)
  local total_sent = 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + (thread:get("sent") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "sent": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, ' ..
    '"p50": %d, "p75": %d, "p90": %d, "p95": %d, "p99": %d}}\n',
    summary.requests, total_sent, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(95), latency:percentile(99)))
end
