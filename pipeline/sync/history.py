"""The third side of the diff: what changed on Sinch's side since this tool's last run.

file x live alone cannot tell a member who texted STOP from one the file adds for the first
time; file x live x base can (`state.py` keeps the base). A number in the base that is no longer
live, and that no run of ours set out to remove, **left**; a live number not in the base, that
no run of ours set out to add, **joined**. Everything here is set arithmetic on polars series.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.sync.plan import EMPTY, difference, member_of
from pipeline.sync.state import Base, BaseRecord

__all__ = ["History", "compare"]


@dataclass(frozen=True)
class History:
    """One group's changes on Sinch's side since its base, and the numbers kept out of it."""

    base: BaseRecord | None
    """Who wrote the base; None when the group has none (first run, or the state was lost)."""
    left: pl.Series
    """Base members gone from the live group that no run of ours removed."""
    joined: pl.Series
    """Live members no run of ours added: new since the base, or kept from an earlier run."""
    joined_since_base: int
    """How many of `joined` are new since the base."""
    optouts: pl.Series
    """The group's opt-out ledger before this run."""

    @property
    def kept_out(self) -> pl.Series:
        """Never added back: the ledger and whoever left since the base."""
        return pl.concat([self.optouts, self.left]).unique()


def compare(base: Base | None, live: pl.Series, optouts: pl.Series) -> History:
    """Set the live membership beside the base. Without a base there is no third side: nobody
    counts as having left or joined (the plan is the two-way one), but the ledger still holds.

    A kill between a run's writes and its new base leaves the old base and a pending note of that
    run's batches (`StateStore.record_pending`): a number we may have removed is not a leave, one
    we may have added is not a join, and one Sinch confirmed we added that is gone now left.
    """
    if base is None:
        return History(None, EMPTY, EMPTY, 0, optouts)
    # Deduplicated once the (few) leavers are found, not before: a unique of a million-member
    # base is a string hash table the size of the group, for the same set.
    ours = pl.concat([base.members, base.pending.added])
    left = difference(difference(ours, live), base.pending.remove).unique()
    if base.record is None:  # only a killed first run's note: who else is live is unknown
        return History(None, left, EMPTY, 0, optouts)
    new = difference(difference(live, base.members), base.pending.add)
    # Live members probed against the (few) earlier joiners: hashing the live side instead would
    # build a table of a million strings for a handful of answers.
    kept_before = live.filter(member_of(live, base.joined))
    joined = pl.concat([new, kept_before]).unique()
    return History(base.record, left, joined, new.len(), optouts)
