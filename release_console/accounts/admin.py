"""One path for every change an admin makes to an account, for the REST API (api/routes/users.py) and the users
page (ui/pages/admin_users.py) alike: who may, the change itself (AccountsService) and its audit line.

Audit actions, the same whoever asks: ``account.create``; ``account.change`` (any of role, password and enabled in
one atomic write: ``fields`` names which, with ``new_role`` and ``enabled`` when given); ``account.delete``;
``account.sign_out_everywhere``. Each is ``ok``, or ``denied`` with the reason, after which the
:class:`~.errors.AccountError` is raised again: the API's one error handler answers it, the page shows its message.

Who may: an admin; signing out everywhere also the account's own user. A caller that may not gets
:class:`~.errors.NotAllowed` (audited ``denied``) before anything is changed: the API's admin dependency refuses such
callers earlier, a page that was opened by an admin since demoted or signed out gets here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ..runtime.audit import audit
from .errors import AccountError, NotAllowed
from .models import Principal, UserPublic
from .service import AccountsService, normalize_username

T = TypeVar("T")

CREATE = "account.create"
CHANGE = "account.change"
DELETE = "account.delete"
SIGN_OUT_EVERYWHERE = "account.sign_out_everywhere"
ADMIN_NEEDED = "the admin role is needed"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks for a change (None: nobody is signed in any more), and from where, for the audit line."""

    principal: Principal | None
    client: str | None = None
    request_id: str | None = None


def allowed(actor: Actor, action: str, target: str, *, own: bool = False) -> Principal:
    """The actor when it may do ``action`` (an admin; with ``own``, also the user ``target`` itself); otherwise
    NotAllowed after the ``denied`` audit line."""
    who = actor.principal
    if who is not None and (who.is_admin or (own and who.username == target)):
        return who
    _audit(actor, action, target, "denied", reason=ADMIN_NEEDED)
    raise NotAllowed(ADMIN_NEEDED)


async def create_user(accounts: AccountsService, actor: Actor, username: str, password: str | None, role: str, *,
                      service_account: bool = False) -> UserPublic:
    """A new enabled user (a service account has no password and cannot sign in)."""
    target = normalize_username(username)
    allowed(actor, CREATE, target)
    try:
        created = await accounts.create_user(username, password, role, service_account=service_account)
    except AccountError as exc:
        _audit(actor, CREATE, target, "denied", reason=exc.message)
        raise
    _audit(actor, CREATE, created.username, "ok", new_role=created.role, service_account=created.service_account)
    return created


async def change_user(accounts: AccountsService, actor: Actor, username: str, *, role: str | None = None,
                      password: str | None = None, enabled: bool | None = None) -> UserPublic:
    """Any of a new role, a new password, enabled or disabled, in one atomic write (LastAdmin when it would demote
    or disable the last enabled admin)."""
    target = normalize_username(username)
    changed = [name for name, value in (("password", password), ("role", role), ("enabled", enabled))
               if value is not None]
    extra: dict[str, object] = {"fields": ",".join(changed)}
    if role is not None:
        extra["new_role"] = role
    if enabled is not None:
        extra["enabled"] = enabled
    return await _audited(actor, CHANGE, target,
                          lambda: accounts.update_user(username, password=password, role=role, enabled=enabled),
                          own=False, **extra)


async def delete_user(accounts: AccountsService, actor: Actor, username: str) -> None:
    """Delete a user (never the last enabled admin)."""
    await _audited(actor, DELETE, normalize_username(username), lambda: accounts.delete_user(username))


async def sign_out_everywhere(accounts: AccountsService, actor: Actor, username: str) -> None:
    """End every session, token and key of ``username`` on every instance (an admin, or the user itself)."""
    target = normalize_username(username)
    await _audited(actor, SIGN_OUT_EVERYWHERE, target, lambda: accounts.sign_out_everywhere(username), own=True)


async def _audited(actor: Actor, action: str, target: str, change: Callable[[], Awaitable[T]], *, own: bool = False,
                   **extra: object) -> T:
    """The result of ``change()`` once ``actor`` is allowed, with its audit line: ``ok``, or ``denied`` with the
    refusal's message (then the refusal is raised again)."""
    allowed(actor, action, target, own=own)
    try:
        result = await change()
    except AccountError as exc:
        _audit(actor, action, target, "denied", reason=exc.message, **extra)
        raise
    _audit(actor, action, target, "ok", **extra)
    return result


def _audit(actor: Actor, action: str, target: str, outcome: str, **extra: object) -> None:
    who = actor.principal
    audit(action, user=who.username if who else None, role=who.role if who else None, target=target,
          outcome=outcome, client=actor.client, request_id=actor.request_id, **extra)
