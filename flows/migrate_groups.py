"""Prefect flow: migrate groups to another service plan or region.

`pipeline.migrate.run_migration` orders the migration (open the mapping -> plan, listing both
sides -> migrate each group in dependency order); this flow opens the source and the destination,
hands it the two I/O steps as retried tasks and publishes the report as an artifact.
"""

# No `from __future__ import annotations` here: a worker loads the flow from its entrypoint, and
# Prefect builds the parameter model from real annotations, not from strings.

from prefect import flow, get_run_logger

from flows._artifacts import publish_markdown
from flows._storage import storage_options_from_block
from flows._tasks import io_task
from pipeline import migrate as migration
from pipeline.migrate import (
    GroupOutcome,
    GroupSource,
    MappingFile,
    MigrationResult,
    MigrationStep,
)
from pipeline.sinch import GroupsClient
from pipeline.storage import using_storage_options


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


@flow(name="migrate-groups", persist_result=False)
async def migrate_groups(
    to_env_prefix: str = "SINCH_",
    from_env_prefix: str | None = None,
    from_snapshot: str | None = None,
    mapping: str | None = None,
    adopt_existing: bool = False,
    show_progress: bool = False,
    storage_block: str | None = None,
) -> MigrationResult:
    """Recreate every source group on the destination read from `{to_env_prefix}*` variables.

    The source is the plan named by `{from_env_prefix}*` variables or a snapshot folder.
    Credentials come from the environment only (Prefect records parameters). `mapping` defaults
    to `default_mapping_path(...)`; re-running with the same mapping skips what is done.
    `from_snapshot` and `mapping` may be URLs; `storage_block` names a Prefect credentials block
    (`aws-credentials/NAME`, ...) for them, read here on the worker (default: its environment).
    """
    storage = await storage_options_from_block(storage_block)
    with using_storage_options(storage):
        result = await migration.migrate_groups(
            to_env_prefix=to_env_prefix,
            from_env_prefix=from_env_prefix,
            from_snapshot=from_snapshot,
            mapping=mapping or None,
            adopt_existing=adopt_existing,
            show_progress=show_progress,
            plan=plan_migration,
            migrate=migrate_group,
        )
    logger = get_run_logger()
    for warning in result.warnings:
        logger.warning(warning)
    await publish_markdown("migrate-report", result.to_markdown(), "sinch-groups migrate")
    return result
