"""A run's use of the state: read each group's history before the plan, note the leaves and the
run's own writes before it writes, and publish the new bases after the verify step.

The order is what makes a kill at any point safe: the ledger and the pending note are on disk
before the first write to Sinch, and a base replaces the old one only once the group was read
after our last write (`state.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pipeline.sync.apply import ApplyResult, VerifyResult
from pipeline.sync.history import History, compare
from pipeline.sync.options import SyncOptions
from pipeline.sync.plan import GroupPlan, difference
from pipeline.sync.state import (
    BaseRecord,
    OptOutLedger,
    StateStore,
    default_optouts_dir,
    default_state_dir,
)

__all__ = ["Memory"]


@dataclass(frozen=True)
class Memory:
    """The state store and the opt-out ledger of one service plan, as a run sees them."""

    store: StateStore
    ledger: OptOutLedger
    plan: str

    @classmethod
    def for_run(cls, options: SyncOptions, plan: str) -> Memory:
        state = Path(options.state) if options.state else default_state_dir()
        optouts = Path(options.optouts) if options.optouts else default_optouts_dir()
        return cls(StateStore(state, plan), OptOutLedger(optouts), plan)

    def history(self, group_id: str | None, live: pl.Series) -> History:
        """The group's changes on Sinch's side since its base (none for a group to be created)."""
        return compare(self.store.read(group_id), live, self.ledger.numbers(self.plan, group_id))

    def before_writes(
        self, plans: list[GroupPlan], histories: dict[str, History], run_id: str
    ) -> dict[str, int]:
        """Put this run's leaves in the ledger, and note the writes it is about to make.

        Returns the new ledger entries per group key.
        """
        recorded = {}
        for plan in plans:
            if plan.group_id is None:  # created by this run: no history, nothing to note
                continue
            left = histories[plan.key].left
            recorded[plan.key] = self.ledger.record(
                self.plan, plan.group_id, plan.name, left, run_id
            )
            if plan.changes:
                self.store.record_pending(plan.group_id, plan.add, plan.remove)
        return recorded

    def after_verify(
        self,
        plans: list[GroupPlan],
        results: list[ApplyResult],
        checks: list[VerifyResult | None],
        record: BaseRecord,
    ) -> dict[str, int]:
        """Publish each group's base: the membership read after our last write (the plan's read
        for a group we did not write). A member the read misses was removed by another writer
        while we held the group: a leave, put in the ledger. Returns those entries per key."""
        recorded = {}
        for plan, result, check in zip(plans, results, checks, strict=True):
            group_id = plan.group_id or result.group_id
            if not group_id:
                continue
            members, joined = plan.current, plan.joined
            if check is not None:
                expected = result.expected_members(plan)
                missing = pl.Series("phone_e164", check.missing, dtype=pl.String)
                unexpected = pl.Series("phone_e164", check.unexpected, dtype=pl.String)
                members = pl.concat([difference(expected, missing), unexpected])
                joined = pl.concat([joined, unexpected])
                recorded[plan.key] = self.ledger.record(
                    self.plan, group_id, plan.name, missing, record.run_id
                )
            self.store.publish(group_id, members, joined, record)
        return recorded

    def record(self, run_id: str, digest: str, mode: str) -> BaseRecord:
        return BaseRecord(
            run_id=run_id,
            written_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            source_digest=digest,
            mode=mode,
        )
