"""Channel URLs: what is accepted, how it is shown, how it is sealed."""

from __future__ import annotations

import pytest

from release_console.core.config import Settings
from release_console.notifications.channels import InvalidChannelUrl, check_url, internal_address
from release_console.notifications.sealing import SealBroken, Sealer
from release_console.notifications.service import SubscriptionIndex
from release_console.workflows.notifications import SubscriptionRecord

ALLOWED = Settings().notification_schemes


@pytest.mark.parametrize("url", ["", "   ", "garbage", "http://example.com", "file:///etc/passwd", "windows://",
                                 "json://", "json://host/" + "x" * 3000, "json://ho st/", 42, None])
def test_unusable_urls_are_refused(url: object) -> None:
    with pytest.raises(InvalidChannelUrl):
        check_url(url, ALLOWED)


def test_a_refusal_never_echoes_the_url() -> None:
    with pytest.raises(InvalidChannelUrl) as refused:
        check_url("json://user:hunter2@/", ALLOWED)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(("url", "kind", "shown"), [
    ("json://user:hunter2@hooks.example.com:8443/t0ken/path?x=1", "json", "json://user:****@hooks.example.com:8443/…"),
    ("mailto://rm:hunter2@smtp.example.com?to=a@example.com", "mailto", "mailto://rm:****@smtp.example.com/…"),
    ("slack://T1/B1/hunter2", "slack", "slack://T...1/…"),
])
def test_shown_without_secrets(url: str, kind: str, shown: str) -> None:
    checked = check_url(url, ALLOWED)
    assert (checked.kind, checked.masked) == (kind, shown)
    assert "hunter2" not in checked.masked and "t0ken" not in checked.masked


def test_a_sealed_url_opens_only_with_the_same_key_and_fields() -> None:
    sealer = Sealer("k" * 40)
    fields = {"id": "0123456789abcdef", "owner": "alice"}
    sealed = sealer.seal("json://secret", fields)
    assert "secret" not in sealed
    assert sealer.open(sealed, fields) == "json://secret"
    with pytest.raises(SealBroken):
        sealer.open(sealed, {**fields, "owner": "mallory"})
    with pytest.raises(SealBroken):
        Sealer("m" * 40).open(sealed, fields)


def test_signatures_cover_every_field() -> None:
    sealer = Sealer("k" * 40)
    fields = {"owner": "alice", "release": "*", "events": ["release.failed"]}
    signature = sealer.sign(fields)
    assert sealer.verify(fields, signature)
    assert not sealer.verify({**fields, "owner": "bob"}, signature)


def _sub(sub_id: str, release: str) -> SubscriptionRecord:
    return SubscriptionRecord(id=sub_id, owner="alice", release=release, events=["release.failed"], channel=None,
                              created_at="2026-12-03T00:00:00Z", signature="")


def test_subscriptions_match_by_id_prefix_and_star() -> None:
    index = SubscriptionIndex([_sub("a", "release:pay-1"), _sub("b", "release:pay*"), _sub("c", "*")])
    assert {s.id for s in index.matching("release:pay-1")} == {"a", "b", "c"}
    assert {s.id for s in index.matching("release:payroll")} == {"b", "c"}
    assert {s.id for s in index.matching("release:other")} == {"c"}
    assert not SubscriptionIndex([])


@pytest.mark.parametrize(("url", "internal"), [
    ("json://127.0.0.1:9/hook", True), ("json://10.1.2.3/hook", True), ("json://[::1]/hook", True),
    ("json://169.254.169.254/latest", True), ("json://8.8.8.8/hook", False), ("slack://T1/B1/tok", False),
])
def test_internal_addresses_are_told_apart(url: str, internal: bool) -> None:
    assert (internal_address(url) is not None) == internal


def test_personal_channels_reach_internal_addresses_only_in_local_mode() -> None:
    assert Settings(ENVIRONMENT="local").notify_private_addresses
    assert not Settings.model_construct(ENVIRONMENT="production").notify_private_addresses
    assert Settings(ENVIRONMENT="local", NOTIFY_PRIVATE_ADDRESSES=False).notify_private_addresses is False
