"""Loading a source: each of its files by its format, into one raw contacts frame."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.errors import UnreadableSourceError
from pipeline.load.columns import Columns, Wanted
from pipeline.load.delimited import csv_columns, load_csv
from pipeline.load.files import source_files
from pipeline.load.parquet import load_parquet, parquet_columns
from pipeline.load.result import LoadResult, SourceFile
from pipeline.phones.schemas import RawContacts

__all__ = ["load_contacts", "load_phone_list", "source_columns"]

_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"


def load_contacts(
    source: str | Path | Sequence[str | Path],
    *,
    phone_column: str | None = None,
    country_column: str | None = None,
    group_column: str | None = None,
) -> LoadResult:
    """Read one file, a glob, or a list of either into the raw contacts frame (`RAW_SCHEMA`).

    The phone column is detected unless named; so is the country column, but only where its
    values are countries (`detect`), since a wrong one would misread every national number. The
    group column is only used when named: guessing it would file contacts in made-up groups.
    """
    wanted = Wanted(phone_column, country_column, group_column)
    loaded = [_load_file(path, wanted) for path in source_files(source)]
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
) -> list[Columns]:
    """Per file, the columns `load_contacts` would read, from each file's header and first rows:
    what a run can say (and a wrong name fail on) before it reads any file whole."""
    wanted = Wanted(phone_column, country_column, None)
    return [
        parquet_columns(path, wanted) if _is_parquet(path) else csv_columns(path, wanted)
        for path in source_files(source)
    ]


def _load_file(path: Path, wanted: Wanted) -> tuple[pl.DataFrame, SourceFile]:
    return load_parquet(path, wanted) if _is_parquet(path) else load_csv(path, wanted)


def _is_parquet(path: Path) -> bool:
    """Parquet by its magic bytes, else text; a zip (an Excel workbook) is refused with a hint."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == _ZIP_MAGIC:
        raise UnreadableSourceError(
            path, "it is a zip archive, most likely an Excel workbook", "Save the sheet as CSV"
        )
    return magic == _PARQUET_MAGIC
