"""Prepare: the contact files (or a query's rows) -> valid numbers per group and rejected rows,
from the normalize cache when the files' bytes and the options are unchanged.

A query is never served from the cache: whether its result changed is only known by reading it
all, which is the work the cache saves, so a query is read and normalized on every run.

The stages here are plain functions (`load`, `normalize`, `suppressions`); `prepare` orders them
through the run's `Steps`, so that an orchestrator sees each as its own task.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from contextlib import aclosing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

import polars as pl

from pipeline import load, phones
from pipeline.dburi import DatabaseUri
from pipeline.phones.cache import NormalizeCache, Stored, files_digest, key_for
from pipeline.storage import Location, native
from pipeline.sync.normalized import Gathered, Numbers, ValidRows, partitions
from pipeline.sync.options import SyncOptions
from pipeline.sync.steps import LocalSteps

__all__ = [
    "Prepared",
    "load_contacts",
    "load_suppressions",
    "normalize_partition",
    "prepare",
]


NORMALIZE_ROWS = 250_000
"""Rows one `phones.normalize` call works on. Its working columns cost about 200 bytes a row
(twice what a raw row holds), while each call has a fixed cost of about a tenth of a second:
a quarter of a million rows keeps both small."""


@dataclass(frozen=True)
class Prepared:
    """The normalized input, from the files or from the cache, and what the report needs of it."""

    numbers: Numbers
    """The distinct numbers of each group of the valid rows: what the plan works on
    (`Numbers.by_group`)."""
    valid: ValidRows
    """Rows with a number and a group, kept on disk (`normalized`)."""
    rejects: pl.DataFrame
    """Rows without a usable number, and `no_group` rows (checked against `Rejects`)."""
    files: list[Path | Location]
    rows: int
    notes: list[str]
    groups: list[str]
    """The group names the rows mention (rejected rows included)."""
    duplicates: int
    """Rows of `valid` repeating a number of their group: the valid rows less `numbers`."""
    digest: str = ""
    """The files' digest (`files_digest`), or `query:` and the query's: a group's base records
    what input it was written from."""
    query: str | None = None
    """The query the rows came from (then `files` is empty)."""

    @property
    def sources(self) -> list[str]:
        """What the report records as the input: the files, or the query (never its URI)."""
        return [self.query] if self.query is not None else [str(f) for f in self.files]

    def cache_extra(self) -> dict[str, Any]:
        """What the cache keeps beside the two frames (`from_cache` reads it back)."""
        return {
            "files": [str(f) for f in self.files],
            "rows": self.rows,
            "notes": self.notes,
            "groups": self.groups,
            "duplicates": self.duplicates,
        }

    @classmethod
    def from_cache(cls, entry: Stored, digest: str) -> Self:
        extra = entry.extra
        files = [native(f) for f in extra["files"]]  # a URL stays one (a Path eats `//`)
        valid = ValidRows.from_cache(entry)
        numbers = Numbers.of(valid.scan())
        return cls(numbers, valid, entry.rejects, **{**extra, "files": files, "digest": digest})


def load_contacts(
    source: str | None,
    *,
    query: str | None = None,
    db: DatabaseUri | None = None,
    phone_column: str | None,
    country_column: str | None,
    group_column: str | None,
    fixed_group: str | None,
    only_groups: list[str] | None,
    sheet: str | None = None,
) -> load.ContactStream:
    """Open every file of the source (or read the query's rows, from `db`), to be read a chunk
    at a time (`load.stream_contacts`); with --group/--group-id every row names that one group.
    `sheet` is the sheet read of a workbook (default the first).

    `only_groups` keeps the rows of those groups and drops the rest before any work: a fanned-out
    run handles its own group's rows, and its report counts only those.
    """
    columns = {
        "phone_column": phone_column,
        "country_column": country_column,
        "group_column": group_column,
    }
    if query is not None and db is not None:
        loaded = load.load_query(query, db, **columns)
        stream = load.ContactStream(iter([loaded.frame]), list(loaded.sources))
    else:
        assert source is not None  # SyncOptions: a source or a query
        stream = load.stream_contacts(source, **columns, sheet=sheet)
    stream.chunks = _kept(stream.chunks, fixed_group, only_groups)
    return stream


def _kept(
    chunks: Iterator[pl.DataFrame], fixed_group: str | None, only_groups: list[str] | None
) -> Iterator[pl.DataFrame]:
    """Each chunk with the one group of --group/--group-id, or only the rows of `only_groups`:
    chunk by chunk, as they are read."""
    for chunk in chunks:
        if fixed_group is not None:
            chunk = chunk.with_columns(pl.lit(fixed_group, dtype=pl.String).alias("group"))
        if only_groups is not None:
            chunk = chunk.filter(pl.col("group").is_in(only_groups))
        yield chunk


def normalize_partition(
    frame: pl.DataFrame, default_region: str | None, mobile_only: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows, rejected rows) of one slice of the input.

    `phones.normalize` is row-local (a row's result depends on that row only), so a file cut into
    slices and normalized slice by slice gives exactly the whole file's result: that is what lets
    an orchestrator spread the slices over a cluster, and a run read a file it never holds whole.
    A partition is normalized `NORMALIZE_ROWS` rows at a time, so whatever `--partition-rows`
    says, a task's working memory stays that of a quarter of a million rows.
    """
    results = [
        phones.normalize(part, default_region=default_region, mobile_only=mobile_only)
        for part in (frame.iter_slices(NORMALIZE_ROWS) if frame.height else [frame])
    ]
    return (
        pl.concat([result.valid for result in results]),
        pl.concat([result.rejects for result in results]),
    )


def load_suppressions(paths: list[str], default_region: str | None) -> pl.Series:
    """Normalize the opt-out lists with the same rules as the input; unusable entries are ignored."""
    numbers = [
        phones.normalize(load.load_phone_list(path), default_region=default_region).valid[
            "phone_e164"
        ]
        for path in paths
    ]
    return pl.concat(numbers).unique().sort()


async def prepare(options: SyncOptions, steps: LocalSteps) -> Prepared:
    """Load and normalize the source, unless the cache holds the result for these exact bytes.

    The key is a digest of the files' bytes, the options and the normalizing code
    (`pipeline.phones.cache`), so a hit is exactly what normalizing again would give; a nightly sync of
    an unchanged export skips straight to the diff. A remote file counts by its version (ETag,
    size, last-modified), so `digest`, which the base records as `source_digest`, is for it a
    digest of that metadata rather than of the bytes. The file work runs in threads: the event loop
    stays free for the membership read ahead. A query skips the cache (see the module).
    """
    if options.query is not None:
        digest = "query:" + hashlib.sha256(options.query.encode()).hexdigest()
        stream = await _load(options, steps, db=options.database())
        prepared = await _normalize(options, steps, stream)
        return replace(prepared, files=[], digest=digest, query=options.query)
    assert options.source is not None  # SyncOptions: a source or a query
    cache = NormalizeCache.from_env() if options.use_cache else None
    normalize_options = options.normalize_options()
    # Named, not read: a remote file's digest is its version from one metadata request, so a
    # hit downloads nothing (the loader fetches the files only on a miss).
    files = await asyncio.to_thread(load.source_locations, options.source)
    digest = await asyncio.to_thread(files_digest, files)
    key = key_for(digest, normalize_options) if cache else None
    entry = await asyncio.to_thread(cache.open, key) if cache and key else None
    if entry is not None:
        return await asyncio.to_thread(Prepared.from_cache, entry, digest)
    stream = await _load(options, steps)
    prepared = replace(await _normalize(options, steps, stream), digest=digest)
    # Stored only if the files read are those keyed on, unchanged while they were read.
    if (
        cache is not None
        and key is not None
        and [str(f) for f in prepared.files] == [str(f) for f in files]
        and await asyncio.to_thread(files_digest, files) == digest
    ):
        await asyncio.to_thread(
            cache.put, key, prepared.valid.scan(), prepared.rejects, extra=prepared.cache_extra()
        )
    return prepared


async def _load(
    options: SyncOptions, steps: LocalSteps, db: DatabaseUri | None = None
) -> load.ContactStream:
    """The `load` stage: the source's files opened (the first chunk read), or the query's rows
    from `db`."""
    result: load.ContactStream = await steps.run(
        "load",
        None,
        load_contacts,
        source=options.source,
        query=options.query,
        db=db,
        phone_column=options.phone_column,
        country_column=options.country_column,
        group_column=options.group_column,
        sheet=options.sheet,
        fixed_group=options.named,
        only_groups=list(options.only_groups) if options.only_groups is not None else None,
    )
    return result


async def _normalize(
    options: SyncOptions, steps: LocalSteps, stream: load.ContactStream
) -> Prepared:
    """The `normalize` stage, one task per `partition_rows` rows, each partition read from the
    source as a task is free to take it, and its result put away as it comes (`normalized`):
    the rows of the whole file are never held at once."""
    gathered = Gathered()
    calls = (
        {
            "frame": part,
            "default_region": options.default_region,
            "mobile_only": options.mobile_only,
        }
        for part in partitions(map(gathered.read, stream.chunks), options.partition_rows)
    )
    async with aclosing(steps.map("normalize", normalize_partition, calls)) as results:
        async for valid, rejects in results:
            await asyncio.to_thread(gathered.add, valid, rejects)
    return await asyncio.to_thread(_finish, stream, gathered)


def _finish(stream: load.ContactStream, gathered: Gathered) -> Prepared:
    """The distinct numbers, the checked rejects and the duplicates of the gathered input."""
    return Prepared(
        gathered.numbers,
        gathered.valid,
        gathered.rejects(),
        list(stream.files),
        gathered.rows,
        list(stream.notes),
        sorted(gathered.groups),
        gathered.valid.rows - gathered.numbers.count(),
    )
