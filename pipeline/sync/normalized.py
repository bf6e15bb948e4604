"""A run's normalized input, gathered a partition at a time, in the memory its numbers need.

A million-row export gives nearly a million valid rows, and a run needs little of them: the plan
needs each group's distinct numbers, the report how many rows were valid and how many repeat a
number, and only numbers Sinch refuses send the run back to their rows (for the rejects file).
So each partition's valid rows go to a Parquet file in a private temporary folder as soon as it
is normalized (`ValidRows`), and memory keeps the rejected rows (the rejects file needs them
whole) and, once every partition is in, the distinct numbers. With the file read a chunk at a
time (`load.stream_contacts`), a run's memory grows with its distinct numbers and its rejects,
not with the file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.phones.cache import Stored
from pipeline.phones.schemas import Rejects
from pipeline.sync.plan import named_groups, reject_rows_without_group

__all__ = ["Gathered", "Numbers", "ValidRows", "partitions"]

_NUMBERS = ["group", "phone_e164"]
_DIGITS = pl.col("phone_e164").str.slice(1).cast(pl.UInt64).alias("digits")


class ValidRows:
    """The valid rows of a run, in Parquet files of a private temporary folder, removed with this
    object (or at exit): read back only when asked for (`scan`)."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="sinch-groups-")
        self._files: list[Path] = []
        self._stored: Stored | None = None
        self.rows = 0

    @classmethod
    def from_cache(cls, stored: Stored) -> ValidRows:
        """The valid rows of a cache entry, which stay in it: the entry is linked (or copied)
        into the folder first, so that another run evicting it cannot take them away."""
        rows = cls()
        kept = Path(rows._folder.name) / "entry.parquet"
        try:
            os.link(stored.path, kept)
        except OSError:  # another file system, or no hard links there
            shutil.copyfile(stored.path, kept)
        rows._files, rows._stored, rows.rows = [kept], stored, stored.valid_rows
        return rows

    def add(self, valid: pl.DataFrame) -> None:
        """Keep one partition's valid rows (after the ones before it)."""
        path = Path(self._folder.name) / f"valid-{len(self._files):06d}.parquet"
        valid.write_parquet(path, compression="lz4")
        self._files.append(path)
        self.rows += valid.height

    def scan(self) -> pl.LazyFrame:
        """The rows, in input order, read as the query asks for them."""
        if self._stored is not None:
            return self._stored.valid(self._files[0])
        return pl.scan_parquet(self._files)


class Numbers:
    """Each group's distinct numbers, gathered a part of the valid rows at a time.

    Held as integers (the digits after the `+`: a number this package writes maps one to one
    onto them) until every part is in: a million of them are 8 MB, where the text and polars'
    frame-wide `unique` would cost several times the file's own size.
    """

    def __init__(self) -> None:
        self._parts: dict[str, list[pl.Series]] = {}
        self._deduplicated: set[str] = set()
        """Groups whose parts are one deduplicated series (`_distinct`)."""

    @classmethod
    def of(cls, valid: pl.LazyFrame, rows: int = 500_000) -> Numbers:
        """The numbers of rows kept on disk, read `rows` at a time."""
        numbers = cls()
        total = valid.select(pl.len()).collect().item()
        for offset in range(0, total, rows):
            numbers.add(valid.slice(offset, rows).select(_NUMBERS).collect())
        return numbers

    def add(self, valid: pl.DataFrame) -> None:
        """Take the numbers of some valid rows (`group`, `phone_e164`)."""
        digits = valid.select("group", _DIGITS)
        for (group,), part in digits.partition_by("group", as_dict=True).items():
            self._parts.setdefault(str(group), []).append(part.get_column("digits"))
            self._deduplicated.discard(str(group))

    def count(self) -> int:
        """How many distinct (group, phone_e164) pairs there are."""
        return sum(numbers.len() for numbers in self._distinct().values())

    def by_group(self, keys: Sequence[str]) -> dict[str, pl.Series]:
        """Each target group's distinct numbers, as the digits after their `+` (UInt64), in no
        particular order (the plan sorts what it sends); every key gets an entry, empty for a
        group the valid rows do not name, so that a group whose rows were all rejected still
        gets a plan (in mirror mode, that is what makes the guard speak up).

        The plan compares numbers by these integers (`plan._keyed`), so they never become text
        but for the ones it adds: a million numbers as text are some 30 MB more at its peak."""
        numbers = self._distinct()
        empty = pl.Series("digits", [], dtype=pl.UInt64)
        return {key: numbers.get(key, empty) for key in keys}

    def _distinct(self) -> dict[str, pl.Series]:
        """Each group's numbers, deduplicated; its parts are replaced by the result, so that
        counting them and then planning deduplicate once."""
        for group, parts in self._parts.items():
            if group not in self._deduplicated:
                parts[:] = [pl.concat(parts).unique()]
                self._deduplicated.add(group)
        return {group: parts[0] for group, parts in self._parts.items()}


@dataclass
class Gathered:
    """What a run keeps of its input while it is read and normalized, partition by partition."""

    valid: ValidRows = field(default_factory=ValidRows)
    numbers: Numbers = field(default_factory=Numbers)
    rows: int = 0
    """Rows read (after `only_groups`)."""
    groups: set[str] = field(default_factory=set)
    """The group names the rows mention, rejected rows included (`named_groups`)."""
    _rejects: list[pl.DataFrame] = field(default_factory=list)
    _no_group: list[pl.DataFrame] = field(default_factory=list)

    def read(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """Count a raw chunk as it goes by on its way to normalization."""
        self.rows += chunk.height
        self.groups.update(named_groups(chunk))
        return chunk

    def add(self, valid: pl.DataFrame, rejects: pl.DataFrame) -> None:
        """Take one partition's result: its rows without a group become `no_group` rejects."""
        valid, no_group = reject_rows_without_group(valid)
        self.valid.add(valid)
        self.numbers.add(valid)
        self._rejects.append(rejects)
        self._no_group.append(no_group)

    def rejects(self) -> pl.DataFrame:
        """Every rejected row in input order, then the rows without a group, checked once here:
        what the cache holds is what was checked."""
        parts = [*self._rejects, *self._no_group]
        return Rejects.validate(pl.concat(parts, how="vertical_relaxed"))


def partitions(chunks: Iterable[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """The rows of `chunks` in frames of exactly `rows` rows (the last one fewer, and at least
    one frame): the partitions a whole frame's `iter_slices(rows)` would give, built from the
    chunks as they come, so only one partition's rows wait at a time."""
    waiting: list[pl.DataFrame] = []
    count = 0
    yielded = False
    for chunk in chunks:
        while count + chunk.height >= rows:
            cut = rows - count
            yield pl.concat([*waiting, chunk.slice(0, cut)])
            yielded, waiting, count = True, [], 0
            chunk = chunk.slice(cut)
        if chunk.height or not waiting:
            waiting.append(chunk)
            count += chunk.height
    if count or not yielded:
        yield pl.concat(waiting)
