"""The demo driver: starts releases of several sizes and moves them through realistic states.

It uses the same Update an external deployment system would use. Waves run one after another,
the clusters of a wave in parallel; a few apps fail and are rolled back.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from loguru import logger
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from .core.config import Settings
from .domain.plan import PlanNode
from .temporal.releases import build_plan, report, start_release


@dataclass(frozen=True)
class DemoRelease:
    """One demo release: its shape, pace and how often an app fails."""

    key: str
    waves: int
    clusters: int
    apps: int
    step_seconds: float
    failure_rate: float
    start_after: float = 0.0


# A wave takes about 7 steps (more with rollbacks), so each release runs for roughly 2-4 minutes;
# "ledger" starts moving after two minutes, so a newcomer also sees a pending release come alive.
DEMO_RELEASES = (
    DemoRelease("checkout-2026.11.3", waves=3, clusters=2, apps=4, step_seconds=8.0, failure_rate=0.0),
    DemoRelease("payments-2026.11.1", waves=4, clusters=4, apps=12, step_seconds=5.0, failure_rate=0.04),
    DemoRelease("platform-2026.47", waves=5, clusters=10, apps=25, step_seconds=4.0, failure_rate=0.01),
    DemoRelease("search-2026.11.2", waves=2, clusters=3, apps=6, step_seconds=8.0, failure_rate=0.3, start_after=20),
    DemoRelease("ledger-2026.12.0", waves=3, clusters=3, apps=5, step_seconds=6.0, failure_rate=0.0, start_after=120),
)


async def run_demo(client: Client, settings: Settings, releases: tuple[DemoRelease, ...] = DEMO_RELEASES) -> None:
    """Drive every demo release concurrently until each is finished."""
    results = await asyncio.gather(
        *(_drive(client, settings, r, random.Random(r.key)) for r in releases), return_exceptions=True
    )
    for spec, result in zip(releases, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            logger.warning("demo: release:{} stopped: {!r}", spec.key, result)
    logger.info("demo: all releases finished")


async def _drive(client: Client, settings: Settings, spec: DemoRelease, rng: random.Random) -> None:
    plan = build_plan(spec.key, spec.waves, spec.clusters, spec.apps)
    try:
        await start_release(client, settings, plan)
    except WorkflowAlreadyStartedError:
        logger.info("demo: {} exists already; leaving it alone", plan.id)
        return
    logger.info("demo: started {} ({} apps)", plan.id, spec.waves * spec.clusters * spec.apps)
    await asyncio.sleep(spec.start_after)
    driver = _Driver(client, plan.id, spec, rng)
    try:
        await driver.run(plan)
    except (WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as exc:
        logger.warning("demo: {} stopped: {}", plan.id, exc)


class _Driver:
    """Moves one release; every step is one batch (one Update)."""

    def __init__(self, client: Client, release_id: str, spec: DemoRelease, rng: random.Random) -> None:
        self.client = client
        self.release_id = release_id
        self.spec = spec
        self.rng = rng

    async def send(self, transitions: list[tuple[str, str]]) -> None:
        for start in range(0, len(transitions), 500):
            await report(self.client, self.release_id, transitions[start : start + 500])

    async def pause(self) -> None:
        await asyncio.sleep(self.spec.step_seconds * self.rng.uniform(0.6, 1.4))

    async def run(self, plan: PlanNode) -> None:
        await self.send([(plan.id, "deploying")])
        failed_waves = 0
        for wave in plan.children:
            await self.send([(wave.id, "deploying")])
            await self.pause()
            results = await asyncio.gather(*(self.cluster(c) for c in wave.children))
            wave_ok = all(results)
            await self.send([(wave.id, "deployed" if wave_ok else "failed")])
            if not wave_ok:
                failed_waves += 1
                if self.rng.random() < 0.5:
                    await self.halt(plan, wave)
                    return
        await self.send([(plan.id, "deployed" if failed_waves == 0 else "failed")])

    async def cluster(self, cluster: PlanNode) -> bool:
        bundle = cluster.children[0]
        await self.send([(cluster.id, "deploying"), (bundle.id, "deploying")])
        ok = True
        apps = bundle.children
        for start in range(0, len(apps), max(1, len(apps) // 3)):
            chunk = apps[start : start + max(1, len(apps) // 3)]
            await self.send([(a.id, "deploying") for a in chunk])
            await self.pause()
            await self.send([(a.id, "verifying") for a in chunk])
            await self.pause()
            outcome = [(a, self.rng.random() >= self.spec.failure_rate) for a in chunk]
            await self.send([(a.id, "deployed" if good else "failed") for a, good in outcome])
            bad = [a for a, good in outcome if not good]
            if bad:
                ok = False
                await self.pause()
                await self.send([(a.id, "rolling_back") for a in bad])
                await self.pause()
                await self.send([(a.id, "rolled_back") for a in bad])
        state = "deployed" if ok else "failed"
        await self.send([(bundle.id, state), (cluster.id, state)])
        return ok

    async def halt(self, plan: PlanNode, failed_wave: PlanNode) -> None:
        """Stop the release after a failed wave: later waves are cancelled, the release rolled back."""
        later = plan.children[plan.children.index(failed_wave) + 1 :]
        await self.send([(node.id, "cancelled") for wave in later for node in _subtree(wave)])
        await self.send([(plan.id, "rolling_back")])
        await self.pause()
        await self.send([(plan.id, "rolled_back")])


def _subtree(node: PlanNode) -> list[PlanNode]:
    """A node and all its descendants."""
    nodes = [node]
    for child in node.children:
        nodes.extend(_subtree(child))
    return nodes
