"""Prefect flow: sync contact files into Sinch groups.

load -> normalize -> resolve groups -> plan (per group) -> guard -> create missing -> apply
(per group) -> verify (per group) -> report; one group named up front is resolved and read while
the file loads. Every step is a call into `pipeline`; this module only orders them, owns the HTTP
client, retries I/O and publishes the report as artifacts.
"""

# No `from __future__ import annotations` here: a worker loads the flow from its entrypoint, and
# Prefect builds the parameter model from real annotations, not from strings.

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Self

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows._artifacts import ApplyProgress, publish_markdown, publish_table, reject_examples
from flows._credentials import DEFAULT_CREDENTIALS_BLOCK, resolve_target
from flows._fanout import run_per_group
from flows._partitions import RunnerKind, normalize_in_partitions
from flows._progress import Stages, stages
from flows._tasks import io_task
from pipeline import phones, sources
from pipeline.apply import (
    ApplyResult,
    VerifyResult,
    apply_plan,
    create_missing_groups,
    split_api_rejects,
    verify_group,
)
from pipeline.cache import Cached, NormalizeCache, entry_key
from pipeline.errors import PipelineError
from pipeline.groups import ResolvedGroup, resolve_groups
from pipeline.plan import (
    GroupPlan,
    Mode,
    check_removal_guard,
    desired_by_group,
    named_groups,
    plan_group,
    reject_rows_without_group,
)
from pipeline.rejects import write_rejects
from pipeline.report import GroupReport, SyncReport, write_json_atomic
from pipeline.schemas import Rejects
from pipeline.sinch import GroupsClient


class SyncOptionsError(PipelineError):
    """The options do not describe one runnable sync."""


@task(name="load", cache_policy=NO_CACHE, persist_result=False)
async def load_contacts(
    source: str,
    *,
    phone_column: str | None,
    country_column: str | None,
    group_column: str | None,
    fixed_group: str | None,
    only_groups: list[str] | None,
) -> sources.LoadResult:
    """Read every file of the source; with --group/--group-id every row names that one group.

    `only_groups` keeps the rows of those groups and drops the rest before any work: a fanned-out
    run handles its own group's rows, and its report counts only those. The reading runs in a
    thread, so that the membership read ahead (`read_target`) goes on meanwhile.
    """
    loaded = await asyncio.to_thread(
        sources.load_contacts,
        source,
        phone_column=phone_column,
        country_column=country_column,
        group_column=group_column,
    )
    frame = loaded.frame
    if fixed_group is not None:
        frame = frame.with_columns(pl.lit(fixed_group, dtype=pl.String).alias("group"))
    if only_groups is not None:
        frame = frame.filter(pl.col("group").is_in(only_groups))
    return replace(loaded, frame=frame)


@dataclass(frozen=True)
class Prepared:
    """The normalized input, from the files or from the cache, and what the report needs of it."""

    valid: pl.DataFrame
    """Rows with a number and a group."""
    rejects: pl.DataFrame
    """Rows without a usable number, and `no_group` rows (checked against `Rejects`)."""
    files: list[Path]
    rows: int
    notes: list[str]
    groups: list[str]
    """The group names the rows mention (rejected rows included)."""
    duplicates: int
    """Rows of `valid` repeating a number of their group (`phones.count_duplicates`)."""

    def cache_extra(self) -> dict[str, Any]:
        """What the cache keeps beside the two frames (`from_cache` reads it back)."""
        return {
            "files": [str(f) for f in self.files],
            "rows": self.rows,
            "notes": self.notes,
            "groups": self.groups,
            "duplicates": self.duplicates,
        }

    @classmethod
    def from_cache(cls, entry: Cached) -> Self:
        extra = entry.extra
        return cls(
            entry.valid, entry.rejects, **{**extra, "files": [Path(f) for f in extra["files"]]}
        )


async def _prepare(
    source: str,
    options: dict[str, Any],
    *,
    use_cache: bool,
    partition_rows: int,
    runner: RunnerKind,
    dask_address: str | None,
) -> Prepared:
    """Load and normalize the source, unless the cache holds the result for these exact bytes.

    The key is a digest of the files' bytes, the options and the normalizing code
    (`pipeline.cache`), so a hit is exactly what normalizing again would give; a nightly sync of
    an unchanged export skips straight to the diff.
    """
    # The file work runs in threads: the event loop stays free for the membership read ahead.
    cache = NormalizeCache.from_env() if use_cache else None
    files = sources.source_files(source)
    key = await asyncio.to_thread(entry_key, files, options) if cache else None
    entry = await asyncio.to_thread(cache.get, key) if cache and key else None
    if entry is not None:
        return Prepared.from_cache(entry)
    loaded = await load_contacts(
        source,
        phone_column=options["phone_column"],
        country_column=options["country_column"],
        group_column=options["group_column"],
        fixed_group=options["fixed_group"],
        only_groups=options["only_groups"],
    )
    valid, rejects = await normalize_in_partitions(
        loaded.frame,
        default_region=options["default_region"],
        mobile_only=options["mobile_only"],
        partition_rows=partition_rows,
        runner=runner,
        dask_address=dask_address,
    )
    prepared = await asyncio.to_thread(_finish, loaded, valid, rejects)
    # Stored only if the files did not change while they were read.
    if (
        cache is not None
        and key is not None
        and await asyncio.to_thread(entry_key, loaded.files, options) == key
    ):
        await asyncio.to_thread(
            cache.put, key, prepared.valid, prepared.rejects, extra=prepared.cache_extra()
        )
    return prepared


def _finish(loaded: sources.LoadResult, valid: pl.DataFrame, rejects: pl.DataFrame) -> Prepared:
    """Set aside the rows without a group, check the rejects, count the duplicates."""
    valid, no_group = reject_rows_without_group(valid)
    return Prepared(
        valid,
        # Checked once, here: what the cache holds is what was checked.
        Rejects.validate(pl.concat([rejects, no_group], how="vertical_relaxed")),
        loaded.files,
        loaded.rows,
        list(loaded.notes),
        named_groups(loaded.frame),
        phones.count_duplicates(valid),
    )


@task(name="suppressions", cache_policy=NO_CACHE, persist_result=False)
def load_suppressions(paths: list[str], default_region: str | None) -> pl.Series:
    """Normalize the opt-out lists with the same rules as the input; unusable entries are ignored."""
    numbers = [
        phones.normalize(sources.load_phone_list(path), default_region=default_region).valid[
            "phone_e164"
        ]
        for path in paths
    ]
    return pl.concat(numbers).unique().sort()


@io_task(name="resolve-groups")
async def resolve_targets(
    client: GroupsClient, names: list[str], group_ids: list[str]
) -> list[ResolvedGroup]:
    return await resolve_groups(client, names=names, group_ids=group_ids)


async def _members(client: GroupsClient, target: ResolvedGroup) -> pl.Series:
    if target.group_id is None:  # created by this run
        return pl.Series("phone_e164", [], dtype=pl.String)
    return await client.list_members(target.group_id)


@io_task(name="read", task_run_name="read-{key}")
async def read_target(
    client: GroupsClient, key: str, names: list[str], group_ids: list[str]
) -> tuple[ResolvedGroup, pl.Series]:
    """Resolve the one group named by --group/--group-id and read its membership while the file
    is still being loaded, so the plan starts as soon as the numbers are ready."""
    (target,) = await resolve_groups(client, names=names, group_ids=group_ids)
    return target, await _members(client, target)


@io_task(name="plan", task_run_name="plan-{target.key}")
async def plan_for_group(
    client: GroupsClient,
    target: ResolvedGroup,
    desired: pl.Series,
    suppressed: pl.Series,
    mode: Mode,
    current: pl.Series | None = None,
) -> GroupPlan:
    """Fetch the live membership (unless it was read ahead: `current`) and diff it: the live
    group is the truth."""
    return plan_group(
        key=target.key,
        group_id=target.group_id,
        name=target.name,
        current=await _members(client, target) if current is None else current,
        desired=desired,
        suppressed=suppressed,
        mode=mode,
    )


async def _abandon(read_ahead: asyncio.Future[Any] | None) -> None:
    """Stop a read-ahead whose run is failing anyway, and wait until it has."""
    if read_ahead is not None:
        read_ahead.cancel()
        await asyncio.gather(read_ahead, return_exceptions=True)


@io_task(name="create-groups")
async def create_groups(client: GroupsClient, plans: list[GroupPlan]) -> list[GroupPlan]:
    return await create_missing_groups(client, plans)


@io_task(name="apply", task_run_name="apply-{plan.key}")
async def apply_group(
    client: GroupsClient, plan: GroupPlan, chunk_size: int, progress: Any
) -> ApplyResult:
    return await apply_plan(client, plan, chunk_size=chunk_size, progress=progress)


@io_task(name="verify", task_run_name="verify-{key}")
async def verify_membership(
    client: GroupsClient, key: str, group_id: str, expected: pl.Series
) -> VerifyResult:
    return await verify_group(client, key=key, group_id=group_id, expected=expected)


def default_run_dir(now: datetime) -> Path:
    """Where rejects and report go unless told otherwise: ./sinch-groups-runs/<UTC time>/."""
    return Path("sinch-groups-runs") / now.strftime("%Y%m%dT%H%M%S%fZ")


def _group_report(plan: GroupPlan, created: bool) -> GroupReport:
    return GroupReport(
        key=plan.key,
        group_id=plan.group_id,
        name=plan.name,
        created=created,
        current=plan.current_size,
        to_add=plan.add.len(),
        to_remove=plan.remove.len(),
        unchanged=plan.unchanged,
        suppressed_skipped=plan.suppressed_skipped,
        suppressed_removed=plan.suppressed_removals,
        final_size=plan.final_size,
    )


def _record_outcome(
    entry: GroupReport, plan: GroupPlan, result: ApplyResult, check: VerifyResult
) -> None:
    entry.group_id = plan.group_id
    entry.added, entry.removed = result.added, result.removed
    entry.api_rejected = len(result.api_rejects)
    entry.final_size, entry.verified = check.size, check.ok
    entry.missing, entry.unexpected = check.missing[:100], check.unexpected[:100]


def _target_groups(
    mentioned: list[str], group: str | None, group_id: str | None
) -> tuple[list[str], list[str]]:
    """(names, ids) of the groups this run addresses; a named group is addressed even by an
    empty file, so that its suppressions (and a mirror's guard) still apply."""
    if group is not None:
        return [group], []
    if group_id is not None:
        return [], [group_id]
    return mentioned, []


def _check_options(
    group: str | None, group_id: str | None, group_column: str | None, fan_out: str | None
) -> None:
    if sum(option is not None for option in (group, group_id, group_column)) != 1:
        raise SyncOptionsError(
            "name the target with exactly one of --group, --group-id or --group-column"
        )
    if fan_out is not None and group_column is None:
        raise SyncOptionsError("fanning out runs one flow per group: it needs --group-column")


async def _apply_all(
    client: GroupsClient, plans: list[GroupPlan], chunk_size: int, ui: Stages
) -> tuple[list[GroupPlan], list[ApplyResult], list[VerifyResult]]:
    with ui.step("creating missing groups"):
        if any(p.creates_group for p in plans):
            plans = await create_groups(client, plans)
    total = sum(p.changes for p in plans)
    progress = await ApplyProgress.start("sync-progress", total, ui.counter("applying", total))
    results = list(
        await asyncio.gather(
            *(
                apply_group(client, p, chunk_size, progress.advance)
                if p.changes
                else _nothing_to_send(p)
                for p in plans
            )
        )
    )
    await progress.finish()
    with ui.step("verifying"):
        verified = await asyncio.gather(
            *(
                verify_membership(client, p.key, p.group_id or "", r.expected_members(p))
                if p.changes
                else _read_while_planning(p)
                for p, r in zip(plans, results, strict=True)
            )
        )
    return plans, results, list(verified)


async def _nothing_to_send(plan: GroupPlan) -> ApplyResult:
    """A group already in the wanted state gets no apply task: on a nightly re-sync that is most
    groups, and a task run costs more API calls to Prefect than the group costs to check."""
    return ApplyResult(key=plan.key, group_id=plan.group_id or "")


async def _read_while_planning(plan: GroupPlan) -> VerifyResult:
    """A group the plan leaves alone was verified by the plan itself: it read the live membership
    moments ago and found it equal to the expected set; reading it again would only cost time."""
    return VerifyResult(
        key=plan.key,
        group_id=plan.group_id or "",
        size=plan.current_size,
        missing=[],
        unexpected=[],
    )


async def _publish(report: SyncReport, rejects: pl.DataFrame) -> None:
    """The run's artifacts: the report page, a table per group, and examples of each reject reason
    (sent together: each is a round trip to the Prefect API)."""
    await asyncio.gather(
        publish_markdown("sync-report", report.to_markdown(), "sinch-groups sync report"),
        publish_table("sync-groups", report.group_rows(), "Per-group counts of the sync"),
        publish_table(
            "sync-rejects",
            reject_examples(rejects),
            f"First rejected rows of each reason ({report.rows_rejected:,} in all); "
            f"every one is in {report.rejects_path}",
        ),
    )


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
ChunkSize = Annotated[int, Field(ge=1, le=10_000)]
PartitionRows = Annotated[int, Field(ge=1_000)]


@flow(name="sync-groups", persist_result=True)
async def sync_groups(
    source: str,
    group: str | None = None,
    group_id: str | None = None,
    group_column: str | None = None,
    phone_column: str | None = None,
    country_column: str | None = None,
    default_region: str | None = None,
    mode: Mode = Mode.ADD,
    dry_run: bool = False,
    max_remove_fraction: Fraction = 0.10,
    force: bool = False,
    mobile_only: bool = False,
    suppress: list[str] | None = None,
    rejects: str | None = None,
    report: str | None = None,
    chunk_size: ChunkSize = 10_000,
    only_groups: list[str] | None = None,
    task_runner: RunnerKind = "threads",
    dask_address: str | None = None,
    partition_rows: PartitionRows = 500_000,
    use_cache: bool = True,
    fan_out_deployment: str | None = None,
    credentials_block: str | None = DEFAULT_CREDENTIALS_BLOCK,
    target_env_prefix: str = "SINCH_",
    show_progress: bool = False,
) -> SyncReport:
    """Make the target groups match a contact file under `mode`; returns the run report.

    The report (counts, group ids, paths) is the flow's result, so a fanned-out parent can read its
    children's; rows and credentials are never part of a result.

    Args:
        source: A CSV or Parquet file, or a glob of several, as the worker sees it.
        group: Target one group by name (created if missing).
        group_id: Target one existing group by id.
        group_column: Column naming each row's group; every distinct value is a group.
        phone_column: Column holding the phone numbers (default: detected from the header).
        country_column: Column holding each row's ISO country (e.g. GB, US).
        default_region: ISO country for numbers written without a country code.
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
        fan_out_deployment: "flow/deployment" to run one flow run per group on, so several
            workers share a large sync; the guard is still checked for every group first.
        credentials_block: Prefect Secret block holding the credentials; it wins over the
            environment when both exist.
        target_env_prefix: Prefix of the credential environment variables (SINCH_ by default).
        show_progress: Draw console progress bars (the CLI's --progress).
    """
    _check_options(group, group_id, group_column, fan_out_deployment)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    run_dir = default_run_dir(started)
    rejects_path = Path(rejects) if rejects else run_dir / "rejects.parquet"
    report_path = Path(report) if report else run_dir / "report.json"
    target = await resolve_target(target_env_prefix, credentials_block)
    named = group if group is not None else group_id  # the one group of --group/--group-id

    with stages(show_progress) as ui:
        async with GroupsClient.from_target(target) as client:
            read_ahead = (
                None
                if named is None
                else asyncio.ensure_future(
                    read_target(client, named, *_target_groups([], group, group_id))
                )
            )
            try:
                with ui.step("loading and normalizing"):
                    prepared = await _prepare(
                        source,
                        {
                            "phone_column": phone_column,
                            "country_column": country_column,
                            "group_column": group_column,
                            "fixed_group": named,
                            "only_groups": sorted(only_groups) if only_groups is not None else None,
                            "default_region": default_region,
                            "mobile_only": mobile_only,
                        },
                        use_cache=use_cache,
                        partition_rows=partition_rows,
                        runner=task_runner,
                        dask_address=dask_address,
                    )
                    suppressed = (
                        load_suppressions(suppress, default_region)
                        if suppress
                        else pl.Series("phone_e164", [], dtype=pl.String)
                    )
            except BaseException:
                await _abandon(read_ahead)
                raise
            valid, all_rejects, duplicates = prepared.valid, prepared.rejects, prepared.duplicates

            with ui.step("planning"):
                if read_ahead is not None:
                    read, current = await read_ahead
                    targets, currents = [read], {read.key: current}
                else:
                    names, ids = _target_groups(prepared.groups, group, group_id)
                    targets, currents = await resolve_targets(client, names, ids), {}
                desired = desired_by_group(valid, [t.key for t in targets])
                plans = list(
                    await asyncio.gather(
                        *(
                            plan_for_group(
                                client, t, desired[t.key], suppressed, mode, currents.get(t.key)
                            )
                            for t in targets
                        )
                    )
                )
            check_removal_guard(plans, max_remove_fraction=max_remove_fraction, force=force)
            creating = {p.key for p in plans if p.creates_group}
            group_reports = {p.key: _group_report(p, p.key in creating) for p in plans}
            notes = list(prepared.notes)
            if fan_out_deployment is not None and not dry_run:
                with ui.step(f"running {len(plans)} group(s) on {fan_out_deployment}"):
                    notes += await run_per_group(
                        fan_out_deployment, [p.key for p in plans], group_reports
                    )
            elif not dry_run:
                plans, results, verified = await _apply_all(client, plans, chunk_size, ui)
                valid, api_rejects = split_api_rejects(valid, results)
                if not api_rejects.is_empty():
                    api_rejects = Rejects.validate(api_rejects)
                    all_rejects = pl.concat([all_rejects, api_rejects], how="vertical_relaxed")
                    duplicates = phones.count_duplicates(valid)
                for plan, result, check in zip(plans, results, verified, strict=True):
                    _record_outcome(group_reports[plan.key], plan, result, check)
            stats = client.stats

    run_report = SyncReport(
        sources=[str(path) for path in prepared.files],
        mode=str(mode),
        dry_run=dry_run,
        target=target.describe(),
        started_at=started.isoformat(timespec="seconds"),
        rows_read=prepared.rows,
        rows_valid=valid.height,
        rows_rejected=all_rejects.height,
        duplicates=duplicates,
        rejected_by_reason=dict(all_rejects.group_by("reason").len().iter_rows()),
        suppression_numbers=suppressed.len(),
        suppressed=sum(g.suppressed_skipped + g.suppressed_removed for g in group_reports.values()),
        groups=list(group_reports.values()),
        requests=stats.requests,
        retries=stats.retries,
        duration_s=round(time.perf_counter() - clock, 3),
        rejects_path=str(rejects_path),
        report_path=str(report_path),
        notes=notes,
    )
    run_report.ok = all(g.verified is not False for g in run_report.groups)
    run_report.check()
    # The files are written while the artifacts travel to the Prefect API; a failure of either
    # still fails the run.
    await asyncio.gather(
        asyncio.to_thread(_write_outputs, run_report, all_rejects),
        _publish(run_report, all_rejects),
    )
    return run_report


def _write_outputs(report: SyncReport, rejects: pl.DataFrame) -> None:
    """The rejects file, then the report that names it."""
    write_rejects(rejects, Path(report.rejects_path))
    write_json_atomic(report.to_json(), Path(report.report_path))
