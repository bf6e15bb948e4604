"""Prefect flow: sync contact files into Sinch groups.

The engine (`pipeline.sync.engine.run_sync`) orders the stages; this flow turns its parameters
into `SyncOptions`, reads the credentials (a Secret block or the environment, never a parameter),
and runs the engine with the Prefect runner (`flows/_steps.py`): every stage a named task, I/O
retried when it can heal, the report and rejects published as artifacts. With
`fan_out_deployment`, every group is applied by its own flow run of that deployment.
"""

# No `from __future__ import annotations` here: a worker loads the flow from its entrypoint, and
# Prefect builds the parameter model from real annotations, not from strings.

from typing import Annotated

from prefect import flow
from pydantic import Field

from flows._credentials import DEFAULT_CREDENTIALS_BLOCK, database_from_block, resolve_target
from flows._fanout import run_per_group
from flows._steps import PrefectSteps
from flows._storage import storage_options_from_block
from pipeline.progress import stages
from pipeline.sinch import MAX_MEMBERS_PER_REQUEST, GroupsClient
from pipeline.storage import using_storage_options
from pipeline.sync.engine import run_sync
from pipeline.sync.lock import DEFAULT_LOCK_TIMEOUT
from pipeline.sync.options import DEFAULT_PARTITION_ROWS, Mode, RunnerKind, SyncOptions
from pipeline.sync.plan import GroupPlan
from pipeline.sync.report import GroupReport, SyncReport

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
ChunkSize = Annotated[int, Field(ge=1, le=MAX_MEMBERS_PER_REQUEST)]
PartitionRows = Annotated[int, Field(ge=1_000)]
LockTimeout = Annotated[float, Field(ge=0.0)]


@flow(name="sync-groups", persist_result=True)
async def sync_groups(
    source: str | None = None,
    group: str | None = None,
    group_id: str | None = None,
    group_column: str | None = None,
    phone_column: str | None = None,
    country_column: str | None = None,
    sheet: str | None = None,
    default_region: str | None = None,
    mode: Mode = Mode.ADD,
    dry_run: bool = False,
    max_remove_fraction: Fraction = 0.10,
    force: bool = False,
    mobile_only: bool = False,
    suppress: list[str] | None = None,
    rejects: str | None = None,
    report: str | None = None,
    chunk_size: ChunkSize = MAX_MEMBERS_PER_REQUEST,
    only_groups: list[str] | None = None,
    task_runner: RunnerKind = "threads",
    dask_address: str | None = None,
    partition_rows: PartitionRows = DEFAULT_PARTITION_ROWS,
    use_cache: bool = True,
    lock_timeout: LockTimeout = DEFAULT_LOCK_TIMEOUT,
    state: str | None = None,
    optouts: str | None = None,
    readd_left: bool = False,
    strict: bool = False,
    allow_empty: bool = False,
    fan_out_deployment: str | None = None,
    query: str | None = None,
    db_env: str | None = None,
    db_block: str | None = None,
    credentials_block: str | None = DEFAULT_CREDENTIALS_BLOCK,
    target_env_prefix: str = "SINCH_",
    show_progress: bool = False,
    storage_block: str | None = None,
) -> SyncReport:
    """Make the target groups match a contact file under `mode`; returns the run report.

    The report (counts, group ids, paths) is the flow's result, so a fanned-out parent can read its
    children's; rows and credentials are never part of a result.

    Args:
        source: A CSV (also compressed), Parquet, Excel, JSON or NDJSON file, or a glob of
            several, as the worker sees it (or none, with `query`).
        group: Target one group by name (created if missing).
        group_id: Target one existing group by id.
        group_column: Column naming each row's group; every distinct value is a group.
        phone_column: Column holding the phone numbers (default: detected, mobile columns first).
        country_column: Column holding each row's country (GB, GBR, United Kingdom, +44;
            default: detected when its values are countries).
        sheet: The sheet of an Excel or OpenDocument workbook source to read (default: the
            first).
        default_region: Country for numbers written without a country code (GB, UK, +44).
        mode: add: add what is missing; mirror: make each group exactly the file's set;
            remove: take the listed numbers out.
        dry_run: Compute and report the plan; change nothing.
        max_remove_fraction: Mirror refuses to remove more than this fraction of a group's
            current members (the guard against a truncated export).
        force: Apply a mirror even when the removal guard trips.
        mobile_only: Reject numbers that are not mobile numbers.
        suppress: Opt-out lists (CSV or Parquet): never added, and removed in every mode.
        rejects: Where to write rejected rows (.parquet or .csv); default under ./sinch-groups-runs/.
        report: Where to write the JSON report; default under ./sinch-groups-runs/.
        chunk_size: Numbers per add/remove array in one request (Sinch allows 10,000).
        only_groups: With group_column, handle only these groups' rows (what a fan-out child gets).
        task_runner: Where normalization runs: "threads" (this process) or "dask" (a cluster).
        dask_address: The Dask scheduler for task_runner="dask"; default DASK_SCHEDULER_ADDRESS.
        partition_rows: Rows per normalization task.
        use_cache: Reuse the normalized result of files whose bytes (and these options) are
            unchanged since a previous run ($SINCH_GROUPS_CACHE; "off" there disables it too).
        lock_timeout: Seconds to wait while another flow run writes one of the groups (a
            global concurrency limit per group); 0 fails at once.
        state: Folder of each group's base (its membership after this tool's last run), as the
            worker sees it; default $SINCH_GROUPS_HOME/state. Workers that share groups share it.
        optouts: Folder of the opt-out ledger (numbers seen leaving a group on Sinch's side,
            never added back); default $SINCH_GROUPS_HOME/optouts.
        readd_left: Add back, for this run only, numbers that left a group on Sinch's side.
        strict: Mirror also removes members who joined on Sinch's side (under the guard).
        allow_empty: Go on when no row is valid (create the named group empty); otherwise such
            a run changes nothing and its report says why.
        fan_out_deployment: "flow/deployment" to run one flow run per group on, so several
            workers share a large sync; the guard is still checked for every group first.
        query: A SQL query whose rows are the contacts, instead of a source file.
        db_env: Environment variable holding the query's database URI on the worker (default
            SINCH_GROUPS_DB_URL). The URI itself is never a parameter: Prefect records those.
        db_block: Prefect Secret block holding the query's database URI as a string.
        credentials_block: Prefect Secret block holding the credentials; it wins over the
            environment when both exist.
        target_env_prefix: Prefix of the credential environment variables (SINCH_ by default).
        show_progress: Draw console progress bars (the CLI's --progress).
        storage_block: A Prefect credentials block (`aws-credentials/NAME`, ...) for the
            locations on object storage: source, suppress lists, rejects, report, state and
            optouts; default: the worker's environment and files. Fan-out children get it too.
    """
    # A Secret block is read here, on the worker; the URI goes no further than the options.
    db = await database_from_block(db_block) if db_block else None
    options = SyncOptions(
        source=source,
        query=query,
        db=db,
        db_env=db_env if db is None else None,
        group=group,
        group_id=group_id,
        group_column=group_column,
        phone_column=phone_column,
        country_column=country_column,
        sheet=sheet,
        default_region=default_region,
        mode=mode,
        dry_run=dry_run,
        max_remove_fraction=max_remove_fraction,
        force=force,
        mobile_only=mobile_only,
        suppress=tuple(suppress or ()),
        rejects=rejects,
        report=report,
        chunk_size=chunk_size,
        only_groups=tuple(only_groups) if only_groups is not None else None,
        partition_rows=partition_rows,
        use_cache=use_cache,
        lock_timeout=lock_timeout,
        state=state,
        optouts=optouts,
        readd_left=readd_left,
        strict=strict,
        allow_empty=allow_empty,
        fan_out=fan_out_deployment is not None,
    )
    target = await resolve_target(target_env_prefix, credentials_block)
    storage = await storage_options_from_block(storage_block)

    async def fan_out(plans: list[GroupPlan], reports: dict[str, GroupReport]) -> list[str]:
        assert fan_out_deployment is not None
        return await run_per_group(fan_out_deployment, [p.key for p in plans], reports)

    with stages(show_progress) as ui, using_storage_options(storage):
        steps = PrefectSteps(ui, runner=task_runner, dask_address=dask_address)
        async with GroupsClient.from_target(target) as client:
            return await run_sync(
                options,
                client,
                steps,
                target=target.describe(),
                apply_elsewhere=fan_out if fan_out_deployment is not None else None,
            )
