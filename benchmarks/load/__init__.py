"""The parts of benchmarks/console_load.py, one job each: stack.py (the processes it starts and its handles on them:
releases, login, the console's figures), latency.py (change → REST/SSE, the password spray, cold opens and memory,
background transitions), throughput.py (the wrk rows and what they are compared with), naive.py (the naive reader
process) and report.py (the printed table and summary)."""
