"""Where a snapshot's files sit in a dataset folder, and finding them again.

A dataset folder holds two hive-partitioned Parquet datasets, one per schema, partitioned by the
UTC time each snapshot was taken:

    DIR/members/snapshot_at=2026-11-26T22:45:57.123Z/members.parquet   one row per (group, member)
    DIR/groups/snapshot_at=2026-11-26T22:45:57.123Z/groups.parquet     one row per group

so that a reader points at one folder and gets every snapshot, with `snapshot_at` as a typed column:

    pl.scan_parquet("DIR/members")                                  # Datetime("us", "UTC")
    duckdb.sql("select * from read_parquet('DIR/members/*/*.parquet', hive_partitioning=true)")

The partition value is ISO 8601 with `-`, `:` and a `Z`: the one spelling that both polars' hive
parser (1.24 to 2.x) and DuckDB's (1.1 to 2.x) read as a timestamp without extra arguments. The
`:` makes the folder names invalid on Windows file systems; snapshots are written on Linux
workers and object storage, and a Windows analyst reads them there.

The groups partition is the commit marker: it is published last, so a snapshot exists once
`DIR/groups/snapshot_at=<time>/` does. Snapshots written before this layout
(`DIR/snapshot_at=20261126T224557.123Z/{groups,members}.parquet`, the "legacy" layout) are still
found, opened, compared and restored; `upgrade_snapshots` moves them into the new layout.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import polars as pl

from pipeline.errors import PipelineError
from pipeline.storage import read_file_metadata

__all__ = [
    "GROUPS",
    "GROUPS_FILE",
    "MEMBERS",
    "MEMBERS_FILE",
    "SNAPSHOT_KEY",
    "STAGING_PREFIX",
    "Layout",
    "Snapshot",
    "SnapshotError",
    "latest_snapshots",
    "list_snapshots",
    "open_snapshot",
    "partition_name",
    "publish",
    "remove_orphans",
    "upgrade_snapshots",
]

SNAPSHOT_KEY = "snapshot_at"
GROUPS = "groups"
MEMBERS = "members"
GROUPS_FILE = f"{GROUPS}.parquet"
MEMBERS_FILE = f"{MEMBERS}.parquet"
STAGING_PREFIX = ".tmp-"
ORPHAN_AGE = timedelta(minutes=10)
"""A members partition with no groups partition older than this is a crashed export's: the next
export removes it. Younger ones may be another export between its two renames."""

_TIME = "%Y-%m-%dT%H:%M:%S"
_LEGACY_TIME = "%Y%m%dT%H%M%S"


class SnapshotError(PipelineError):
    """A snapshot cannot be written, found or compared as asked."""


class Layout(StrEnum):
    """How a snapshot's two files are laid out in its dataset folder."""

    DATASET = "dataset"
    """DIR/{groups,members}/snapshot_at=<ISO time>/<kind>.parquet (written since 0.2)."""
    LEGACY = "legacy"
    """DIR/snapshot_at=<basic ISO time>/{groups,members}.parquet (written before)."""


def partition_name(taken_at: datetime) -> str:
    """`snapshot_at=2026-11-26T22:45:57.123Z` for a time (UTC, milliseconds)."""
    utc = taken_at.astimezone(UTC)
    return f"{SNAPSHOT_KEY}={utc:{_TIME}}.{utc.microsecond // 1000:03d}Z"


def _parse_partition(name: str, layout: Layout) -> datetime | None:
    """The time a partition folder name encodes in `layout`, or None for any other name."""
    prefix = f"{SNAPSHOT_KEY}="
    if not name.startswith(prefix) or not name.endswith("Z"):
        return None
    spelling = _TIME if layout is Layout.DATASET else _LEGACY_TIME
    try:
        return datetime.strptime(name[len(prefix) : -1], f"{spelling}.%f").replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A published snapshot: where its two files are and what their metadata says."""

    root: Path
    taken_at: datetime
    layout: Layout
    groups_path: Path
    members_path: Path
    target: dict[str, str]
    tool_version: str
    group_count: int
    member_count: int

    @property
    def path(self) -> Path:
        """The folder that names this snapshot: its members partition (legacy: its folder)."""
        return self.members_path.parent

    def groups(self) -> pl.DataFrame:
        return pl.read_parquet(self.groups_path)

    def members(self) -> pl.LazyFrame:
        """Lazily, so callers filter one group at a time (each group is its own row group)."""
        return pl.scan_parquet(self.members_path, hive_partitioning=False)


def _files(root: Path, taken_at: datetime, layout: Layout) -> tuple[Path, Path]:
    """(groups file, members file) of the snapshot taken at `taken_at` under `root`."""
    if layout is Layout.LEGACY:
        milliseconds = taken_at.microsecond // 1000
        folder = root / f"{SNAPSHOT_KEY}={taken_at:{_LEGACY_TIME}}.{milliseconds:03d}Z"
        return folder / GROUPS_FILE, folder / MEMBERS_FILE
    partition = partition_name(taken_at)
    return root / GROUPS / partition / GROUPS_FILE, root / MEMBERS / partition / MEMBERS_FILE


def _found(root: Path) -> list[tuple[datetime, Layout]]:
    """Every published snapshot under `root` as (time, layout), oldest first."""
    found: list[tuple[datetime, Layout]] = []
    groups = root / GROUPS
    if groups.is_dir():
        found += [
            (taken_at, Layout.DATASET)
            for path in groups.iterdir()
            if (taken_at := _parse_partition(path.name, Layout.DATASET)) is not None
            and (path / GROUPS_FILE).is_file()
        ]
    found += [
        (taken_at, Layout.LEGACY)
        for path in root.iterdir()
        if path.is_dir() and (taken_at := _parse_partition(path.name, Layout.LEGACY)) is not None
    ]
    return sorted(found)


def list_snapshots(root: Path) -> list[Snapshot]:
    """The published snapshots in a dataset folder, oldest first (either layout)."""
    if not root.is_dir():
        raise SnapshotError(f"{root} is not a directory")
    return [_open(root, taken_at, layout) for taken_at, layout in _found(root)]


def latest_snapshots(root: Path, count: int = 2) -> list[Snapshot]:
    """The `count` newest snapshots in a dataset folder, oldest first."""
    found = list_snapshots(root)
    if len(found) < count:
        raise SnapshotError(f"{root} holds {len(found)} snapshot(s); {count} are needed")
    return found[-count:]


def _locate(path: Path) -> tuple[Path, datetime, Layout] | None:
    """(dataset root, time, layout) of a path inside a snapshot, or None."""
    folder = path.parent if path.suffix == ".parquet" else path
    if (taken_at := _parse_partition(folder.name, Layout.DATASET)) is not None:
        if folder.parent.name in (GROUPS, MEMBERS):
            return folder.parent.parent, taken_at, Layout.DATASET
        return None
    if (taken_at := _parse_partition(folder.name, Layout.LEGACY)) is not None:
        return folder.parent, taken_at, Layout.LEGACY
    return None


def open_snapshot(path: Path) -> Snapshot:
    """Open a snapshot given its partition folder (groups or members) or a file in it."""
    located = _locate(path)
    if located is None:
        raise SnapshotError(
            f"{path} is not a snapshot: expected DIR/members/{SNAPSHOT_KEY}=<time>/ or "
            f"DIR/groups/{SNAPSHOT_KEY}=<time>/ (or a file in it); `sinch-groups diff DIR` "
            "compares the two newest snapshots of a dataset folder"
        )
    return _open(*located)


def _open(root: Path, taken_at: datetime, layout: Layout) -> Snapshot:
    groups, members = _files(root, taken_at, layout)
    if not groups.is_file():
        raise SnapshotError(f"{groups.parent} has no {GROUPS_FILE}: the snapshot was not finished")
    if not members.is_file():
        raise SnapshotError(f"{members.parent} has no {MEMBERS_FILE}")
    meta = read_file_metadata(groups)
    if meta.get("kind") != GROUPS:
        raise SnapshotError(f"{groups} was not written by sinch-groups export")
    return Snapshot(
        root=root,
        taken_at=datetime.fromisoformat(meta["snapshot_at"]),
        layout=layout,
        groups_path=groups,
        members_path=members,
        target=json.loads(meta["target"]),
        tool_version=meta["tool_version"],
        group_count=int(meta["group_count"]),
        member_count=int(meta["member_count"]),
    )


def publish(staging: Path, root: Path, taken_at: datetime) -> None:
    """Move a snapshot staged as `staging/{groups,members}/<partition>/` into `root`: members
    first, then groups, the commit marker (each one `rename`)."""
    partition = partition_name(taken_at)
    for kind in (MEMBERS, GROUPS):
        (root / kind).mkdir(exist_ok=True)
        os.rename(staging / kind / partition, root / kind / partition)


def remove_orphans(root: Path, now: datetime) -> list[Path]:
    """Remove what crashed exports left: members partitions whose groups partition never came,
    older than `ORPHAN_AGE`, so that a reader of `DIR/members` no longer sees them."""
    members = root / MEMBERS
    if not members.is_dir():
        return []
    removed = []
    for path in members.iterdir():
        taken_at = _parse_partition(path.name, Layout.DATASET)
        if taken_at is None or taken_at > now - ORPHAN_AGE:
            continue
        if not (root / GROUPS / path.name / GROUPS_FILE).is_file():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def upgrade_snapshots(root: Path) -> list[Snapshot]:
    """Move every legacy snapshot under `root` into the dataset layout; returns them re-opened.

    Each file moves with one `rename` (members, then groups), so an interrupted upgrade leaves
    every snapshot readable in one layout or the other, and running it again finishes the job.
    """
    upgraded = []
    for taken_at, layout in _found(root):
        if layout is not Layout.LEGACY:
            continue
        legacy, dataset = (
            _files(root, taken_at, Layout.LEGACY),
            _files(root, taken_at, Layout.DATASET),
        )
        moves = zip(legacy, dataset, strict=True)
        for old, new in sorted(moves, key=lambda move: move[0].name != MEMBERS_FILE):
            if old.is_file():  # absent when an earlier, interrupted upgrade moved it already
                new.parent.mkdir(parents=True, exist_ok=True)
                os.rename(old, new)
        old.parent.rmdir()
        upgraded.append(_open(root, taken_at, Layout.DATASET))
    return upgraded
