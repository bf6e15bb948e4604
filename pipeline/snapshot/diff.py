"""Two snapshots compared, group by group and member by member."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from pipeline.snapshot.layout import Snapshot, SnapshotError, partition_name
from pipeline.snapshot.match import MatchOn
from pipeline.snapshot.schemas import MemberChanges, polars_schema
from pipeline.storage import Where, write_parquet_atomic

__all__ = ["MatchOn", "SnapshotDiff", "diff_snapshots"]


@dataclass(frozen=True)
class SnapshotDiff:
    """Two snapshots compared: one row per group, and the member-level changes.

    `groups`: key, group_id_before/after, name_before/after, status (created, deleted, renamed,
    changed, unchanged; renamed wins over changed), members_before/after, added, removed,
    unchanged (`members_before == unchanged + removed`, `members_after == unchanged + added`).
    `changes`: a `MemberChanges` frame.
    """

    before: Snapshot
    after: Snapshot
    match_on: MatchOn
    groups: pl.DataFrame
    changes: pl.DataFrame = field(repr=False)

    def status_counts(self) -> dict[str, int]:
        return dict(self.groups.group_by("status").len().sort("status").iter_rows())

    def listed(self, *, include_unchanged: bool = False) -> pl.DataFrame:
        """The group rows a reader is shown: the changed ones, or every one."""
        if include_unchanged:
            return self.groups
        return self.groups.filter(pl.col("status") != "unchanged")

    def to_dict(self, *, include_unchanged: bool = False) -> dict[str, Any]:
        """The comparison as plain JSON-ready values (`diff --json`): both snapshots, the counts,
        and the listed groups (the `groups` columns but `key`, which repeats an id or a name)."""
        columns = [
            "status",
            *(name for name in self.groups.columns if name not in ("key", "status")),
        ]
        return {
            "before": {"snapshot_at": _utc(self.before.taken_at), "path": str(self.before.path)},
            "after": {"snapshot_at": _utc(self.after.taken_at), "path": str(self.after.path)},
            "match_on": str(self.match_on),
            "status_counts": self.status_counts(),
            "members_added": int(self.groups["added"].sum()),
            "members_removed": int(self.groups["removed"].sum()),
            "groups": self.listed(include_unchanged=include_unchanged).select(columns).to_dicts(),
        }

    def write_changes(self, path: Where) -> Where:
        """The member-level changes as Parquet, with both snapshots' times as metadata."""
        metadata = {
            "before": str(self.before.path),
            "after": str(self.after.path),
            "match_on": str(self.match_on),
            "member_count": self.changes.height,
        }
        return write_parquet_atomic(self.changes, path, metadata, kind="member_changes")


def _utc(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as snapshot folders name their time."""
    return partition_name(moment).partition("=")[2]


def _keyed(snapshot: Snapshot, match_on: MatchOn) -> tuple[pl.DataFrame, pl.LazyFrame]:
    """(groups with a `key` column, members with the same `key`) of one snapshot."""
    key = pl.col("id") if match_on is MatchOn.ID else pl.coalesce("name", "id")
    groups = snapshot.groups().select(key.alias("key"), "id", "name")
    duplicated = groups.filter(pl.col("key").is_duplicated())["key"].unique().sort().to_list()
    if duplicated:
        raise SnapshotError(
            f"{snapshot.path} has several groups named {', '.join(map(repr, duplicated))}; "
            "compare by id instead"
        )
    members = snapshot.members().join(
        groups.lazy().select("key", "id"), left_on="group_id", right_on="id", how="inner"
    )
    return groups, members


def diff_snapshots(
    before: Snapshot, after: Snapshot, *, match_on: MatchOn = MatchOn.ID
) -> SnapshotDiff:
    """Compare two snapshots group by group and member by member (anti-joins, all vectorized)."""
    groups_before, members_before = _keyed(before, match_on)
    groups_after, members_after = _keyed(after, match_on)
    pair = ["key", "phone_e164"]
    added = members_after.join(members_before.select(pair), on=pair, how="anti")
    removed = members_before.join(members_after.select(pair), on=pair, how="anti")
    changes = pl.concat(
        [added.with_columns(change=pl.lit("added")), removed.with_columns(change=pl.lit("removed"))]
    ).sort("key", "change", "phone_e164")
    changes_frame = changes.collect()

    def count(frame: pl.LazyFrame, name: str) -> pl.LazyFrame:
        return frame.group_by("key").agg(pl.len().cast(pl.Int64).alias(name))

    table = (
        groups_before.lazy()
        .rename({"id": "group_id_before", "name": "name_before"})
        .join(
            groups_after.lazy().rename({"id": "group_id_after", "name": "name_after"}),
            on="key",
            how="full",
            coalesce=True,
        )
        .join(count(members_before, "members_before"), on="key", how="left")
        .join(count(members_after, "members_after"), on="key", how="left")
        .join(count(changes_frame.lazy().filter(change="added"), "added"), on="key", how="left")
        .join(count(changes_frame.lazy().filter(change="removed"), "removed"), on="key", how="left")
        .with_columns(pl.col("members_before", "members_after", "added", "removed").fill_null(0))
        .with_columns(unchanged=pl.col("members_before") - pl.col("removed"))
        .with_columns(
            status=pl.when(pl.col("group_id_before").is_null())
            .then(pl.lit("created"))
            .when(pl.col("group_id_after").is_null())
            .then(pl.lit("deleted"))
            .when(pl.col("name_before").ne_missing(pl.col("name_after")))
            .then(pl.lit("renamed"))
            .when((pl.col("added") + pl.col("removed")) > 0)
            .then(pl.lit("changed"))
            .otherwise(pl.lit("unchanged"))
        )
        .sort("status", pl.coalesce("name_after", "name_before"), "key", nulls_last=True)
        .collect()
    )
    return SnapshotDiff(
        before=before,
        after=after,
        match_on=match_on,
        groups=table,
        changes=MemberChanges.validate(changes_frame.select(polars_schema(MemberChanges).names())),
    )
