"""Snapshots: live groups -> a Parquet dataset (`write`); find and open them (`layout`); compare
two (`diff`). `schemas` holds the pandera models of every file written here."""

from __future__ import annotations

from pipeline.snapshot.diff import MatchOn, SnapshotDiff, diff_snapshots
from pipeline.snapshot.layout import (
    GROUPS_FILE,
    MEMBERS_FILE,
    SNAPSHOT_KEY,
    Layout,
    Snapshot,
    SnapshotError,
    latest_snapshots,
    list_snapshots,
    open_snapshot,
    partition_name,
    upgrade_snapshots,
)
from pipeline.snapshot.write import (
    ENRICH_BATCH,
    METADATA_KEYS,
    FetchGroup,
    GroupMembers,
    ProgressCallback,
    SizeMismatch,
    SnapshotResult,
    export_snapshot,
    fetch_group,
    members_frames,
    oldest_first,
    select_groups,
    write_snapshot,
)

__all__ = [
    "ENRICH_BATCH",
    "GROUPS_FILE",
    "MEMBERS_FILE",
    "METADATA_KEYS",
    "SNAPSHOT_KEY",
    "FetchGroup",
    "GroupMembers",
    "Layout",
    "MatchOn",
    "ProgressCallback",
    "SizeMismatch",
    "Snapshot",
    "SnapshotDiff",
    "SnapshotError",
    "SnapshotResult",
    "diff_snapshots",
    "export_snapshot",
    "fetch_group",
    "latest_snapshots",
    "list_snapshots",
    "members_frames",
    "oldest_first",
    "open_snapshot",
    "partition_name",
    "select_groups",
    "upgrade_snapshots",
    "write_snapshot",
]
