"""Pandera models of the frames the snapshot, diff and migrate stages write to Parquet.

Each model is the single source of its file's column names and types: `polars_schema()` derives
the polars schema from it, so the writer, the validator and the readers cannot drift apart.
Frames are validated before they are written, so a file on disk always matches its model.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

__all__ = [
    "GroupsSnapshot",
    "MappingTable",
    "MemberChanges",
    "MembersSnapshot",
    "polars_schema",
]

GROUP_ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
"""Crockford base32, 26 characters: every id the Groups API issues."""

E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
"""E.164 with the leading `+`, as the snapshot stores numbers (the API returns digits only)."""

UTC_MS = pl.Datetime("ms", "UTC")
"""The API's timestamps are UTC with millisecond precision; the files keep exactly that."""


class GroupsSnapshot(pa.DataFrameModel):
    """`groups.parquet`: one row per group, as the API described it at snapshot time.

    `member_count` is how many members `list_members` returned; it differs from `size` when the
    group changed between the two calls (or the API is inconsistent), which the export reports.
    The `auto_update_*` columns flatten the optional auto-update object (all null when absent).
    """

    id: str = pa.Field(unique=True, str_matches=GROUP_ID_PATTERN)
    name: str = pa.Field(nullable=True)
    size: pl.Int64 = pa.Field(ge=0)
    member_count: pl.Int64 = pa.Field(ge=0)
    created_at: UTC_MS
    modified_at: UTC_MS
    child_groups: pl.List(pl.String)
    auto_update_to: str = pa.Field(nullable=True)
    auto_update_add_first_word: str = pa.Field(nullable=True)
    auto_update_add_second_word: str = pa.Field(nullable=True)
    auto_update_remove_first_word: str = pa.Field(nullable=True)
    auto_update_remove_second_word: str = pa.Field(nullable=True)

    class Config:
        strict = True
        ordered = True


class MembersSnapshot(pa.DataFrameModel):
    """`members.parquet`: one row per (group, member).

    `phone_e164` and `group_name` are the columns `sinch-groups sync --group-column group_name`
    picks up, which is what makes a snapshot a restorable input. `region` (ISO 3166 alpha-2 of
    the number) and `number_type` come from phonenumbers and are null when it cannot tell.
    """

    group_id: str = pa.Field(str_matches=GROUP_ID_PATTERN)
    group_name: str = pa.Field(nullable=True)
    phone_e164: str = pa.Field(str_matches=E164_PATTERN)
    region: str = pa.Field(nullable=True)
    number_type: str = pa.Field(nullable=True)

    class Config:
        strict = True
        ordered = True
        unique = ["group_id", "phone_e164"]


class MemberChanges(pa.DataFrameModel):
    """The member-level output of `diff`: one row per number added to or removed from a group.

    `group_id` and `group_name` are those of the side the number is on (the later snapshot for
    an addition, the earlier one for a removal).
    """

    group_id: str = pa.Field(str_matches=GROUP_ID_PATTERN)
    group_name: str = pa.Field(nullable=True)
    phone_e164: str = pa.Field(str_matches=E164_PATTERN)
    region: str = pa.Field(nullable=True)
    number_type: str = pa.Field(nullable=True)
    change: str = pa.Field(isin=["added", "removed"])

    class Config:
        strict = True
        ordered = True


class MappingTable(pa.DataFrameModel):
    """The migrate mapping file: which destination group each source group became.

    `complete` is False between creating a group and adding its last member batch, so a re-run
    after a crash knows to finish that group rather than skip it.
    """

    source_id: str = pa.Field(unique=True, str_matches=GROUP_ID_PATTERN)
    target_id: str = pa.Field(unique=True, str_matches=GROUP_ID_PATTERN)
    name: str = pa.Field(nullable=True)
    members: pl.Int64 = pa.Field(ge=0)
    complete: bool
    action: str = pa.Field(isin=["created", "recreated", "adopted"])
    migrated_at: UTC_MS

    class Config:
        strict = True
        ordered = True


def polars_schema(model: type[pa.DataFrameModel]) -> pl.Schema:
    """The polars schema (names, order, dtypes) a model validates."""
    return pl.Schema(
        {name: column.dtype.type for name, column in model.to_schema().columns.items()}
    )
