"""Example: a CI step that waits until a release is deployed, authenticated with an API key.

Create the key once (the console's ⋮ menu → API keys, or ``POST /api/v1/api-keys``) and give it to the job as a
secret; no password is stored and nothing logs in every hour. Exit code 0 when the release reached ``deployed``,
1 when it failed or the wait timed out, 2 for a bad key or an unknown release.

    RELEASE_CONSOLE_URL=https://console.example.com RELEASE_CONSOLE_API_KEY=rck_... \\
        python examples/wait_for_release.py release:rel-001 --timeout 1800
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import httpx

DONE, FAILED = {"deployed"}, {"failed", "rolled_back", "cancelled"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("release_id")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait at most")
    parser.add_argument("--every", type=float, default=10, help="seconds between two looks")
    args = parser.parse_args()
    base = os.environ.get("RELEASE_CONSOLE_URL", "http://localhost:8080").rstrip("/")
    headers = {"Authorization": f"Bearer {os.environ['RELEASE_CONSOLE_API_KEY']}"}
    deadline = time.monotonic() + args.timeout
    with httpx.Client(base_url=base, headers=headers, timeout=30) as console:
        while True:
            answer = console.get(f"/api/v1/releases/{args.release_id}", params={"depth": 0})
            if answer.status_code in (401, 403, 404, 422):
                print(f"{answer.status_code}: {answer.text[:200]}", file=sys.stderr)
                return 2
            if answer.status_code == 200:
                body = answer.json()
                state, status = body["state"], body.get("status", "running")
                print(f"{args.release_id}: {state} ({status})")
                if state in DONE:
                    return 0
                if state in FAILED or status != "running":  # a workflow that ended without deploying
                    return 1
            if time.monotonic() > deadline:
                print("timed out", file=sys.stderr)
                return 1
            wait = answer.headers.get("Retry-After") if answer.status_code in (429, 503) else None
            time.sleep(float(wait) if wait and wait.isdigit() else args.every)

if __name__ == "__main__":
    sys.exit(main())
