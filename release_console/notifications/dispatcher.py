"""Notifier: events worked out once per console, fanned out to the channels of matching subscriptions.

Release events come from the shared release list (each listing that changed something: only rows that are new
objects are compared). Failures below a node need the tree: when a release's failure count grows and someone wants
``wave.failed``/``app.failed`` for it, its shared mirror is read (one per release, whatever the subscribers) and
its failures grouped into bursts: the first failure is told at once, the rest of a burst in one summary once the
burst is over. Stalls are checked on a timer. Each event goes once to each channel (two subscriptions on one
channel make one message) through DeliveryLog, whose deterministic ids make the delivery happen once across
instances and restarts. Nothing here queries Temporal per subscriber; at rest it queries nothing at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections import Counter, OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from loguru import logger

from ..core.config import Settings
from ..core.tasks import cancel_and_wait
from ..domain.ids import EntityType
from ..readpath.errors import ReadPathError
from ..readpath.mirror import MirrorRegistry
from ..readpath.release_list import ReleaseList, ReleaseListItem
from ..workflows.delivery import Message
from . import events as ev
from .deliveries import DeliveryKey, DeliveryLog
from .errors import NotificationsUnavailable
from .messages import FAILURE_EVENTS, compose
from .models import TREE_EVENTS
from .service import NotificationsService

STARTERS = 4
"""Deliveries being started at once."""
STARTED_KEPT = 100_000
"""Delivery ids remembered as started (so a listing that repeats an event costs no call)."""
SUMMARY_GRACE_SECONDS = 3.0
"""A burst's summary waits this long past the burst's end, so late-listed failures of the burst are in it."""
STALL_CHECK_MAX_SECONDS = 15.0
"""Stalls are checked every quarter of NOTIFY_STALLED_MIN_SECONDS, at most this long apart."""
MIRROR_CATCH_UP_SECONDS = 5.0
"""How long a failure check waits for the mirror to reach the version the list showed."""
MAX_LATE_SECONDS = 86400.0
"""A release first seen this long after its event (a day-long outage) no longer has it told: older deliveries may
be gone from Temporal's retention, and then their deterministic ids would no longer refuse a second start."""
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits between attempts to start a delivery while Temporal does not answer (then every 30 s, up to
NOTIFY_GIVE_UP_SECONDS)."""


class Notifier:
    """Turns what the read path sees into deliveries."""

    def __init__(self, service: NotificationsService, deliveries: DeliveryLog, releases: ReleaseList,
                 mirrors: MirrorRegistry, settings: Settings, active_user: Callable[[str], bool]) -> None:
        self.service = service
        self.active_user = active_user
        """Whether a username is an enabled user: the subscriptions of deleted or disabled users are not told."""
        self.deliveries = deliveries
        self.releases = releases
        self.mirrors = mirrors
        self.settings = settings
        self.events_seen = 0
        self.stall_check_seconds = min(STALL_CHECK_MAX_SECONDS, max(0.25, settings.NOTIFY_STALLED_MIN_SECONDS / 4))
        self._seen: dict[str, ReleaseListItem] = {}
        self._started: OrderedDict[str, None] = OrderedDict()
        self._pending: set[str] = set()
        """Delivery ids queued or being started (an event seen again meanwhile is not queued twice)."""
        self._queue: asyncio.Queue[tuple[DeliveryKey, Message]] = asyncio.Queue()
        self._tree_checks: dict[str, asyncio.Task] = {}
        self._tree_again: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._readings: set[asyncio.Task] = set()
        """Failing nodes being read for a release event before it is told."""
        self._tasks: list[asyncio.Task] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._unsubscribe_records: Callable[[], None] | None = None
        self._since: datetime | None = None
        """Events since then are told: NOTIFY_CATCH_UP_SECONDS before the first look at the list (see _window)."""

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._unsubscribe = self.releases.add_listener(self._on_list)
        self._unsubscribe_records = self.service.add_listener(self._on_records)
        self._tasks = [asyncio.create_task(self._starter(), name=f"notify-start-{n}") for n in range(STARTERS)]
        self._tasks.append(asyncio.create_task(self._stall_loop(), name="notify-stalls"))
        if self.releases.items:
            self._on_list(self.releases)

    async def stop(self) -> None:
        for unsubscribe in (self._unsubscribe, self._unsubscribe_records):
            if unsubscribe is not None:
                unsubscribe()
        self._unsubscribe = self._unsubscribe_records = None
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await cancel_and_wait(*self._tasks, *self._tree_checks.values(), *self._readings)
        self._tasks.clear()

    @property
    def busy(self) -> bool:
        """Whether something seen is not yet handed to Temporal: deliveries queued or being started, failures being
        read, or a burst's summary still due."""
        return bool(self._pending or self._tree_checks or self._timers or self._readings)

    def started_ids(self) -> list[str]:
        """The ids of the deliveries this console started or found started (newest last; at most STARTED_KEPT)."""
        return list(self._started)

    def _window(self, now: datetime) -> float:
        """How far back an event of a release seen for the first time is still told, in seconds.

        At the first look (start-up) that is NOTIFY_CATCH_UP_SECONDS: what happened while no console ran, or between
        an event and its delivery's start before a restart. Later it grows with the time since then, so a release
        that appears only now (visibility's lag, Temporal unreachable for a while) has every event told that
        happened since this console started looking (up to MAX_LATE_SECONDS more)."""
        if self._since is None:
            self._since = now - timedelta(seconds=self.settings.NOTIFY_CATCH_UP_SECONDS)
        return min((now - self._since).total_seconds(), self.settings.NOTIFY_CATCH_UP_SECONDS + MAX_LATE_SECONDS)

    def _on_records(self, _service: NotificationsService) -> None:
        """Subscriptions loaded or changed: the rows that waited for the first load are compared now."""
        self._on_list(self.releases)

    # ---- release list ----------------------------------------------------------------------------
    def _on_list(self, releases: ReleaseList) -> None:
        """Compare the rows that changed with what was seen before (first sight: only recent events count)."""
        if not self.service.loaded.is_set():
            return  # not one row is taken as seen before the subscriptions are known: their events are not lost
        seen = self._seen
        items = releases.items
        index = self.service.index
        now = datetime.now(UTC)
        window = self._window(now)
        for item in items:
            before = seen.get(item.id)
            if before is item or (before is not None and before.version == item.version and before.state == item.state
                                  and before.status == item.status and before.counts == item.counts
                                  and before.start_time == item.start_time):
                continue
            seen[item.id] = item
            if not index:
                continue
            subscriptions = index.matching(item.id)
            if not subscriptions:
                continue
            for event in ev.row_events(before, item, now, window):
                channels = self._channels(event)
                if channels and event.name in FAILURE_EVENTS and ev.failed_count(item) > 0:
                    self._read_failing(event, item, channels)  # the message names the first failing nodes
                else:
                    self._fan_out(event, item, channels)
            wanted = {name for sub in subscriptions for name in sub.events}
            if wanted & TREE_EVENTS and ev.failures_grew(before, item, now, window):
                self._check_tree(item.id)
        if len(seen) > 2 * len(items) + 1000:
            self._seen = {item.id: item for item in items}

    def _channels(self, event: ev.Event, idle_seconds: float | None = None) -> set[str]:
        """The channels that matching subscriptions to this event name (each once)."""
        channels: set[str] = set()
        for sub in self.service.index.matching(event.release_id):
            if event.name not in sub.events or sub.channel is None or sub.channel not in self.service.channels:
                continue
            if not self.active_user(sub.owner):
                continue
            if idle_seconds is not None and idle_seconds < (sub.stalled_after_seconds
                                                            or self.settings.NOTIFY_STALLED_AFTER_SECONDS):
                continue
            channels.add(sub.channel)
        return channels

    def _fan_out(self, event: ev.Event, item: ReleaseListItem | None, channels: set[str] | None = None,
                 idle_seconds: float | None = None) -> None:
        """Queue one delivery per channel that a matching subscription to this event names."""
        if channels is None:
            channels = self._channels(event, idle_seconds)
        keys = [DeliveryKey(channel, event.release_id, event.run, event.name, event.marker)
                for channel in sorted(channels)]
        keys = [key for key in keys if key.workflow_id not in self._started and key.workflow_id not in self._pending]
        if not keys:
            return
        self.events_seen += 1
        message = compose(event, item, self.settings)
        for key in keys:
            self._pending.add(key.workflow_id)
            self._queue.put_nowait((key, message))

    def _read_failing(self, event: ev.Event, item: ReleaseListItem, channels: set[str]) -> None:
        """Tell a release event once the release's failing nodes are read from its mirror (one per release)."""
        task = asyncio.create_task(self._with_failing(event, item, channels), name=f"notify {event.release_id}")
        self._readings.add(task)
        task.add_done_callback(self._readings.discard)

    async def _with_failing(self, event: ev.Event, item: ReleaseListItem, channels: set[str]) -> None:
        failing: tuple[str, ...] = ()
        try:
            mirror = await self.mirrors.get(item.id)
            if item.version is not None and mirror.version < item.version:
                await mirror.wait_for_version(item.version - 1, MIRROR_CATCH_UP_SECONDS)
            failing = tuple(f.id for f in ev.failures(mirror.tree))
        except ReadPathError as exc:  # told without them rather than not at all
            logger.info("failing nodes of {} not read ({}); {} is told without them", item.id, exc, event.name)
        self._fan_out(dataclasses.replace(event, failing=failing), item, channels)

    # ---- starting deliveries ---------------------------------------------------------------------
    async def _starter(self) -> None:
        while True:
            key, message = await self._queue.get()
            try:
                if key.workflow_id not in self._started:
                    await self._start(key, message)
            except Exception:  # never lose the starter: the next listing or start-up tells it again
                logger.exception("notification {} for {} could not be started", key.event, key.release)
            finally:
                self._pending.discard(key.workflow_id)

    async def _start(self, key: DeliveryKey, message: Message) -> None:
        """Start one delivery, trying again while Temporal does not answer (no listing shows the event again)."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        for attempt in itertools.count():
            try:
                await self.deliveries.start(key, message)
            except NotificationsUnavailable as exc:
                delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                if loop.time() + delay - began > self.settings.NOTIFY_GIVE_UP_SECONDS:
                    logger.warning("notification {} for {} not started ({}); given up after {:.0f}s", key.event,
                                   key.release, exc, loop.time() - began)
                    return
                if attempt == len(RETRY_SECONDS) - 1:
                    logger.warning("notification {} for {} not started yet ({}); trying again every {:.0f}s",
                                   key.event, key.release, exc, RETRY_SECONDS[-1])
                await asyncio.sleep(delay)
                continue
            self._remember(key.workflow_id)
            return

    def _remember(self, workflow_id: str) -> None:
        self._started[workflow_id] = None
        while len(self._started) > STARTED_KEPT:
            self._started.popitem(last=False)

    # ---- failures below a node -------------------------------------------------------------------
    def _check_tree(self, release_id: str) -> None:
        """Look at the release's failures soon (once at a time per release; again after if asked meanwhile)."""
        task = self._tree_checks.get(release_id)
        if task is not None and not task.done():
            self._tree_again.add(release_id)
            return
        self._tree_checks[release_id] = asyncio.create_task(self._tree_check(release_id), name=f"notify {release_id}")

    async def _tree_check(self, release_id: str) -> None:
        try:
            while True:
                self._tree_again.discard(release_id)
                await self._read_failures(release_id)
                if release_id not in self._tree_again:
                    return
        finally:
            self._tree_checks.pop(release_id, None)

    async def _read_failures(self, release_id: str) -> None:
        item = self.releases.get(release_id)
        try:
            mirror = await self.mirrors.get(release_id)
            if item is not None and item.version is not None and mirror.version < item.version:
                await mirror.wait_for_version(item.version - 1, MIRROR_CATCH_UP_SECONDS)  # the listed failures
        except ReadPathError as exc:
            logger.info("failures of {} not read ({}); told at its next change", release_id, exc)
            return
        tree = mirror.tree
        try:  # thousands of failed apps: not on the loop
            found = await asyncio.to_thread(ev.failures, tree)
        except RuntimeError:  # a poll changed a rollup while it was read: read it again, on the loop
            found = ev.failures(tree)
        if not found:
            return
        apps_failed = sum(1 for f in found if f.type == EntityType.APP)
        per_wave = Counter(f.wave for f in found)
        run = ""  # a burst's marker holds its first failure's id and time: unique without the run, and the same
        # after the release continues-as-new (a new run carries the failures: keyed by run they would be told again)
        now = datetime.now(UTC)
        window = self._window(now)
        burst_seconds = self.settings.NOTIFY_BURST_SECONDS
        next_due: float | None = None
        for name, scope_of in (("app.failed", ev.app_scope), ("wave.failed", ev.wave_scope)):
            for burst in ev.bursts(found, scope_of, burst_seconds):
                if (now - burst.first.at).total_seconds() > window + burst_seconds:
                    continue
                total = apps_failed if name == "app.failed" else per_wave[burst.scope]
                self._fan_out(self._first_event(name, release_id, run, burst, total), item)
                due = (burst.first.at - now).total_seconds() + burst_seconds + SUMMARY_GRACE_SECONDS
                if due > 0:
                    next_due = due if next_due is None else min(next_due, due)
                elif burst.rest:
                    self._fan_out(self._summary_event(name, release_id, run, burst), item)
        if next_due is not None:
            self._at(release_id, next_due)

    def _first_event(self, name: str, release_id: str, run: str, burst: ev.Burst, failed_now: int) -> ev.Event:
        where = "" if burst.scope == "release" else f" in {burst.scope}"
        headline = (f"{burst.first.id} failed{where} ({release_id}); {failed_now} failed there so far — "
                    f"more failures within {self.settings.NOTIFY_BURST_SECONDS:g}s come in one summary")
        return ev.Event(name, release_id, run, f"first|{burst.marker}", headline, (burst.first.id,),
                        None if burst.scope == "release" else burst.scope)

    def _summary_event(self, name: str, release_id: str, run: str, burst: ev.Burst) -> ev.Event:
        where = "" if burst.scope == "release" else f" in {burst.scope}"
        headline = (f"{len(burst.rest)} more failed{where} ({release_id}) within "
                    f"{self.settings.NOTIFY_BURST_SECONDS:g}s after {burst.first.id}")
        return ev.Event(name, release_id, run, f"{ev.FOLLOW_UP}{burst.marker}", headline,
                        tuple(f.id for f in burst.rest), None if burst.scope == "release" else burst.scope)

    def _at(self, release_id: str, delay: float) -> None:
        timer = self._timers.pop(release_id, None)
        if timer is not None:
            timer.cancel()

        def fire() -> None:
            self._timers.pop(release_id, None)
            self._check_tree(release_id)

        self._timers[release_id] = asyncio.get_running_loop().call_later(delay, fire)

    # ---- stalls ----------------------------------------------------------------------------------
    async def _stall_loop(self) -> None:
        while True:
            await asyncio.sleep(self.stall_check_seconds)
            try:
                self._check_stalls()
            except Exception:  # a bad row must not end stall checks for good
                logger.exception("checking for stalled releases failed; trying again at the next check")

    def _check_stalls(self) -> None:
        """Tell releases that became stalled since this console started looking (less the catch-up window): a
        restart does not tell every long-stalled release again."""
        index = self.service.index
        if "release.stalled" not in index.events:
            return
        now = datetime.now(UTC)
        since = self._since or now
        shortest = self.settings.NOTIFY_STALLED_MIN_SECONDS
        for item in self.releases.items:
            if item.status != "running":
                continue
            idle = ev.stalled_for(item, now)
            if idle is None or idle < shortest:
                continue
            stalled_at = now - timedelta(seconds=idle - shortest)
            if stalled_at >= since - timedelta(seconds=self.settings.NOTIFY_STALLED_AFTER_SECONDS) \
                    and index.matching(item.id):
                self._fan_out(ev.stalled_event(item, idle), item, idle_seconds=idle)
