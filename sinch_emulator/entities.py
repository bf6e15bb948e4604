"""Plain value types shared by the rules, the storage and the HTTP layer.

They carry no behaviour beyond conversion to and from the JSON dict the API (and the store)
uses for `auto_update`, so the three layers agree on one representation.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Clock = Callable[[], float]
"""Seconds since the epoch (`time.time`); injectable so tests control timestamps and expiry."""


class Unset(enum.Enum):
    """Tells "key absent" apart from an explicit JSON `null` (only `name` cares)."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class Keyword:
    """An MO keyword: the first word, and optionally a second, a subscriber texts."""

    first_word: str
    second_word: str | None = None

    def to_dict(self) -> dict[str, str]:
        """JSON form; a missing second word is left out, as every null field is."""
        data = {"first_word": self.first_word}
        if self.second_word is not None:
            data["second_word"] = self.second_word
        return data


@dataclass(frozen=True, slots=True)
class AutoUpdate:
    """Keyword-driven self-subscription settings of a group."""

    to: str
    add: Keyword | None = None
    remove: Keyword | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form used on the wire and in the store; absent keywords are left out."""
        data: dict[str, Any] = {"to": self.to}
        if self.add is not None:
            data["add"] = self.add.to_dict()
        if self.remove is not None:
            data["remove"] = self.remove.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AutoUpdate:
        """Inverse of `to_dict`, for data this package wrote itself (no validation)."""
        return cls(
            to=data["to"],
            add=Keyword(**data["add"]) if data.get("add") else None,
            remove=Keyword(**data["remove"]) if data.get("remove") else None,
        )


@dataclass(frozen=True, slots=True)
class Group:
    """A group as the API shows it: no member list, only its size."""

    id: str
    name: str | None
    size: int
    created_at: datetime
    modified_at: datetime
    child_groups: tuple[str, ...] = ()
    auto_update: AutoUpdate | None = None


@dataclass(frozen=True, slots=True)
class GroupPage:
    """One page of the group list; `count` is the total across all pages."""

    page: int
    count: int
    groups: list[Group]


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSpec:
    """The whole definition of a group, as create (POST) and replace (PUT) send it."""

    name: str | None = None
    members: Sequence[str] = ()
    child_groups: Sequence[str] = ()
    auto_update: AutoUpdate | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupChanges:
    """An incremental update (POST /groups/{id}).

    Empty / `None` fields leave the group as is, except `name`: UNSET keeps it, None removes it.
    """

    add: Sequence[str] = ()
    remove: Sequence[str] = ()
    name: str | Unset | None = UNSET
    add_from_group: str | None = None
    remove_from_group: str | None = None
    auto_update: AutoUpdate | None = None


@dataclass(frozen=True, slots=True)
class InboundResult:
    """What one simulated inbound SMS changed: ids of the groups joined and left, oldest first.

    Only real changes are listed: a join by a member or a leave by a non-member is a no-op.
    """

    joined: list[str]
    left: list[str]
