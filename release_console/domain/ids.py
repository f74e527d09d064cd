"""Entity ids of the form ``type:id`` and the five entity types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_ID_PART_LENGTH = 128
MAX_ENTITY_ID_LENGTH = len("cluster:") + MAX_ID_PART_LENGTH
_ID_PART = re.compile(r"[A-Za-z0-9._-]{1,128}")


class EntityType(StrEnum):
    """The five levels of a release, top to bottom."""

    RELEASE = "release"
    WAVE = "wave"
    CLUSTER = "cluster"
    BUNDLE = "bundle"
    APP = "app"

    @property
    def level(self) -> int:
        """0 for a release, 4 for an app."""
        return _LEVELS.index(self)

    @property
    def child_type(self) -> EntityType | None:
        """The type every child of this type must have (None for apps)."""
        return _LEVELS[self.level + 1] if self.level + 1 < len(_LEVELS) else None

    @property
    def parent_type(self) -> EntityType | None:
        """The type of this type's parent (None for releases)."""
        return _LEVELS[self.level - 1] if self.level > 0 else None


_LEVELS: tuple[EntityType, ...] = tuple(EntityType)
TYPE_NAMES: tuple[str, ...] = tuple(t.value for t in EntityType)


class InvalidEntityId(ValueError):
    """An entity id that is not of the form ``type:id``; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class EntityId:
    """A parsed entity id such as ``app:checkout-7``."""

    type: EntityType
    key: str

    @classmethod
    def parse(cls, text: object, *, expected: EntityType | None = None) -> EntityId:
        """Parse ``type:id``; raise InvalidEntityId with a precise reason otherwise."""
        if not isinstance(text, str):
            raise InvalidEntityId(f"entity id must be a string, got {type(text).__name__}")
        shown = _shorten(text)
        if not text:
            raise InvalidEntityId("entity id is empty; expected 'type:id', e.g. 'release:rel-001'")
        if len(text) > MAX_ENTITY_ID_LENGTH:
            raise InvalidEntityId(f"entity id {shown} is {len(text)} characters long; at most {MAX_ENTITY_ID_LENGTH}")
        type_name, sep, key = text.partition(":")
        if not sep:
            raise InvalidEntityId(f"entity id {shown} has no ':'; expected 'type:id', e.g. 'release:rel-001'")
        if type_name not in TYPE_NAMES:
            raise InvalidEntityId(
                f"entity id {shown} has unknown type {_shorten(type_name)}; expected one of {', '.join(TYPE_NAMES)}"
            )
        if not key:
            raise InvalidEntityId(f"entity id {shown} has an empty id part after '{type_name}:'")
        if not _ID_PART.fullmatch(key):
            raise InvalidEntityId(
                f"entity id {shown}: the id part must be 1-{MAX_ID_PART_LENGTH} characters "
                "of A-Z, a-z, 0-9, '.', '_' or '-'"
            )
        if key in {".", ".."}:
            raise InvalidEntityId(f"entity id {shown}: the id part may not be '.' or '..'")
        entity_type = EntityType(type_name)
        if expected is not None and entity_type is not expected:
            raise InvalidEntityId(f"entity id {shown} is a {type_name}; expected a {expected.value} id")
        return cls(entity_type, key)

    def __str__(self) -> str:
        return f"{self.type.value}:{self.key}"


def parse_entity_id(text: object, *, expected: EntityType | None = None) -> EntityId:
    """Shorthand for :meth:`EntityId.parse`."""
    return EntityId.parse(text, expected=expected)


_TYPES_BY_NAME: dict[str, EntityType] = {t.value: t for t in EntityType}
_WELL_FORMED_ID = re.compile(rf"({'|'.join(TYPE_NAMES)}):(?!\.{{1,2}}$){_ID_PART.pattern}")
"""The whole of what :meth:`EntityId.parse` accepts (its id-part rule reused, '.' and '..' refused) in one regex."""


def well_formed_type(text: object) -> str | None:
    """The type name of an id :meth:`EntityId.parse` accepts, else None: one regex, for code that checks
    100,000 ids at a time (plans, snapshot pages) and calls the parser only to explain a bad one."""
    match = _WELL_FORMED_ID.fullmatch(text) if type(text) is str else None
    return match[1] if match else None


def entity_type_of(entity_id: str) -> EntityType:
    """The type of an id already known to be valid (a dict lookup: it runs once per entity of every load)."""
    return _TYPES_BY_NAME[entity_id.partition(":")[0]]


def _shorten(text: str, limit: int = 60) -> str:
    """Quote a possibly huge or odd user string for an error message."""
    shown = text if len(text) <= limit else text[:limit] + "…"
    return repr(shown)
