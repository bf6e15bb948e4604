"""Loading a source: each of its files by its format (`formats`, from its content), into one
raw contacts frame."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import NamedTuple

import polars as pl

from pipeline.errors import UnreadableSourceError
from pipeline.load.columns import Columns, Wanted
from pipeline.load.compressed import decompressed
from pipeline.load.delimited import csv_chunks, csv_columns
from pipeline.load.excel import excel_columns, load_excel
from pipeline.load.files import source_files, source_samples
from pipeline.load.formats import COMPRESSIONS, Format, sniff
from pipeline.load.jsonfile import json_columns, load_json
from pipeline.load.parquet import load_parquet, parquet_columns
from pipeline.load.result import ContactStream, LoadResult, SourceFile
from pipeline.phones.schemas import RawContacts

__all__ = ["load_contacts", "load_phone_list", "source_columns", "stream_contacts"]


Chunks = tuple[SourceFile, Iterator[pl.DataFrame]]
"""How a file is read (its `rows` left to the caller to count), and its raw rows in chunks."""


class _Reader(NamedTuple):
    """One format's two readers, each called as `(path, wanted, name=...)`."""

    chunks: Callable[..., Chunks]
    columns: Callable[..., Columns]


def _one_chunk(load: Callable[..., tuple[pl.DataFrame, SourceFile]]) -> Callable[..., Chunks]:
    """A whole-file reader as a chunked one: the file is one chunk."""

    def chunks(path: Path, wanted: Wanted, *, name: Path, **options: str | None) -> Chunks:
        frame, info = load(path, wanted, name=name, **options)
        return info, iter([frame])

    return chunks


_READERS: dict[str, _Reader] = {
    "csv": _Reader(csv_chunks, csv_columns),
    "json": _Reader(_one_chunk(load_json), json_columns),
    "parquet": _Reader(_one_chunk(load_parquet), parquet_columns),
    "excel": _Reader(_one_chunk(load_excel), excel_columns),
}
_NAMES = {"csv": "CSV", "json": "JSON", "parquet": "Parquet"}


def load_contacts(
    source: str | Path | Sequence[str | Path],
    *,
    phone_column: str | None = None,
    country_column: str | None = None,
    group_column: str | None = None,
    sheet: str | None = None,
) -> LoadResult:
    """Read one file, a glob, or a list of either into the raw contacts frame (`RAW_SCHEMA`).

    The phone column is detected unless named; so is the country column, but only where its
    values are countries (`detect`), since a wrong one would misread every national number. The
    group column is only used when named: guessing it would file contacts in made-up groups.
    A workbook's first sheet is read unless `sheet` names another.
    """
    stream = stream_contacts(
        source,
        phone_column=phone_column,
        country_column=country_column,
        group_column=group_column,
        sheet=sheet,
    )
    frame = pl.concat(list(stream.chunks))
    return LoadResult(frame=frame, sources=tuple(stream.sources))


def stream_contacts(
    source: str | Path | Sequence[str | Path],
    *,
    phone_column: str | None = None,
    country_column: str | None = None,
    group_column: str | None = None,
    sheet: str | None = None,
) -> ContactStream:
    """`load_contacts`' rows a chunk at a time, in the same order, for a caller that works on
    each in turn and need not hold them all: a CSV is read a few megabytes at a time
    (`delimited.csv_chunks`); any other file is one chunk (a workbook or a JSON document is
    parsed whole, and a Parquet file is small for its rows).

    The first file is opened and its first chunk read before this returns, so that a file that
    cannot be read at all fails here, where a run loads; the rest is read as it is asked for.
    """
    wanted = Wanted(phone_column, country_column, group_column)
    stream = ContactStream(iter(()))
    chunks = _chunks(source_files(source), wanted, sheet, stream.sources)
    stream.chunks = itertools.chain([next(chunks)], chunks)
    return stream


def load_phone_list(
    source: str | Path | Sequence[str | Path], *, phone_column: str | None = None
) -> pl.DataFrame:
    """Read an opt-out or suppression list by the same rules as contacts.

    Same rules and the same frame shape, so the list goes through `normalize` too and a number
    matches however differently the two files wrote it.
    """
    return load_contacts(source, phone_column=phone_column).frame


def source_columns(
    source: str | Path | Sequence[str | Path],
    *,
    phone_column: str | None = None,
    country_column: str | None = None,
    sheet: str | None = None,
) -> list[Columns]:
    """Per file, the columns `load_contacts` would read, from each file's header and first rows:
    what a run can say (and a wrong name fail on) before it reads any file whole. (A compressed
    file is decompressed for it, and a JSON file parsed whole: they have no header to peek at.)"""
    wanted = Wanted(phone_column, country_column, None)
    columns = []
    for path in source_samples(source):  # of a large remote CSV, its first bytes only
        with _plain(path, path) as (plain, found):
            columns.append(_reader(found, path, sheet).columns(plain, wanted, name=path))
    return columns


def _chunks(
    paths: list[Path], wanted: Wanted, sheet: str | None, read: list[SourceFile]
) -> Iterator[pl.DataFrame]:
    """Each file's raw rows, at least one chunk a file; a file's `SourceFile` goes into `read`
    once its last chunk is out."""
    for path in paths:
        with _plain(path, path) as (plain, found):
            info, chunks = _reader(found, path, sheet).chunks(plain, wanted, name=path)
            rows = 0
            for chunk in chunks:
                rows += chunk.height
                yield RawContacts.validate(chunk)
        read.append(replace(info, rows=rows))


@contextmanager
def _plain(path: Path, name: Path) -> Iterator[tuple[Path, Format]]:
    """The file to read and its format: `path` itself, or its decompressed copy while it is read
    (what a compressed file holds is sniffed in turn: CSV, JSON, or anything else read here)."""
    found = sniff(path, name)
    if found not in COMPRESSIONS:
        yield path, found
        return
    with decompressed(path, found, name) as inner, _plain(inner, name) as plain:
        yield plain


def _reader(found: Format, name: Path, sheet: str | None) -> _Reader:
    reader = _READERS[found]
    if found == "excel":
        return _Reader(partial(reader.chunks, sheet=sheet), partial(reader.columns, sheet=sheet))
    if sheet is not None:
        raise UnreadableSourceError(
            name,
            f"--sheet names a sheet of a workbook, and this is a {_NAMES[found]} file",
            "Drop --sheet, or pass workbooks only",
        )
    return reader
