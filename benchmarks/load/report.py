"""What console_load.py prints: one table (a row per endpoint and connection count, the bare app, the naive path),
then the figures that are not rows."""

from __future__ import annotations

from typing import Any

from harness import fixed, fmt

HEADER = (
    f"{'endpoint':<28}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>7}{'timeouts':>9}"
    f"{'T/s':>6}{'T/req':>8}{'lag p99':>9}{'stale':>6}{'% bare':>7}"
)


def row_line(row: dict[str, Any]) -> str:
    per_request = row.get("temporal_calls_per_request")
    bare = row.get("percent_of_bare")
    return (
        f"{row['name'][:27]:<28}{row['connections']:>6}{row['rps']:>9.0f}{fixed(row['p50_ms']):>9}"
        f"{fixed(row['p95_ms']):>9}{fixed(row['p99_ms']):>9}{row['errors'] + row['socket_errors']:>7}"
        f"{row['timeouts']:>9}"
        f"{row['temporal_calls_per_s']:>6.1f}{'n/a' if per_request is None else f'{per_request:.3f}':>8}"
        f"{fixed(row.get('loop_lag_p99_ms')):>9}"
        f"{'yes' if row['stale_mirrors'] else 'no':>6}{'' if bare is None else f'{bare:.0f}%':>7}"
    )


def naive_line(result: dict[str, Any]) -> str:
    label = {"summary": "naive: summary query", "snapshot": "naive: full snapshot"}[result["kind"]]
    ratio = result.get("console_over_naive")
    qpr = result.get("queries_per_request")
    console_qpr = result.get("console_temporal_calls_per_request")
    return (
        f"{label:<28}{result['connections']:>6}{result['rps']:>9.0f}{fixed(result['p50_ms']):>9}"
        f"{fixed(result['p95_ms']):>9}{fixed(result['p99_ms']):>9}{result['errors']:>7}{result['timeouts']:>9}"
        f"{result['queries_per_s']:>6.0f}{'n/a' if qpr is None else f'{qpr:.2f}':>8}"
        f"   console {fmt(result.get('console_rps'))} req/s = {'n/a' if ratio is None else f'{ratio:.1f}×'} naive"
        f" ({'n/a' if console_qpr is None else f'{console_qpr:.3f}'} Temporal calls/request)"
    )


def print_report(results: dict[str, Any]) -> None:
    """The one table, then the figures that are not per-endpoint rows."""
    settings = results["settings"]
    print()
    print(f"Release Console load benchmark — {results['started_at'][:19]}Z, code {results['code']['revision']} "
          f"({results['code']['root']}), {settings['cpus']} CPUs, wrk -t{settings['wrk_threads']}"
          f" --timeout {settings['timeout_s']:g}s, {settings['duration_s']:g} s per row")
    print("errors = HTTP >= 400 + socket errors; timeouts = answers after the timeout (wrk's count; not in the "
          "percentiles);\nT/s, T/req = Temporal calls of the whole console (/stats total: mostly its pollers, about "
          "2/s per watched release) per second and per request;\nnaive rows: T/s = queries sent per second, T/req = "
          "queries per answered request; lag p99 = /stats loop_lag; stale = a mirror stale after the row")
    print(HEADER)
    print("-" * len(HEADER))
    for row in results["rows"]:
        print(row_line(row))
    bare = results.get("bare_fastapi")
    if bare:
        print(f"{'bare FastAPI /health':<28}{bare['connections']:>6}{bare['rps']:>9.0f}{fixed(bare['p50_ms']):>9}"
              f"{fixed(bare['p95_ms']):>9}{fixed(bare['p99_ms']):>9}{bare['errors'] + bare['socket_errors']:>7}"
              f"{bare['timeouts']:>9}{'':>6}{'':>8}{'':>9}{'':>6}{'100%':>7}")
    if results.get("release_list"):
        print(row_line(results["release_list"]))
    for result in results.get("naive", []):
        print(naive_line(result))
    print("-" * len(HEADER))
    calls = results.get("temporal_calls")
    if calls:
        one, many = calls.get("1", {}), calls.get("200", {})
        print(f"Temporal calls/s (whole console, {calls['window_s']:g} s windows, 10k detail): "
              f"1 reader {fixed(one.get('temporal_calls_per_s'))}/s ({fmt(one.get('rps'))} req/s), "
              f"200 readers {fixed(many.get('temporal_calls_per_s'))}/s ({fmt(many.get('rps'))} req/s, "
              f"{many.get('timeouts', 'n/a')} timeouts)")
    latency = results.get("change_latency_ms")
    if latency:
        r, s = latency["rest"], latency["sse"]
        print(f"change → REST: p50 {fixed(r['p50_ms'], 0)} ms, p95 {fixed(r['p95_ms'], 0)} ms "
              f"({r['samples']} samples, {r['missed']} missed); change → SSE: p50 {fixed(s['p50_ms'], 0)} ms, "
              f"p95 {fixed(s['p95_ms'], 0)} ms ({s['samples']} samples, {s['missed']} missed); "
              f"MIRROR_POLL_SECONDS={latency['mirror_poll_seconds']}")
    cold = results.get("cold_open_ms", {})
    if cold:
        print("cold open (GET ?depth=1, first reader): " + ", ".join(
            f"{label} release {v['ms']:,.0f} ms ({v['entities']:,} entities)" for label, v in cold.items()
        ))
    rss = results.get("rss_kib", {})
    if rss:
        print("console RSS: " + ", ".join(f"{k.replace('_', ' ')} {v / 1024:,.0f} MiB" for k, v in rss.items() if v)
              + (f"; per 100,000 mirrored entities {results['rss_kib_per_100k_entities'] / 1024:,.0f} MiB"
                 if results.get("rss_kib_per_100k_entities") else ""))
    lst = results.get("release_list")
    if lst:
        print(f"release list with {lst['listed']:,} releases: first page (limit=50) at 10 connections "
              f"p95 {fixed(lst['p95_ms'])} ms, {lst['rps']:.0f} req/s ({lst['releases_started']:,} started in "
              f"{lst['start_seconds']:.0f} s)")
    transitions = results.get("background_transitions")
    if transitions:
        print(f"background transitions on the 10k release: {transitions['reported']:,} reported, "
              f"{transitions['failed']} failed")
    silent = [f"{r['name']} ×{r['connections']} ({r['timeouts']} late answers, {r['unanswered']} still open)"
              for r in [*results["rows"], *([results["release_list"]] if results.get("release_list") else [])]
              if r["p50_ms"] is None]
    if silent:
        print(f"no answer within {settings['timeout_s']:g} s (wrk never gives up on a request, so these "
              "rows count only the answers that came at all): " + ", ".join(silent))
    stuck = [f"{n['kind']} ×{n['connections']}" for n in results.get("naive", []) if n.get("stuck_readers")]
    if stuck:
        print("naive readers still stuck in a Temporal call at the end: " + ", ".join(stuck))
    slow = [f"{r['name']} ×{r['connections']} ({r['stats_after_s']:.0f} s)" for r in results["rows"]
            if r.get("stats_after_s", 0) > 2]
    if slow:
        print("backlog: /stats answered late after " + ", ".join(slow))
    stale_rows = [r["name"] for r in results["rows"] if r["stale_mirrors"]]
    print(f"stale mirrors after a row: {', '.join(sorted(set(stale_rows))) if stale_rows else 'none'}")
    if all(r.get("loop_lag") is None for r in results["rows"]):
        print("event-loop lag: n/a (this console's /api/v1/stats has no loop_lag)")
    for problem in results.get("problems", []):
        print(f"problem: {problem}")
    print(f"run took {results.get('elapsed_s', 0):.0f} s")
