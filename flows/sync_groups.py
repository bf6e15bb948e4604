"""Prefect flow: sync contact files into Sinch groups.

load -> normalize -> resolve groups -> plan (per group) -> guard -> create missing -> apply
(per group) -> verify (per group) -> report. Every step is a call into `pipeline`; this module only
orders them, owns the HTTP client, retries I/O and publishes the report as an artifact.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

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
from pipeline.settings import Target
from pipeline.sinch import GroupsClient


class SyncOptionsError(PipelineError):
    """The options do not describe one runnable sync."""


@task(cache_policy=NO_CACHE)
def load_contacts(
    source: str,
    *,
    phone_column: str | None,
    country_column: str | None,
    group_column: str | None,
    fixed_group: str | None,
) -> sources.LoadResult:
    """Read every file of the source; with --group/--group-id every row names that one group."""
    loaded = sources.load_contacts(
        source, phone_column=phone_column, country_column=country_column, group_column=group_column
    )
    if fixed_group is None:
        return loaded
    frame = loaded.frame.with_columns(pl.lit(fixed_group, dtype=pl.String).alias("group"))
    return replace(loaded, frame=frame)


@task(cache_policy=NO_CACHE)
def normalize_phones(
    frame: pl.DataFrame, *, default_region: str | None, mobile_only: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows, rejected rows): every number to E.164 or a reason, rows without a group out."""
    result = phones.normalize(frame, default_region=default_region, mobile_only=mobile_only)
    valid, no_group = reject_rows_without_group(result.valid)
    return valid, pl.concat([result.rejects, no_group], how="vertical_relaxed")


@task(cache_policy=NO_CACHE)
def load_suppressions(paths: list[str], default_region: str | None) -> pl.Series:
    """Normalize the opt-out lists with the same rules as the input; unusable entries are ignored."""
    if not paths:
        return pl.Series("phone_e164", [], dtype=pl.String)
    numbers = [
        phones.normalize(sources.load_phone_list(path), default_region=default_region).valid[
            "phone_e164"
        ]
        for path in paths
    ]
    return pl.concat(numbers).unique().sort()


@io_task
async def resolve_targets(
    client: GroupsClient, names: list[str], group_ids: list[str]
) -> list[ResolvedGroup]:
    return await resolve_groups(client, names=names, group_ids=group_ids)


@io_task
async def plan_for_group(
    client: GroupsClient,
    target: ResolvedGroup,
    desired: pl.Series,
    suppressed: pl.Series,
    mode: Mode,
) -> GroupPlan:
    """Fetch the live membership and diff it: the live group is the truth."""
    members = await client.list_members(target.group_id) if target.group_id else []
    return plan_group(
        key=target.key,
        group_id=target.group_id,
        name=target.name,
        current=pl.Series("phone_e164", members, dtype=pl.String),
        desired=desired,
        suppressed=suppressed,
        mode=mode,
    )


@io_task
async def create_groups(client: GroupsClient, plans: list[GroupPlan]) -> list[GroupPlan]:
    return await create_missing_groups(client, plans)


@io_task
async def apply_group(
    client: GroupsClient, plan: GroupPlan, chunk_size: int, progress: Any
) -> ApplyResult:
    return await apply_plan(client, plan, chunk_size=chunk_size, progress=progress)


@io_task
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
        final_size=plan.expected.len(),
    )


def _target_groups(
    frame: pl.DataFrame, group: str | None, group_id: str | None
) -> tuple[list[str], list[str]]:
    """(names, ids) of the groups this run addresses; a named group is addressed even by an
    empty file, so that its suppressions (and a mirror's guard) still apply."""
    if group is not None:
        return [group], []
    if group_id is not None:
        return [], [group_id]
    return named_groups(frame), []


def _check_options(
    group: str | None, group_id: str | None, group_column: str | None, chunk_size: int
) -> None:
    if sum(option is not None for option in (group, group_id, group_column)) != 1:
        raise SyncOptionsError(
            "name the target with exactly one of --group, --group-id or --group-column"
        )
    if not 1 <= chunk_size <= 10_000:
        raise SyncOptionsError("--chunk-size must be between 1 and 10,000 (the Sinch limit)")


async def _apply_all(
    client: GroupsClient, plans: list[GroupPlan], chunk_size: int, ui: Stages
) -> tuple[list[GroupPlan], list[ApplyResult], list[VerifyResult]]:
    with ui.step("creating missing groups"):
        plans = await create_groups(client, plans)
    advance = ui.counter("applying", sum(p.add.len() + p.remove.len() for p in plans))
    results = list(
        await asyncio.gather(*(apply_group(client, p, chunk_size, advance) for p in plans))
    )
    with ui.step("verifying"):
        verified = await asyncio.gather(
            *(
                verify_membership(client, p.key, p.group_id or "", r.expected_members(p))
                for p, r in zip(plans, results, strict=True)
            )
        )
    return plans, results, list(verified)


@flow(name="sync-groups")
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
    max_remove_fraction: float = 0.10,
    force: bool = False,
    mobile_only: bool = False,
    suppress: list[str] | None = None,
    rejects: str | None = None,
    report: str | None = None,
    chunk_size: int = 10_000,
    target_env_prefix: str = "SINCH_",
    show_progress: bool = False,
) -> SyncReport:
    """Make the target groups match a contact file under `mode`; returns the run report.

    Credentials are read from `{target_env_prefix}*` environment variables, never passed as
    parameters (Prefect records parameters).
    """
    _check_options(group, group_id, group_column, chunk_size)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    run_dir = default_run_dir(started)
    rejects_path = Path(rejects) if rejects else run_dir / "rejects.parquet"
    report_path = Path(report) if report else run_dir / "report.json"
    target = Target.from_env(target_env_prefix)

    with stages(show_progress) as ui:
        with ui.step("loading and normalizing"):
            loaded = load_contacts(
                source,
                phone_column=phone_column,
                country_column=country_column,
                group_column=group_column,
                fixed_group=group if group is not None else group_id,
            )
            valid, all_rejects = normalize_phones(
                loaded.frame, default_region=default_region, mobile_only=mobile_only
            )
            suppressed = load_suppressions(list(suppress or []), default_region)
        names, ids = _target_groups(loaded.frame, group, group_id)

        async with GroupsClient.from_target(target) as client:
            with ui.step("planning"):
                targets = await resolve_targets(client, names, ids)
                desired = desired_by_group(valid, [t.key for t in targets])
                plans = list(
                    await asyncio.gather(
                        *(
                            plan_for_group(client, t, desired[t.key], suppressed, mode)
                            for t in targets
                        )
                    )
                )
            check_removal_guard(plans, max_remove_fraction=max_remove_fraction, force=force)
            creating = {p.key for p in plans if p.creates_group}
            group_reports = {p.key: _group_report(p, p.key in creating) for p in plans}
            if not dry_run:
                plans, results, verified = await _apply_all(client, plans, chunk_size, ui)
                valid, api_rejects = split_api_rejects(valid, results)
                all_rejects = pl.concat([all_rejects, api_rejects], how="vertical_relaxed")
                for plan, result, check in zip(plans, results, verified, strict=True):
                    entry = group_reports[plan.key]
                    entry.group_id = plan.group_id
                    entry.added, entry.removed = result.added, result.removed
                    entry.api_rejected = len(result.api_rejects)
                    entry.final_size, entry.verified = check.size, check.ok
                    entry.missing, entry.unexpected = check.missing[:100], check.unexpected[:100]
            stats = client.stats

    write_rejects(Rejects.validate(all_rejects), rejects_path)
    run_report = SyncReport(
        sources=[str(path) for path in loaded.files],
        mode=str(mode),
        dry_run=dry_run,
        target=target.describe(),
        started_at=started.isoformat(timespec="seconds"),
        rows_read=loaded.rows,
        rows_valid=valid.height,
        rows_rejected=all_rejects.height,
        duplicates=phones.dedupe(valid)[1],
        rejected_by_reason=dict(all_rejects.group_by("reason").len().iter_rows()),
        suppression_numbers=suppressed.len(),
        suppressed=sum(g.suppressed_skipped + g.suppressed_removed for g in group_reports.values()),
        groups=list(group_reports.values()),
        requests=stats.requests,
        retries=stats.retries,
        duration_s=round(time.perf_counter() - clock, 3),
        rejects_path=str(rejects_path),
        report_path=str(report_path),
        notes=loaded.notes,
    )
    run_report.ok = all(g.verified is not False for g in run_report.groups)
    run_report.check()
    write_json_atomic(run_report.to_json(), report_path)
    await acreate_markdown_artifact(
        key="sync-report", markdown=run_report.to_markdown(), description="sinch-groups sync report"
    )
    return run_report
