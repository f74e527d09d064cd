"""The canonical entity states and what they mean; foreign states are accepted as 'unknown kind'."""

from __future__ import annotations

from enum import StrEnum

MAX_STATE_LENGTH = 64
MAX_DISTINCT_STATES = 32
"""At most this many different state strings in one release, so that rollup counts (and so every query result
that carries them) stay small whatever a deployment system reports."""


class StateKind(StrEnum):
    """How the console treats a state: still moving, settled, in trouble, or not one it knows."""

    WAITING = "waiting"
    ACTIVE = "active"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


CANONICAL_STATES: dict[str, tuple[StateKind, str]] = {
    "pending": (StateKind.WAITING, "planned, nothing has happened yet"),
    "deploying": (StateKind.ACTIVE, "deployment in progress"),
    "verifying": (StateKind.ACTIVE, "deployed, health checks running"),
    "deployed": (StateKind.SUCCEEDED, "deployed and healthy"),
    "failed": (StateKind.FAILED, "deployment failed"),
    "rolling_back": (StateKind.ACTIVE, "rollback in progress"),
    "rolled_back": (StateKind.STOPPED, "rolled back to the previous version"),
    "paused": (StateKind.WAITING, "halted by an operator or a gate"),
    "cancelled": (StateKind.STOPPED, "abandoned before completion"),
}

TERMINAL_RELEASE_STATES: frozenset[str] = frozenset({"deployed", "failed", "rolled_back", "cancelled"})
"""A release in one of these states is over: its workflow completes."""

DONE_STATES: frozenset[str] = frozenset({"deployed", "failed", "rolled_back", "cancelled"})
"""States counted as 'done' for progress: the entity will not move again on its own."""


class InvalidState(ValueError):
    """A state that is empty, too long, or not a plain string."""


def validate_state(state: object) -> str:
    """Return the state if acceptable (any non-empty string up to MAX_STATE_LENGTH of printable characters)."""
    if not isinstance(state, str):
        raise InvalidState(f"state must be a string, got {type(state).__name__}")
    if not state.strip():
        raise InvalidState("state is empty")
    if len(state) > MAX_STATE_LENGTH:
        raise InvalidState(f"state is {len(state)} characters long; at most {MAX_STATE_LENGTH}")
    if not state.isprintable():
        raise InvalidState(f"state {state[:20]!r} contains non-printable characters")
    return state


def state_kind(state: str) -> StateKind:
    """The kind of a state; any state the console does not know is UNKNOWN (still shown as-is)."""
    entry = CANONICAL_STATES.get(state)
    return entry[0] if entry else StateKind.UNKNOWN


def state_meaning(state: str) -> str:
    """A one-line explanation of a state for tooltips and docs."""
    entry = CANONICAL_STATES.get(state)
    return entry[1] if entry else "state reported by the workflow; unknown kind"
