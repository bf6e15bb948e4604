"""Prefect flow: export groups to a Parquet snapshot.

select groups -> fetch each group (its own retried task, at most `concurrency` in flight) ->
stream into the snapshot, in order -> publish with one rename -> report. Every step is a call
into `pipeline.snapshots`; this module only orders them, owns the HTTP client and retries I/O.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows._progress import stages
from flows._tasks import io_task
from pipeline import snapshots
from pipeline.settings import Target
from pipeline.sinch import Group, GroupsClient
from pipeline.snapshots import GroupMembers, ProgressCallback, SnapshotResult


@io_task
async def select_groups(
    client: GroupsClient, group_ids: list[str], group_names: list[str]
) -> list[Group]:
    return await snapshots.select_groups(client, group_ids=group_ids, group_names=group_names)


@io_task
async def fetch_group(client: GroupsClient, group: Group) -> GroupMembers:
    return await snapshots.fetch_group(client, group)


@task(cache_policy=NO_CACHE)
async def write_snapshot(
    client: GroupsClient,
    out_dir: Path,
    groups: list[Group],
    target: dict[str, str],
    concurrency: int,
    progress: ProgressCallback,
) -> SnapshotResult:
    """Stream every group into one snapshot; each group is read by its own `fetch_group` task.

    Not retried: a failure discards the staging folder, and a new run makes a new snapshot.
    """
    return await snapshots.write_snapshot(
        out_dir,
        groups,
        partial(fetch_group, client),
        target=target,
        concurrency=concurrency,
        progress=progress,
    )


@flow(name="export-groups")
async def export_groups(
    out_dir: str,
    group_ids: list[str] | None = None,
    group_names: list[str] | None = None,
    concurrency: int = 4,
    target_env_prefix: str = "SINCH_",
    show_progress: bool = False,
) -> SnapshotResult:
    """Snapshot every group (or those named) of the target into `out_dir/snapshot_at=<time>/`.

    Credentials are read from `{target_env_prefix}*` environment variables, never passed as
    parameters (Prefect records parameters). `concurrency` bounds the groups fetched at once,
    and so the members held in memory.
    """
    target = Target.from_env(target_env_prefix)
    with stages(show_progress) as ui:
        async with GroupsClient.from_target(target) as client:
            with ui.step("listing groups"):
                groups = await select_groups(client, group_ids or [], group_names or [])
            advance = ui.counter("exporting groups", len(groups))
            result = await write_snapshot(
                client, Path(out_dir), groups, target.describe(), concurrency, advance
            )
    logger = get_run_logger()
    for warning in result.warnings:
        logger.warning(warning)
    await acreate_markdown_artifact(
        key="export-snapshot", markdown=result.to_markdown(), description="sinch-groups export"
    )
    return result
