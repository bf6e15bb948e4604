"""Snapshots: live groups -> a Parquet dataset; open, list and diff snapshots.

A snapshot is one hive-style folder under a dataset root, named after the UTC time it was taken:

    DIR/snapshot_at=20261126T224557.123Z/groups.parquet    one row per group
    DIR/snapshot_at=20261126T224557.123Z/members.parquet   one row per (group, member)

The folder time is ISO 8601 "basic" format: no `:` (illegal on Windows), sorts as it reads, and
polars' hive parser turns it into a `Datetime(UTC)` column. The two files have different schemas,
so read each kind across snapshots with its own glob:

    pl.scan_parquet(f"{DIR}/*/members.parquet", hive_partitioning=True)
    duckdb.sql(f"select * from read_parquet('{DIR}/*/groups.parquet', hive_partitioning=true)")

DuckDB keeps `snapshot_at` as text; `strptime(snapshot_at, '%Y%m%dT%H%M%S.%gZ')` makes it a
timestamp. Both files carry key-value metadata (`sinch_groups.*`, see `METADATA_KEYS`).

A snapshot is written into `DIR/.tmp-<random>/snapshot_at=.../` and published with one
`os.rename`, so a crash never leaves a half snapshot where `DIR/*/members.parquet` would find it:
the staging copy sits one level deeper, inside a dot-folder that `list_snapshots` also skips.
Folder and file names never derive from group names.

Members stream: each group's members become one row group of `members.parquet` as they arrive
(fetched with bounded concurrency, written in listing order). Small groups wait until
`ENRICH_BATCH` numbers are queued and are enriched together, so memory holds the groups in flight
plus at most one batch (or one larger group), never the whole snapshot.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import polars as pl
import pyarrow.parquet as pq

from pipeline import __version__
from pipeline._files import atomic_path
from pipeline.errors import PipelineError
from pipeline.phones import describe_numbers
from pipeline.sinch import Group, GroupsClient, NotFoundError
from pipeline.snapshot_schemas import (
    GroupsSnapshot,
    MemberChanges,
    MembersSnapshot,
    polars_schema,
)

__all__ = [
    "ENRICH_BATCH",
    "GROUPS_FILE",
    "MEMBERS_FILE",
    "METADATA_KEYS",
    "SNAPSHOT_KEY",
    "FetchGroup",
    "GroupMembers",
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
    "read_file_metadata",
    "select_groups",
    "snapshot_folder_name",
    "write_parquet_atomic",
    "write_snapshot",
]

SNAPSHOT_KEY = "snapshot_at"
GROUPS_FILE = "groups.parquet"
MEMBERS_FILE = "members.parquet"
STAGING_PREFIX = ".tmp-"
_FOLDER_TIME = "%Y%m%dT%H%M%S"
_COMPRESSION = "zstd"
ENRICH_BATCH = 250_000
"""Numbers that wait to be enriched together: the bound on members held beyond the groups in
flight (a larger group is enriched alone)."""

METADATA_PREFIX = "sinch_groups."
METADATA_KEYS = (
    "kind",  # groups, members, member_changes (diff --out) or migration_mapping
    "tool_version",  # sinch-groups version that wrote the file
    "snapshot_at",  # ISO 8601 UTC, milliseconds
    "target",  # JSON of Target.describe(): plan or project id, region or base URL; no secret
    "group_count",
    "member_count",
    "size_mismatches",  # groups whose `size` disagreed with the members listed
)
"""Key-value metadata of every snapshot file, each stored as `sinch_groups.<key>`."""

GROUPS_SCHEMA = polars_schema(GroupsSnapshot)
MEMBERS_SCHEMA = polars_schema(MembersSnapshot)
MEMBERS_ARROW_SCHEMA = pl.DataFrame(schema=MEMBERS_SCHEMA).to_arrow().schema

ProgressCallback = Callable[[int], None]
"""Called with the number of groups just written (always 1), e.g. to advance a progress bar."""

FetchGroup = Callable[[Group], Awaitable["GroupMembers"]]
_T = TypeVar("_T")
_R = TypeVar("_R")


class SnapshotError(PipelineError):
    """A snapshot cannot be written, found or compared as asked."""


@dataclass(frozen=True, slots=True)
class GroupMembers:
    """One group as fetched for a snapshot: its metadata and its members (E.164 with `+`)."""

    group: Group
    members: pl.Series


@dataclass(frozen=True, slots=True)
class SizeMismatch:
    """A group whose `size` is not the number of members the API listed for it."""

    group_id: str
    name: str | None
    size: int
    members: int

    def __str__(self) -> str:
        label = f"{self.name!r} ({self.group_id})" if self.name else self.group_id
        return f"group {label} reports size {self.size:,} but lists {self.members:,} members"


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What an export wrote: where, when, how much, and what did not add up."""

    path: Path
    taken_at: datetime
    groups: int
    members: int
    size_mismatches: tuple[SizeMismatch, ...] = ()
    vanished: tuple[str, ...] = ()
    """Ids of groups deleted between listing and fetching; they are not in the snapshot."""
    elapsed_s: float = 0.0

    @property
    def warnings(self) -> list[str]:
        """Everything a reader of the snapshot should know was not clean."""
        gone = [f"group {group_id} was deleted during the export" for group_id in self.vanished]
        return [*(str(mismatch) for mismatch in self.size_mismatches), *gone]

    def to_markdown(self) -> str:
        lines = [
            f"# Snapshot {self.taken_at:%Y-%m-%d %H:%M:%S} UTC",
            "",
            f"- path: `{self.path}`",
            f"- groups: {self.groups:,}",
            f"- members: {self.members:,}",
            f"- duration: {self.elapsed_s:.1f} s",
        ]
        lines += [f"- warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)


def snapshot_folder_name(taken_at: datetime) -> str:
    """`snapshot_at=20261126T224557.123Z` for a UTC time (milliseconds, so runs rarely collide)."""
    utc = taken_at.astimezone(UTC)
    return f"{SNAPSHOT_KEY}={utc:{_FOLDER_TIME}}.{utc.microsecond // 1000:03d}Z"


def _parse_folder_name(name: str) -> datetime | None:
    """The time a snapshot folder name encodes, or None for any other name."""
    prefix = f"{SNAPSHOT_KEY}="
    if not name.startswith(prefix) or not name.endswith("Z"):
        return None
    try:
        return datetime.strptime(name[len(prefix) : -1], f"{_FOLDER_TIME}.%f").replace(tzinfo=UTC)
    except ValueError:
        return None


def _metadata(kind: str, values: Mapping[str, object]) -> dict[bytes, bytes]:
    out = {f"{METADATA_PREFIX}kind": kind, f"{METADATA_PREFIX}tool_version": __version__}
    for key, value in values.items():
        text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
        out[f"{METADATA_PREFIX}{key}"] = text
    return {key.encode(): value.encode() for key, value in out.items()}


def write_parquet_atomic(
    frame: pl.DataFrame, path: Path, metadata: Mapping[str, object], *, kind: str
) -> Path:
    """Write `frame` to `path` with `sinch_groups.*` metadata, replacing any old file in one step.

    The file is written beside its destination and renamed over it, so a reader (or a re-run
    after a crash) sees either the old file or the new one, never a torn one.
    """
    table = frame.to_arrow()
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), **_metadata(kind, metadata)}
    )
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary, compression=_COMPRESSION)
    return path


def read_file_metadata(path: Path) -> dict[str, str]:
    """The `sinch_groups.*` key-value metadata of a Parquet file, without the prefix."""
    raw = pq.read_metadata(path).metadata or {}
    prefix = METADATA_PREFIX.encode()
    return {
        key[len(prefix) :].decode(): value.decode()
        for key, value in raw.items()
        if key.startswith(prefix)
    }


# --- export -------------------------------------------------------------------------------------


async def select_groups(
    client: GroupsClient, *, group_ids: Sequence[str] = (), group_names: Sequence[str] = ()
) -> list[Group]:
    """The groups to export, oldest first: all of them, or those named by id or by name.

    A name selects every group that carries it (export only reads, so an ambiguous name is no
    hazard). Every id and name must exist: a snapshot silently missing a group the user asked
    for would be mistaken for a complete one.
    """
    listed: list[Group] = []
    if group_names or not group_ids:
        listed = [group async for group in client.iter_groups(page_size=100)]
    if not group_ids and not group_names:
        return sorted(listed, key=oldest_first)
    wanted = set(group_names)
    chosen = {g.id: g for g in listed if g.name in wanted}
    found = {g.name for g in chosen.values()}
    missing = [repr(name) for name in group_names if name not in found]
    for group_id in group_ids:
        try:
            chosen[group_id] = await client.get_group(group_id)
        except NotFoundError:
            missing.append(f"id {group_id}")
    if missing:
        raise SnapshotError(
            f"no such group on this service plan: {', '.join(missing)}; "
            "`sinch-groups groups` lists the ones that exist"
        )
    return sorted(chosen.values(), key=oldest_first)


def oldest_first(group: Group) -> tuple[datetime, str]:
    """Sort key: creation time, then id (the API lists newest first; snapshots go oldest first)."""
    return group.created_at, group.id


async def fetch_group(client: GroupsClient, group: Group) -> GroupMembers:
    """Re-read a group and list its members (the group may have changed since it was listed)."""
    members = await client.list_members(group.id)
    return GroupMembers(await client.get_group(group.id), members)


def members_frames(items: Sequence[GroupMembers]) -> list[pl.DataFrame]:
    """The `members.parquet` rows of each group, sorted by number, enriched in one pass.

    Describing numbers costs a fixed ~50 ms a call on top of its per-number work, so a hundred
    small groups are described together rather than one by one.
    """
    index = "__group"
    numbers = pl.concat(
        [
            item.members.sort()
            .to_frame("phone_e164")
            .with_columns(pl.lit(position, dtype=pl.UInt32).alias(index))
            for position, item in enumerate(items)
        ]
    )
    enriched = numbers.join(
        describe_numbers(numbers.get_column("phone_e164")),
        on="phone_e164",
        how="left",
        maintain_order="left",
    )
    parts = enriched.partition_by(index, as_dict=True, include_key=False)
    empty = enriched.clear().drop(index)
    return [
        parts.get((position,), empty).select(
            pl.lit(item.group.id, dtype=pl.String).alias("group_id"),
            pl.lit(item.group.name, dtype=pl.String).alias("group_name"),
            "phone_e164",
            pl.col("region").cast(pl.String),
            pl.col("number_type").cast(pl.String),
        )
        for position, item in enumerate(items)
    ]


def _group_row(group: Group, member_count: int) -> dict[str, object]:
    auto = group.auto_update
    return {
        "id": group.id,
        "name": group.name,
        "size": group.size,
        "member_count": member_count,
        "created_at": group.created_at,
        "modified_at": group.modified_at,
        "child_groups": list(group.child_groups),
        "auto_update_to": auto.to if auto else None,
        "auto_update_add_first_word": auto.add.first_word if auto and auto.add else None,
        "auto_update_add_second_word": auto.add.second_word if auto and auto.add else None,
        "auto_update_remove_first_word": auto.remove.first_word if auto and auto.remove else None,
        "auto_update_remove_second_word": auto.remove.second_word if auto and auto.remove else None,
    }


class _SnapshotWriter:
    """Streams one snapshot into a hidden staging folder; `commit` publishes it with one rename.

    Leaving the `with` block without `commit` (an error, a cancellation) deletes the staging
    folder, so nothing half-written stays behind; a hard crash leaves only a `.tmp-*` folder.
    """

    def __init__(self, root: Path, taken_at: datetime, target: Mapping[str, str]) -> None:
        self._taken_at = taken_at
        self._target = dict(target)
        self.final = root / snapshot_folder_name(taken_at)
        if self.final.exists():
            raise SnapshotError(f"{self.final} already exists; snapshots are never overwritten")
        try:
            root.mkdir(parents=True, exist_ok=True)
            self._staging_root = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
        except OSError as exc:
            raise SnapshotError(f"cannot write a snapshot into {root}: {exc.strerror}") from exc
        self._staging = self._staging_root / self.final.name
        self._staging.mkdir()
        self._members = pq.ParquetWriter(
            self._staging / MEMBERS_FILE, MEMBERS_ARROW_SCHEMA, compression=_COMPRESSION
        )
        self._group_rows: list[dict[str, object]] = []
        self._waiting: list[GroupMembers] = []
        self._waiting_numbers = 0
        self._member_count = 0
        self._mismatches: list[SizeMismatch] = []
        self._committed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if not self._committed:
            self._members.close()
            shutil.rmtree(self._staging_root, ignore_errors=True)

    def add(self, item: GroupMembers) -> None:
        """Queue one group; once `ENRICH_BATCH` numbers wait, enrich and write them (`flush`)."""
        self._waiting.append(item)
        self._waiting_numbers += len(item.members)
        if self._waiting_numbers >= ENRICH_BATCH:
            self.flush()

    def flush(self) -> None:
        """Enrich the waiting groups together, then append each as its own row group, in order."""
        if not self._waiting:
            return
        items, self._waiting, self._waiting_numbers = self._waiting, [], 0
        frames = members_frames(items)
        # One validation for the batch: pandera costs ~13 ms a call whatever the frame's size.
        MembersSnapshot.validate(pl.concat(frames))
        for item, frame in zip(items, frames, strict=True):
            if frame.height:
                self._members.write_table(frame.to_arrow().cast(MEMBERS_ARROW_SCHEMA))
            self._member_count += frame.height
            self._group_rows.append(_group_row(item.group, frame.height))
            if item.group.size != frame.height:
                self._mismatches.append(
                    SizeMismatch(item.group.id, item.group.name, item.group.size, frame.height)
                )

    def commit(self, vanished: Sequence[str], elapsed_s: float) -> SnapshotResult:
        """Write groups.parquet, close members.parquet with its metadata, then publish."""
        self.flush()
        metadata = {
            "snapshot_at": self._taken_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "target": self._target,
            "group_count": len(self._group_rows),
            "member_count": self._member_count,
            "size_mismatches": len(self._mismatches),
        }
        groups = GroupsSnapshot.validate(pl.DataFrame(self._group_rows, schema=GROUPS_SCHEMA))
        write_parquet_atomic(groups, self._staging / GROUPS_FILE, metadata, kind="groups")
        self._members.add_key_value_metadata(_metadata("members", metadata))
        self._members.close()
        os.rename(self._staging, self.final)
        self._committed = True
        self._staging_root.rmdir()
        return SnapshotResult(
            path=self.final,
            taken_at=self._taken_at,
            groups=len(self._group_rows),
            members=self._member_count,
            size_mismatches=tuple(self._mismatches),
            vanished=tuple(vanished),
            elapsed_s=round(elapsed_s, 3),
        )


async def _fetch_in_order(
    items: Iterable[_T], fetch: Callable[[_T], Awaitable[_R]], window: int
) -> AsyncIterator[_R]:
    """Yield `fetch(item)` for every item in order, keeping at most `window` fetches in flight.

    Results come out in input order even when later fetches finish first, so at most `window`
    results wait in memory. Pending fetches are cancelled if the consumer stops early.
    """
    remaining = iter(items)
    pending = deque(asyncio.ensure_future(fetch(item)) for item in islice(remaining, window))
    try:
        while pending:
            result = await pending.popleft()
            pending.extend(asyncio.ensure_future(fetch(item)) for item in islice(remaining, 1))
            yield result
    finally:
        for future in pending:
            future.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def write_snapshot(
    root: Path,
    groups: Sequence[Group],
    fetch: FetchGroup,
    *,
    target: Mapping[str, str],
    concurrency: int = 4,
    progress: ProgressCallback | None = None,
    taken_at: datetime | None = None,
) -> SnapshotResult:
    """Fetch `groups` with `fetch` (at most `concurrency` at a time) and stream them to a snapshot.

    `fetch` is injected so the caller decides how one group is read (the flow wraps it in a
    retried task); a group deleted in the meantime (`NotFoundError`) is left out and reported.
    `target` is `Target.describe()` of where the groups came from, stored as metadata.
    """
    if concurrency < 1:
        raise SnapshotError("concurrency must be at least 1")
    clock = time.perf_counter()
    taken_at = taken_at or datetime.now(UTC)
    vanished: list[str] = []

    async def fetch_or_none(group: Group) -> GroupMembers | None:
        try:
            return await fetch(group)
        except NotFoundError:
            vanished.append(group.id)
            return None

    with _SnapshotWriter(root, taken_at, target) as writer:
        async for item in _fetch_in_order(groups, fetch_or_none, concurrency):
            if item is not None:
                # Enrichment is CPU work: off the event loop, so the fetches in flight progress.
                await asyncio.to_thread(writer.add, item)
            if progress is not None:
                progress(1)
        await asyncio.to_thread(writer.flush)
        return writer.commit(vanished, time.perf_counter() - clock)


async def export_snapshot(
    client: GroupsClient,
    root: Path,
    *,
    target: Mapping[str, str],
    group_ids: Sequence[str] = (),
    group_names: Sequence[str] = (),
    concurrency: int = 4,
    progress: ProgressCallback | None = None,
) -> SnapshotResult:
    """Select, fetch and write a snapshot in one call (what the flow does, minus the tasks)."""
    groups = await select_groups(client, group_ids=group_ids, group_names=group_names)

    async def fetch(group: Group) -> GroupMembers:
        return await fetch_group(client, group)

    return await write_snapshot(
        root, groups, fetch, target=target, concurrency=concurrency, progress=progress
    )


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A published snapshot folder and what its metadata says about it."""

    path: Path
    taken_at: datetime
    target: dict[str, str]
    tool_version: str
    group_count: int
    member_count: int

    @property
    def groups_path(self) -> Path:
        return self.path / GROUPS_FILE

    @property
    def members_path(self) -> Path:
        return self.path / MEMBERS_FILE

    def groups(self) -> pl.DataFrame:
        return pl.read_parquet(self.groups_path)

    def members(self) -> pl.LazyFrame:
        """Lazily, so callers filter one group at a time (each group is its own row group)."""
        return pl.scan_parquet(self.members_path)


def list_snapshots(root: Path) -> list[Path]:
    """The published snapshot folders under `root`, oldest first; dot-folders (staging) skipped."""
    if not root.is_dir():
        raise SnapshotError(f"{root} is not a directory")
    found = [
        (taken_at, path)
        for path in root.iterdir()
        if path.is_dir() and (taken_at := _parse_folder_name(path.name)) is not None
    ]
    return [path for _, path in sorted(found)]


def latest_snapshots(root: Path, count: int = 2) -> list[Path]:
    """The `count` newest snapshots under a dataset root, oldest first."""
    found = list_snapshots(root)
    if len(found) < count:
        raise SnapshotError(f"{root} holds {len(found)} snapshot(s); {count} are needed")
    return found[-count:]


def open_snapshot(path: Path) -> Snapshot:
    """Open a snapshot given its folder or either of its two files."""
    folder = path.parent if path.is_file() and path.name in (GROUPS_FILE, MEMBERS_FILE) else path
    if _parse_folder_name(folder.name) is None or not (folder / GROUPS_FILE).is_file():
        raise SnapshotError(
            f"{path} is not a snapshot: expected a folder DIR/{SNAPSHOT_KEY}=<time>/ holding "
            f"{GROUPS_FILE} and {MEMBERS_FILE} (or one of those files)"
        )
    if not (folder / MEMBERS_FILE).is_file():
        raise SnapshotError(f"{folder} has no {MEMBERS_FILE}")
    meta = read_file_metadata(folder / GROUPS_FILE)
    if meta.get("kind") != "groups":
        raise SnapshotError(f"{folder / GROUPS_FILE} was not written by sinch-groups export")
    return Snapshot(
        path=folder,
        taken_at=datetime.fromisoformat(meta["snapshot_at"]),
        target=json.loads(meta["target"]),
        tool_version=meta["tool_version"],
        group_count=int(meta["group_count"]),
        member_count=int(meta["member_count"]),
    )


# --- diff ---------------------------------------------------------------------------------------


class MatchOn(StrEnum):
    """How groups of two snapshots are paired.

    `id` (default) follows a group through renames: right for two snapshots of one service plan.
    `name` pairs groups across plans or after a restore, where ids differ; unnamed groups are
    paired by id (names are at most 20 characters, ids 26, so the two never collide).
    """

    ID = "id"
    NAME = "name"


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

    def write_changes(self, path: Path) -> Path:
        """The member-level changes as Parquet, with both snapshots' times as metadata."""
        metadata = {
            "before": str(self.before.path),
            "after": str(self.after.path),
            "match_on": str(self.match_on),
            "member_count": self.changes.height,
        }
        return write_parquet_atomic(self.changes, path, metadata, kind="member_changes")


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
