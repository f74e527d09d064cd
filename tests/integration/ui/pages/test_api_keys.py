"""The API keys page: a key is shown once with a curl example, works on the REST API, is listed without its secret
and can be revoked from the page."""

from __future__ import annotations

import httpx
from nicegui import core
from nicegui.testing import User

from release_console import services as services_module
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually
from tests.integration.ui.helpers import WAIT, log_in


async def test_create_use_and_revoke_a_key_from_the_page(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/api-keys")
    await user.should_see(marker="create-key", retries=WAIT)
    user.find(marker="key-name").type("nightly <report>")
    user.find(marker="create-key").click()
    await user.should_see(marker="new-key", retries=WAIT)
    [shown] = list(user.find(marker="new-key").elements)
    key = str(shown.content).strip().strip("`").strip()
    assert key.startswith("rck_"), key
    [example] = list(user.find(marker="curl-example").elements)
    assert key in str(example.content) and "/api/v1/releases" in str(example.content)
    accounts = services_module.running().accounts
    [record] = [r for r in accounts.api_keys.by_id.values() if r.name == "nightly <report>"]
    assert key not in str(record) and record.owner == ADMIN_USERNAME and record.scope == "read"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test") as api:
        headers = {"Authorization": f"Bearer {key}"}
        assert (await api.get("/api/v1/users/me", headers=headers)).status_code == 200
        user.find(marker="key-done").click()
        await user.should_see("nightly <report>", retries=WAIT)  # listed, as text
        user.find(marker="keys-table").trigger("revoke", record.id)
        await eventually(lambda: record.id not in accounts.api_keys.by_id, what="the key to be revoked")
        [table] = list(user.find(marker="keys-table").elements)
        assert record.id not in {row["id"] for row in table.rows}
        assert (await api.get("/api/v1/users/me", headers=headers)).status_code == 401
