"""Where bytes live: local paths and URLs (s3, gs, az/abfs, http(s)), written so that a reader
never sees half of a file, with the Parquet metadata every file the tool writes carries.

Every output (reports, rejects, snapshots, the state, the normalize cache) goes through
`atomic_path`: locally a temporary file renamed over the target, on object storage one PUT of a
finished local file. A crash or a dropped connection leaves the old file or the new one, never a
torn one. Every path the user gives is a `Location` (`location`): the only place paths and URLs
are parsed and joined, and where their secrets are masked for printing.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline import __version__
from pipeline.storage.errors import ObjectNotFoundError, StorageError
from pipeline.storage.location import Location, is_url, masked, scrub

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "COMPRESSION",
    "HOME_ENV",
    "METADATA_PREFIX",
    "Location",
    "ObjectNotFoundError",
    "StorageError",
    "Where",
    "atomic_path",
    "file_metadata",
    "home_dir",
    "is_url",
    "location",
    "masked",
    "matching",
    "native",
    "read_file_metadata",
    "read_parquet",
    "scan_parquet",
    "scrub",
    "storage_options",
    "using_storage_options",
    "write_parquet_atomic",
]

COMPRESSION = "zstd"
METADATA_PREFIX = "sinch_groups."
HOME_ENV = "SINCH_GROUPS_HOME"
GLOB_CHARS = re.compile(r"[*?\[]")

Where = str | Path | Location
"""What the library takes wherever a path is taken: a path, or a URL as a string."""
W = TypeVar("W", str, Path, Location)


def location(where: Where) -> Location:
    """`where` parsed: a `Path` is local, a string is a URL when it starts with a known scheme."""
    return Location.parse(where)


def native(where: Where) -> Path | Location:
    """A local location as the `Path` callers have always had; a remote one as a `Location`."""
    place = location(where)
    return place.path if place.is_local else place


def home_dir() -> Path:
    """The tool's own folder (the embedded emulator's state, the group locks): `$SINCH_GROUPS_HOME`,
    else `$XDG_DATA_HOME/sinch-groups`, else ~/.local/share/sinch-groups."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "sinch-groups"


def storage_options(where: Where) -> dict[str, str]:
    """The options polars needs to read or write `where` (empty: the environment's)."""
    from pipeline.storage import remote

    place = location(where)
    return remote.storage_options(place) if place.kind == "object" else {}


@contextmanager
def using_storage_options(options: Mapping[str, str] | None) -> Iterator[None]:
    """Use these object_store options (credentials from a deployment's block) inside the block."""
    from pipeline.storage import remote

    with remote.using_storage_options(options):
        yield


def matching(pattern: Where) -> list[Location]:
    """The files a remote path or glob names, sorted; ObjectNotFoundError when none.

    On object storage a glob lists the prefix before its first wildcard and matches the keys
    below (`*` and `?` stay within one `/` segment, `**` spans any); http(s) names one file.
    """
    place = location(pattern)
    if place.is_local:
        raise ValueError("matching is for URLs; local globs are the load package's")
    if place.kind == "http" and not GLOB_CHARS.search(place.key):
        return [place]  # fetching it says what is wrong (404, a cut connection, ...)
    if not GLOB_CHARS.search(place.key):
        if not place.is_file():
            raise ObjectNotFoundError(f"{place}: no such object")
        return [place]
    if place.kind == "http":
        raise StorageError(f"{place}: a web server cannot be listed; name each file")
    segments = place.key.split("/")
    fixed = next(i for i, part in enumerate(segments) if GLOB_CHARS.search(part))
    base = location(f"{place.scheme}://{place.bucket}").joinpath(*segments[:fixed])
    wanted = _glob_regex("/".join(segments[fixed:]))
    found = [each for each in base.files() if wanted.fullmatch(each.relative_to(base))]
    if not found:
        raise ObjectNotFoundError(f"no object matches {str(place)!r}")
    return found


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regular expression over `/`-separated keys."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


@contextmanager
def atomic_path(where: Where) -> Iterator[Path]:
    """Yield a local temporary path to write the whole file to.

    When the block ends, the file replaces `where` in one step: locally one rename beside it, on
    object storage one upload (readers see the old object or the new one). A reader, or a re-run
    after a crash, never sees a torn file. If the block raises, the temporary file is removed and
    `where` is left as it was.
    """
    place = location(where)
    if place.is_local:
        folder, name = place.path.parent, place.name
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder, name = None, posixpath.basename(place.key) or "object"
    handle, temporary_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        yield temporary
        if place.is_local:
            os.replace(temporary, place.path)
        else:
            place.upload(temporary)
    finally:
        temporary.unlink(missing_ok=True)


def file_metadata(kind: str, values: Mapping[str, object]) -> dict[bytes, bytes]:
    """`sinch_groups.*` key-value metadata: the file's kind, the tool's version, and `values`
    (dicts as JSON, anything else as text)."""
    out = {f"{METADATA_PREFIX}kind": kind, f"{METADATA_PREFIX}tool_version": __version__}
    for key, value in values.items():
        text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
        out[f"{METADATA_PREFIX}{key}"] = text
    return {key.encode(): value.encode() for key, value in out.items()}


def write_parquet_atomic(
    frame: pl.DataFrame, path: W, metadata: Mapping[str, object], *, kind: str
) -> W:
    """Write `frame` to `path` with `sinch_groups.*` metadata, replacing any old file in one step.

    Written by polars itself: a run that writes its state imports no pyarrow (tens of megabytes)."""
    values = {key.decode(): value.decode() for key, value in file_metadata(kind, metadata).items()}
    with atomic_path(path) as temporary:
        frame.write_parquet(temporary, compression=COMPRESSION, metadata=values)
    return path


def read_file_metadata(path: Where) -> dict[str, str]:
    """The `sinch_groups.*` key-value metadata of a Parquet file, without the prefix."""
    import polars as pl

    raw = _polars(pl.read_parquet_metadata, location(path))
    return {
        key[len(METADATA_PREFIX) :]: value
        for key, value in raw.items()
        if key.startswith(METADATA_PREFIX)
    }


def read_parquet(path: Where, **options: Any) -> pl.DataFrame:
    """`pl.read_parquet`, local or remote (polars' own cloud reader)."""
    import polars as pl

    return _polars(pl.read_parquet, location(path), **options)


def scan_parquet(path: Where, **options: Any) -> pl.LazyFrame:
    """`pl.scan_parquet`, local or remote (polars' own cloud reader)."""
    import polars as pl

    return _polars(pl.scan_parquet, location(path), **options)


def _polars(read: Any, place: Location, **options: Any) -> Any:
    """Call a polars reader on a location; a remote one with its storage options, its errors
    named by the masked location."""
    if place.is_local:
        return read(place.path, **options)
    from pipeline.storage import remote

    with remote.failing(place, "reading"):
        return read(place.url, storage_options=storage_options(place) or None, **options)
