"""Which files a source names, and what a file that cannot be read becomes.

A source is what a user types or schedules: a path, a glob, a URL (s3, gs, az, http(s); globs on
object storage), or a list of them. It is resolved to files before anything is read, so that the
cache can key on them before deciding whether to load at all, and a path that names nothing
fails with a message that says why.

A remote file is read in one of three ways, each the least that the caller needs:
`source_locations` names it without reading a byte (the cache keys on its version, one metadata
request); `source_samples` fetches its first bytes (one ranged GET), enough for the header and
the rows the columns are chosen from; `source_files` downloads it whole, once per version.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from pipeline.errors import SourceNotFoundError, UnreadableSourceError
from pipeline.load.detect import SAMPLE_ROWS
from pipeline.load.formats import sniff
from pipeline.storage import Location, is_url, matching

__all__ = ["SAMPLE_BYTES", "reading", "source_files", "source_locations", "source_samples"]

_GLOB_CHARS = re.compile(r"[*?\[]")
SAMPLE_BYTES = 1 << 20
"""The first bytes of a remote CSV that `source_samples` fetches: ~10,000 rows of a typical
export. Fewer than `SAMPLE_ROWS` rows in it (a very wide file) fetch 4x more, up to 16 MiB."""
_MAX_SAMPLE_BYTES = 16 << 20


def source_locations(source: str | Path | Sequence[str | Path]) -> list[Path | Location]:
    """The files of a source, in `load_contacts`' order, none of them read: local ones as paths,
    remote ones as locations (listing a glob and a HEAD are the only requests). What the cache
    keys on before deciding whether anything needs reading at all."""
    items = [source] if isinstance(source, str | Path) else list(source)
    files = [file for item in items for file in _expand(str(item))]
    if not files:
        raise SourceNotFoundError("no source file given")
    return list(dict.fromkeys(files))


def source_files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files `load_contacts` reads for a source, in its order, as local files: a remote one
    is downloaded (once per version) into a local copy that prints as its URL, so every loader,
    the encoding check and every error read and name it like a local one."""
    return [_local(file) for file in source_locations(source)]


def source_samples(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """Like `source_files`, but of a large remote CSV only its first bytes, cut after the last
    whole record: enough for the header and the first `SAMPLE_ROWS` rows the columns are
    chosen from, without downloading the file (a run that the cache answers never does). Any
    other remote format (Parquet, a workbook, JSON, a compressed file) is fetched whole: its
    columns are not at its start, or not readable from a part of it."""
    return [_sample(file) for file in source_locations(source)]


def _local(file: Path | Location) -> Path:
    return file if isinstance(file, Path) else file.local_copy()


def _sample(file: Path | Location) -> Path:
    if isinstance(file, Path):
        return file
    limit = SAMPLE_BYTES
    while limit <= _MAX_SAMPLE_BYTES:
        prefix, whole = file.local_prefix(limit)
        if whole:
            return prefix
        try:
            text = sniff(prefix) == "csv"
        except UnreadableSourceError:
            text = False  # the whole file says what it is (a part of a zip looks damaged)
        if not text:
            break
        data = Path(os.fspath(prefix)).read_bytes()
        end = _records_end(data, SAMPLE_ROWS + 1)
        if end is not None:
            Path(os.fspath(prefix)).write_bytes(data[:end])
            return prefix
        limit *= 4
    return file.local_copy()


def _records_end(data: bytes, wanted: int) -> int | None:
    """The offset after the last whole record of `data`, if it holds at least `wanted` non-blank
    records (blank lines are skipped by the reader, so they do not count). A newline inside a
    quoted field ends no record: one ends where the count of `"` so far is even."""
    quotes, records, end, start = 0, 0, None, 0
    while (newline := data.find(b"\n", start)) != -1:
        quotes += data.count(b'"', start, newline)
        if quotes % 2 == 0:
            records += bool(data[start:newline].strip(b"\r"))
            end = newline + 1
        start = newline + 1
    return end if records >= wanted else None


def _expand(item: str) -> list[Path | Location]:
    if is_url(item):
        return list(matching(item))
    if _GLOB_CHARS.search(item):
        matches = sorted(Path(match) for match in glob.glob(item, recursive=True))
        files = [path for path in matches if path.is_file()]
        if not files:
            raise SourceNotFoundError(f"no file matches {item!r}")
        return files
    path = Path(item)
    if path.is_dir():
        raise SourceNotFoundError(f"{item} is a directory; pass a file or a glob like {item}/*.csv")
    if not path.is_file():
        raise SourceNotFoundError(f"{item}: no such file")
    return [path]


@contextmanager
def reading(path: Path, hint: str) -> Iterator[None]:
    """Turn a reader's failure into an error that names the file and says what to try."""
    try:
        yield
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        problem = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UnreadableSourceError(path, problem, hint) from exc
