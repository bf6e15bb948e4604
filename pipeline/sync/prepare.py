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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

import polars as pl

from pipeline import load, phones
from pipeline.dburi import DatabaseUri
from pipeline.phones.cache import Cached, NormalizeCache, files_digest, key_for
from pipeline.phones.schemas import Rejects
from pipeline.storage import Location, native
from pipeline.sync.options import SyncOptions
from pipeline.sync.plan import named_groups, reject_rows_without_group
from pipeline.sync.steps import LocalSteps

__all__ = [
    "Prepared",
    "load_contacts",
    "load_suppressions",
    "normalize_partition",
    "prepare",
]


@dataclass(frozen=True)
class Prepared:
    """The normalized input, from the files or from the cache, and what the report needs of it."""

    valid: pl.DataFrame
    """Rows with a number and a group."""
    rejects: pl.DataFrame
    """Rows without a usable number, and `no_group` rows (checked against `Rejects`)."""
    files: list[Path | Location]
    rows: int
    notes: list[str]
    groups: list[str]
    """The group names the rows mention (rejected rows included)."""
    duplicates: int
    """Rows of `valid` repeating a number of their group (`phones.count_duplicates`)."""
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
    def from_cache(cls, entry: Cached, digest: str) -> Self:
        extra = entry.extra
        files = [native(f) for f in extra["files"]]  # a URL stays one (a Path eats `//`)
        return cls(entry.valid, entry.rejects, **{**extra, "files": files, "digest": digest})


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
) -> load.LoadResult:
    """Read every file of the source (or the query's rows, from `db`); with --group/--group-id
    every row names that one group. `sheet` is the sheet read of a workbook (default the first).

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
    else:
        assert source is not None  # SyncOptions: a source or a query
        loaded = load.load_contacts(source, **columns, sheet=sheet)
    frame = loaded.frame
    if fixed_group is not None:
        frame = frame.with_columns(pl.lit(fixed_group, dtype=pl.String).alias("group"))
    if only_groups is not None:
        frame = frame.filter(pl.col("group").is_in(only_groups))
    return replace(loaded, frame=frame)


def normalize_partition(
    frame: pl.DataFrame, default_region: str | None, mobile_only: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows, rejected rows) of one slice of the input.

    `phones.normalize` is row-local (a row's result depends on that row only), so a file cut into
    slices and normalized slice by slice gives exactly the whole file's result: that is what lets
    an orchestrator spread the slices over a cluster.
    """
    result = phones.normalize(frame, default_region=default_region, mobile_only=mobile_only)
    return result.valid, result.rejects


def load_suppressions(paths: list[str], default_region: str | None) -> pl.Series:
    """Normalize the opt-out lists with the same rules as the input; unusable entries are ignored."""
    numbers = [
        phones.normalize(load.load_phone_list(path), default_region=default_region).valid[
            "phone_e164"
        ]
        for path in paths
    ]
    return pl.concat(numbers).unique().sort()


def _finish(loaded: load.LoadResult, valid: pl.DataFrame, rejects: pl.DataFrame) -> Prepared:
    """Set aside the rows without a group, check the rejects, count the duplicates."""
    valid, no_group = reject_rows_without_group(valid)
    return Prepared(
        valid,
        # Checked once, here: what the cache holds is what was checked.
        Rejects.validate(pl.concat([rejects, no_group], how="vertical_relaxed")),
        loaded.files,
        loaded.rows,
        list(loaded.notes),
        named_groups(loaded.frame),
        phones.count_duplicates(valid),
    )


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
        loaded = await _load(options, steps, db=options.database())
        prepared = await _normalize(options, steps, loaded)
        return replace(prepared, files=[], digest=digest, query=options.query)
    assert options.source is not None  # SyncOptions: a source or a query
    cache = NormalizeCache.from_env() if options.use_cache else None
    normalize_options = options.normalize_options()
    # Named, not read: a remote file's digest is its version from one metadata request, so a
    # hit downloads nothing (the loader fetches the files only on a miss).
    files = await asyncio.to_thread(load.source_locations, options.source)
    digest = await asyncio.to_thread(files_digest, files)
    key = key_for(digest, normalize_options) if cache else None
    entry = await asyncio.to_thread(cache.get, key) if cache and key else None
    if entry is not None:
        return Prepared.from_cache(entry, digest)
    loaded = await _load(options, steps)
    prepared = replace(await _normalize(options, steps, loaded), digest=digest)
    # Stored only if the files read are those keyed on, unchanged while they were read.
    if (
        cache is not None
        and key is not None
        and [str(f) for f in loaded.files] == [str(f) for f in files]
        and await asyncio.to_thread(files_digest, files) == digest
    ):
        await asyncio.to_thread(
            cache.put, key, prepared.valid, prepared.rejects, extra=prepared.cache_extra()
        )
    return prepared


async def _load(
    options: SyncOptions, steps: LocalSteps, db: DatabaseUri | None = None
) -> load.LoadResult:
    """The `load` stage: the source's files, or the query's rows from `db`."""
    result: load.LoadResult = await steps.run(
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


async def _normalize(options: SyncOptions, steps: LocalSteps, loaded: load.LoadResult) -> Prepared:
    """The `normalize` stage, one task per `partition_rows` slice, then the checks."""
    slices = list(loaded.frame.iter_slices(options.partition_rows)) or [loaded.frame]
    parts = await steps.map(
        "normalize",
        normalize_partition,
        [
            {
                "frame": part,
                "default_region": options.default_region,
                "mobile_only": options.mobile_only,
            }
            for part in slices
        ],
    )
    valid = pl.concat([v for v, _ in parts], how="vertical_relaxed")
    rejects = pl.concat([r for _, r in parts], how="vertical_relaxed")
    return await asyncio.to_thread(_finish, loaded, valid, rejects)
