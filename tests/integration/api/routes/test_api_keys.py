"""API keys on the real console and Temporal: shown once, listed without secrets, usable as a bearer on every
endpoint a token works on, never more than the owner's role, refused when revoked, expired, or the owner lost
access; malformed keys cost no bcrypt."""

from __future__ import annotations

import hashlib
import uuid

from release_console import services as services_module
from release_console.workflows.accounts import UPDATE_PUT_KEY, ApiKeyRecord
from tests.helpers import ADMIN_USERNAME, login, new_user

KEYS = "/api/v1/api-keys"
PASSWORD = "viewer-password-1"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_is_shown_once_listed_without_secret_and_works_until_revoked(api, admin_headers) -> None:
    name = await new_user(api, admin_headers, password=PASSWORD)
    token = await login(api, name, PASSWORD)
    created = await api.post(KEYS, json={"name": "ci <deploy> job"}, headers=token)
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith("rck_") and len(key) == 47 and body["scope"] == "read" and body["owner"] == name
    listed = (await api.get(KEYS, headers=token)).json()
    assert [k["id"] for k in listed] == [body["id"]] and "key" not in listed[0]
    assert listed[0]["name"] == "ci <deploy> job"  # kept as text; the pages escape it
    me = await api.get("/api/v1/users/me", headers=bearer(key))
    assert me.status_code == 200 and me.json()["username"] == name
    assert (await api.get("/api/v1/releases", headers=bearer(key))).status_code == 200
    assert (await api.get(KEYS, headers=token)).json()[0]["last_used_at"] is not None
    assert (await api.post(KEYS, json={"name": "from a key"}, headers=bearer(key))).status_code == 403
    assert (await api.delete(f"{KEYS}/{body['id']}", headers=token)).status_code == 204
    assert (await api.get("/api/v1/users/me", headers=bearer(key))).status_code == 401
    assert (await api.get(KEYS, headers=token)).json() == []


async def test_a_key_never_carries_more_than_its_owner_and_admin_scope_needs_an_admin(api, admin_headers) -> None:
    viewer = await new_user(api, admin_headers, password=PASSWORD)
    viewer_token = await login(api, viewer, PASSWORD)
    refused = await api.post(KEYS, json={"name": "sneaky", "scope": "admin"}, headers=viewer_token)
    assert refused.status_code == 403
    read_key = (await api.post(KEYS, json={"name": "read"}, headers=admin_headers)).json()["key"]
    admin_key = (await api.post(KEYS, json={"name": "ops", "scope": "admin"}, headers=admin_headers)).json()["key"]
    assert (await api.get("/api/v1/users", headers=bearer(read_key))).status_code == 403  # an admin's read key
    assert (await api.get("/api/v1/users", headers=bearer(admin_key))).status_code == 200
    for with_a_key in (await api.get(KEYS, headers=bearer(admin_key)),
                       await api.post("/api/v1/users/me/sign-out-everywhere", headers=bearer(admin_key))):
        assert with_a_key.status_code == 403  # a leaked key cannot list keys nor sign its owner out
    impersonation = await api.post(KEYS, json={"name": "as them", "owner": viewer}, headers=admin_headers)
    assert impersonation.status_code == 403  # an admin makes keys for service accounts, not for people
    bot = f"bot-{uuid.uuid4().hex[:8]}"
    await api.post("/api/v1/users", json={"username": bot, "service_account": True}, headers=admin_headers)
    service = (await api.post(KEYS, json={"name": "bot", "owner": bot, "scope": "admin"},
                              headers=admin_headers)).json()
    assert service["owner"] == bot
    assert (await api.get("/api/v1/users", headers=bearer(service["key"]))).status_code == 403  # bot is a viewer
    everything = await api.get(f"{KEYS}?all=true", headers=admin_headers)
    assert {service["id"]} <= {k["id"] for k in everything.json()}
    assert (await api.get(f"{KEYS}?all=true", headers=viewer_token)).status_code == 403
    assert (await api.delete(f"{KEYS}/{service['id']}", headers=viewer_token)).status_code == 404  # not theirs
    assert (await api.delete(f"{KEYS}/{service['id']}", headers=admin_headers)).status_code == 204


async def test_the_owner_losing_access_ends_the_key(api, admin_headers) -> None:
    name = await new_user(api, admin_headers, password=PASSWORD)
    token = await login(api, name, PASSWORD)
    key = (await api.post(KEYS, json={"name": "job"}, headers=token)).json()["key"]
    assert (await api.post("/api/v1/users/me/sign-out-everywhere", headers=token)).status_code == 204
    assert (await api.get("/api/v1/users/me", headers=bearer(key))).status_code == 401
    token = await login(api, name, PASSWORD)
    key = (await api.post(KEYS, json={"name": "job 2"}, headers=token)).json()["key"]
    assert (await api.patch(f"/api/v1/users/{name}", json={"enabled": False}, headers=admin_headers)).status_code \
        == 200
    assert (await api.get("/api/v1/users/me", headers=bearer(key))).status_code == 401


async def test_bad_keys_are_refused_without_bcrypt_and_forged_records_are_no_keys(api, admin_headers) -> None:
    accounts = services_module.running().accounts
    checks_before = accounts.passwords.in_flight, accounts.passwords.refused
    for bad in ("rck_", "rck_" + "a" * 42, "rck_" + "a" * 44, "rck_" + "!" * 43, "rck_" + "a" * 43):
        response = await api.get("/api/v1/users/me", headers=bearer(bad))
        assert response.status_code == 401 and "API key" in response.json()["detail"]
    assert (accounts.passwords.in_flight, accounts.passwords.refused) == checks_before
    forged_key = "rck_" + "b" * 43  # someone who can send Updates stores a record for a key of their own
    record = ApiKeyRecord(id="0123456789abcdef", owner="admin", name="forged",
                          key_hash=hashlib.sha256(forged_key.encode()).hexdigest(), scope="admin",
                          created_at="2026-01-01T00:00:00Z", expires_at="2099-01-01T00:00:00Z",
                          signature="k1:" + "0" * 64)
    await accounts._update(UPDATE_PUT_KEY, record)
    assert (await api.get("/api/v1/users", headers=bearer(forged_key))).status_code == 401


async def test_lifetimes_are_bounded(api, admin_headers) -> None:
    too_long = await api.post(KEYS, json={"name": "forever", "expires_in_days": 100_000}, headers=admin_headers)
    assert too_long.status_code == 422
    long_name = await api.post(KEYS, json={"name": "x" * 65}, headers=admin_headers)
    assert long_name.status_code == 422
    control = await api.post(KEYS, json={"name": "bell\x07"}, headers=admin_headers)
    assert control.status_code == 422


async def test_a_service_account_owns_keys_and_cannot_sign_in(api, admin_headers) -> None:
    name = f"bot-{uuid.uuid4().hex[:8]}"
    created = await api.post("/api/v1/users", json={"username": name, "service_account": True},
                             headers=admin_headers)
    assert created.status_code == 201 and created.json()["service_account"] is True
    login_attempt = await api.post("/api/v1/login/access-token", data={"username": name, "password": "anything-1"})
    assert login_attempt.status_code == 401
    key = (await api.post(KEYS, json={"name": "deployer", "owner": name}, headers=admin_headers)).json()
    me = await api.get("/api/v1/users/me", headers=bearer(key["key"]))
    assert me.status_code == 200 and me.json()["username"] == name and me.json()["service_account"] is True
    no_password = await api.post("/api/v1/users", json={"username": f"{name}-x"}, headers=admin_headers)
    assert no_password.status_code == 422


async def test_an_admin_service_account_does_not_count_as_the_last_admin(api, admin_headers) -> None:
    bot = f"bot-{uuid.uuid4().hex[:8]}"
    created = await api.post("/api/v1/users", json={"username": bot, "role": "admin", "service_account": True},
                             headers=admin_headers)
    assert created.status_code == 201
    for other in (await api.get("/api/v1/users", headers=admin_headers)).json():  # other people who are admins
        if other["role"] == "admin" and not other["service_account"] and other["username"] != ADMIN_USERNAME:
            await api.patch(f"/api/v1/users/{other['username']}", json={"role": "viewer"}, headers=admin_headers)
    demote = await api.patch(f"/api/v1/users/{ADMIN_USERNAME}", json={"role": "viewer"}, headers=admin_headers)
    assert demote.status_code == 409 and demote.json()["code"] == "last_admin"  # the bot does not count
