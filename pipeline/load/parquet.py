"""Parquet exports: typed columns, so the one thing to guard is a phone column stored as floats."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.errors import UnreadableSourceError
from pipeline.load.columns import Columns, Wanted, pick_columns, raw_columns
from pipeline.load.files import reading
from pipeline.load.result import SourceFile

__all__ = ["load_parquet", "parquet_columns"]

_PARQUET_HINT = "The file may be truncated or written by an incompatible tool; export it again"


def load_parquet(path: Path, wanted: Wanted, *, name: Path) -> tuple[pl.DataFrame, SourceFile]:
    """Read `path`, named `name` in the rows and messages (as `delimited.load_csv`)."""
    with reading(name, _PARQUET_HINT):
        lazy = pl.scan_parquet(path)
        picked = _pick(name, lazy, wanted)
        frame = lazy.select(raw_columns(name, picked, pl.int_range(1, pl.len() + 1))).collect()
    return frame, SourceFile(name, "parquet", picked, frame.height)


def parquet_columns(path: Path, wanted: Wanted, *, name: Path) -> Columns:
    """The columns `load_parquet` would read, from the schema and the first rows only."""
    with reading(name, _PARQUET_HINT):
        return _pick(name, pl.scan_parquet(path), wanted)


def _pick(path: Path, lazy: pl.LazyFrame, wanted: Wanted) -> Columns:
    picked = pick_columns(path, lazy, wanted)
    _refuse_lossy_floats(path, lazy.collect_schema(), picked.phone)
    return picked


def _refuse_lossy_floats(path: Path, schema: pl.Schema, column: str) -> None:
    """Float64 holds every 15-digit number exactly (`447911123456.0` is recovered downstream);
    Float32 keeps about 7 digits, so its values would be guesses and the file is refused."""
    if schema[column] == pl.Float32:
        raise UnreadableSourceError(
            path,
            f"column {column!r} is stored as 32-bit floats, which cannot hold phone numbers",
            "Export the phone column as text",
        )
