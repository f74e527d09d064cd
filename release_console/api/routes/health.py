"""GET /health (liveness, no auth), GET /ready (Temporal reachable, no auth), GET /stats (read-path call counts)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from ...readpath.entity_index import IndexProgress
from ...runtime import drain
from ..deps import CurrentUser, running_services
from ..errors import ApiError
from ..schemas import (
    EntityIndexStats,
    ErrorResponse,
    HealthResponse,
    LoopLag,
    MirrorStats,
    ReadyResponse,
    StatsResponse,
)

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthResponse, summary="Liveness (no auth)")
async def health() -> HealthResponse:
    """200 while the process serves requests."""
    return HealthResponse(status="ok")


@router.get(
    "/ready",
    response_model=ReadyResponse,
    summary="Readiness: Temporal reachable (no auth)",
    responses={503: {"model": ErrorResponse, "description": "Temporal cannot be reached, or this instance is "
                     "stopping (code ``draining``); see Retry-After"}},
)
async def ready() -> ReadyResponse:
    """200 when Temporal answers a cheap call within the RPC timeout, else 503 with Retry-After (answer reused ~1 s).

    503 ``draining`` from the moment this instance got SIGTERM (runtime/drain.py): send traffic elsewhere."""
    services = running_services()
    if drain.current().active:
        raise ApiError(503, "draining", "this instance is stopping", headers={"Retry-After": "1"})
    await services.gateway.check_shared()  # one Temporal call per second at most, however many probes
    return ReadyResponse(status="ready", temporal="ok")


@router.get("/stats", response_model=StatsResponse, summary="Temporal calls made by the read path")
async def stats(user: CurrentUser) -> StatsResponse:
    """Counts of queries, describe and list calls since start-up, the mirrors currently kept and event-loop lag."""
    services = running_services()
    mirrors = services.mirrors.mirrors
    return StatsResponse(
        **services.stats.snapshot(),
        mirrors=[
            MirrorStats(
                release_id=m.release_id,
                version=m.version,
                status=m.status,
                listeners=m.listener_count,
                stale=m.stale,
                as_of=m.as_of,
            )
            for m in mirrors
        ],
        release_list_size=len(services.release_list.items),
        loop_lag=LoopLag(**asdict(services.loop_lag.figures())),
        poll_latency=services.stats.poll_latency(),
        entity_index=_index_stats(services.entity_index.progress()),
    )


def _index_stats(progress: IndexProgress) -> EntityIndexStats:
    """The entity index's progress and query counts as the stats answer shows them."""
    return EntityIndexStats(complete=progress.complete, **asdict(progress))
