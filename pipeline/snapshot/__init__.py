"""Snapshots: live groups -> a Parquet dataset (`write`, with `members` making the member rows);
find and open them (`layout`); compare two (`diff`). `schemas` holds the pandera models of every
file written here. Names are imported from their module on first use (`pipeline._lazy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline._lazy import lazy_exports

if TYPE_CHECKING:
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
    from pipeline.snapshot.members import members_frame
    from pipeline.snapshot.result import GroupMembers, SizeMismatch, SnapshotResult
    from pipeline.snapshot.select import fetch_group, oldest_first, select_groups
    from pipeline.snapshot.write import (
        ENRICH_BATCH,
        METADATA_KEYS,
        FetchGroup,
        ProgressCallback,
        export_snapshot,
        write_snapshot,
    )

_DIFF = "pipeline.snapshot.diff"
_LAYOUT = "pipeline.snapshot.layout"
_WRITE = "pipeline.snapshot.write"
_EXPORTS = {
    "ENRICH_BATCH": _WRITE,
    "GROUPS_FILE": _LAYOUT,
    "MEMBERS_FILE": _LAYOUT,
    "METADATA_KEYS": _WRITE,
    "SNAPSHOT_KEY": _LAYOUT,
    "FetchGroup": _WRITE,
    "GroupMembers": "pipeline.snapshot.result",
    "Layout": _LAYOUT,
    "MatchOn": "pipeline.snapshot.match",
    "ProgressCallback": _WRITE,
    "SizeMismatch": "pipeline.snapshot.result",
    "Snapshot": _LAYOUT,
    "SnapshotDiff": _DIFF,
    "SnapshotError": _LAYOUT,
    "SnapshotResult": "pipeline.snapshot.result",
    "diff_snapshots": _DIFF,
    "export_snapshot": _WRITE,
    "fetch_group": "pipeline.snapshot.select",
    "latest_snapshots": _LAYOUT,
    "list_snapshots": _LAYOUT,
    "members_frame": "pipeline.snapshot.members",
    "oldest_first": "pipeline.snapshot.select",
    "open_snapshot": _LAYOUT,
    "partition_name": _LAYOUT,
    "select_groups": "pipeline.snapshot.select",
    "upgrade_snapshots": _LAYOUT,
    "write_snapshot": _WRITE,
}
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
    "members_frame",
    "oldest_first",
    "open_snapshot",
    "partition_name",
    "select_groups",
    "upgrade_snapshots",
    "write_snapshot",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
