"""Which files a source names, and what a file that cannot be read becomes.

A source is what a user types or schedules: a path, a glob, or a list of them. It is resolved to
files before anything is read, so that the cache can key on their bytes before deciding whether to
load at all, and a path that names nothing fails with a message that says why.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from pipeline.errors import SourceNotFoundError, UnreadableSourceError

__all__ = ["reading", "source_files"]

_GLOB_CHARS = re.compile(r"[*?\[]")


def source_files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files `load_contacts` reads for a source, in its order, without reading them (what
    a cache key needs before deciding whether to load at all)."""
    items = [source] if isinstance(source, str | Path) else list(source)
    paths = [path for item in items for path in _expand(str(item))]
    if not paths:
        raise SourceNotFoundError("no source file given")
    return list(dict.fromkeys(paths))


def _expand(item: str) -> list[Path]:
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
