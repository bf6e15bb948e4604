"""Live groups -> a snapshot in a dataset folder (see `layout` for where the files go).

A snapshot is written into `DIR/.tmp-<partition>-<random>/{members,groups}/snapshot_at=.../` and
published with two renames, members first and groups last (the commit marker), so a crash never
leaves a half snapshot where a reader of `DIR/members` or `DIR/groups` would find it: the staging
copy sits in a dot-folder beside the two datasets. On object storage (DIR a URL) the files are
written locally, uploaded to the same staging prefix and copied into place server-side in the
same order (`layout.publish`). Folder and file names never derive from group names.

Members stream: each group's members become one row group of `members.parquet` as they arrive
(fetched with bounded concurrency, written in listing order). Groups are enriched and written in
batches (`members`), in threads of their own while the next groups are fetched: a batch is what
arrived while the one before was prepared, at most `ENRICH_BATCH` numbers (or one larger group).
So memory holds the groups in flight plus at most three batches, never the whole snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.progress import Stages
from pipeline.sinch import Group, GroupsClient, NotFoundError
from pipeline.snapshot.layout import (
    GROUPS,
    GROUPS_FILE,
    MEMBERS,
    MEMBERS_FILE,
    SnapshotError,
    partition_name,
    publish,
    remove_orphans,
    staging_name,
)
from pipeline.snapshot.members import MEMBERS_SCHEMA, members_frame, validate_members
from pipeline.snapshot.result import GroupMembers, SizeMismatch, SnapshotResult
from pipeline.snapshot.schemas import GroupsSnapshot, polars_schema
from pipeline.snapshot.select import fetch_group, select_groups
from pipeline.storage import (
    COMPRESSION,
    StorageError,
    Where,
    file_metadata,
    location,
    native,
    write_parquet_atomic,
)

__all__ = [
    "ENRICH_BATCH",
    "METADATA_KEYS",
    "FetchGroup",
    "ProgressCallback",
    "SelectGroups",
    "export_snapshot",
    "write_snapshot",
]

ENRICH_BATCH = 250_000
"""The most numbers that wait for the batch before them to be prepared: the bound on members held
beyond the groups in flight and the two batches being written (a larger group is a batch alone)."""

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
MEMBERS_ARROW_SCHEMA = pl.DataFrame(schema=MEMBERS_SCHEMA).to_arrow().schema
_DICTIONARY_COLUMNS = [name for name in MEMBERS_SCHEMA if name != "phone_e164"]
"""Columns whose values repeat: a group's numbers do not, so a dictionary of them costs time and
space (the writer gives up on it once it holds a megabyte)."""

ProgressCallback = Callable[[int], None]
"""Called with the number of groups just written (always 1), e.g. to advance a progress bar."""

FetchGroup = Callable[[Group], Awaitable["GroupMembers"]]
SelectGroups = Callable[[Sequence[str], Sequence[str]], Awaitable[list[Group]]]
"""(group ids, group names) -> the groups to export, oldest first."""
_T = TypeVar("_T")
_R = TypeVar("_R")


# --- export -------------------------------------------------------------------------------------


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
    """Streams one snapshot into a hidden staging folder; `commit` publishes it (`publish`).

    Leaving the `with` block without `commit` (an error, a cancellation) deletes the staging
    folder, so nothing half-written stays behind; a hard crash (or a dropped connection to object
    storage) leaves only a `.tmp-*` folder, which the next export removes (`remove_orphans`).
    """

    def __init__(self, root: Where, taken_at: datetime, target: Mapping[str, str]) -> None:
        self._root = root = location(root)
        self._taken_at = taken_at
        self._target = dict(target)
        partition = partition_name(taken_at)
        try:
            if (root / GROUPS / partition).exists() or (root / MEMBERS / partition).exists():
                raise SnapshotError(
                    f"a snapshot {partition} already exists in {root}; "
                    "snapshots are never overwritten"
                )
            remove_orphans(root, taken_at)
        except StorageError as exc:
            raise SnapshotError(f"cannot write a snapshot into {exc}") from None
        try:
            if root.is_local:
                root.path.mkdir(parents=True, exist_ok=True)
            folder = root.path if root.is_local else None
            # Locally the staging folder is inside DIR; for a URL it is a scratch folder here,
            # uploaded to a staging prefix of the same name at commit.
            self._staging_root = Path(tempfile.mkdtemp(prefix=staging_name(taken_at), dir=folder))
        except OSError as exc:
            raise SnapshotError(f"cannot write a snapshot into {root}: {exc.strerror}") from exc
        self._staging = root / self._staging_root.name
        self._groups_file = self._staging_root / GROUPS / partition / GROUPS_FILE
        self._members_file = self._staging_root / MEMBERS / partition / MEMBERS_FILE
        for file in (self._groups_file, self._members_file):
            file.parent.mkdir(parents=True)
        self._members = pq.ParquetWriter(
            self._members_file,
            MEMBERS_ARROW_SCHEMA,
            compression=COMPRESSION,
            use_dictionary=_DICTIONARY_COLUMNS,
        )
        self._group_rows: list[dict[str, object]] = []
        self._waiting: list[GroupMembers] = []
        self._waiting_numbers = 0
        self._member_count = 0
        self._mismatches: list[SizeMismatch] = []
        self._committed = False
        self._threads = tuple(
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"snapshot-{stage}")
            for stage in ("prepare", "append")
        )
        self._preparing: asyncio.Future[None] | None = None
        self._appending: Future[None] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for thread in self._threads:  # a batch being written is finished before anything closes
            thread.shutdown()
        if not self._committed:
            self._members.close()
            shutil.rmtree(self._staging_root, ignore_errors=True)
            if not self._root.is_local:
                with contextlib.suppress(StorageError):  # the connection may be what failed
                    self._staging.delete_tree()

    async def add(self, item: GroupMembers) -> None:
        """Queue one group; hand the queued groups over as one batch as soon as the writer is
        free, or wait for it once `ENRICH_BATCH` numbers are queued.

        Batches are as large as the writer's pace makes them: one group at a time while it keeps
        up (so that it starts with the first group and has little left when the last arrives),
        more together when it falls behind (a batch has a fixed cost of a few milliseconds).
        """
        self._waiting.append(item)
        self._waiting_numbers += len(item.members)
        free = self._preparing is None or self._preparing.done()
        if free or self._waiting_numbers >= ENRICH_BATCH:
            await self._hand_over()

    async def finish(self) -> None:
        """Hand over the groups still waiting, and wait until every batch is written."""
        await self._hand_over()
        if self._preparing is not None:
            await self._preparing
        if self._appending is not None:
            await asyncio.wrap_future(self._appending)

    async def _hand_over(self) -> None:
        """Start preparing the waiting groups once the batch before them is prepared.

        A batch goes through two threads, so that fetching, preparing a batch (`_prepare`) and
        appending the one before it to the file (`_append`, pyarrow's writer: one core) all go
        on at once; memory holds the batch being appended, the one being prepared and the one
        filling.
        """
        if self._preparing is not None:
            await self._preparing
        items, self._waiting, self._waiting_numbers = self._waiting, [], 0
        if items:
            loop = asyncio.get_running_loop()
            self._preparing = loop.run_in_executor(self._threads[0], self._prepare, items)

    def _prepare(self, items: list[GroupMembers]) -> None:
        """Enrich and validate a batch of groups together, then queue it to be appended once the
        batch before it is (which keeps the batches in order and at most one waiting)."""
        frame = members_frame(items)
        validate_members(frame, items)
        table = frame.to_arrow().cast(MEMBERS_ARROW_SCHEMA)
        if self._appending is not None:
            self._appending.result()  # raises what the append before raised
        self._appending = self._threads[1].submit(self._append, items, table)

    def _append(self, items: list[GroupMembers], table: pa.Table) -> None:
        """Append each group of a prepared batch as its own row group, in order."""
        offset = 0
        for item in items:
            height = len(item.members)
            if height:
                self._members.write_table(table.slice(offset, height))
            offset += height
            self._member_count += height
            self._group_rows.append(_group_row(item.group, height))
            if item.group.size != height:
                self._mismatches.append(
                    SizeMismatch(item.group.id, item.group.name, item.group.size, height)
                )

    def commit(self, vanished: Sequence[str], elapsed_s: float) -> SnapshotResult:
        """Write groups.parquet, close members.parquet with its metadata, then publish (after
        `finish`)."""
        metadata = {
            "snapshot_at": self._taken_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "target": self._target,
            "group_count": len(self._group_rows),
            "member_count": self._member_count,
            "size_mismatches": len(self._mismatches),
        }
        groups = GroupsSnapshot.validate(pl.DataFrame(self._group_rows, schema=GROUPS_SCHEMA))
        write_parquet_atomic(groups, self._groups_file, metadata, kind=GROUPS)
        self._members.add_key_value_metadata(file_metadata(MEMBERS, metadata))
        self._members.close()
        partition = partition_name(self._taken_at)
        if not self._root.is_local:
            for kind, file in ((MEMBERS, self._members_file), (GROUPS, self._groups_file)):
                (self._staging / kind / partition / file.name).upload(file)
        try:
            publish(self._staging, self._root, self._taken_at)
        except StorageError as exc:
            raise SnapshotError(f"the snapshot could not be published: {exc}") from None
        self._committed = True
        shutil.rmtree(self._staging_root, ignore_errors=True)
        return SnapshotResult(
            root=native(self._root),
            groups_path=native(self._root / GROUPS / partition / GROUPS_FILE),
            members_path=native(self._root / MEMBERS / partition / MEMBERS_FILE),
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
    root: Where,
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
    now = taken_at or datetime.now(UTC)
    taken_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the partition's precision
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
                await writer.add(item)
            if progress is not None:
                progress(1)
        await writer.finish()
        return writer.commit(vanished, time.perf_counter() - clock)


async def export_snapshot(
    client: GroupsClient,
    root: Where,
    *,
    target: Mapping[str, str],
    group_ids: Sequence[str] = (),
    group_names: Sequence[str] = (),
    concurrency: int = 4,
    ui: Stages | None = None,
    select: SelectGroups | None = None,
    fetch: FetchGroup | None = None,
) -> SnapshotResult:
    """Select, fetch and write a snapshot in one call: the whole export, whoever runs it.

    `select` and `fetch` default to `select_groups` and `fetch_group` on `client`; the Prefect
    flow passes them as retried tasks. `ui` draws the console progress.
    """
    ui = ui or Stages(None)

    async def default_select(group_ids: Sequence[str], group_names: Sequence[str]) -> list[Group]:
        return await select_groups(client, group_ids=group_ids, group_names=group_names)

    async def default_fetch(group: Group) -> GroupMembers:
        return await fetch_group(client, group)

    with ui.step("listing groups"):
        groups = await (select or default_select)(group_ids, group_names)
    return await write_snapshot(
        root,
        groups,
        fetch or default_fetch,
        target=target,
        concurrency=concurrency,
        progress=ui.counter("exporting groups", len(groups)),
    )
