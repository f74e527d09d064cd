"""EntityId parsing: valid ids round-trip, every class of invalid id is refused with a message saying what is wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from release_console.domain.ids import (
    MAX_ENTITY_ID_LENGTH,
    MAX_ID_PART_LENGTH,
    TYPE_NAMES,
    EntityId,
    EntityType,
    InvalidEntityId,
    entity_type_of,
    parse_entity_id,
)

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
type_names = st.sampled_from(TYPE_NAMES)
id_parts = st.text(alphabet=ID_ALPHABET, min_size=1, max_size=MAX_ID_PART_LENGTH).filter(lambda k: k not in {".", ".."})
bad_chars = st.characters(exclude_characters=ID_ALPHABET, exclude_categories=("Cs",))


def reason(text: object, **kwargs) -> str:
    """The message of the InvalidEntityId raised for ``text``."""
    with pytest.raises(InvalidEntityId) as info:
        parse_entity_id(text, **kwargs)
    assert isinstance(info.value, ValueError)
    return str(info.value)


# ---- property-based -------------------------------------------------------------------------------
@given(type_names, id_parts)
def test_valid_ids_round_trip(type_name: str, key: str) -> None:
    text = f"{type_name}:{key}"
    parsed = EntityId.parse(text)
    assert parsed.type is EntityType(type_name)
    assert parsed.key == key
    assert str(parsed) == text
    assert EntityId.parse(str(parsed)) == parsed
    assert entity_type_of(text) is parsed.type


@given(type_names, id_parts, st.integers(min_value=0), bad_chars)
def test_any_character_outside_the_alphabet_is_refused(type_name: str, key: str, at: int, bad: str) -> None:
    at %= len(key) + 1
    text = f"{type_name}:{key[:at]}{bad}{key[at:]}"
    if len(text) > MAX_ENTITY_ID_LENGTH:
        assert "characters long" in reason(text)
    else:
        assert "A-Z, a-z, 0-9, '.', '_' or '-'" in reason(text)


@given(st.text(min_size=1, max_size=20).filter(lambda t: t not in TYPE_NAMES and ":" not in t), id_parts)
def test_unknown_types_are_refused_listing_the_known_ones(type_name: str, key: str) -> None:
    text = f"{type_name}:{key}"
    message = reason(text)
    assert ("unknown type" in message and "release, wave, cluster, bundle, app" in message) or (
        "characters long" in message
    )


@given(type_names, st.text(alphabet=ID_ALPHABET, min_size=MAX_ID_PART_LENGTH + 1, max_size=400))
def test_too_long_ids_are_refused_with_their_length(type_name: str, key: str) -> None:
    text = f"{type_name}:{key}"
    message = reason(text)
    assert ("characters long" in message and str(len(text)) in message) or "1-128 characters" in message


@given(st.text(alphabet=ID_ALPHABET, max_size=60))
def test_text_without_colon_is_refused(text: str) -> None:
    message = reason(text)
    assert "has no ':'" in message or "is empty" in message


# ---- every class, spelled out ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "entity id is empty"),
        ("app", "has no ':'"),
        ("app-checkout", "has no ':'"),
        ("service:x", "unknown type 'service'"),
        ("App:x", "unknown type 'App'"),
        (":x", "unknown type ''"),
        ("app:", "empty id part after 'app:'"),
        ("app:a b", "the id part must be 1-128 characters"),
        ("app:a/b", "the id part must be 1-128 characters"),
        ("app:a:b", "the id part must be 1-128 characters"),
        ("app:héllo", "the id part must be 1-128 characters"),
        ("app:x\n", "the id part must be 1-128 characters"),
        ("app:.", "may not be '.' or '..'"),
        ("release:..", "may not be '.' or '..'"),
        ("bundle:" + "x" * 129, "the id part must be 1-128 characters"),
        ("app:" + "x" * 500, "characters long; at most 136"),
    ],
)
def test_each_invalid_class_names_the_problem(text: str, expected: str) -> None:
    assert expected in reason(text)


@pytest.mark.parametrize("value", [None, 7, b"app:x", ["app:x"], {"id": "app:x"}])
def test_non_strings_are_refused(value: object) -> None:
    assert "must be a string, got" in reason(value)


def test_long_input_is_shortened_in_the_message() -> None:
    message = reason("app:" + "x" * 5000)
    assert "5004 characters long" in message
    assert len(message) < 200


def test_expected_type_is_enforced() -> None:
    assert EntityId.parse("wave:w1", expected=EntityType.WAVE) == EntityId(EntityType.WAVE, "w1")
    assert "is a app; expected a release id" in reason("app:x", expected=EntityType.RELEASE)


def test_longest_valid_ids() -> None:
    for type_name in TYPE_NAMES:
        key = "k" * MAX_ID_PART_LENGTH
        assert str(EntityId.parse(f"{type_name}:{key}")) == f"{type_name}:{key}"


def test_hierarchy_levels() -> None:
    assert [t.value for t in EntityType] == ["release", "wave", "cluster", "bundle", "app"]
    assert EntityType.RELEASE.parent_type is None and EntityType.APP.child_type is None
    for upper, lower in zip(list(EntityType), list(EntityType)[1:], strict=False):
        assert upper.child_type is lower and lower.parent_type is upper
        assert lower.level == upper.level + 1
