"""CSV and other delimited text exports, read the way spreadsheets and CRMs actually write them.

Nothing about the layout is given: the delimiter (`,` or a European `;`, tab, `|`) and whether
there is a header at all (opt-out lists are often bare numbers) are sniffed from the first line,
after the encoding is settled (`encoding`). Every column is read as text, since inferring types
would turn a column of digits into integers and drop every national number's leading zero.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import UnreadableSourceError
from pipeline.load.columns import Columns, Wanted, pick_columns, raw_columns
from pipeline.load.encoding import UTF8, detect_encoding
from pipeline.load.files import reading
from pipeline.load.result import SourceFile

__all__ = ["DELIMITERS", "csv_columns", "load_csv"]

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_HEADERLESS_COLUMN = "phone"
_BREAKS = "__breaks"
_FILLED = "__filled"
_LOOKS_LIKE_A_NUMBER = re.compile(r"^\s*\+?[\d\s().\-/]{6,}\s*$")
_QUOTED = re.compile(r'"[^"]*"')
_HEAD_BYTES = 1 << 16

_CSV_HINT = (
    "Check that it is a text export: a row with more fields than the header usually means a wrong "
    "delimiter or an unclosed quote"
)


@dataclass(frozen=True)
class _CsvLayout:
    encoding: str
    delimiter: str
    has_header: bool


def load_csv(path: Path, wanted: Wanted, *, name: Path) -> tuple[pl.DataFrame, SourceFile]:
    """Read `path`, named `name` in the rows and messages (a decompressed copy is named by the
    file the user gave)."""
    layout, lazy = _scan_csv(path, name)
    with reading(name, _CSV_HINT):
        available = lazy.collect_schema().names()
        picked = pick_columns(name, lazy, wanted)
        header_lines = 1 + sum(name.count("\n") for name in available) if layout.has_header else 0
        # Every column is read to number the lines and skip blank rows, but row by row on the
        # streaming engine, which keeps only the raw columns and two small ones per row: the
        # columns the run does not use never sit in memory whole.
        rows = lazy.select(
            *raw_columns(name, picked, pl.lit(0)),
            _breaks(available).alias(_BREAKS),
            pl.any_horizontal(pl.col(available).is_not_null()).alias(_FILLED),
        ).collect(engine="streaming")
        frame = (
            rows.lazy()
            .with_columns(_csv_lines(header_lines + 1).alias("source_line"))
            .filter(_FILLED)
            .drop(_BREAKS, _FILLED)
            .collect()
        )
    info = SourceFile(name, "csv", picked, frame.height, layout.encoding, layout.delimiter)
    return frame, info


def csv_columns(path: Path, wanted: Wanted, *, name: Path) -> Columns:
    """The columns `load_csv` would read, from the header and the first rows only."""
    _, lazy = _scan_csv(path, name)
    with reading(name, _CSV_HINT):
        return pick_columns(name, lazy, wanted)


def _scan_csv(path: Path, name: Path) -> tuple[_CsvLayout, pl.LazyFrame]:
    layout = _sniff_csv(path, name)
    data = path if layout.encoding in UTF8 else path.read_bytes().decode(layout.encoding).encode()
    with reading(name, _CSV_HINT):
        lazy = pl.scan_csv(
            data,
            separator=layout.delimiter,
            has_header=layout.has_header,
            new_columns=None if layout.has_header else [_HEADERLESS_COLUMN],
            infer_schema=False,
        )
    return layout, lazy


def _sniff_csv(path: Path, name: Path) -> _CsvLayout:
    encoding = detect_encoding(path)
    first = _first_line(path, encoding)
    if not first.strip():
        raise UnreadableSourceError(
            name, "the file is empty", "A contacts file needs at least a header line"
        )
    delimiter = _sniff_delimiter(first)
    headerless = delimiter not in first and _LOOKS_LIKE_A_NUMBER.match(first) is not None
    return _CsvLayout(encoding, delimiter, has_header=not headerless)


def _first_line(path: Path, encoding: str) -> str:
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    line = head.split(b"\n", 1)[0]
    return line.decode(encoding, errors="replace").rstrip("\r")


def _sniff_delimiter(header: str) -> str:
    """The candidate seen most often outside quotes; a one-column header falls back to a comma."""
    unquoted = _QUOTED.sub("", header)
    best = max(DELIMITERS, key=unquoted.count)
    return best if unquoted.count(best) else ","


def _breaks(columns: Sequence[str]) -> pl.Expr:
    """The line breaks inside a record's quoted fields."""
    return pl.sum_horizontal(pl.col(columns).str.count_matches("\n", literal=True)).fill_null(0)


def _csv_lines(first_line: int) -> pl.Expr:
    """Each record's first physical line: earlier records may hold quoted line breaks."""
    breaks = pl.col(_BREAKS)
    return (first_line + pl.int_range(pl.len()) + breaks.cum_sum() - breaks).cast(pl.Int64)
