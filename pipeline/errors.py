"""Domain errors of the import pipeline.

    PipelineError                   the pipeline refuses an input; the message is for the user
    ├── SourceNotFoundError         a path or glob that names no file
    ├── UnreadableSourceError       a file that exists but cannot be parsed (.path, .hint)
    ├── MissingColumnError          a named column is not in the file (.path, .column, .available)
    │   └── NoPhoneColumnError      the phone column is missing or could not be recognised
    ├── InvalidRegionError          a default region that names no country phonenumbers knows
    └── DatabaseError               a query's database cannot be reached or the query fails
                                    (the URI in its message is masked: `user:***@host`)

The CLI catches `PipelineError` and prints `Error: <message>`; the leaves exist so that tests and
callers can tell the cases apart, and carry what they are about as attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose (never a bug)."""


class SourceNotFoundError(PipelineError):
    """A source path does not exist, or a glob matches no file."""


class UnreadableSourceError(PipelineError):
    """A source file exists but its content cannot be read as contacts."""

    def __init__(self, path: Path, problem: str, hint: str) -> None:
        self.path = path
        self.hint = hint
        super().__init__(f"cannot read {path}: {problem}. {hint}")


class MissingColumnError(PipelineError):
    """A column the caller named (or the phone column) is not in the file.

    `column` is None when no name was given and detection found nothing; `flag` is the CLI flag
    that fixes it, since the keyword arguments of the loaders mirror the CLI flags.
    """

    def __init__(
        self, path: Path, column: str | None, available: Sequence[str], *, flag: str
    ) -> None:
        self.path = path
        self.column = column
        self.available = tuple(available)
        listed = _listing(self.available)
        missing = f"no column {column!r}" if column else "no recognisable phone column"
        super().__init__(
            f"{path} has {missing}; its columns are: {listed}. Pass {flag} with the right one."
        )


class NoPhoneColumnError(MissingColumnError):
    """The phone column named by the caller is missing, or none was named and none is recognised."""

    def __init__(self, path: Path, available: Sequence[str], column: str | None = None) -> None:
        super().__init__(path, column, available, flag="--phone-column")


class InvalidRegionError(PipelineError):
    """A default region that names no country phonenumbers knows (by code, name or dialling
    code); the message suggests the nearest spelling that does."""


class DatabaseError(PipelineError):
    """A `--query` source that cannot be read: no database named, a driver missing, a refused
    connection or a failed query. The message names the database by its masked URI only, so it
    is safe to print, log and record."""


_LISTED_COLUMNS = 30
_LISTED_NAME_CHARS = 60


def _listing(names: Sequence[str]) -> str:
    """The column names for a one-line message: quoted, and bounded however hostile the header
    (a binary file or a 10 MB first line is one enormous "column name")."""
    shown = []
    for name in names[:_LISTED_COLUMNS]:
        text = repr(name)
        shown.append(
            text if len(text) <= _LISTED_NAME_CHARS else f"{text[: _LISTED_NAME_CHARS - 4]}...'"
        )
    more = len(names) - _LISTED_COLUMNS
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "") or "(none)"
