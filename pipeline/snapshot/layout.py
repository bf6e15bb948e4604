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

The groups file is the commit marker: it is published last, so a snapshot exists once
`DIR/groups/snapshot_at=<time>/groups.parquet` does, and `list`, `diff` and `open` key on it alone.
DIR may be a URL (s3, gs, az): object storage has no rename, so an export uploads both files under
a staging prefix (`DIR/.tmp-<partition>-<random>/`, invisible to readers of `DIR/members` and
`DIR/groups`), then copies them into place server-side, members first and the groups file (the
marker, one object) last. What a dropped connection leaves (a staging prefix, a members partition
without its marker) is invisible to `list`/`diff` and removed by the next export. Snapshots written before this layout
(`DIR/snapshot_at=20261126T224557.123Z/{groups,members}.parquet`, the "legacy" layout) are still
found, opened, compared and restored; `upgrade_snapshots` moves them into the new layout.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import polars as pl

from pipeline.errors import PipelineError
from pipeline.storage import (
    Location,
    Where,
    location,
    native,
    read_file_metadata,
    read_parquet,
    scan_parquet,
)

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
    "staging_name",
    "upgrade_snapshots",
]

SNAPSHOT_KEY = "snapshot_at"
GROUPS = "groups"
MEMBERS = "members"
GROUPS_FILE = f"{GROUPS}.parquet"
MEMBERS_FILE = f"{MEMBERS}.parquet"
STAGING_PREFIX = ".tmp-"
ORPHAN_AGE = timedelta(minutes=10)
"""A members partition with no groups file, or a staging folder, older than this is a crashed
export's: the next export removes it. Younger ones may be another export still writing."""

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


def staging_name(taken_at: datetime) -> str:
    """The staging folder name's start for a snapshot (`.tmp-<partition>-`): its time tells the
    next export whether a leftover one is old enough to be a crashed export's."""
    return f"{STAGING_PREFIX}{partition_name(taken_at)}-"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A published snapshot: where its two files are and what their metadata says."""

    root: Path | Location
    taken_at: datetime
    layout: Layout
    groups_path: Path | Location
    members_path: Path | Location
    target: dict[str, str]
    tool_version: str
    group_count: int
    member_count: int

    @property
    def path(self) -> Path | Location:
        """The folder that names this snapshot: its members partition (legacy: its folder)."""
        return self.members_path.parent

    def groups(self) -> pl.DataFrame:
        return read_parquet(self.groups_path)

    def members(self) -> pl.LazyFrame:
        """Lazily, so callers filter one group at a time (each group is its own row group)."""
        return scan_parquet(self.members_path, hive_partitioning=False)


def _files(root: Location, taken_at: datetime, layout: Layout) -> tuple[Location, Location]:
    """(groups file, members file) of the snapshot taken at `taken_at` under `root`."""
    if layout is Layout.LEGACY:
        milliseconds = taken_at.microsecond // 1000
        folder = root / f"{SNAPSHOT_KEY}={taken_at:{_LEGACY_TIME}}.{milliseconds:03d}Z"
        return folder / GROUPS_FILE, folder / MEMBERS_FILE
    partition = partition_name(taken_at)
    return root / GROUPS / partition / GROUPS_FILE, root / MEMBERS / partition / MEMBERS_FILE


def _found(root: Location) -> list[tuple[datetime, Layout]]:
    """Every published snapshot under `root` as (time, layout), oldest first: those whose groups
    file (the marker) is there, found with one listing of `root/groups`."""
    groups = root / GROUPS
    found = [
        (taken_at, Layout.DATASET)
        for file in groups.files()
        if file.name == GROUPS_FILE
        and file.parent.parent == groups
        and (taken_at := _parse_partition(file.parent.name, Layout.DATASET)) is not None
    ]
    if root.is_local:  # object storage never held the legacy layout
        found += [
            (taken_at, Layout.LEGACY)
            for path in root.path.iterdir()
            if path.is_dir()
            and (taken_at := _parse_partition(path.name, Layout.LEGACY)) is not None
        ]
    return sorted(found)


def list_snapshots(root: Where) -> list[Snapshot]:
    """The published snapshots in a dataset folder, oldest first (either layout)."""
    root = location(root)
    if not root.is_dir():
        what = "is not a directory" if root.is_local else "holds no snapshot (nothing is there)"
        raise SnapshotError(f"{root} {what}")
    return [_open(root, taken_at, layout) for taken_at, layout in _found(root)]


def latest_snapshots(root: Where, count: int = 2) -> list[Snapshot]:
    """The `count` newest snapshots in a dataset folder, oldest first."""
    found = list_snapshots(root)
    if len(found) < count:
        raise SnapshotError(f"{root} holds {len(found)} snapshot(s); {count} are needed")
    return found[-count:]


def _locate(path: Location) -> tuple[Location, datetime, Layout] | None:
    """(dataset root, time, layout) of a path inside a snapshot, or None."""
    folder = path.parent if path.suffix == ".parquet" else path
    if (taken_at := _parse_partition(folder.name, Layout.DATASET)) is not None:
        if folder.parent.name in (GROUPS, MEMBERS):
            return folder.parent.parent, taken_at, Layout.DATASET
        return None
    if (taken_at := _parse_partition(folder.name, Layout.LEGACY)) is not None:
        return folder.parent, taken_at, Layout.LEGACY
    return None


def open_snapshot(path: Where) -> Snapshot:
    """Open a snapshot given its partition folder (groups or members) or a file in it."""
    path = location(path)
    located = _locate(path)
    if located is None:
        raise SnapshotError(
            f"{path} is not a snapshot: expected DIR/members/{SNAPSHOT_KEY}=<time>/ or "
            f"DIR/groups/{SNAPSHOT_KEY}=<time>/ (or a file in it); `sinch-groups diff DIR` "
            "compares the two newest snapshots of a dataset folder"
        )
    return _open(*located)


def _open(root: Location, taken_at: datetime, layout: Layout) -> Snapshot:
    groups, members = _files(root, taken_at, layout)
    if not groups.is_file():
        raise SnapshotError(f"{groups.parent} has no {GROUPS_FILE}: the snapshot was not finished")
    if not members.is_file():
        raise SnapshotError(f"{members.parent} has no {MEMBERS_FILE}")
    meta = read_file_metadata(groups)
    if meta.get("kind") != GROUPS:
        raise SnapshotError(f"{groups} was not written by sinch-groups export")
    return Snapshot(
        root=native(root),
        taken_at=datetime.fromisoformat(meta["snapshot_at"]),
        layout=layout,
        groups_path=native(groups),
        members_path=native(members),
        target=json.loads(meta["target"]),
        tool_version=meta["tool_version"],
        group_count=int(meta["group_count"]),
        member_count=int(meta["member_count"]),
    )


def publish(staging: Location, root: Location, taken_at: datetime) -> None:
    """Move a snapshot staged as `staging/{groups,members}/<partition>/<kind>.parquet` into
    `root`, members first and the groups file (the commit marker) last: locally one `rename`
    each, on object storage one server-side copy each, then the staging prefix is deleted."""
    partition = partition_name(taken_at)
    for kind in (MEMBERS, GROUPS):
        if root.is_local:
            (root.path / kind).mkdir(exist_ok=True)
            os.rename((staging / kind / partition).path, (root / kind / partition).path)
        else:
            name = f"{kind}.parquet"
            (staging / kind / partition / name).copy_to(root / kind / partition / name)
    if not root.is_local:
        staging.delete_tree()


def remove_orphans(root: Location, now: datetime) -> list[Location]:
    """Remove what crashed exports left, older than `ORPHAN_AGE`: staging folders, and members
    partitions whose groups file never came (a reader of `DIR/members` would see them)."""
    removed = []
    for child in root.iterdir() if root.is_dir() else ():
        rest = child.name.removeprefix(STAGING_PREFIX)
        taken_at = _parse_partition(rest.rpartition("-")[0], Layout.DATASET)
        if rest != child.name and taken_at is not None and taken_at <= now - ORPHAN_AGE:
            child.delete_tree()
            removed.append(child)
    members = root / MEMBERS
    for path in members.iterdir() if members.is_dir() else ():
        taken_at = _parse_partition(path.name, Layout.DATASET)
        if taken_at is None or taken_at > now - ORPHAN_AGE:
            continue
        if not (root / GROUPS / path.name / GROUPS_FILE).is_file():
            path.delete_tree()
            removed.append(path)
    return removed


def upgrade_snapshots(root: Where) -> list[Snapshot]:
    """Move every legacy snapshot under `root` into the dataset layout; returns them re-opened.

    Each file moves with one `rename` (members, then groups), so an interrupted upgrade leaves
    every snapshot readable in one layout or the other, and running it again finishes the job.
    Legacy snapshots were only ever written to local folders.
    """
    root = location(root)
    if not root.is_local:
        raise SnapshotError(f"{root}: only local folders can hold legacy snapshots")
    upgraded = []
    for taken_at, layout in _found(root):
        if layout is not Layout.LEGACY:
            continue
        legacy, dataset = (
            _files(root, taken_at, Layout.LEGACY),
            _files(root, taken_at, Layout.DATASET),
        )
        moves = zip((f.path for f in legacy), (f.path for f in dataset), strict=True)
        for old, new in sorted(moves, key=lambda move: move[0].name != MEMBERS_FILE):
            if old.is_file():  # absent when an earlier, interrupted upgrade moved it already
                new.parent.mkdir(parents=True, exist_ok=True)
                os.rename(old, new)
        old.parent.rmdir()
        upgraded.append(_open(root, taken_at, Layout.DATASET))
    return upgraded
