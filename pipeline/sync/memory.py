"""A run's use of the state: read each group's history before the plan, note the leaves and the
run's own writes before it writes, and publish the new bases after the verify step.

The order is what makes a kill at any point safe: the ledger and the pending note are on disk
before the first write to Sinch, and a base replaces the old one only once the group was read
after our last write (`state.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from pipeline.errors import PipelineError
from pipeline.storage import StorageError
from pipeline.sync.apply import ApplyResult, VerifyResult
from pipeline.sync.history import History, compare
from pipeline.sync.options import SyncOptions
from pipeline.sync.plan import GroupPlan, difference, member_of
from pipeline.sync.state import (
    BaseRecord,
    OptOutLedger,
    StateStore,
    default_optouts_dir,
    default_state_dir,
)

__all__ = ["Journal", "Memory", "StateNotSavedError"]


@dataclass(frozen=True)
class Memory:
    """The state store and the opt-out ledger of one service plan, as a run sees them."""

    store: StateStore
    ledger: OptOutLedger
    plan: str

    @classmethod
    def for_run(cls, options: SyncOptions, plan: str) -> Memory:
        state = options.state or default_state_dir()
        optouts = options.optouts or default_optouts_dir()
        return cls(StateStore(state, plan), OptOutLedger(optouts), plan)

    def history(self, group_id: str | None, name: str | None, live: pl.Series) -> History:
        """The group's changes on Sinch's side since its base (none for a group to be created;
        the ledger's entries for its name still hold)."""
        optouts = self.ledger.numbers(self.plan, group_id, name)
        return compare(self.store.read(group_id), live, optouts)

    def before_writes(
        self, plans: list[GroupPlan], histories: dict[str, History], run_id: str
    ) -> dict[str, int]:
        """Put this run's leaves in the ledger before anything is written; returns the new
        entries per group key."""
        return {
            plan.key: self.ledger.record(
                self.plan, plan.group_id, plan.name, histories[plan.key].left, run_id
            )
            for plan in plans
            if plan.group_id is not None  # created by this run: nobody left it yet
        }

    def journal(self, group_id: str) -> Journal:
        """Where the apply step notes each batch of this group before and after sending it."""
        return Journal(self.store, group_id)

    def after_verify(
        self,
        plans: list[GroupPlan],
        results: list[ApplyResult],
        checks: list[VerifyResult | None],
        histories: dict[str, History],
        record: BaseRecord,
    ) -> dict[str, int]:
        """Publish each group's base: the membership read after our last write (the plan's read
        for a group we did not write). A member the read misses was removed by another writer
        while we held the group: a leave, put in the ledger. Returns those entries per key.

        Raises StateNotSavedError naming the groups whose base could not be written, after
        trying every group: the changes stand, and the caller still writes the report."""
        recorded, failed = {}, []
        for plan, result, check in zip(plans, results, checks, strict=True):
            group_id = plan.group_id or result.group_id
            if not group_id:
                continue
            members, joined = plan.current, histories[plan.key].joined
            if check is not None:
                expected = result.expected_members(plan)
                missing = pl.Series("phone_e164", check.missing, dtype=pl.String)
                unexpected = pl.Series("phone_e164", check.unexpected, dtype=pl.String)
                members = pl.concat([difference(expected, missing), unexpected])
                # A joiner stays one while a member, whether or not the file lists them too.
                joined = pl.concat([joined, unexpected])
            try:
                if check is not None:
                    recorded[plan.key] = self.ledger.record(
                        self.plan, group_id, plan.name, missing, record.run_id
                    )
                self.store.publish(
                    group_id, members, joined.filter(member_of(joined, members)), record
                )
            except (OSError, StorageError) as error:
                failed.append(f"{plan.key!r} ({error})")
        if failed:
            raise StateNotSavedError(
                f"the base of {', '.join(failed)} could not be saved in {self.store.root}: the "
                "changes were applied; the next run plans those groups from the live membership "
                "and the opt-out ledger"
            )
        return recorded

    def record(self, run_id: str, digest: str, mode: str) -> BaseRecord:
        return BaseRecord(
            run_id=run_id,
            written_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            source_digest=digest,
            mode=mode,
        )


@dataclass(frozen=True)
class Journal:
    """One group's pending note, batch by batch (`StateStore.record_pending`)."""

    store: StateStore
    group_id: str

    def sending(self, add: Sequence[str], remove: Sequence[str]) -> None:
        self.store.record_pending(self.group_id, add, remove, sent=False)

    def sent(self, add: Sequence[str], remove: Sequence[str]) -> None:
        self.store.record_pending(self.group_id, add, remove, sent=True)


class StateNotSavedError(PipelineError):
    """A group's base (or its ledger entries) could not be written after the run's changes."""
