"""CSV and other delimited text exports, read the way spreadsheets and CRMs actually write them.

Nothing about the layout is given: the delimiter (`,` or a European `;`, tab, `|`) and whether
there is a header at all (opt-out lists are often bare numbers) are sniffed from the first line,
after the encoding is settled (`encoding`). Every column is read as text, since inferring types
would turn a column of digits into integers and drop every national number's leading zero. A file
is read a few megabytes at a time (`csv_chunks`), so that a sync holds what it is normalizing,
never a whole multi-gigabyte export.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl

from pipeline.errors import UnreadableSourceError
from pipeline.load.columns import Columns, Wanted, pick_columns, raw_columns
from pipeline.load.detect import SAMPLE_ROWS
from pipeline.load.encoding import UTF8, detect_encoding
from pipeline.load.files import reading
from pipeline.load.result import SourceFile

__all__ = ["CHUNK_BYTES", "DELIMITERS", "csv_chunks", "csv_columns"]

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
CHUNK_BYTES = 4 << 20
"""Bytes of a CSV read at a time (`csv_chunks`): about 100,000 rows of a typical export, small
beside the work done on them, and few enough chunks that reading them costs no more than one
pass over the whole file."""
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


def csv_chunks(
    path: Path, wanted: Wanted, *, name: Path
) -> tuple[SourceFile, Iterator[pl.DataFrame]]:
    """How `path` is read, named `name` in the rows and messages (a decompressed copy is named
    by the file the user gave; `rows` is left 0, for the caller to count), and its raw rows,
    read about `CHUNK_BYTES` bytes at a time (at least one chunk, if only the header's).

    The columns are chosen here, from the header and the first rows; the rows themselves are
    read as the chunks are asked for, so that a caller that works on each chunk in turn holds
    one chunk of the file, never the whole of it. A chunk ends at the end of a record (`_records`),
    and chunks number their lines on from where the one before stopped: read chunk by chunk, the
    rows are exactly the whole file's.
    """
    layout, data, lazy = _scan_csv(path, name)
    with reading(name, _CSV_HINT):
        available = lazy.collect_schema().names()
        picked = pick_columns(name, lazy, wanted)
    info = SourceFile(name, "csv", picked, 0, layout.encoding, layout.delimiter)
    return info, _csv_rows(data, name, layout, picked, available)


def _csv_rows(
    data: Path | bytes,
    name: Path,
    layout: _CsvLayout,
    picked: Columns,
    available: list[str],
) -> Iterator[pl.DataFrame]:
    # The line the next chunk's first record starts on: after the header (and the line breaks in
    # its quoted names), then after each chunk's records (blank ones included) and the line
    # breaks inside their quoted fields.
    line = 1 + (1 + sum(name.count("\n") for name in available) if layout.has_header else 0)
    header = b""
    with _opened(data) as handle, reading(name, _CSV_HINT):
        for number, chunk in enumerate(_records(handle, CHUNK_BYTES)):
            # Every chunk is read as the file's start would be: the ones after the first behind
            # the file's header, so that polars takes the columns from the same line.
            if number == 0 and layout.has_header:
                header = chunk[: _first_record_end(chunk)]
            lazy = _scan(chunk, layout, header if number else b"")
            # Every column is read to number the lines and skip blank rows, on the streaming
            # engine, which keeps only the raw columns and two small ones per row: the columns
            # the run does not use never sit in memory whole.
            rows = lazy.select(
                *raw_columns(name, picked, pl.lit(0)),
                _breaks(available).alias(_BREAKS),
                pl.any_horizontal(pl.col(available).is_not_null()).alias(_FILLED),
            ).collect(engine="streaming")
            yield (
                rows.lazy()
                .with_columns(_csv_lines(line).alias("source_line"))
                .filter(_FILLED)
                .drop(_BREAKS, _FILLED)
                .collect()
            )
            line += rows.height + int(rows.get_column(_BREAKS).sum())


def csv_columns(path: Path, wanted: Wanted, *, name: Path) -> Columns:
    """The columns `csv_chunks` would read, from the header and the first rows only."""
    _, _, lazy = _scan_csv(path, name)
    with reading(name, _CSV_HINT):
        return pick_columns(name, lazy, wanted)


def _scan_csv(path: Path, name: Path) -> tuple[_CsvLayout, Path | bytes, pl.LazyFrame]:
    """The file's layout, what polars reads (the file, or its bytes re-encoded as UTF-8: polars
    reads no other encoding, and legacy-encoded exports are rare and small), and a scan for its
    columns: of its first chunk when that holds the `SAMPLE_ROWS` rows the columns are chosen
    from (polars' reader, asked for the first rows of a whole file, reads far beyond them)."""
    layout = _sniff_csv(path, name)
    data = path if layout.encoding in UTF8 else path.read_bytes().decode(layout.encoding).encode()
    with _opened(data) as handle:
        head = next(_records(handle, CHUNK_BYTES))
        whole = not handle.read(1)
    with reading(name, _CSV_HINT):
        lazy = _scan(head, layout)
        if not whole and lazy.select(pl.len()).collect().item() < SAMPLE_ROWS:
            lazy = _scan(data, layout)
    return layout, data, lazy


def _scan(data: Path | bytes, layout: _CsvLayout, header: bytes = b"") -> pl.LazyFrame:
    """A scan of a whole file, or of some of its records behind its `header` (a first chunk
    holds its own)."""
    return pl.scan_csv(
        header + data if header else data,
        separator=layout.delimiter,
        has_header=layout.has_header,
        new_columns=None if layout.has_header else [_HEADERLESS_COLUMN],
        infer_schema=False,
    )


@contextmanager
def _opened(data: Path | bytes) -> Iterator[BinaryIO]:
    if isinstance(data, bytes):
        yield io.BytesIO(data)
    else:
        with data.open("rb") as handle:
            yield handle


def _records(handle: BinaryIO, size: int) -> Iterator[bytes]:
    """The bytes of `handle` in pieces of about `size` bytes (at least one piece), each ending
    where a record ends: at a line break outside quotes, that is with an even count of `"`
    before it, the rule polars' own reader splits a file by for its threads."""
    pending: list[bytes] = []
    odd = False  # whether `pending` ends inside a quoted field
    while block := handle.read(size):
        end = _last_record_end(block, odd)
        if end:
            yield b"".join([*pending, block[:end]])
            pending, odd = [block[end:]], block.count(b'"', end) % 2 == 1
        else:
            pending.append(block)
            odd ^= block.count(b'"') % 2 == 1
    rest = b"".join(pending)
    if rest or not pending:  # the last record without its line break; or an empty file
        yield rest


def _first_record_end(data: bytes) -> int:
    """The offset after the first record of `data` (its end, if it holds one record only)."""
    start, odd = 0, False
    while (newline := data.find(b"\n", start)) != -1:
        odd ^= data.count(b'"', start, newline) % 2 == 1
        if not odd:
            return newline + 1
        start = newline + 1
    return len(data)


def _last_record_end(block: bytes, odd: bool) -> int:
    """The offset after the last line break of `block` that ends a record, 0 if none does
    (`odd`: the bytes before `block` end inside a quoted field)."""
    end = block.rfind(b"\n")
    if end == -1:
        return 0
    inside = (odd + block.count(b'"', 0, end)) % 2 == 1
    while inside:
        before = block.rfind(b"\n", 0, end)
        if before == -1:
            return 0
        inside ^= block.count(b'"', before + 1, end) % 2 == 1
        end = before
    return end + 1


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
