"""The objects of the Groups API, as frozen pydantic models.

Responses are parsed into these so the rest of the pipeline never handles raw JSON: timestamps
become aware UTC datetimes, absent keys become None or empty lists.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Final

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from ._exceptions import InvalidGroupIdError

__all__ = ["UNSET", "AutoUpdate", "Group", "GroupPage", "Keyword", "UnsetType", "validate_group_id"]

# Crockford base32 (no I, L, O, U), 26 characters: the shape of every group id the API issues.
_GROUP_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


class UnsetType(Enum):
    """Type of `UNSET`: tells "argument not given" apart from an explicit None.

    An enum member, so type checkers can narrow `str | None | UnsetType` with `is UNSET`.
    """

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = UnsetType.UNSET


def validate_group_id(group_id: str) -> str:
    """Return `group_id` unchanged if it is a well-formed id, else raise InvalidGroupIdError.

    Ids are interpolated into URL paths; checking the shape first means a value such as
    "../x" or "a/b" can never address a different resource.
    """
    if not isinstance(group_id, str) or not _GROUP_ID.fullmatch(group_id):
        raise InvalidGroupIdError(group_id)
    return group_id


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Keyword(_Model):
    """An auto-update keyword pair: the first word of an inbound SMS, optionally the second."""

    first_word: str
    second_word: str | None = None


class AutoUpdate(_Model):
    """Inbound SMS to `to` starting with the `add`/`remove` keywords join or leave the group."""

    to: str
    add: Keyword | None = None
    remove: Keyword | None = None

    def to_wire(self) -> dict[str, object]:
        """The JSON object the API expects: absent keywords are left out, never null."""
        return self.model_dump(exclude_none=True)


class Group(_Model):
    """A group as the API returns it; members are not included, only their count (`size`)."""

    id: str
    name: str | None = None
    size: int = 0
    created_at: UtcDatetime
    modified_at: UtcDatetime
    child_groups: list[str] = Field(default_factory=list)
    auto_update: AutoUpdate | None = None


class GroupPage(_Model):
    """One page of `list_groups`: `page_size` is how many groups this page holds, `count` the
    total across all pages."""

    page: int
    page_size: int
    count: int
    groups: list[Group] = Field(default_factory=list)
