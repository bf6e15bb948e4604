"""Loading a source: each of its files by its format (`formats`, from its content), into one
raw contacts frame."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import NamedTuple

import polars as pl

from pipeline.errors import UnreadableSourceError
from pipeline.load.columns import Columns, Wanted
from pipeline.load.compressed import decompressed
from pipeline.load.delimited import csv_columns, load_csv
from pipeline.load.excel import excel_columns, load_excel
from pipeline.load.files import source_files, source_samples
from pipeline.load.formats import COMPRESSIONS, Format, sniff
from pipeline.load.jsonfile import json_columns, load_json
from pipeline.load.parquet import load_parquet, parquet_columns
from pipeline.load.result import LoadResult, SourceFile
from pipeline.phones.schemas import RawContacts

__all__ = ["load_contacts", "load_phone_list", "source_columns"]


class _Reader(NamedTuple):
    """One format's two readers, each called as `(path, wanted, name=...)`."""

    load: Callable[..., tuple[pl.DataFrame, SourceFile]]
    columns: Callable[..., Columns]


_READERS: dict[str, _Reader] = {
    "csv": _Reader(load_csv, csv_columns),
    "json": _Reader(load_json, json_columns),
    "parquet": _Reader(load_parquet, parquet_columns),
    "excel": _Reader(load_excel, excel_columns),
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
    wanted = Wanted(phone_column, country_column, group_column)
    loaded = [_load_file(path, wanted, sheet) for path in source_files(source)]
    return LoadResult(
        frame=RawContacts.validate(pl.concat([frame for frame, _ in loaded])),
        sources=tuple(info for _, info in loaded),
    )


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


def _load_file(path: Path, wanted: Wanted, sheet: str | None) -> tuple[pl.DataFrame, SourceFile]:
    with _plain(path, path) as (plain, found):
        return _reader(found, path, sheet).load(plain, wanted, name=path)


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
        return _Reader(partial(reader.load, sheet=sheet), partial(reader.columns, sheet=sheet))
    if sheet is not None:
        raise UnreadableSourceError(
            name,
            f"--sheet names a sheet of a workbook, and this is a {_NAMES[found]} file",
            "Drop --sheet, or pass workbooks only",
        )
    return reader
