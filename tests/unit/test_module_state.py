"""Module-level mutable state is the exception, each one named here with why it belongs to the process.

Per-release caches live on the mirror or its registry, and services on ``services.Services``, where their lifetime
is visible. A new module-level dict, list, set, weak map or context variable (lower-case name: upper-case names are
constants) fails this test until it moves onto an object with a lifetime, or is added below with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "release_console"

PROCESS_STATE: dict[str, str] = {
    "notifications/channels.py:_collected": "a context variable: each send's own log lines, not shared state",
    "runtime/audit.py:_state": "loguru's sinks are process-wide: which ones this process added, to replace them once",
    "runtime/drain.py:_background": "the SIGTERM handler's drain task, kept referenced until the process stops",
    "runtime/shared_state.py:_unused": "NiceGUI's session storage is process-wide: the last sweep's unused sessions",
    "sso/provider.py:_providers": "one OpenID provider per configuration, so discovery and keys are fetched once",
    "ui/auth.py:_tickets": "login tickets of this process (Redis holds them for the other instances)",
    "ui/auth.py:_ticket_writes": "the login tickets whose Redis copy is being written",
    "ui/auth.py:_memory_only": "the login tickets Redis did not take (valid on this instance only)",
    "ui/live/transport.py:_by_socket": "python-socketio's server is process-wide: its sockets' tabs, weakly held",
}
"""``path:name`` under release_console → why it is per process."""

MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "deque", "Counter", "WeakValueDictionary",
                 "WeakKeyDictionary", "WeakSet", "ContextVar"}
MUTABLE_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


def _is_mutable(value: ast.expr) -> bool:
    if isinstance(value, MUTABLE_DISPLAYS):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        return name in MUTABLE_CALLS
    return False


def module_state(source: str) -> list[str]:
    """Names bound at module level to a mutable value, constants (upper case) and ``__all__`` aside."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if not _is_mutable(value):
            continue
        found += [t.id for t in targets if isinstance(t, ast.Name) and not t.id.isupper() and t.id != "__all__"]
    return found


def test_the_finder_sees_mutable_module_state() -> None:
    source = "import weakref\n_cache = {}\n_seen: set[str] = set()\n_socks = weakref.WeakValueDictionary()\n" \
             "LIMITS = {'a': 1}\n__all__ = ['x']\nname = 'text'\n"
    assert module_state(source) == ["_cache", "_seen", "_socks"]


def test_module_level_state_is_only_what_is_named() -> None:
    found = {f"{path.relative_to(PACKAGE).as_posix()}:{name}"
             for path in sorted(PACKAGE.rglob("*.py")) for name in module_state(path.read_text())}
    unexplained = sorted(found - PROCESS_STATE.keys())
    assert not unexplained, f"module-level mutable state without a reason (move it onto an object): {unexplained}"
    gone = sorted(PROCESS_STATE.keys() - found)
    assert not gone, f"named here but no longer in the code (remove the entry): {gone}"
