"""Migrate groups to another service plan or region, from a live plan or from a snapshot.

Every source group is recreated on the destination: name, members, auto-update, and child groups
with their ids translated. Creating a group needs its child groups to exist, so groups go
children first (`dependency_order`). Members go in batches of 10,000, the API's limit: the create
carries the first batch, updates add the rest.

Re-runs are safe, which is what makes a migration resumable:

- The mapping file (source id -> destination id, Parquet) is rewritten after every change, and
  records a group as incomplete between its create and its last batch.
- The destination is checked as well as the mapping: a mapped group that is complete and still
  exists is skipped; one that is incomplete is finished (adds are idempotent); one that was
  deleted is created again.
- A destination group with the same name as an unmapped source group may be the product of a
  run whose mapping was lost, or a group someone made by hand. It is not touched unless
  `adopt_existing` is set, in which case it is mapped and the source members are added to it
  (nothing is removed, and its own name, children and auto-update are kept); otherwise the
  source group is skipped with a warning. Same-named groups are paired oldest first.
- Groups without a name are migrated too; only the mapping can recognise them on a re-run.

The mapping file is tied to one pair of accounts (service plan or project ids): using it for
another pair is refused rather than silently creating duplicates.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from pipeline.errors import PipelineError
from pipeline.progress import Stages, stages
from pipeline.sinch import MAX_MEMBERS_PER_REQUEST, AutoUpdate, Group, GroupsClient, Keyword, Target
from pipeline.snapshot import Snapshot, oldest_first, open_snapshot
from pipeline.snapshot.schemas import MappingTable, polars_schema
from pipeline.storage import read_file_metadata, write_parquet_atomic

__all__ = [
    "Action",
    "GroupOutcome",
    "GroupSource",
    "LiveSource",
    "MappingEntry",
    "MappingFile",
    "MigrationError",
    "MigrationResult",
    "MigrationStep",
    "SnapshotSource",
    "SourceGroup",
    "check_distinct",
    "default_mapping_path",
    "dependency_order",
    "migrate",
    "migrate_group",
    "plan_migration",
    "plan_steps",
    "require_one_source",
    "run_migration",
]

MAPPING_SCHEMA = polars_schema(MappingTable)


class MigrationError(PipelineError):
    """A migration cannot start as asked (e.g. a mapping file written for other accounts)."""


# --- sources ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceGroup:
    """What migrating a group needs to know about it, whether read live or from a snapshot."""

    id: str
    name: str | None
    child_groups: tuple[str, ...] = ()
    auto_update: AutoUpdate | None = None

    @classmethod
    def from_group(cls, group: Group) -> SourceGroup:
        return cls(group.id, group.name, tuple(group.child_groups), group.auto_update)


class GroupSource(Protocol):
    """Where a migration reads groups from: a live service plan or a snapshot."""

    @property
    def description(self) -> dict[str, str]:
        """`Target.describe()` of the account the groups (and their ids) belong to."""
        ...

    async def groups(self) -> list[SourceGroup]: ...

    async def members(self, group_id: str) -> list[str]:
        """One group's members, E.164 with `+`; called one group at a time."""
        ...


class LiveSource:
    """Groups read from a service plan through the API, members fetched as each group migrates."""

    def __init__(self, client: GroupsClient, description: Mapping[str, str]) -> None:
        self._client = client
        self._description = dict(description)

    @property
    def description(self) -> dict[str, str]:
        return self._description

    async def groups(self) -> list[SourceGroup]:
        listed = [group async for group in self._client.iter_groups()]
        return [SourceGroup.from_group(group) for group in sorted(listed, key=oldest_first)]

    async def members(self, group_id: str) -> list[str]:
        return (await self._client.list_members(group_id)).to_list()


def _keyword(first_word: str | None, second_word: str | None) -> Keyword | None:
    return Keyword(first_word=first_word, second_word=second_word) if first_word else None


def _auto_update(row: Mapping[str, Any]) -> AutoUpdate | None:
    """Rebuild the auto-update object from the flattened `auto_update_*` snapshot columns."""
    if row["auto_update_to"] is None:
        return None
    return AutoUpdate(
        to=row["auto_update_to"],
        add=_keyword(row["auto_update_add_first_word"], row["auto_update_add_second_word"]),
        remove=_keyword(
            row["auto_update_remove_first_word"], row["auto_update_remove_second_word"]
        ),
    )


class SnapshotSource:
    """Groups read from a snapshot; each group's members are one filtered read of its row group."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    @property
    def description(self) -> dict[str, str]:
        return self._snapshot.target

    async def groups(self) -> list[SourceGroup]:
        rows = self._snapshot.groups().sort("created_at", "id").iter_rows(named=True)
        return [
            SourceGroup(row["id"], row["name"], tuple(row["child_groups"]), _auto_update(row))
            for row in rows
        ]

    async def members(self, group_id: str) -> list[str]:
        selected = self._snapshot.members().filter(pl.col("group_id") == group_id)
        return selected.select("phone_e164").collect()["phone_e164"].to_list()


def require_one_source(from_env_prefix: str | None, from_snapshot: str | None) -> None:
    """A migration reads from exactly one place: a live plan or a snapshot."""
    if (from_env_prefix is None) == (from_snapshot is None):
        raise MigrationError("name exactly one source: --from-env PREFIX or --from-snapshot PATH")


def check_distinct(source: GroupSource, destination: Mapping[str, str]) -> None:
    """Refuse a live migration of a plan into itself: it would duplicate every group.

    Restoring a snapshot into the plan it was taken from is allowed (that is a restore).
    """
    if isinstance(source, LiveSource) and source.description == dict(destination):
        raise MigrationError(
            f"the source and the destination are the same account ({_account(destination)}); "
            "point --from-env and --to-env at different service plans or regions"
        )


# --- the mapping file ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MappingEntry:
    """One row of the mapping file (`MappingTable`)."""

    source_id: str
    target_id: str
    name: str | None
    members: int
    complete: bool
    action: str
    migrated_at: datetime


def _account(description: Mapping[str, str]) -> str:
    """The id that names an account in a `Target.describe()` (the URL may change between runs)."""
    return description.get("service_plan_id") or description.get("project_id") or "unknown"


def default_mapping_path(source: Mapping[str, str], destination: Mapping[str, str]) -> Path:
    """`sinch-groups-migrations/<source>--to--<destination>.parquet`: one file per pair of accounts.

    The ids in a snapshot are those of the plan it was taken from, so migrating from the plan
    itself or from its snapshot shares the same mapping.
    """

    def slug(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9_-]+", "_", text)

    name = f"{slug(_account(source))}--to--{slug(_account(destination))}.parquet"
    return Path("sinch-groups-migrations") / name


class MappingFile:
    """The source id -> destination id table, kept on disk and rewritten after every change."""

    def __init__(
        self,
        path: Path,
        *,
        source: Mapping[str, str],
        destination: Mapping[str, str],
        entries: Sequence[MappingEntry] = (),
    ) -> None:
        self.path = path
        self._source = dict(source)
        self._destination = dict(destination)
        self._entries = {entry.source_id: entry for entry in entries}

    @classmethod
    def open(
        cls, path: Path, *, source: Mapping[str, str], destination: Mapping[str, str]
    ) -> MappingFile:
        """Load `path` if it exists (refusing one written for other accounts), else start empty."""
        if not path.exists():
            return cls(path, source=source, destination=destination)
        metadata = read_file_metadata(path)
        recorded = {
            name: json.loads(metadata.get(name, "{}")) for name in ("source", "destination")
        }
        wanted = (_account(source), _account(destination))
        found = (_account(recorded["source"]), _account(recorded["destination"]))
        if found != wanted:
            raise MigrationError(
                f"{path} maps {found[0]} -> {found[1]}, not {wanted[0]} -> {wanted[1]}; "
                "pass --mapping with another file"
            )
        frame = MappingTable.validate(pl.read_parquet(path))
        entries = [MappingEntry(**row) for row in frame.iter_rows(named=True)]
        return cls(path, source=source, destination=destination, entries=entries)

    def get(self, source_id: str) -> MappingEntry | None:
        return self._entries.get(source_id)

    def target_of(self, source_id: str) -> str | None:
        entry = self._entries.get(source_id)
        return entry.target_id if entry else None

    def entries(self) -> list[MappingEntry]:
        return list(self._entries.values())

    def record(self, entry: MappingEntry) -> None:
        """Add or replace one row and write the whole file atomically (it holds one row per group)."""
        self._entries[entry.source_id] = entry
        rows = [
            {name: getattr(item, name) for name in MAPPING_SCHEMA.names()}
            for item in self._entries.values()
        ]
        frame = MappingTable.validate(pl.DataFrame(rows, schema=MAPPING_SCHEMA))
        metadata = {"source": self._source, "destination": self._destination}
        write_parquet_atomic(frame, self.path, metadata, kind="migration_mapping")


# --- planning -----------------------------------------------------------------------------------


class Action(StrEnum):
    """What a run does with one source group, decided from the mapping and the destination."""

    CREATE = "create"
    RECREATE = "recreate"  # mapped, but the destination group no longer exists
    RESUME = "resume"  # mapped and still there, but a previous run stopped before the last batch
    ADOPT = "adopt"  # unmapped, a same-named destination group exists, and adopting is allowed
    SKIP_DONE = "already-migrated"
    SKIP_NAME_TAKEN = "name-taken"  # unmapped, a same-named destination group exists


@dataclass(frozen=True, slots=True)
class MigrationStep:
    group: SourceGroup
    action: Action
    target_id: str | None
    """The destination group this step works on (for RECREATE: the mapped one that is gone)."""


def dependency_order(groups: Sequence[SourceGroup]) -> list[SourceGroup]:
    """Children before parents, otherwise in the given order.

    Groups in a cycle of child references (or waiting on one) come last in the given order;
    their unresolvable child links are then dropped with a warning by `migrate_group`.
    """
    known = {group.id for group in groups}
    waits_on = {g.id: {c for c in g.child_groups if c in known and c != g.id} for g in groups}
    ordered: list[SourceGroup] = []
    placed: set[str] = set()
    while True:
        ready = [g for g in groups if g.id not in placed and waits_on[g.id] <= placed]
        if not ready:
            break
        ordered += ready
        placed.update(g.id for g in ready)
    return ordered + [g for g in groups if g.id not in placed]


def plan_steps(
    groups: Sequence[SourceGroup],
    mapping: MappingFile,
    destination: Sequence[Group],
    *,
    adopt_existing: bool = False,
) -> list[MigrationStep]:
    """Decide what to do with each source group (pure: no I/O), in dependency order."""
    existing = {group.id for group in destination}
    mapped = {entry.target_id for entry in mapping.entries()}
    unclaimed: dict[str, deque[str]] = defaultdict(deque)
    for group in sorted(destination, key=oldest_first):
        if group.name is not None and group.id not in mapped:
            unclaimed[group.name].append(group.id)
    steps = []
    for group in dependency_order(groups):
        entry = mapping.get(group.id)
        same_name = unclaimed.get(group.name) if group.name is not None else None
        if entry is not None and entry.target_id in existing:
            action = Action.SKIP_DONE if entry.complete else Action.RESUME
            steps.append(MigrationStep(group, action, entry.target_id))
        elif entry is not None:
            steps.append(MigrationStep(group, Action.RECREATE, entry.target_id))
        elif same_name and adopt_existing:
            steps.append(MigrationStep(group, Action.ADOPT, same_name.popleft()))
        elif same_name:
            steps.append(MigrationStep(group, Action.SKIP_NAME_TAKEN, same_name[0]))
        else:
            steps.append(MigrationStep(group, Action.CREATE, None))
    return steps


async def plan_migration(
    source: GroupSource, client: GroupsClient, mapping: MappingFile, *, adopt_existing: bool = False
) -> list[MigrationStep]:
    """List the source and the destination, then `plan_steps`."""
    groups = await source.groups()
    destination = [group async for group in client.iter_groups()]
    return plan_steps(groups, mapping, destination, adopt_existing=adopt_existing)


# --- running ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    """What happened to one source group."""

    source_id: str
    name: str | None
    action: Action
    target_id: str | None
    members: int = 0
    """Members sent to the destination by this run (0 for skipped groups)."""
    warnings: tuple[str, ...] = ()


def _label(group: SourceGroup) -> str:
    return f"{group.name!r} ({group.id})" if group.name else f"unnamed group {group.id}"


def _map_children(group: SourceGroup, mapping: MappingFile) -> tuple[list[str], list[str]]:
    """The destination ids of a group's children, and a warning for each one left out."""
    children, warnings = [], []
    for child in group.child_groups:
        target = mapping.target_of(child)
        if target is None:
            warnings.append(
                f"{_label(group)}: child group {child} has not been migrated "
                "(not in the source, skipped, or in a cycle); it is left out"
            )
        else:
            children.append(target)
    return children, warnings


def _batches(members: Sequence[str]) -> list[Sequence[str]]:
    size = MAX_MEMBERS_PER_REQUEST
    return [members[start : start + size] for start in range(0, len(members), size)]


_RECORDED_AS = {Action.CREATE: "created", Action.RECREATE: "recreated", Action.ADOPT: "adopted"}


async def migrate_group(
    step: MigrationStep, source: GroupSource, client: GroupsClient, mapping: MappingFile
) -> GroupOutcome:
    """Carry out one step; safe to run again after a failure at any point.

    The mapping row is written as soon as the destination group is known (created or adopted)
    and marked complete after the last batch, so a retry (a Prefect task retry or a re-run)
    finishes the group instead of creating a second one.
    """
    group, action, target_id = step.group, step.action, step.target_id
    entry = mapping.get(group.id)
    creating = action in (Action.CREATE, Action.RECREATE)
    if creating and entry is not None and entry.target_id != step.target_id:
        action, target_id = Action.RESUME, entry.target_id  # an earlier attempt created it
    if action is Action.SKIP_DONE:
        return GroupOutcome(group.id, group.name, action, target_id)
    if action is Action.SKIP_NAME_TAKEN:
        warning = (
            f"{_label(group)} not migrated: the destination already has a group with that name "
            f"({target_id}) that is not in the mapping; pass --adopt-existing to add to it"
        )
        return GroupOutcome(group.id, group.name, action, target_id, warnings=(warning,))

    members = await source.members(group.id)
    batches = _batches(members)
    warnings: list[str] = []
    now = datetime.now(UTC)
    if action in (Action.CREATE, Action.RECREATE):
        children, warnings = _map_children(group, mapping)
        created = await client.create_group(
            name=group.name,
            members=batches[0] if batches else None,
            child_groups=children or None,
            auto_update=group.auto_update,
        )
        target_id, batches = created.id, batches[1:]
        entry = MappingEntry(
            group.id, target_id, group.name, len(members), not batches, _RECORDED_AS[action], now
        )
        mapping.record(entry)
    elif action is Action.ADOPT:
        assert target_id is not None  # plan_steps names the group to adopt
        entry = MappingEntry(
            group.id, target_id, group.name, len(members), not batches, "adopted", now
        )
        mapping.record(entry)
    assert entry is not None  # RESUME steps only come from a mapped group
    assert target_id is not None
    for batch in batches:
        await client.update_group(target_id, add=batch)
    if not entry.complete:
        mapping.record(replace(entry, members=len(members), complete=True, migrated_at=now))
    return GroupOutcome(group.id, group.name, action, target_id, len(members), tuple(warnings))


@dataclass(frozen=True)
class MigrationResult:
    """Everything one run did, and where the mapping is."""

    source: dict[str, str]
    destination: dict[str, str]
    mapping_path: Path
    outcomes: list[GroupOutcome] = field(default_factory=list)
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = defaultdict(int)
        for outcome in self.outcomes:
            counted[str(outcome.action)] += 1
        return dict(counted)

    @property
    def warnings(self) -> list[str]:
        return [warning for outcome in self.outcomes for warning in outcome.warnings]

    def to_markdown(self) -> str:
        lines = [
            f"# Migration {_account(self.source)} -> {_account(self.destination)}",
            "",
            f"- mapping: `{self.mapping_path}`",
            *(f"- {action}: {count}" for action, count in sorted(self.counts().items())),
            "",
            "| source id | name | action | destination id | members |",
            "|---|---|---|---|---:|",
        ]
        lines += [
            f"| {o.source_id} | {o.name or ''} | {o.action} | {o.target_id or ''} | {o.members:,} |"
            for o in self.outcomes
        ]
        lines += [f"- warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)


PlanMigration = Callable[
    [GroupSource, GroupsClient, MappingFile, bool], Awaitable[list[MigrationStep]]
]
MigrateGroup = Callable[
    [MigrationStep, GroupSource, GroupsClient, MappingFile], Awaitable[GroupOutcome]
]


async def _plan(
    source: GroupSource, client: GroupsClient, mapping: MappingFile, adopt_existing: bool
) -> list[MigrationStep]:
    return await plan_migration(source, client, mapping, adopt_existing=adopt_existing)


async def run_migration(
    source: GroupSource,
    client: GroupsClient,
    destination: Mapping[str, str],
    *,
    mapping: Path | None = None,
    adopt_existing: bool = False,
    ui: Stages | None = None,
    plan: PlanMigration = _plan,
    migrate: MigrateGroup = migrate_group,
) -> MigrationResult:
    """The whole migration, whoever runs it: refuse a plan into itself, open the mapping, plan,
    then migrate each group in dependency order.

    `destination` is `Target.describe()` of where `client` points. `plan` and `migrate` default
    to `plan_migration` and `migrate_group`; the Prefect flow passes them as retried tasks.
    """
    clock = time.perf_counter()
    ui = ui or Stages(None)
    check_distinct(source, destination)
    mapping_path = mapping or default_mapping_path(source.description, destination)
    mapping_file = MappingFile.open(
        mapping_path, source=source.description, destination=destination
    )
    with ui.step("planning"):
        steps = await plan(source, client, mapping_file, adopt_existing)
    advance = ui.counter("migrating groups", len(steps))
    outcomes = []
    for step in steps:
        outcomes.append(await migrate(step, source, client, mapping_file))
        advance(1)
    return MigrationResult(
        source=source.description,
        destination=dict(destination),
        mapping_path=mapping_path,
        outcomes=outcomes,
        elapsed_s=round(time.perf_counter() - clock, 3),
    )


async def migrate(
    *,
    to_env_prefix: str = "SINCH_",
    from_env_prefix: str | None = None,
    from_snapshot: str | None = None,
    mapping: Path | None = None,
    adopt_existing: bool = False,
    show_progress: bool = False,
    plan: PlanMigration = _plan,
    migrate: MigrateGroup = migrate_group,
) -> MigrationResult:
    """Recreate every source group on the destination of the `{to_env_prefix}*` variables; the
    source is the plan of the `{from_env_prefix}*` variables or a snapshot (`run_migration`)."""
    require_one_source(from_env_prefix, from_snapshot)
    destination = Target.from_env(to_env_prefix)
    async with AsyncExitStack() as stack:
        if from_snapshot is not None:
            source: GroupSource = SnapshotSource(open_snapshot(Path(from_snapshot)))
        else:
            assert from_env_prefix is not None
            origin = Target.from_env(from_env_prefix)
            origin_client = await stack.enter_async_context(GroupsClient.from_target(origin))
            source = LiveSource(origin_client, origin.describe())
        client = await stack.enter_async_context(GroupsClient.from_target(destination))
        with stages(show_progress) as ui:
            return await run_migration(
                source,
                client,
                destination.describe(),
                mapping=mapping,
                adopt_existing=adopt_existing,
                ui=ui,
                plan=plan,
                migrate=migrate,
            )
