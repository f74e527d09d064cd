"""The read path's own errors: each carries an HTTP status, a stable code and, for 503s, a Retry-After."""

from __future__ import annotations

from ..core.errors import ConsoleError


class ReadPathError(ConsoleError):
    """Base class: a problem reading release data; ``str(err)`` is safe to show to users."""

    code: str = "read_path_error"
    status: int = 500


class ReleaseNotFound(ReadPathError):
    """No release workflow with this id."""

    code = "release_not_found"
    status = 404


class EntityNotFound(ReadPathError):
    """The release exists but holds no entity with this id."""

    code = "entity_not_found"
    status = 404


class WorkerNotResponding(ReadPathError):
    """Temporal is up but no worker answered the query in time."""

    code = "worker_not_responding"
    status = 503

    def __init__(self, message: str, *, retry_after: float | None = 5.0) -> None:
        super().__init__(message, retry_after=retry_after)


class TemporalUnavailable(ReadPathError):
    """Temporal itself cannot be reached (or refused the call)."""

    code = "temporal_unavailable"
    status = 503

    def __init__(self, message: str, *, retry_after: float | None = 5.0) -> None:
        super().__init__(message, retry_after=retry_after)


class InvalidReleaseData(ReadPathError):
    """A workflow answered with data that breaks the query contract; only that release is marked broken."""

    code = "release_data_invalid"
    status = 502


class InvalidReleaseId(ReadPathError):
    """A malformed release id, refused before any Temporal call."""

    code = "invalid_id"
    status = 422


class TooManyMirrors(ReadPathError):
    """MAX_MIRRORS releases are mirrored and every one of them is watched: no room for another right now."""

    code = "too_many_mirrors"
    status = 503


class ListQueryRefused(ReadPathError):
    """Temporal refused a visibility query (e.g. a search attribute the namespace does not have)."""

    code = "list_query_refused"
    status = 502
