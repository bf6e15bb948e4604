"""The two entry points: `run_migration` orders a migration, `migrate` opens its ends from the
environment; both take the plan and migrate steps as arguments, so an orchestrator can pass them
as retried tasks without this package knowing about it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.migrate.group import GroupOutcome, migrate_group
from pipeline.migrate.mapping import MappingFile, account_id, default_mapping_path
from pipeline.migrate.plan import MigrationStep, check_distinct, plan_migration, require_one_source
from pipeline.migrate.source import GroupSource, LiveSource, SnapshotSource
from pipeline.progress import Stages, stages
from pipeline.sinch import GroupsClient, Target
from pipeline.snapshot import open_snapshot
from pipeline.storage import Location, Where, native

__all__ = ["MigrateGroup", "MigrationResult", "PlanMigration", "migrate_groups", "run_migration"]


@dataclass(frozen=True)
class MigrationResult:
    """Everything one run did, and where the mapping is."""

    source: dict[str, str]
    destination: dict[str, str]
    mapping_path: Path | Location
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
            f"# Migration {account_id(self.source)} -> {account_id(self.destination)}",
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
    mapping: Where | None = None,
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
    mapping_path = native(mapping or default_mapping_path(source.description, destination))
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


async def migrate_groups(
    *,
    to_env_prefix: str = "SINCH_",
    from_env_prefix: str | None = None,
    from_snapshot: str | None = None,
    mapping: Where | None = None,
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
            source: GroupSource = SnapshotSource(open_snapshot(from_snapshot))
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
