"""Columns built group by group, each group by its own expressions, and put back by position.

The numbering steps (`numbering`, `plan_checks`) test each number against its own region's
metadata, so they are built per region or country code (`apply_to`), and in two passes where a
cheap test settles most rows (`settle`). Nothing here knows about phone numbers: a step is a
function from a group's key to the expressions for that group's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

__all__ = ["SETTLED", "Build", "Schema", "apply_to", "distinct", "settle"]

SETTLED = "__settled"
"""The column a fast build sets false on the rows that its exact build must redo (`settle`)."""
_POSITION = "__position"
_FIRST = "__first"
_LAZY_FROM_ROWS = 10_000
"""Groups from this many rows up run as a lazy query (see `_build`)."""

Schema = Mapping[str, pl.DataType | type[pl.DataType]]
"""Columns a step sets, with their types."""
Build = Callable[..., Mapping[str, pl.Expr]]
"""A step's expressions for one group, from the group's key (see `_build`)."""


def settle(
    frame: pl.DataFrame,
    rows: pl.Expr | None,
    fast: tuple[list[str], Build],
    exact: tuple[list[str], Build],
    schema: Schema,
) -> pl.DataFrame:
    """`apply_to` with the `fast` (group-by columns, build), and the `exact` one on the rows the
    fast build leaves `SETTLED` false.

    The fast build answers the common case with fewer tests; the exact one is phonenumbers' every
    step, and only the rows that need it pay for it. Both read the frame as it was, so their
    answers go into it together.
    """
    (fast_by, fast_build), (exact_by, exact_build) = fast, exact
    built, built_rows = _build(
        frame, _where(frame, rows), fast_by, {**schema, SETTLED: pl.Boolean}, fast_build
    )
    unsettled = built_rows.filter(built.get_column(SETTLED).not_().fill_null(False))
    redone = _build(frame, unsettled, exact_by, schema, exact_build)
    return _merge(frame, schema, [(built, built_rows), redone])


def apply_to(
    frame: pl.DataFrame,
    rows: pl.Expr | None,
    by: list[str],
    schema: Schema,
    build: Build,
) -> pl.DataFrame:
    """Set `schema`'s columns on the rows where `rows` holds (on every row if None), built by
    `build(*key)` per group of `by` from that group's own metadata. Other rows keep what they
    had (null in a column new to the frame), and every row keeps its place.

    Running each group's expressions on that group alone keeps the work per number to the
    patterns of its own region, where a `when(code == ...)` chain would run every region's
    patterns on every number; and a step that finishes an earlier step's work runs on the rows
    that need it only. Columns a build leaves out are null.
    """
    return _merge(frame, schema, [_build(frame, _where(frame, rows), by, schema, build)])


def _where(frame: pl.DataFrame, rows: pl.Expr | None) -> pl.Series | None:
    return None if rows is None else frame.select(rows.fill_null(False)).to_series().arg_true()


def _merge(
    frame: pl.DataFrame,
    schema: Schema,
    updates: list[tuple[pl.DataFrame, pl.Series]],
) -> pl.DataFrame:
    """`schema`'s columns, each row's value taken from the last update that built one for it
    (an update is built rows and the frame rows they belong to), else from the frame (null for
    a column new to it)."""
    height = frame.height
    old = {
        name: frame.get_column(name).cast(dtype)
        if name in frame.columns
        else pl.repeat(None, height, dtype=dtype, eager=True).alias(name)
        for name, dtype in schema.items()
    }
    updates = [(built, rows) for built, rows in updates if not rows.is_empty()]
    if not updates:
        return frame.with_columns(old.values())
    # Each row's value is at `source` in the frame's column followed by the updates' columns.
    source = pl.int_range(height, dtype=pl.UInt32, eager=True)
    offset = height
    for built, rows in updates:
        source.scatter(
            rows, pl.int_range(offset, offset + built.height, eager=True).cast(pl.UInt32)
        )
        offset += built.height
    return frame.with_columns(
        pl.concat([column, *(built.get_column(name) for built, _ in updates)], rechunk=True).gather(
            source
        )
        for name, column in old.items()
    )


def _build(
    frame: pl.DataFrame,
    where: pl.Series | None,
    by: list[str],
    schema: Schema,
    build: Build,
) -> tuple[pl.DataFrame, pl.Series]:
    """`schema`'s columns for the frame's rows at `where` (all if None), group after group, and
    the frame row each built row belongs to (see `apply_to`).

    One hash pass finds the groups and their rows; each group then copies only the columns its
    expressions read, as copying is most of what splitting a frame costs. Large groups run as
    lazy queries, in parallel and with the subexpressions a step shares (a stripped number, a
    pattern test) computed once; small ones run eagerly, since that optimisation costs
    milliseconds per group, more than computing the shared tests twice on a few rows.
    """
    if frame.is_empty() or (where is not None and where.is_empty()):
        return pl.DataFrame(schema=schema), pl.Series(dtype=pl.UInt32)
    if where is None:
        keyed = frame.select(*by, pl.int_range(pl.len(), dtype=pl.UInt32).alias(_POSITION))
    else:
        keyed = frame.select(pl.col(by).gather(where)).with_columns(where.alias(_POSITION))
    groups = keyed.group_by(by).agg(_POSITION)
    columns = [
        [
            expressions.get(name, pl.lit(None)).cast(dtype).alias(name)
            for expressions in [build(*key)]
            for name, dtype in schema.items()
        ]
        for key in groups.select(by).iter_rows()
    ]
    read = sorted({name for group in columns for expr in group for name in expr.meta.root_names()})
    # Direct gathers, not a query each: a query costs about half a millisecond to plan, and a
    # step has a part per region.
    needed = frame.select(read)
    parts = [
        needed[rows].hstack([rows.alias(_POSITION)]) if read else rows.alias(_POSITION).to_frame()
        for rows in groups.get_column(_POSITION)
    ]
    large = [index for index, part in enumerate(parts) if part.height >= _LAZY_FROM_ROWS]
    lazily = pl.collect_all(
        [parts[index].lazy().select(_POSITION, *columns[index]) for index in large]
    )
    built = dict(zip(large, lazily, strict=True))
    results = [
        built[index] if index in built else part.select(_POSITION, *columns[index])
        for index, part in enumerate(parts)
    ]
    together = pl.concat(results)
    return together.drop(_POSITION), together.get_column(_POSITION)


def distinct(frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """The row of each distinct row's first appearance, in order, and per row the position of
    its own among them.

    What is worked out per distinct row goes back to every row by that position, a gather: a
    join back on the key columns would hash every row a second time, and costs more than a
    million-row file with few repeats saves by reading each value once.
    """
    position = pl.col(_POSITION)
    marked = (
        frame.lazy()
        .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias(_POSITION))
        .select(
            (position.min().over(frame.columns) == position).alias(_FIRST),
            position.min().over(frame.columns).alias(_POSITION),
        )
        .collect()
    )
    first = marked.get_column(_FIRST)
    return first.arg_true(), (first.cum_sum() - 1).gather(marked.get_column(_POSITION))
