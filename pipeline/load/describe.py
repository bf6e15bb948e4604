"""The line a run prints before it starts: which columns it reads, and the default region.

A run that guessed the wrong phone column used to say so only as `0 valid` at the end; printing
the choice first (`phone column: 'Mobile Phone Number' (detected); country column: none`) lets the
user stop it and name the right one. The line comes from each file's header and first rows, with
the same rules `load_contacts` applies, so it is what the run will read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pipeline.load.columns import columns_line
from pipeline.load.contacts import source_columns
from pipeline.load.database import query_columns
from pipeline.phones.countries import check_region

if TYPE_CHECKING:
    from pipeline.dburi import DatabaseUri

__all__ = ["ColumnOptions", "describe_columns"]


class ColumnOptions(Protocol):
    """What the line depends on: `SyncOptions` has it (the loader does not import the sync)."""

    @property
    def source(self) -> str | Path | None: ...
    @property
    def phone_column(self) -> str | None: ...
    @property
    def country_column(self) -> str | None: ...
    @property
    def sheet(self) -> str | None: ...
    @property
    def default_region(self) -> str | None: ...


def describe_columns(options: ColumnOptions) -> str:
    """`phone column: 'Mobile Phone Number' (detected); country column: 'Country/Region'
    (detected)`, and `; default region: GB` when one is given.

    Checks first what would otherwise fail only after the groups were read: an unknown default
    region (`InvalidRegionError`, naming the nearest known one) and a named column that is not
    in a file (`MissingColumnError`); for a query, a database that cannot be read
    (`DatabaseError`).
    """
    region = check_region(options.default_region)
    columns = {"phone_column": options.phone_column, "country_column": options.country_column}
    query: str | None = getattr(options, "query", None)
    if query is not None:
        # The query's first rows: a wrong password or table fails here, as one line. Options
        # with a query (`SyncOptions`) also say where it runs: `database()`.
        database: Callable[[], DatabaseUri] = options.database  # type: ignore[attr-defined]
        picked = query_columns(query, database(), **columns)
    else:
        assert options.source is not None
        picked = source_columns(options.source, **columns, sheet=options.sheet)
    line = columns_line(picked)
    return line if region is None else f"{line}; default region: {region}"
