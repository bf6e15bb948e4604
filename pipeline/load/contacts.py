"""Loading a source: each of its files by its format, into one raw contacts frame."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.errors import UnreadableSourceError
from pipeline.load.columns import Wanted
from pipeline.load.delimited import load_csv
from pipeline.load.files import source_files
from pipeline.load.parquet import load_parquet
from pipeline.load.result import LoadResult, SourceFile
from pipeline.phones.schemas import RawContacts

__all__ = ["load_contacts", "load_phone_list"]

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

    The phone column is found by its header unless named; the country and group columns are only
    used when named, because guessing them wrong would silently misfile contacts.
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


def _load_file(path: Path, wanted: Wanted) -> tuple[pl.DataFrame, SourceFile]:
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == _PARQUET_MAGIC:
        return load_parquet(path, wanted)
    if magic == _ZIP_MAGIC:
        raise UnreadableSourceError(
            path, "it is a zip archive, most likely an Excel workbook", "Save the sheet as CSV"
        )
    return load_csv(path, wanted)
