"""Prefect flow: migrate groups to another service plan or region.

open the source (a live plan or a snapshot) and the mapping -> plan (list both sides) ->
migrate each group in dependency order (its own retried task) -> report. Every step is a call
into `pipeline.migrate`; this module only orders them, owns the HTTP clients and retries I/O.
"""

# No `from __future__ import annotations` here: a worker loads the flow from its entrypoint, and
# Prefect builds the parameter model from real annotations, not from strings.

import time
from contextlib import AsyncExitStack
from pathlib import Path

from prefect import flow, get_run_logger

from flows._artifacts import publish_markdown
from flows._progress import stages
from flows._tasks import io_task
from pipeline import migrate as migration
from pipeline.migrate import (
    GroupOutcome,
    GroupSource,
    LiveSource,
    MappingFile,
    MigrationResult,
    MigrationStep,
    SnapshotSource,
)
from pipeline.settings import Target
from pipeline.sinch import GroupsClient
from pipeline.snapshot import open_snapshot


@io_task(name="plan")
async def plan_migration(
    source: GroupSource, client: GroupsClient, mapping: MappingFile, adopt_existing: bool
) -> list[MigrationStep]:
    return await migration.plan_migration(source, client, mapping, adopt_existing=adopt_existing)


@io_task(name="migrate", task_run_name="migrate-{step.group.id}")
async def migrate_group(
    step: MigrationStep, source: GroupSource, client: GroupsClient, mapping: MappingFile
) -> GroupOutcome:
    """Retried on transient errors: the step resumes from the mapping instead of re-creating."""
    return await migration.migrate_group(step, source, client, mapping)


async def _open_source(
    stack: AsyncExitStack, from_env_prefix: str | None, from_snapshot: str | None
) -> GroupSource:
    migration.require_one_source(from_env_prefix, from_snapshot)
    if from_snapshot is not None:
        return SnapshotSource(open_snapshot(Path(from_snapshot)))
    assert from_env_prefix is not None
    target = Target.from_env(from_env_prefix)
    client = await stack.enter_async_context(GroupsClient.from_target(target))
    return LiveSource(client, target.describe())


@flow(name="migrate-groups", persist_result=False)
async def migrate_groups(
    to_env_prefix: str = "SINCH_",
    from_env_prefix: str | None = None,
    from_snapshot: str | None = None,
    mapping: str | None = None,
    adopt_existing: bool = False,
    show_progress: bool = False,
) -> MigrationResult:
    """Recreate every source group on the destination read from `{to_env_prefix}*` variables.

    The source is the plan named by `{from_env_prefix}*` variables or a snapshot folder.
    Credentials come from the environment only (Prefect records parameters). `mapping` defaults
    to `default_mapping_path(...)`; re-running with the same mapping skips what is done.
    """
    clock = time.perf_counter()
    destination = Target.from_env(to_env_prefix)
    async with AsyncExitStack() as stack:
        source = await _open_source(stack, from_env_prefix, from_snapshot)
        migration.check_distinct(source, destination.describe())
        client = await stack.enter_async_context(GroupsClient.from_target(destination))
        mapping_path = (
            Path(mapping)
            if mapping
            else migration.default_mapping_path(source.description, destination.describe())
        )
        mapping_file = MappingFile.open(
            mapping_path, source=source.description, destination=destination.describe()
        )
        with stages(show_progress) as ui:
            with ui.step("planning"):
                steps = await plan_migration(source, client, mapping_file, adopt_existing)
            advance = ui.counter("migrating groups", len(steps))
            outcomes = []
            for step in steps:
                outcomes.append(await migrate_group(step, source, client, mapping_file))
                advance(1)
    result = MigrationResult(
        source=source.description,
        destination=destination.describe(),
        mapping_path=mapping_path,
        outcomes=outcomes,
        elapsed_s=round(time.perf_counter() - clock, 3),
    )
    logger = get_run_logger()
    for warning in result.warnings:
        logger.warning(warning)
    await publish_markdown("migrate-report", result.to_markdown(), "sinch-groups migrate")
    return result
