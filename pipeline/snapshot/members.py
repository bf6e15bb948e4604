"""One batch of groups as `members.parquet` rows: sorted, enriched and validated (`write`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import polars as pl

from pipeline.phones.describe import describe_each
from pipeline.snapshot.result import GroupMembers
from pipeline.snapshot.schemas import MembersSnapshot, polars_schema

__all__ = ["MEMBERS_SCHEMA", "members_frame", "validate_members"]

MEMBERS_SCHEMA = polars_schema(MembersSnapshot)

# pandera registers its polars backends on the first validation, importing its data-synthesis
# strategies (and hypothesis, where installed: 0.2 s): done here, with the other imports, so that
# no export waits for it in the middle of its work.
MembersSnapshot.validate(pl.DataFrame(schema=MEMBERS_SCHEMA))

_PER_GROUP = frozenset({"group_id", "group_name"})
"""The columns `members_frame` fills with one value per group."""

Check = Callable[[pl.Expr], pl.Expr]
"""A column's values -> true where a value passes."""


def _model_checks() -> list[tuple[str, Check]] | None:
    """`MembersSnapshot`'s column checks as polars expressions: nullability, and `str_matches` as
    pandera runs it. None if the model holds a check this does not translate, or a uniqueness
    other than the (group_id, phone_e164) pair `validate_members` checks: then pandera validates
    every batch itself."""
    schema = MembersSnapshot.to_schema()
    if schema.checks or schema.unique != ["group_id", "phone_e164"]:
        return None
    checks: list[tuple[str, Check]] = []
    for name, column in schema.columns.items():
        if column.unique:
            return None
        if not column.nullable:
            checks.append((name, pl.Expr.is_not_null))
        for check in column.checks:
            if check.name != "str_matches":
                return None
            pattern = str(check.statistics["pattern"])
            anchored = pattern if pattern.startswith("^") else f"^{pattern}"
            checks.append((name, partial(_matches, pattern=anchored)))
    return checks


def _matches(values: pl.Expr, *, pattern: str) -> pl.Expr:
    return values.str.contains(pattern)


_CHECKS = _model_checks()


def members_frame(items: Sequence[GroupMembers]) -> pl.DataFrame:
    """The `members.parquet` rows of the groups, group after group, each group's numbers sorted.

    All the numbers are enriched in one pass: describing costs a fixed few milliseconds a call
    on top of its per-number work, so a hundred small groups are described together rather than
    one by one. `describe_each` answers in the rows' order, so nothing joins the answers back.
    The rows are one query: from the writer's thread each polars call waits for the GIL while
    the event loop runs.
    """
    if not items:
        return pl.DataFrame(schema=MEMBERS_SCHEMA)
    rows = pl.concat(
        [
            pl.LazyFrame([item.members.cast(pl.String).alias("phone_e164")])
            .sort("phone_e164")
            .select(
                pl.lit(item.group.id, dtype=pl.String).alias("group_id"),
                pl.lit(item.group.name, dtype=pl.String).alias("group_name"),
                "phone_e164",
            )
            for item in items
        ],
        rechunk=True,  # one chunk: `to_arrow` makes a record batch (and a GIL handover) per chunk
    ).collect(engine="in-memory")  # the streaming engine is slower on frames in memory
    return pl.concat([rows, describe_each(rows.get_column("phone_e164"))], how="horizontal")


def validate_members(frame: pl.DataFrame, items: Sequence[GroupMembers]) -> None:
    """`MembersSnapshot.validate(frame)` for `frame = members_frame(items)`, in one query.

    Run from a worker thread, every polars call waits for the GIL while the event loop runs, and
    pandera makes dozens; hashing every (group_id, phone_e164) pair also costs more than the
    rest together. So the model's schema is compared with the frame's, its column checks
    (`_CHECKS`) run in one query, on one row per group for the columns `members_frame` fills
    per group, and a pair can only repeat in neighbouring rows (each group's numbers are sorted
    and its rows contiguous) or in a group listed twice. Only if any of that fails does pandera
    validate the whole frame, so that its error says what failed.
    """
    firsts, offset = [], 0
    for item in items:
        if len(item.members):
            firsts.append(offset)
        offset += len(item.members)
    ids = [item.group.id for item in items]
    if (
        _CHECKS is None
        or frame.schema != MEMBERS_SCHEMA
        or len(set(ids)) < len(ids)
        or not _passes(frame, firsts, _CHECKS)
    ):
        MembersSnapshot.validate(frame)


def _passes(frame: pl.DataFrame, firsts: list[int], checks: list[tuple[str, Check]]) -> bool:
    """Whether every check holds and no row repeats the (group_id, phone_e164) before it."""
    same = [pl.col(name) == pl.col(name).shift(1) for name in ("group_id", "phone_e164")]
    results = frame.select(
        (~pl.all_horizontal(same).any()).alias("unique"),
        *(
            check(pl.col(name).gather(firsts) if name in _PER_GROUP else pl.col(name))
            .all()
            .alias(str(index))
            for index, (name, check) in enumerate(checks)
        ),
    ).row(0)
    return all(results)
