"""Prefect flow: export groups to a Parquet snapshot.

`pipeline.snapshot.export_snapshot` orders the export (select groups -> fetch each group, at most
`concurrency` in flight -> stream into the snapshot -> publish); this flow hands it the two I/O
steps as retried tasks, owns the HTTP client and publishes the summary as an artifact.
"""

# No `from __future__ import annotations` here: a worker loads the flow from its entrypoint, and
# Prefect builds the parameter model from real annotations, not from strings.

from functools import partial
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import Field

from flows._artifacts import publish_markdown
from flows._credentials import DEFAULT_CREDENTIALS_BLOCK, resolve_target
from flows._storage import storage_options_from_block
from flows._tasks import io_task
from pipeline import snapshot as snapshots
from pipeline.progress import stages
from pipeline.sinch import Group, GroupsClient
from pipeline.snapshot import GroupMembers, SnapshotResult
from pipeline.storage import using_storage_options


@io_task(name="list-groups")
async def select_groups(
    client: GroupsClient, group_ids: list[str], group_names: list[str]
) -> list[Group]:
    return await snapshots.select_groups(client, group_ids=group_ids, group_names=group_names)


@io_task(name="export", task_run_name="export-{group.id}")
async def fetch_group(client: GroupsClient, group: Group) -> GroupMembers:
    return await snapshots.fetch_group(client, group)


@flow(name="export-groups", persist_result=False)
async def export_groups(
    out_dir: str,
    group_ids: list[str] | None = None,
    group_names: list[str] | None = None,
    concurrency: Annotated[int, Field(ge=1, le=32)] = 4,
    credentials_block: str | None = DEFAULT_CREDENTIALS_BLOCK,
    target_env_prefix: str = "SINCH_",
    show_progress: bool = False,
    storage_block: str | None = None,
) -> SnapshotResult:
    """Snapshot every group (or those named) of the target into the dataset folder `out_dir`.

    Credentials come from a Prefect Secret block or the environment, never from parameters
    (Prefect records parameters).

    Args:
        out_dir: The dataset folder; each run adds a `snapshot_at=<UTC time>/` partition to its
            `members/` and `groups/` datasets.
        group_ids: Export only these groups (default: every group).
        group_names: Export only the groups with these names.
        concurrency: Groups fetched at once; it bounds the members held in memory.
        credentials_block: Prefect Secret block holding the credentials; it wins over the
            environment when both exist.
        target_env_prefix: Prefix of the credential environment variables (SINCH_ by default).
        show_progress: Draw console progress bars (the CLI's --progress).
        storage_block: A Prefect credentials block (`aws-credentials/NAME`, ...) for an
            `out_dir` on object storage; default: the worker's environment and files.
    """
    target = await resolve_target(target_env_prefix, credentials_block)
    storage = await storage_options_from_block(storage_block)
    with stages(show_progress) as ui, using_storage_options(storage):
        async with GroupsClient.from_target(target) as client:
            result = await snapshots.export_snapshot(
                client,
                out_dir,
                target=target.describe(),
                group_ids=group_ids or [],
                group_names=group_names or [],
                concurrency=concurrency,
                ui=ui,
                select=partial(select_groups, client),
                fetch=partial(fetch_group, client),
            )
    logger = get_run_logger()
    for warning in result.warnings:
        logger.warning(warning)
    await publish_markdown("export-snapshot", result.to_markdown(), "sinch-groups export")
    return result
