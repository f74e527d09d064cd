"""The accounts workflow's first type, ``AccountsWorkflow``: kept only for the runs started before
``AccountsWorkflowV2`` (accounts.py).

Those runs may hold accepted Updates consoles no longer send: ``create_user``, ``ensure_first_admin``,
``update_user``, ``set_role``, ``set_password`` and ``set_enabled`` (records written by them are unsigned or no
longer match their signature, so no console trusts them). A worker replays a run's history whenever the run is not in
its cache, and an accepted Update without its handler fails that replay, so the handlers stay here with their
effects, written as they were. Their validators refuse every new call (validators do not run on replay, and a refused
Update leaves nothing in the history): a run of this type takes the same Updates as one of V2 and, like one, continues
as new into V2 (accounts.py's ``run``) when Temporal suggests it or after ``max_updates_per_run``. It inherits V2's
queries and other handlers, so a change to them must replay this type's histories too.

tests/unit/workflows/test_accounts_replay.py replays histories written by the code of that time. Delete this module,
its registration in temporal/worker.py and that test once no run of this type is open: ``temporal workflow count
--query 'WorkflowType="AccountsWorkflow" AND ExecutionStatus="Running"'`` in the accounts namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from .accounts import (
    ENSURE_CREATED,
    ENSURE_EXISTS,
    ENSURE_RESTORED,
    ERR_INVALID,
    AccountRecord,
    AccountsInput,
    AccountsSnapshot,
    AccountsWorkflow,
)

LEGACY_WORKFLOW_TYPE = "AccountsWorkflow"
UPDATE_CREATE = "create_user"
UPDATE_ENSURE_ADMIN = "ensure_first_admin"
UPDATE_USER = "update_user"
UPDATE_ROLE = "set_role"
UPDATE_PASSWORD = "set_password"
UPDATE_ENABLED = "set_enabled"
RETIRED_UPDATES = (UPDATE_CREATE, UPDATE_ENSURE_ADMIN, UPDATE_USER, UPDATE_ROLE, UPDATE_PASSWORD, UPDATE_ENABLED)


@dataclass
class CreateUser:
    username: str
    password_hash: str
    role: str


@dataclass
class UpdateUser:
    username: str
    password_hash: str | None = None
    role: str | None = None
    enabled: bool | None = None


@dataclass
class SetRole:
    username: str
    role: str


@dataclass
class SetPassword:
    username: str
    password_hash: str


@dataclass
class SetEnabled:
    username: str
    enabled: bool


def _retired(name: str) -> ApplicationError:
    return ApplicationError(f"{name} is no longer accepted: consoles write whole signed records with put_user",
                            type=ERR_INVALID, non_retryable=True)


@workflow.defn(name=LEGACY_WORKFLOW_TYPE)
class AccountsWorkflowV1(AccountsWorkflow):
    """V2 plus the handlers of the retired Updates, for replay only."""

    @workflow.run
    async def run(self, input: AccountsInput) -> None:
        await super().run(input)  # continues as new into AccountsWorkflowV2

    @workflow.update(name=UPDATE_CREATE)
    def create_user(self, change: CreateUser) -> AccountsSnapshot:
        now = self._now()
        self.users[change.username] = AccountRecord(
            change.username, change.password_hash, change.role, True, now, None, now
        )
        return self._changed()

    @create_user.validator
    def _refuse_create(self, change: CreateUser) -> None:
        raise _retired(UPDATE_CREATE)

    @workflow.update(name=UPDATE_ENSURE_ADMIN)
    def ensure_first_admin(self, change: CreateUser) -> str:
        if self._enabled_admins():
            return ENSURE_EXISTS
        now = self._now()
        existing = self.users.get(change.username)
        if existing is not None:
            existing.role, existing.enabled = "admin", True
            self._changed()
            return ENSURE_RESTORED
        self.users[change.username] = AccountRecord(
            change.username, change.password_hash, "admin", True, now, None, now
        )
        self._changed()
        return ENSURE_CREATED

    @ensure_first_admin.validator
    def _refuse_ensure_admin(self, change: CreateUser) -> None:
        raise _retired(UPDATE_ENSURE_ADMIN)

    @workflow.update(name=UPDATE_USER)
    def update_user(self, change: UpdateUser) -> AccountsSnapshot:
        user = self.users[change.username]
        if change.password_hash is not None:
            user.password_hash = change.password_hash
            user.password_changed_at = self._now()
        if change.role is not None:
            user.role = change.role
        if change.enabled is not None:
            user.enabled = change.enabled
        return self._changed()

    @update_user.validator
    def _refuse_update_user(self, change: UpdateUser) -> None:
        raise _retired(UPDATE_USER)

    @workflow.update(name=UPDATE_ROLE)
    def set_role(self, change: SetRole) -> AccountsSnapshot:
        self.users[change.username].role = change.role
        return self._changed()

    @set_role.validator
    def _refuse_role(self, change: SetRole) -> None:
        raise _retired(UPDATE_ROLE)

    @workflow.update(name=UPDATE_PASSWORD)
    def set_password(self, change: SetPassword) -> AccountsSnapshot:
        user = self.users[change.username]
        user.password_hash = change.password_hash
        user.password_changed_at = self._now()
        return self._changed()

    @set_password.validator
    def _refuse_password(self, change: SetPassword) -> None:
        raise _retired(UPDATE_PASSWORD)

    @workflow.update(name=UPDATE_ENABLED)
    def set_enabled(self, change: SetEnabled) -> AccountsSnapshot:
        self.users[change.username].enabled = change.enabled
        return self._changed()

    @set_enabled.validator
    def _refuse_enabled(self, change: SetEnabled) -> None:
        raise _retired(UPDATE_ENABLED)
