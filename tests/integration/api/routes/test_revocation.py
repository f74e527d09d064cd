"""Revocation that holds: a password change, disabling, a role change and "sign out everywhere" each end every
token issued before them, at once and with no allowance; re-enabling revives nothing. Real console, real Temporal."""

from __future__ import annotations

import httpx

from release_console import services as services_module
from release_console.accounts.signing import RecordSigner
from release_console.workflows.accounts import AccountRecord
from tests.helpers import login, new_user

ME = "/api/v1/users/me"
PASSWORD = "viewer-password-1"


async def _me(api: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await api.get(ME, headers=headers)).status_code


async def test_a_password_change_ends_tokens_issued_just_before_it(api, admin_headers) -> None:
    """The old rule forgave a token issued up to 5 s before the change; now only clock drift is forgiven."""
    name = await new_user(api, admin_headers, password=PASSWORD)
    before = await login(api, name, PASSWORD)
    changed = await api.patch(f"/api/v1/users/{name}", json={"password": "new-password-22"}, headers=admin_headers)
    assert changed.status_code == 200
    assert await _me(api, before) == 401
    after = await login(api, name, "new-password-22")  # issued right after, maybe in the same second: valid
    assert await _me(api, after) == 200


async def test_disabling_revokes_and_enabling_again_revives_nothing(api, admin_headers) -> None:
    name = await new_user(api, admin_headers, password=PASSWORD)
    before = await login(api, name, PASSWORD)
    for enabled in (False, True):
        response = await api.patch(f"/api/v1/users/{name}", json={"enabled": enabled}, headers=admin_headers)
        assert response.status_code == 200
    assert await _me(api, before) == 401
    assert await _me(api, await login(api, name, PASSWORD)) == 200


async def test_a_role_change_ends_the_tokens_of_the_old_role(api, admin_headers) -> None:
    name = await new_user(api, admin_headers, password=PASSWORD, role="admin")
    before = await login(api, name, PASSWORD)
    assert (await api.get("/api/v1/users", headers=before)).status_code == 200
    demoted = await api.patch(f"/api/v1/users/{name}", json={"role": "viewer"}, headers=admin_headers)
    assert demoted.status_code == 200
    assert await _me(api, before) == 401
    assert await _me(api, await login(api, name, PASSWORD)) == 200


async def test_sign_out_everywhere_for_oneself_and_by_an_admin(api, admin_headers) -> None:
    name = await new_user(api, admin_headers, password=PASSWORD)
    first, second = await login(api, name, PASSWORD), await login(api, name, PASSWORD)
    response = await api.post(f"{ME}/sign-out-everywhere", headers=first)
    assert response.status_code == 204
    assert await _me(api, first) == 401 and await _me(api, second) == 401
    third = await login(api, name, PASSWORD)
    assert (await api.post(f"/api/v1/users/{name}/sign-out-everywhere", headers=third)).status_code == 403
    assert (await api.post(f"/api/v1/users/{name}/sign-out-everywhere", headers=admin_headers)).status_code == 204
    assert await _me(api, third) == 401
    missing = await api.post("/api/v1/users/nobody-here/sign-out-everywhere", headers=admin_headers)
    assert missing.status_code == 404
    record = services_module.running().accounts.users[name]
    assert record.sessions_valid_after is not None and record.signature.startswith("v2:")  # readable by older
    # consoles and workers: local records keep v2 (v3 covers the single sign-on fields too)


def test_records_signed_before_revocation_times_existed_stay_trusted_only_without_one() -> None:
    signer = RecordSigner("s" * 40)
    record = AccountRecord("alice", "$2b$12$" + "a" * 53, "viewer", True, password_changed_at="2026-01-01T00:00:00Z")
    record.signature = signer.sign(record, "v1:")
    assert signer.verify(record)  # an account from before the upgrade keeps working
    record.sessions_valid_after = "2020-01-01T00:00:00Z"  # someone adds a field the v1 signature does not cover
    assert not signer.verify(record)
    record.signature = signer.sign(record, "v2:")
    assert signer.verify(record)  # signed before source and subject existed
    record.sessions_valid_after = "2019-01-01T00:00:00Z"  # moving it back needs SECRET_KEY
    assert not signer.verify(record)
    record.signature = signer.sign(record, "v2:")
    record.source, record.subject = "oidc", "someone-at-the-provider"  # not covered by v2: refused
    assert not signer.verify(record)
    record.signature = signer.sign(record)
    assert record.signature.startswith("v3:") and signer.verify(record)  # a single sign-on record
    record.subject = "someone-else"  # rebinding the account to another identity needs SECRET_KEY
    assert not signer.verify(record)


async def test_a_login_that_races_a_password_reset_gets_nothing(api, admin_headers, monkeypatch) -> None:
    """The password is checked against the record of that moment; a reset landing while bcrypt runs outdates what
    the login would issue, so the old password cannot slip a token through."""
    name = await new_user(api, admin_headers, password=PASSWORD)
    accounts = services_module.running().accounts
    check = accounts.passwords.check

    async def reset_meanwhile(plain: str, hashed: str) -> bool:
        ok = await check(plain, hashed)
        await accounts.update_user(name, password="reset-password-3")  # by an admin, during the check
        return ok

    monkeypatch.setattr(accounts.passwords, "check", reset_meanwhile)
    response = await api.post("/api/v1/login/access-token", data={"username": name, "password": PASSWORD})
    monkeypatch.undo()
    assert response.status_code == 200  # the old password was right when it was checked…
    token = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert await _me(api, token) == 401  # …but what it got is older than the reset
