"""From a group's plan and what happened to it, to its line in the report."""

from __future__ import annotations

from datetime import datetime

from pipeline.sync.apply import ApplyResult, VerifyResult
from pipeline.sync.history import History
from pipeline.sync.plan import GroupPlan
from pipeline.sync.report import GroupReport

__all__ = ["group_report", "record_outcome", "two_way_notes"]


def group_report(plan: GroupPlan, read_at: datetime, history: History) -> GroupReport:
    return GroupReport(
        key=plan.key,
        group_id=plan.group_id,
        name=plan.name,
        created=plan.creates_group,
        current=plan.current_size,
        to_add=plan.add.len(),
        to_remove=plan.remove.len(),
        unchanged=plan.unchanged,
        suppressed_skipped=plan.suppressed_skipped,
        suppressed_removed=plan.suppressed_removals,
        final_size=plan.final_size,
        read_at=read_at.isoformat(timespec="milliseconds"),
        base=None if history.base is None else dict(vars(history.base)),
        left=history.left.len(),
        left_kept_out=plan.left_skipped,
        readded_left=plan.readded,
        joined=history.joined_since_base,
        joined_kept=plan.joined.len(),
        joined_removed=plan.joined_removed,
    )


def two_way_notes(planned: list[tuple[GroupPlan, datetime, History]]) -> list[str]:
    """Groups whose plan had no third side: the report says so, once per group."""
    return [
        f"group {plan.key!r} has no base (a first run on it, or the state was lost): planned "
        "file x live only; the opt-out ledger still keeps out those who left before"
        for plan, _, history in planned
        if history.base is None and plan.group_id is not None
    ]


def record_outcome(
    entry: GroupReport, plan: GroupPlan, result: ApplyResult, check: VerifyResult | None
) -> None:
    entry.group_id = plan.group_id
    entry.added, entry.removed = result.added, result.removed
    entry.api_rejected = len(result.api_rejects)
    if check is not None:  # read after this run's last write to the group
        entry.final_size, entry.verified = check.size, check.ok
        # With the group locked, a difference is another writer's doing (the dashboard, a
        # keyword, a script): counted whole, listed up to 100 numbers each way.
        entry.changed_by_others = [len(check.unexpected), len(check.missing)]
        entry.missing, entry.unexpected = check.missing[:100], check.unexpected[:100]
