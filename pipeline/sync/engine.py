"""The sync engine: the step order of a run, whoever runs it.

prepare (load + normalize, or the cache) -> resolve groups -> plan (per group) -> guard ->
create missing -> apply (per group with changes) -> verify (per changed group) -> report. With
--group/--group-id the one target is resolved and its membership read (`read`) while the file is
loaded. Each stage goes through the run's `Steps` (`steps.py`): in-process by default, as Prefect
tasks from `flows/`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline.errors import PipelineError
from pipeline.phones.schemas import Rejects
from pipeline.progress import stages
from pipeline.sinch import GroupsClient, Target
from pipeline.sync.apply import (
    ApplyResult,
    VerifyResult,
    apply_plan,
    create_missing_groups,
    left_alone,
    nothing_to_send,
    split_api_rejects,
    verify_group,
)
from pipeline.sync.groups import ResolvedGroup, resolve_groups
from pipeline.sync.history import History
from pipeline.sync.lock import group_lock_keys
from pipeline.sync.memory import Memory, StateNotSavedError
from pipeline.sync.options import SyncOptions
from pipeline.sync.outcome import group_report, record_outcome, two_way_notes
from pipeline.sync.outputs import check_outputs, output_paths, write_or_fall_back
from pipeline.sync.plan import GroupPlan, check_removal_guard, plan_group
from pipeline.sync.prepare import Prepared, load_suppressions, prepare
from pipeline.sync.report import GroupReport, SyncReport
from pipeline.sync.steps import LocalSteps

__all__ = ["ApplyElsewhere", "NothingValidError", "run_sync", "sync_groups"]


class NothingValidError(PipelineError):
    """No row of the input is valid: the run changed nothing (its report and rejects say why)."""


ApplyElsewhere = Callable[[list[GroupPlan], dict[str, GroupReport]], Awaitable[list[str]]]
"""Applies the planned groups somewhere else (a Prefect deployment per group), fills in their
reports and returns notes for the report."""

EMPTY = pl.Series("phone_e164", [], dtype=pl.String)


@dataclass(frozen=True)
class Live:
    """A group's membership as read, and when: the report says when an unchanged group was read."""

    members: pl.Series
    read_at: datetime


async def _members(client: GroupsClient, target: ResolvedGroup) -> Live:
    if target.group_id is None:  # created by this run
        return Live(EMPTY, datetime.now(UTC))
    members = await client.list_members(target.group_id)
    return Live(members, datetime.now(UTC))


async def read_members(client: GroupsClient, target: ResolvedGroup) -> Live:
    """The membership of the one group named by --group/--group-id, read while the file is still
    being loaded (once the group is locked), so the plan starts as soon as the numbers are ready."""
    return await _members(client, target)


async def plan_for_group(
    client: GroupsClient,
    target: ResolvedGroup,
    desired: pl.Series,
    suppressed: pl.Series,
    options: SyncOptions,
    current: Live | None,
    memory: Memory,
) -> tuple[GroupPlan, datetime, History]:
    """Fetch the live membership (unless it was read ahead: `current`) and diff it three ways:
    the live group is the truth, the group's base says what changed on Sinch's side since our
    last run (`history.py`). Returns the plan, when the membership was read, and the history."""
    live = await _members(client, target) if current is None else current
    history = await asyncio.to_thread(memory.history, target.group_id, target.name, live.members)
    plan = plan_group(
        key=target.key,
        group_id=target.group_id,
        name=target.name,
        current=live.members,
        desired=desired,
        suppressed=suppressed,
        mode=options.mode,
        left=history.kept_out,
        readd_left=options.readd_left,
        joined=history.joined,
        strict=options.strict,
    )
    return plan, live.read_at, history


async def _abandon(read_ahead: asyncio.Future[Any] | None) -> None:
    """Stop a read-ahead whose run is failing anyway, and wait until it has."""
    if read_ahead is not None:
        read_ahead.cancel()
        await asyncio.gather(read_ahead, return_exceptions=True)


Lock = Callable[[list[ResolvedGroup]], Awaitable[None]]
"""Takes the write lock of these groups, held until the run's outputs are written."""


async def _prepare_and_read(
    options: SyncOptions, client: GroupsClient, steps: LocalSteps, lock: Lock
) -> tuple[Prepared, pl.Series, tuple[ResolvedGroup, Live] | None]:
    """(prepared input, suppressed numbers, the named group read meanwhile, if any)."""
    read_ahead, target = None, None
    if options.named is not None:
        # Resolved and locked here, in the run's own task (a Prefect concurrency slot is held by
        # the task that took it); only the membership read runs beside the loading.
        names, ids = options.target_groups([])
        (target,) = await steps.run(
            "resolve-groups", None, resolve_groups, client=client, names=names, group_ids=ids
        )
        await lock([target])
        read_ahead = asyncio.ensure_future(
            steps.run("read", target.key, read_members, client=client, target=target)
        )
    try:
        with steps.step("loading and normalizing"):
            prepared = await prepare(options, steps)
            suppressed = EMPTY
            if options.suppress:
                suppressed = await steps.run(
                    "suppressions",
                    None,
                    load_suppressions,
                    paths=list(options.suppress),
                    default_region=options.default_region,
                )
    except BaseException:
        await _abandon(read_ahead)
        raise
    if read_ahead is None or target is None:
        return prepared, suppressed, None
    return prepared, suppressed, (target, await read_ahead)


async def _plan(
    options: SyncOptions,
    client: GroupsClient,
    steps: LocalSteps,
    prepared: Prepared,
    suppressed: pl.Series,
    read: tuple[ResolvedGroup, Live] | None,
    lock: Lock,
    memory: Memory,
) -> list[tuple[GroupPlan, datetime, History]]:
    with steps.step("planning"):
        if read is not None:
            targets, currents = [read[0]], {read[0].key: read[1]}
        else:
            names, ids = options.target_groups(prepared.groups)
            targets = await steps.run(
                "resolve-groups",
                None,
                resolve_groups,
                client=client,
                names=names,
                group_ids=ids,
            )
            await lock(targets)
            currents = {}
        desired = prepared.numbers.by_group([t.key for t in targets])
        plans = await asyncio.gather(
            *(
                steps.run(
                    "plan",
                    t.key,
                    plan_for_group,
                    client=client,
                    target=t,
                    desired=desired[t.key],
                    suppressed=suppressed,
                    options=options,
                    current=currents.get(t.key),
                    memory=memory,
                )
                for t in targets
            )
        )
    return list(plans)


async def _apply_all(
    options: SyncOptions,
    client: GroupsClient,
    steps: LocalSteps,
    plans: list[GroupPlan],
    memory: Memory,
) -> tuple[list[GroupPlan], list[ApplyResult], list[VerifyResult | None]]:
    with steps.step("creating missing groups"):
        if any(p.creates_group for p in plans):
            plans = await steps.run(
                "create-groups", None, create_missing_groups, client=client, plans=plans
            )
    total = sum(p.changes for p in plans)
    async with steps.counter("applying", total) as advance:
        results = await asyncio.gather(
            *(
                steps.run(
                    "apply",
                    p.key,
                    apply_plan,
                    client=client,
                    plan=p,
                    chunk_size=options.chunk_size,
                    progress=advance,
                    journal=memory.journal(p.group_id or ""),
                )
                if p.changes
                # A group already in the wanted state gets no apply stage: on a nightly re-sync
                # that is most groups, and a task run costs more than the group costs to check.
                else nothing_to_send(p)
                for p in plans
            )
        )
    with steps.step("verifying"):
        verified = await asyncio.gather(
            *(
                steps.run(
                    "verify",
                    p.key,
                    verify_group,
                    client=client,
                    key=p.key,
                    group_id=p.group_id or "",
                    expected=r.expected_members(p),
                )
                if p.changes
                else left_alone(p)
                for p, r in zip(plans, results, strict=True)
            )
        )
    return plans, list(results), list(verified)


async def run_sync(
    options: SyncOptions,
    client: GroupsClient,
    steps: LocalSteps | None = None,
    *,
    target: Mapping[str, str],
    apply_elsewhere: ApplyElsewhere | None = None,
) -> SyncReport:
    """Make the target groups match the source under `options.mode`; returns the run report and
    writes it, with the rejected rows, where the options say.

    `target` is `Target.describe()` of where `client` points (it goes into the report; never a
    secret). `apply_elsewhere` replaces the apply and verify stages (a fan-out to other workers).
    """
    steps = steps or LocalSteps()
    started = datetime.now(UTC)
    clock = time.perf_counter()
    rejects_path, report_path = output_paths(options, started)
    check_outputs(options, started)
    plan_id = target.get("service_plan_id") or target.get("project_id") or "default"
    memory = Memory.for_run(options, plan_id)

    async with AsyncExitStack() as held:

        async def lock(groups: list[ResolvedGroup]) -> None:
            if options.fan_out:  # each group's own run locks it; its plan here is for the guard
                return
            keys = [key for group in groups for key in group_lock_keys(group.group_id, group.name)]
            await held.enter_async_context(steps.hold(plan_id, keys, options.lock_timeout))

        prepared, suppressed, read = await _prepare_and_read(options, client, steps, lock)
        valid, all_rejects, duplicates = prepared.valid.rows, prepared.rejects, prepared.duplicates
        # No valid row is nearly always a wrong column or country: change nothing, say why.
        refuse = valid == 0 and not options.allow_empty
        unsaved: StateNotSavedError | None = None
        planned = (
            []
            if refuse
            else await _plan(options, client, steps, prepared, suppressed, read, lock, memory)
        )
        plans = [plan for plan, _, _ in planned]
        check_removal_guard(
            plans, max_remove_fraction=options.max_remove_fraction, force=options.force
        )
        group_reports = {p.key: group_report(p, read_at, h) for p, read_at, h in planned}
        notes = list(prepared.notes) + two_way_notes(planned)
        if apply_elsewhere is not None and not options.dry_run:
            notes += await apply_elsewhere(plans, group_reports)
        elif not options.dry_run:
            histories = {plan.key: history for plan, _, history in planned}
            noted = {}
            if any(p.changes for p in plans) or any(h.left.len() for h in histories.values()):
                noted = await steps.run(
                    "record-leaves",
                    None,
                    memory.before_writes,
                    plans=plans,
                    histories=histories,
                    run_id=steps.run_id,
                )
            plans, results, verified = await _apply_all(options, client, steps, plans, memory)
            base = memory.record(steps.run_id, prepared.digest, str(options.mode))
            try:
                noted_after = await steps.run(
                    "publish-state",
                    None,
                    memory.after_verify,
                    plans=plans,
                    results=results,
                    checks=verified,
                    histories=histories,
                    record=base,
                )
            except StateNotSavedError as error:  # reported, then raised once the report is out
                noted_after, unsaved = {}, error
                notes.append(str(error))
            for key, count in (*noted.items(), *noted_after.items()):
                group_reports[key].optouts_recorded += count
            api_rejects, refused = split_api_rejects(prepared.valid.scan(), results)
            if not api_rejects.is_empty():
                api_rejects = Rejects.validate(api_rejects)
                all_rejects = pl.concat([all_rejects, api_rejects], how="vertical_relaxed")
                # Every row of a refused number is out: its repeats stop counting as duplicates.
                valid -= api_rejects.height
                duplicates -= api_rejects.height - refused
            for plan, result, check in zip(plans, results, verified, strict=True):
                record_outcome(group_reports[plan.key], plan, result, check)
        stats = client.stats
        report = SyncReport(
            sources=prepared.sources,
            mode=str(options.mode),
            dry_run=options.dry_run,
            target=dict(target),
            started_at=started.isoformat(timespec="seconds"),
            rows_read=prepared.rows,
            rows_valid=valid,
            rows_rejected=all_rejects.height,
            duplicates=duplicates,
            rejected_by_reason=dict(all_rejects.group_by("reason").len().iter_rows()),
            suppression_numbers=suppressed.len(),
            suppressed=sum(
                g.suppressed_skipped + g.suppressed_removed for g in group_reports.values()
            ),
            groups=list(group_reports.values()),
            requests=stats.requests,
            retries=stats.retries,
            duration_s=round(time.perf_counter() - clock, 3),
            rejects_path=str(rejects_path),
            report_path=str(report_path),
            notes=notes,
        )
        report.ok = all(g.verified is not False for g in report.groups)
        report.check()
        # The files are written while an orchestrator records the run; a failure of either still
        # fails the run. The groups stay locked until then.
        await asyncio.gather(
            asyncio.to_thread(write_or_fall_back, report, all_rejects),
            steps.publish(report, all_rejects),
        )
    if unsaved is not None:
        raise unsaved
    if refuse and (why := report.nothing_valid()):
        raise NothingValidError(why)
    return report


async def sync_groups(
    options: SyncOptions, target: Target | None = None, *, show_progress: bool = False
) -> SyncReport:
    """Run a whole sync in this process against `target` (default: the `SINCH_*` environment):
    what `sinch-groups sync` does when no Prefect API is configured.

        report = asyncio.run(sync_groups(SyncOptions(source="contacts.csv", group="Newsletter")))
    """
    target = target or Target.from_env()
    with stages(show_progress) as ui:
        async with GroupsClient.from_target(target) as client:
            return await run_sync(options, client, LocalSteps(ui), target=target.describe())
