"""What loading a source gives: the raw frame (or its chunks, as they are read), and how each
file was read, for the run report."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from pipeline.load.columns import Columns, columns_line
from pipeline.load.encoding import UTF8

__all__ = ["ContactStream", "LoadResult", "SourceFile"]


@dataclass(frozen=True)
class SourceFile:
    """How one file was read, so the run report can say it (and a surprise encoding is visible)."""

    path: Path
    format: Literal["csv", "parquet", "excel", "json", "query"]
    """How it was read; a `query` source's `path` is the label `query` (`load.database`)."""
    columns: Columns
    """The columns read, and which of them were detected rather than named."""
    rows: int
    encoding: str | None = None
    delimiter: str | None = None
    note: str | None = None
    """What the user should know about how it was read (which sheet of several)."""

    @property
    def phone_column(self) -> str:
        return self.columns.phone

    @property
    def country_column(self) -> str | None:
        return self.columns.region


class _Sourced:
    """What a load says of its files, from their `SourceFile`s (a whole load or a stream's)."""

    sources: Sequence[SourceFile]

    @property
    def files(self) -> list[Path]:
        return [source.path for source in self.sources]

    @property
    def phone_column(self) -> str:
        """The phone column used; files of a glob normally agree, else their names comma-joined."""
        return ", ".join(dict.fromkeys(source.phone_column for source in self.sources))

    @property
    def country_column(self) -> str | None:
        """The country column used (named or detected), None if no file has one; several files
        that disagree give their names comma-joined."""
        names = dict.fromkeys(s.country_column for s in self.sources if s.country_column)
        return ", ".join(names) or None

    @property
    def columns_line(self) -> str:
        """What the run prints first: `phone column: 'Mobile' (detected); country column: none`."""
        return columns_line([source.columns for source in self.sources])

    @property
    def encodings(self) -> dict[str, str]:
        """Codec per CSV file: `utf-8`, `utf-8-sig` (with BOM), or a legacy fallback."""
        return {str(s.path): s.encoding for s in self.sources if s.encoding is not None}

    @property
    def notes(self) -> list[str]:
        """Things the user should know although nothing failed (a guessed legacy encoding, the
        one sheet read of a workbook that has several)."""
        return [
            f"{path}: not valid UTF-8, read as {encoding}"
            for path, encoding in self.encodings.items()
            if encoding not in UTF8
        ] + [f"{s.path}: {s.note}" for s in self.sources if s.note is not None]


@dataclass(frozen=True)
class LoadResult(_Sourced):
    """The raw contacts of every file of a source, in file order, with how each file was read."""

    frame: pl.DataFrame
    sources: tuple[SourceFile, ...]

    @property
    def rows(self) -> int:
        return self.frame.height


@dataclass
class ContactStream(_Sourced):
    """The raw contacts of every file of a source, in file order, a chunk at a time: a run that
    normalizes each chunk as it comes never holds the whole file's rows (`load.stream_contacts`).

    `sources` grows by a file's `SourceFile` once its last chunk has been read.
    """

    chunks: Iterator[pl.DataFrame]
    sources: list[SourceFile] = field(default_factory=list)
