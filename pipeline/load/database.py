"""A `--query` source: a SQL query's rows, read in batches, into the raw contacts frame.

The result of a CRM query can be millions of rows with every column of the table. So the rows are
never fetched whole: `polars.read_database(..., iter_batches=True)` hands them over a batch at a
time, each batch is cut down to the five raw columns at once (`raw_columns`, the same as for a
file), and only those are kept. Peak memory is one batch at the query's full width plus the raw
columns of the rows so far, never the whole result.

One driver per backend, each chosen because it streams (`polars.read_database_uri`, with
connectorx or ADBC, always materializes the whole result first, so it is not used):

- PostgreSQL and SQLite: ADBC (`adbc-driver-postgresql`, `adbc-driver-sqlite`): Arrow batches
  straight from libpq's COPY stream or SQLite, no Python objects per row.
- DuckDB: its own connection, read-only; Arrow batches of exactly the batch size.
- MySQL/MariaDB: PyMySQL with an unbuffered server-side cursor (`SSCursor`), `fetchmany` per
  batch; there is no ADBC driver for MySQL on PyPI.

Columns are found as in a file (`columns.pick_columns`, from the first `detect.SAMPLE_ROWS`
rows), `source_file` is `query` and `source_line` the row number from 1. A driver's error becomes
a `DatabaseError` naming the masked URI (`dburi`), never the password.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import polars as pl

from pipeline.dburi import DatabaseUri
from pipeline.errors import DatabaseError, PipelineError
from pipeline.load import detect
from pipeline.load.columns import RAW_SCHEMA, Columns, Wanted, pick_columns, raw_columns
from pipeline.load.result import LoadResult, SourceFile

__all__ = ["QUERY_BATCH_ROWS", "QUERY_LABEL", "load_query", "query_columns"]

QUERY_BATCH_ROWS = 100_000
"""Rows per batch asked of the driver (PostgreSQL's ADBC driver takes a size in bytes, so it is
asked for `_PG_BYTES_PER_ROW` bytes a row; its batches are about this many rows)."""
QUERY_LABEL = "query"
"""The `source_file` of a query's rows (the report records the query itself)."""
_LABEL_PATH = Path(QUERY_LABEL)
_PG_BYTES_PER_ROW = 64
_MIXED_TYPES_HINT = (
    "SQLite columns can mix numbers and text, and a batch is typed from its first rows: select "
    "the column as text, e.g. CAST(mobile AS TEXT) AS mobile"
)
_DRIVERS = {
    "postgresql": "adbc-driver-postgresql",
    "sqlite": "adbc-driver-sqlite",
    "duckdb": "duckdb",
    "mysql": "pymysql",
}


def load_query(
    query: str,
    db: DatabaseUri,
    *,
    phone_column: str | None = None,
    country_column: str | None = None,
    group_column: str | None = None,
    batch_rows: int | None = None,
) -> LoadResult:
    """Run `query` on `db` and read its rows, a batch at a time (`batch_rows`, default
    `QUERY_BATCH_ROWS`), into the raw contacts frame, by the rules `load_contacts` applies to a
    file (named or detected columns, all as text)."""
    wanted = Wanted(phone_column, country_column, group_column)
    with _batches(db, query, batch_rows or QUERY_BATCH_ROWS) as batches:
        picked, head = _pick(batches, wanted)
        frames, line = [], 1
        for batch in itertools.chain(head, batches):
            numbers = pl.int_range(line, line + batch.height, dtype=pl.Int64)
            frames.append(batch.select(raw_columns(_LABEL_PATH, picked, numbers)))
            line += batch.height
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=RAW_SCHEMA)
    return LoadResult(frame=frame, sources=(SourceFile(_LABEL_PATH, "query", picked, line - 1),))


def query_columns(
    query: str,
    db: DatabaseUri,
    *,
    phone_column: str | None = None,
    country_column: str | None = None,
) -> list[Columns]:
    """The columns `load_query` would read, from the first rows only: what a run prints (and a
    wrong password or column fails on) before it starts."""
    with _batches(db, query, detect.SAMPLE_ROWS) as batches:
        picked, _ = _pick(batches, Wanted(phone_column, country_column, None))
    return [picked]


def _pick(batches: Iterator[pl.DataFrame], wanted: Wanted) -> tuple[Columns, list[pl.DataFrame]]:
    """The columns, chosen from the first `detect.SAMPLE_ROWS` rows as in a file, and the
    batches read to see them (still to be loaded)."""
    head: list[pl.DataFrame] = []
    for batch in batches:
        head.append(batch)
        if sum(frame.height for frame in head) >= detect.SAMPLE_ROWS:
            break
    sample = pl.concat(head, how="diagonal_relaxed")
    return pick_columns(_LABEL_PATH, sample.lazy(), wanted), head


@contextmanager
def _batches(db: DatabaseUri, query: str, batch_rows: int) -> Iterator[Iterator[pl.DataFrame]]:
    """The query's rows as polars frames of about `batch_rows` rows (at least one frame, for
    the columns), on a connection closed on the way out; a driver's failure, here or while the
    caller iterates, becomes a masked `DatabaseError`."""
    with _failing_as(db), _connect(db) as connection:
        cursor = _cursor(db, connection, batch_rows)
        # PyMySQL's rows are typed from a whole batch, not its first 100 rows, so a column that
        # is NULL in its first rows still reads (Arrow batches come typed: no cost there).
        batches = iter(
            pl.read_database(
                query, cursor, iter_batches=True, batch_size=batch_rows, infer_schema_length=None
            )
        )
        first = next(batches, None)
        if first is None:
            # An empty result comes as no batch at all; an unbatched read still has its columns.
            first = pl.read_database(query, _cursor(db, connection, batch_rows))
            if not first.width:
                raise DatabaseError(f"the query on {db.masked} returned no columns")
        try:
            yield itertools.chain([first], batches)
        finally:
            if isinstance(cursor, _RowCursor):
                cursor.abandon()


@contextmanager
def _failing_as(db: DatabaseUri) -> Iterator[None]:
    """A driver's exception (each has its own tree) as one line naming the masked URI. The
    original is dropped (`from None`): its arguments may hold the URI in clear."""
    try:
        yield
    except PipelineError:
        raise
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"reading {db.masked} needs the {_DRIVERS[db.backend]} package ({exc.name} is "
            "missing): pip install 'sinch-groups[db]'"
        ) from None
    except Exception as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        problem = db.scrub(" ".join(lines) or type(exc).__name__)
        if "type mismatch" in problem.lower():
            problem += f". {_MIXED_TYPES_HINT}"
        raise DatabaseError(f"cannot read from {db.masked}: {problem}") from None


@contextmanager
def _connect(db: DatabaseUri) -> Iterator[Any]:
    connection = _open(db)
    try:
        yield connection
    finally:
        connection.close()


def _open(db: DatabaseUri) -> Any:
    """A read-only connection where the backend has one (SQLite, DuckDB); the others read with
    whatever rights the URI's user has (give it a read-only role)."""
    backend = db.backend
    if backend == "postgresql":
        import adbc_driver_postgresql.dbapi as postgresql

        scheme, rest = db.reveal().split("://", 1)
        return postgresql.connect(f"{scheme.partition('+')[0]}://{rest}")
    if backend == "sqlite":
        import adbc_driver_sqlite.dbapi as sqlite

        return sqlite.connect(f"file:{_existing_file(db)}?mode=ro")
    if backend == "duckdb":
        import duckdb

        return duckdb.connect(_existing_file(db), read_only=True)
    import pymysql
    import pymysql.cursors

    parts = urlsplit(db.reveal())
    return pymysql.connect(
        host=parts.hostname or "localhost",
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")) or None,
        charset="utf8mb4",
        cursorclass=pymysql.cursors.SSCursor,
    )


def _cursor(db: DatabaseUri, connection: Any, batch_rows: int) -> Any:
    """What `read_database` runs the query on: an ADBC cursor told the batch size (ADBC's
    `fetch_record_batch` takes none), PyMySQL's unbuffered cursor (`_RowCursor`), else the
    connection itself (DuckDB)."""
    if db.backend == "mysql":
        return _RowCursor(connection.cursor())
    if db.backend == "duckdb":
        return connection
    cursor = connection.cursor()
    option = (
        {"adbc.postgresql.batch_size_hint_bytes": str(batch_rows * _PG_BYTES_PER_ROW)}
        if db.backend == "postgresql"
        else {"adbc.sqlite.query.batch_rows": str(batch_rows)}
    )
    cursor.adbc_statement.set_options(**option)
    return cursor


class _RowCursor:
    """A DB-API cursor as `read_database` reads one (rows by `fetchmany`). PyMySQL's `execute`
    returns the row count, which polars would take for the result set and then give up on
    ("no support for 'pymysql' connection"); this one returns nothing, so polars reads the
    cursor itself. It has no `cursor` attribute, so polars runs the query on it as given."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, query: str) -> None:
        self._cursor.execute(query)

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchmany(self, size: int) -> Any:
        return self._cursor.fetchmany(size)

    def fetchall(self) -> Any:
        return self._cursor.fetchall()

    def abandon(self) -> None:
        """Leave the rows not yet read (the columns line reads only the first): the connection's
        close then ends the query. Else PyMySQL reads every row left when the cursor is
        collected, and fails on the closed connection ("Exception ignored ... AttributeError").
        PyMySQL has no public call for this; its result's own flag is set."""
        result = getattr(self._cursor, "_result", None)
        if result is not None:
            result.unbuffered_active = False


def _existing_file(db: DatabaseUri) -> str:
    """The file of `sqlite:///path` or `duckdb:///path` (`sqlite:////abs/path`, as SQLAlchemy
    writes them), refused when missing: opening it would create an empty database."""
    path = unquote(db.reveal().split("://", 1)[1])
    path = path[1:] if path.startswith("/") else path
    if not Path(path).is_file():
        raise DatabaseError(f"no database file {path!r} (from {db.masked})")
    return path
