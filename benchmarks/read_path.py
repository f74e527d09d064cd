"""Benchmark of the read path: Temporal queries and latency of GET /api/v1/releases/{id} for N concurrent readers.

Starts its own `temporal server start-dev` and an in-process worker, creates one release, then prints figures
(no pass/fail): how many Temporal queries each burst of readers caused, p50/p95 latency, and how long a change
made through the workflow Update takes to show in the REST answer.

    python benchmarks/read_path.py [--apps 10000] [--readers 1 10 50 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Processes, free_port, percentile, start_temporal


async def run(apps: int, readers: list[int], rounds: int) -> None:
    import httpx
    from fastapi import FastAPI

    from release_console import services as services_module
    from release_console.api.docs import install_api
    from release_console.api.main import api_router
    from release_console.core.config import get_settings
    from release_console.services import Services
    from release_console.temporal.releases import build_plan, report, start_release

    settings = get_settings()
    services = Services(settings)
    services_module.install(services)
    await services.start()
    app = FastAPI()
    app.include_router(api_router)
    install_api(app)
    try:
        per_bundle = 100
        clusters = max(1, apps // per_bundle // 10)
        key = f"bench-{secrets.token_hex(3)}"
        plan = build_plan(key, waves=10, clusters_per_wave=clusters, apps_per_bundle=per_bundle)
        await start_release(services.client, settings, plan)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bench", timeout=60) as api:
            await services.accounts.loaded.wait()  # type: ignore[union-attr]
            login = await api.post(
                "/api/v1/login/access-token",
                data={"username": settings.FIRST_ADMIN_USERNAME, "password": os.environ["FIRST_ADMIN_PASSWORD"]},
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            url = f"/api/v1/releases/{plan.id}?depth=1"

            started = time.perf_counter()
            first = await api.get(url, headers=headers)
            cold = time.perf_counter() - started
            body = first.json()
            print(f"release {plan.id}: {body['apps_total']} apps, {body['entity_count']} entities")
            print(f"cold load (first reader, snapshot pages + catch-up): {cold * 1000:.0f} ms, "
                  f"Temporal calls for the load: {services.stats.for_release(plan.id)}")
            print()
            print(f"{'readers':>8} {'requests':>9} {'queries':>8} {'p50 ms':>8} {'p95 ms':>8} {'poll interval':>14}")
            for n in readers:
                latencies: list[float] = []
                queries_before = services.stats.queries
                burst_started = time.perf_counter()

                async def one(latencies: list[float] = latencies) -> None:
                    t0 = time.perf_counter()
                    response = await api.get(url, headers=headers)
                    latencies.append(time.perf_counter() - t0)
                    assert response.status_code == 200, response.text

                for _ in range(rounds):
                    await asyncio.gather(*(one() for _ in range(n)))
                elapsed = time.perf_counter() - burst_started
                queries = services.stats.queries - queries_before
                print(f"{n:>8} {len(latencies):>9} {queries:>8} {percentile(latencies, 0.5) * 1000:>8.1f} "
                      f"{percentile(latencies, 0.95) * 1000:>8.1f} {settings.MIRROR_POLL_SECONDS:>12.2f} s"
                      f"   (burst took {elapsed:.2f} s; queries come from the one poller only)")

            delays = []
            for i in range(5):
                app_id = f"app:{plan.id.partition(':')[2]}-w1-c1-a{i + 1}"
                result = await report(services.client, plan.id, [(app_id, "deployed")])
                t0 = time.perf_counter()
                mirror = await services.mirrors.get(plan.id)  # type: ignore[union-attr]
                await mirror.wait_for_version(result.version - 1, timeout=30)
                entity = (await api.get(f"/api/v1/releases/{plan.id}/entities/{app_id}", headers=headers)).json()
                assert entity["version"] >= result.version and entity["entity"]["state"] == "deployed"
                delays.append(time.perf_counter() - t0)
            print()
            print(f"update → visible in REST: median {statistics.median(delays) * 1000:.0f} ms, "
                  f"max {max(delays) * 1000:.0f} ms (MIRROR_POLL_SECONDS={settings.MIRROR_POLL_SECONDS})")
            print(f"read-path Temporal calls in total: {services.stats.snapshot()['calls']}")
    finally:
        await services.stop()
        services_module.install(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--readers", type=int, nargs="+", default=[1, 10, 50, 200])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    port = free_port()
    data = tempfile.mkdtemp(prefix="release-console-bench-")
    os.environ.update(
        {
            "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
            "TEMPORAL_TASK_QUEUE": "bench",
            "DATA_DIR": data,
            "RUN_WORKER": "true",
            "DEMO": "off",
            "FIRST_ADMIN_USERNAME": "admin",
            "FIRST_ADMIN_PASSWORD": secrets.token_urlsafe(16),
            "BCRYPT_ROUNDS": "4",
        }
    )
    procs = Processes(Path(data))
    try:
        start_temporal(procs, port, dict(os.environ), Path(data))
        asyncio.run(run(args.apps, args.readers, args.rounds))
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
