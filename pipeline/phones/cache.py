"""Normalized contacts kept on disk, so that an unchanged file is not normalized again.

A nightly sync reads the whole CRM export, and normalizing a million rows is most of what an
unchanged run costs. What normalizing gives depends only on the source files' bytes, the options
that read and normalize them, and the code that does it (every module of `pipeline.load` and
`pipeline.phones`, phonenumbers' metadata, polars); so a digest of all of those (`entry_key`) names
the result, and an entry stored under that key is the result. A remote file's bytes are stood for
by its version (ETag, size, last-modified: `files_digest`), which one metadata request gives, so
an unchanged export on S3 or a web server is not even downloaded.

An entry is one Parquet file holding the valid and the rejected rows, told apart by a column, with
their columns and row counts in the file's metadata. It is written whole or not at all
(`storage.atomic_path`), and an entry that cannot be read back exactly as written counts as
absent: it is removed and the caller computes the result again. The newest `keep` entries stay;
older ones go when a new one is written, since a file that changes every night leaves one stale
entry a night.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import phonenumbers
import polars as pl

from pipeline import __version__, load, phones, storage

__all__ = [
    "CACHE_ENV",
    "Cached",
    "NormalizeCache",
    "Stored",
    "default_directory",
    "entry_key",
    "files_digest",
    "key_for",
]

CACHE_ENV = "SINCH_GROUPS_CACHE"
"""A directory for the cache, or one of `DISABLED` to switch it off."""
HOME_ENV = "SINCH_GROUPS_HOME"
DISABLED = frozenset({"0", "off", "false", "no", "none"})
FORMAT = 2
"""The entry layout; a new layout makes every old key miss."""

_CODE: tuple[ModuleType, ...] = (load, phones)
"""The packages whose code decides what loading and normalizing a file gives. Every module in them
is hashed, found on disk rather than listed, so that a module added to either cannot be left out
of the key."""
_PART = "__part"
_VALID, _REJECTS = "valid", "rejects"
_META = "sinch_groups.cache"


@dataclass(frozen=True)
class Cached:
    """A stored normalization: `NormalizeResult`'s two frames, and what the caller kept
    beside them (`NormalizeCache.put`'s `extra`)."""

    valid: pl.DataFrame
    rejects: pl.DataFrame
    extra: dict[str, Any]


@dataclass(frozen=True)
class Stored:
    """An entry as `NormalizeCache.open` finds it: its rejected rows and `extra` read, its valid
    rows left in the file until asked for (`valid`): a million of them are read only in part,
    or not at all, by a run that needs only their distinct numbers."""

    path: Path
    rejects: pl.DataFrame
    extra: dict[str, Any]
    valid_rows: int
    valid_columns: list[str]

    def valid(self, path: Path | None = None) -> pl.LazyFrame:
        """The valid rows, from the entry (or from a copy of it at `path`, which stays readable
        after the entry is evicted)."""
        scan = pl.scan_parquet(path or self.path)
        return scan.filter(pl.col(_PART) == _VALID).select(self.valid_columns)


def default_directory(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where entries go: `$SINCH_GROUPS_CACHE`, else `$SINCH_GROUPS_HOME/cache`, else the user
    cache directory (`$XDG_CACHE_HOME/sinch-groups`, `~/.cache/sinch-groups`); None when
    `$SINCH_GROUPS_CACHE` switches the cache off."""
    environ = os.environ if environ is None else environ
    configured = environ.get(CACHE_ENV, "").strip()
    if configured.lower() in DISABLED:
        return None
    if configured:
        return Path(configured).expanduser()
    if home := environ.get(HOME_ENV):
        return Path(home).expanduser() / "cache"
    cache_home = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "sinch-groups"


def files_digest(files: Sequence[Path | storage.Location]) -> str:
    """The digest of the files themselves, names and contents: what a sync's base records as
    the input it was written from (`source_digest`).

    A local file's content is its bytes. A remote one (a `Location`, from
    `load.source_locations`) is named by its masked URL and its content is its version from
    one metadata request (`Location.fingerprint`: ETag, size, last-modified; for http(s) ETag,
    Last-Modified, Content-Length), so that an unchanged remote source is recognised without
    downloading it; a rewritten object has a new ETag, hence a new digest. A web server that
    sends no validator is downloaded and hashed by its bytes like a local file.
    """
    digest = hashlib.sha256()
    for path in files:
        digest.update(b"\0" + str(path).encode() + b"\0")
        version = path.fingerprint() if isinstance(path, storage.Location) else None
        if version is not None:
            digest.update(b"version\0" + version.encode())
            continue
        local = path.local_copy() if isinstance(path, storage.Location) else path
        with Path(local).open("rb") as handle:
            # SHA-256: hardware-accelerated on current CPUs, about twice blake2b's speed here,
            # and hashing the files is most of what a cache hit costs.
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def key_for(files_digest: str, options: Mapping[str, object]) -> str:
    """The cache key of files whose `files_digest` is known, normalized with `options`."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(_code_digest().encode())
    digest.update(json.dumps(dict(options), sort_keys=True, default=str).encode())
    digest.update(files_digest.encode())
    return digest.hexdigest()


def entry_key(files: Sequence[Path | storage.Location], options: Mapping[str, object]) -> str:
    """The digest of everything a normalization depends on: each file's name (rows carry it as
    `source_file`) and bytes (a remote file's version, see `files_digest`), `options` (every
    option that reads or normalizes them, as JSON), and the code (`_code_digest`)."""
    return key_for(files_digest(files), options)


@cache
def _code_digest() -> str:
    """This package's version and loading and normalizing code, phonenumbers', polars',
    pycountry's and fastexcel's versions: a change to any of them can change a result, so it
    changes every key."""
    digest = hashlib.blake2b(digest_size=20)
    # pycountry's names decide which country cells are read (`pipeline.phones.countries`);
    # fastexcel (calamine) spells a workbook's number cells as text (`pipeline.load.excel`).
    countries = importlib.metadata.version("pycountry")
    workbooks = importlib.metadata.version("fastexcel")
    versions = [str(FORMAT), __version__, phonenumbers.__version__, pl.__version__, countries]
    versions.append(workbooks)
    digest.update("\0".join(versions).encode())
    for path in _code_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _code_files() -> list[Path]:
    """The `_CODE` packages' source files, sorted: the digest must not depend on the order a file
    system lists them in."""
    return sorted(
        path for package in _CODE for root in package.__path__ for path in Path(root).rglob("*.py")
    )


class NormalizeCache:
    """Normalization results stored as Parquet files in `directory`, by `entry_key`."""

    def __init__(self, directory: Path, *, keep: int = 4) -> None:
        self.directory = Path(directory)
        self.keep = keep

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NormalizeCache | None:
        """The cache at `default_directory`, or None where the environment switches it off."""
        directory = default_directory(environ)
        return None if directory is None else cls(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"normalized-{key}.parquet"

    def get(self, key: str) -> Cached | None:
        """The entry stored under `key`, read whole; None if there is none or it is not whole
        (then it is removed, for the result to be stored again)."""
        stored = self.open(key)
        if stored is None:
            return None
        return Cached(stored.valid().collect(), stored.rejects, stored.extra)

    def open(self, key: str) -> Stored | None:
        """The entry stored under `key`, its valid rows left in the file (`Stored`); None as
        for `get`."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            entry = _open(path)
        except (OSError, ValueError, KeyError, pl.exceptions.PolarsError):
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # the newest entries are the ones kept
        return entry

    def put(
        self,
        key: str,
        valid: pl.DataFrame | pl.LazyFrame,
        rejects: pl.DataFrame,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """Store a result under `key`, then drop the entries beyond the newest `keep`.

        `valid` may be a scan of rows kept on disk: they are streamed into the entry, never held
        whole. `extra` (JSON) is kept with it: what else a caller would otherwise read the files
        for, such as the row count or the group names, so that a hit needs no loading at all.
        """
        path = self.path(key)
        valid = valid.lazy()
        meta = {
            _VALID: {
                "columns": valid.collect_schema().names(),
                "rows": valid.select(pl.len()).collect().item(),
            },
            _REJECTS: {"columns": rejects.columns, "rows": rejects.height},
            "extra": dict(extra or {}),
        }
        both = pl.concat(
            [
                valid.with_columns(pl.lit(_VALID).alias(_PART)),
                rejects.lazy().with_columns(pl.lit(_REJECTS).alias(_PART)),
            ],
            how="diagonal_relaxed",
        )
        with storage.atomic_path(path) as temporary:
            both.sink_parquet(temporary, metadata={_META: json.dumps(meta)})
        self._evict()
        return path

    def _evict(self) -> None:
        entries = sorted(
            self.directory.glob("normalized-*.parquet"),
            key=lambda entry: entry.stat().st_mtime,
            reverse=True,
        )
        for stale in entries[self.keep :]:
            stale.unlink(missing_ok=True)


def _open(path: Path) -> Stored:
    """An entry's rejected rows and its valid rows' place, both checked against the counts
    written beside them."""
    meta = json.loads(pl.read_parquet_metadata(path)[_META])
    scan = pl.scan_parquet(path)
    rejects = scan.filter(pl.col(_PART) == _REJECTS).select(meta[_REJECTS]["columns"]).collect()
    valid_rows = scan.filter(pl.col(_PART) == _VALID).select(pl.len()).collect().item()
    for part, rows in ((_VALID, valid_rows), (_REJECTS, rejects.height)):
        if rows != meta[part]["rows"]:
            raise ValueError(f"{path}: {part} has {rows} rows, not {meta[part]['rows']}")
    return Stored(path, rejects, meta["extra"], valid_rows, meta[_VALID]["columns"])
