"""Plan: desired numbers x live membership x mode -> what to add and remove, per group.

The live group is the truth: a plan is always computed against what the API returns now, so a run
that crashed half-way is finished by running it again (nothing is applied twice, nothing needs a
journal). All set arithmetic is vectorized polars (`is_in` is a hash join), never a Python loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import polars as pl

from pipeline.errors import PipelineError
from pipeline.sync.options import Mode

__all__ = [
    "EMPTY",
    "GroupPlan",
    "Mode",
    "RemovalGuardError",
    "allowed_removals",
    "check_removal_guard",
    "difference",
    "differences",
    "member_of",
    "named_groups",
    "plan_group",
    "reject_rows_without_group",
]


EMPTY = pl.Series("phone_e164", [], dtype=pl.String)


@dataclass(frozen=True)
class GroupPlan:
    """The changes for one group, and the membership they must produce."""

    key: str
    """The group as the user named it (a name, or an id for --group-id)."""
    group_id: str | None
    """None when the group does not exist yet and will be created."""
    name: str | None
    current: pl.Series
    """The live membership the plan was computed against, distinct, in the API's order."""
    add: pl.Series
    remove: pl.Series
    mode: Mode
    unchanged: int
    """Desired numbers that need no change: members already (add, mirror) or absent already (remove)."""
    suppressed_skipped: int
    """Desired numbers not added because a suppression list names them."""
    suppressed_removals: int
    """Removals caused by suppression lists, which the removal guard does not count."""
    left_skipped: int = 0
    """Desired numbers not added because they left the group on Sinch's side (the opt-out ledger)."""
    readded: int = 0
    """Numbers added although they left on Sinch's side (`--readd-left`)."""
    joined: pl.Series = field(default_factory=lambda: EMPTY)
    """Members who joined on Sinch's side, are not in the file and stay (kept by a mirror)."""
    joined_removed: int = 0
    """Members who joined on Sinch's side that a `--strict` mirror removes."""

    @property
    def guarded_removals(self) -> int:
        """Removals the guard protects against: a mirror's, caused by the input being shorter.

        `remove` mode removals are what the user listed, and suppression removals are compliance.
        """
        if self.mode is not Mode.MIRROR:
            return 0
        return self.remove.len() - self.suppressed_removals

    @property
    def creates_group(self) -> bool:
        return self.group_id is None

    @property
    def changes(self) -> int:
        """Numbers to send: adds and removes (0 for a group already as wanted)."""
        return self.add.len() + self.remove.len()

    @property
    def current_size(self) -> int:
        return self.current.len()

    @property
    def final_size(self) -> int:
        """The size once applied: `remove` is a subset of the members and `add` disjoint from them."""
        return self.current.len() - self.remove.len() + self.add.len()

    @cached_property
    def expected(self) -> pl.Series:
        """The membership after the plan is applied (in no particular order); built only when a
        check needs it."""
        return pl.concat([difference(self.current, self.remove), self.add])


def member_of(values: pl.Series, other: pl.Series) -> pl.Series:
    """Vectorized set membership (a hash lookup per value), as a boolean mask over `values`."""
    return values.is_in(other.implode())


def difference(values: pl.Series, other: pl.Series) -> pl.Series:
    """The values not in `other`, in their order: an anti join, which on a million strings is
    several times faster than masking with `member_of`."""
    left, right = _keyed(values, other)
    return _not_in(left, right)


def differences(first: pl.Series, second: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(`first`'s values not in `second`, `second`'s not in `first`), each side keyed once."""
    left, right = _keyed(first, second)
    return _not_in(left, right), _not_in(right, left)


def _not_in(left: pl.DataFrame, right: pl.DataFrame) -> pl.Series:
    return _numbers(_join(left, right, "anti"))


_TEXT = "phone_e164"
_NUMBER = pl.col(_TEXT)
_DIGITS = _NUMBER.str.slice(1).cast(pl.UInt64, strict=False)
_CANONICAL = (
    pl.col("key").is_not_null() & _NUMBER.str.starts_with("+") & _NUMBER.str.slice(1, 1).ne("0")
)


def _keyed(*numbers: pl.Series) -> list[pl.DataFrame]:
    """Each set of numbers as a frame with the `key` every join compares (and `phone_e164`, but
    for a set given as digits: see `_numbers`).

    E.164 as this package writes it (`+`, then digits not starting with 0) maps one to one onto
    its digits as an integer, and polars hashes an integer several times faster than a string:
    the diff of an unchanged million-member group takes half the time. A set may come as those
    integers already (UInt64, as `normalized.Numbers` keeps the desired numbers): a million of
    them are 8 MB, their text several times that. If any side holds a value of another shape (a
    member the API listed oddly), every side compares the strings themselves, so a set is never
    wrong, only slower to compute.
    """
    keyed = [
        n.drop_nulls().rename("key").to_frame()
        if n.dtype == pl.UInt64
        else n.cast(pl.String)
        .drop_nulls()
        .rename("phone_e164")
        .to_frame()
        .with_columns(_DIGITS.alias("key"))
        for n in numbers
    ]
    if all(frame.select(_CANONICAL.all()).item() for frame in keyed if _TEXT in frame.columns):
        return keyed
    return [_numbers(frame).to_frame().with_columns(_NUMBER.alias("key")) for frame in keyed]


def _numbers(frame: pl.DataFrame) -> pl.Series:
    """A keyed frame's numbers as E.164 text (made from the digits for a set given as digits)."""
    if _TEXT in frame.columns:
        return frame.get_column(_TEXT)
    return ("+" + frame.get_column("key").cast(pl.String)).rename(_TEXT)


def _join(left: pl.DataFrame, right: pl.DataFrame, how: Literal["anti", "semi"]) -> pl.DataFrame:
    """`left`'s rows whose key is (semi) or is not (anti) in `right`: a parallel hash join,
    several times faster than `is_in` on a million values, and duplicates in `right` are free."""
    if left.is_empty() or right.is_empty():
        return left.clear() if how == "semi" else left
    return left.join(right.select("key"), on="key", how=how)


def _series(frame: pl.DataFrame, *, distinct: bool = False) -> pl.Series:
    """Distinct and sorted: batches come out the same on every run (`distinct`: the rows are
    already, and a million numbers are not hashed again)."""
    numbers = _numbers(frame)
    return (numbers if distinct else numbers.unique()).sort()


def _distinct(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per key: the frame itself when it is so already, as it nearly always is."""
    return frame if frame.get_column("key").n_unique() == frame.height else frame.unique("key")


def plan_group(
    *,
    key: str,
    group_id: str | None,
    name: str | None,
    current: pl.Series,
    desired: pl.Series,
    suppressed: pl.Series,
    mode: Mode,
    left: pl.Series = EMPTY,
    readd_left: bool = False,
    joined: pl.Series = EMPTY,
    strict: bool = False,
) -> GroupPlan:
    """Diff one group's live membership against the desired numbers under `mode`.

    Suppressed numbers are never added, and in `add` and `mirror` modes one that is already a member
    is removed: suppression is compliance, applied whatever the input holds.

    The three-way part (`history.py` works out the sets from the group's base): `left` (numbers
    that left on Sinch's side, the ledger's included) are never added back unless `readd_left`;
    `joined` (live members this tool did not put there) stay in a mirror unless `strict`.

    Only anti and semi joins touch the full sets, and only the (usually small) changes are
    deduplicated and sorted: a nightly re-sync of a million unchanged numbers costs two hash
    joins, not sorts of both sides.
    """
    live, wanted, blocked, gone, others = _keyed(current, desired, suppressed, left, joined)
    # The API sends a set, and the desired numbers come distinct (`Prepared.numbers`); be sure,
    # at the cost of counting: then what is added needs no deduplicating.
    live, wanted = _distinct(live), _distinct(wanted)
    live_blocked = _join(live, blocked, "semi")
    # Joined members the file does not name and no suppression removes: theirs, not ours.
    others = _join(_join(_join(live, others, "semi"), wanted, "anti"), blocked, "anti")
    left_skipped = readded = joined_removed = 0
    if mode is Mode.REMOVE:
        listed = _join(live, wanted, "semi")
        add = wanted.clear()
        remove = pl.concat([listed, live_blocked])
        suppressed_removals = _join(live_blocked, wanted, "anti").height
        unchanged = _join(wanted, live, "anti").get_column("key").n_unique()
        suppressed_skipped = 0
    else:
        missing = _join(wanted, live, "anti")
        addable = _join(missing, blocked, "anti")
        suppressed_skipped = missing.height - addable.height
        returning = _join(addable, gone, "semi").height
        add = addable if readd_left else _join(addable, gone, "anti")
        left_skipped, readded = (0, returning) if readd_left else (returning, 0)
        not_wanted = _join(live, wanted, "anti")
        unchanged = live.height - not_wanted.height - _join(live_blocked, wanted, "semi").height
        remove = live_blocked
        if mode is Mode.MIRROR:
            dropped = not_wanted if strict else _join(not_wanted, others, "anti")
            remove = pl.concat([dropped, live_blocked])
            if strict:
                joined_removed, others = others.height, others.clear()
        suppressed_removals = live_blocked.height

    return GroupPlan(
        key=key,
        group_id=group_id,
        name=name,
        current=live.get_column("phone_e164"),
        add=_series(add, distinct=True),
        remove=_series(remove),
        mode=mode,
        unchanged=unchanged,
        suppressed_skipped=suppressed_skipped,
        suppressed_removals=suppressed_removals,
        left_skipped=left_skipped,
        readded=readded,
        joined=others.get_column("phone_e164"),
        joined_removed=joined_removed,
    )


class RemovalGuardError(PipelineError):
    """A mirror would remove more of a group than --max-remove-fraction allows."""

    def __init__(self, tripped: Sequence[GroupPlan], max_remove_fraction: float) -> None:
        self.tripped = list(tripped)
        self.max_remove_fraction = max_remove_fraction
        details = "; ".join(
            f"{plan.key!r} would lose {plan.guarded_removals:,} of {plan.current_size:,} members "
            f"(allowed {allowed_removals(plan.current_size, max_remove_fraction):,})"
            for plan in self.tripped
        )
        super().__init__(
            f"removal guard tripped, nothing was changed: {details}. If the input really is complete, "
            f"raise --max-remove-fraction or pass --force."
        )


def allowed_removals(current_size: int, max_remove_fraction: float) -> int:
    """How many members a mirror may remove from a group of `current_size` without --force."""
    return math.floor(current_size * max_remove_fraction)


def check_removal_guard(
    plans: Sequence[GroupPlan], *, max_remove_fraction: float, force: bool = False
) -> None:
    """Refuse the whole run if any group would lose too much; checked before any group is written.

    Only removals that come from the input count: suppression removals are compliance and are
    never blocked (the guard protects against a truncated input, not an opt-out).
    """
    if force:
        return
    tripped = [
        plan
        for plan in plans
        if plan.guarded_removals > allowed_removals(plan.current_size, max_remove_fraction)
    ]
    if tripped:
        raise RemovalGuardError(tripped, max_remove_fraction)


def reject_rows_without_group(valid: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows whose group cell is empty cannot be placed: they become `no_group` rejects."""
    missing = pl.col("group").is_null() | (pl.col("group").str.strip_chars() == "")
    rejected = valid.filter(missing).select(
        "source_file",
        "source_line",
        pl.col("phone_raw").alias("raw_value"),
        "region",
        pl.lit("no_group").alias("reason"),
        pl.lit("the group column is empty on this row").alias("detail"),
    )
    # Nearly always none: then the rows are passed on as they are, not copied.
    return (valid if rejected.is_empty() else valid.filter(~missing)), rejected


def named_groups(frame: pl.DataFrame) -> list[str]:
    """The distinct, non-blank group names a contacts frame mentions, rejected rows included.

    A group whose rows were all rejected is still a target: in mirror mode it would be emptied,
    which is exactly what the removal guard must get to see.
    """
    names = frame.get_column("group").drop_nulls()
    return sorted(names.filter(names.str.strip_chars() != "").unique().to_list())
