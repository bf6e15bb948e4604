"""Object storage (s3, gs, az/abfs) through obstore: listing, fetching, uploading, copying and
deleting objects. Reading and writing Parquet goes through polars' own cloud I/O (`parquet`);
both are the Rust `object_store` crate, so they take the same options, spelled the same way
(`aws_endpoint_url`, `google_service_account`, `azure_storage_account_key`, ...), and read the
same environment variables. fsspec (s3fs, gcsfs, adlfs) would have needed a second spelling of
every option and a second credential chain.

Credentials come, in this order, from the options in effect (`using_storage_options`: what a
deployment's Prefect credentials block gives), the standard environment variables (`AWS_*`,
`GOOGLE_*`, `AZURE_*`, read by object_store itself), and for S3 the shared credentials and config
files (`~/.aws/credentials`, `~/.aws/config`, `AWS_PROFILE`), which object_store does not read.
"""

from __future__ import annotations

import atexit
import configparser
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.storage.errors import ObjectNotFoundError, StorageError
from pipeline.storage.location import Location, scrub

if TYPE_CHECKING:
    from obstore.store import ObjectStore

__all__ = [
    "FetchedPath",
    "children",
    "copy",
    "delete",
    "failing",
    "fetch",
    "fetch_prefix",
    "fingerprint",
    "has_children",
    "head",
    "objects_below",
    "read_bytes",
    "storage_options",
    "upload",
    "using_storage_options",
]

RETRIES = 3
RETRY_TIMEOUT = timedelta(seconds=30)
"""A dropped connection is retried a few times within this bound, then reported: a sync or an
export should fail in seconds with a clear message, not hang for object_store's 3-minute default."""

_in_effect: dict[str, str] = {}
_PROVIDERS = {"s3": "aws_", "s3a": "aws_", "gs": "google_", "gcs": "google_"}
_AWS_FILE_KEYS = {
    "aws_access_key_id": "aws_access_key_id",
    "aws_secret_access_key": "aws_secret_access_key",
    "aws_session_token": "aws_session_token",
}


@contextmanager
def using_storage_options(options: Mapping[str, str] | None) -> Iterator[None]:
    """Use `options` (object_store keys) for every remote location inside the block; a flow
    enters it with what its credentials block gives, so the library never sees a block."""
    saved = dict(_in_effect)
    _in_effect.update({key.lower(): str(value) for key, value in (options or {}).items()})
    _store_for.cache_clear()
    try:
        yield
    finally:
        _in_effect.clear()
        _in_effect.update(saved)
        _store_for.cache_clear()


def storage_options(location: Location) -> dict[str, str]:
    """The object_store options for `location`: those in effect for its provider, else (S3) the
    shared credentials file's; empty lets polars and obstore read the environment themselves."""
    prefix = _PROVIDERS.get(location.scheme, "azure_")
    options = {key: value for key, value in _in_effect.items() if key.startswith(prefix)}
    if prefix == "aws_" and "aws_access_key_id" not in options:
        options = {**_aws_shared_files(), **options}
    return options


def _aws_shared_files() -> dict[str, str]:
    """Credentials and region of `AWS_PROFILE` (else `default`) from the shared files, when the
    environment holds no key of its own."""
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        return {}
    profile = os.environ.get("AWS_PROFILE", "default")
    home = Path.home() / ".aws"
    credentials = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", home / "credentials"))
    config = Path(os.environ.get("AWS_CONFIG_FILE", home / "config"))
    found: dict[str, str] = {}
    for path, section in ((config, f"profile {profile}"), (credentials, profile)):
        parser = configparser.ConfigParser()
        parser.read(path)
        if profile == "default" and path == config and not parser.has_section(section):
            section = "default"
        if parser.has_section(section):
            values = parser[section]
            found |= {key: values[name] for key, name in _AWS_FILE_KEYS.items() if name in values}
            if "region" in values and not os.environ.get("AWS_REGION"):
                found["aws_region"] = values["region"]
    return found if "aws_access_key_id" in found or "aws_region" in found else {}


def _store(location: Location) -> ObjectStore:
    """One client per bucket, options and environment (a changed variable makes a new one)."""
    environment = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.startswith(("AWS_", "GOOGLE_", "AZURE_")))
    )
    options = tuple(storage_options(location).items())
    return _store_for(location.scheme, location.bucket, options, environment)


@lru_cache(maxsize=32)
def _store_for(
    scheme: str,
    bucket: str,
    options: tuple[tuple[str, str], ...],
    environment: tuple[tuple[str, str], ...],
) -> ObjectStore:
    from obstore.store import from_url

    config: Any = dict(options)
    retry: Any = {"max_retries": RETRIES, "retry_timeout": RETRY_TIMEOUT}
    return from_url(f"{scheme}://{bucket}", config=config, retry_config=retry)


@contextmanager
def failing(location: Location, doing: str) -> Iterator[None]:
    """Turn obstore's errors into StorageError naming the masked location."""
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError:
        raise ObjectNotFoundError(f"{location}: no such object or bucket") from None
    except PermissionError:
        raise StorageError(
            f"{location}: access denied while {doing}; check the credentials "
            "(AWS_*, GOOGLE_*, AZURE_* or the deployment's credentials block)"
        ) from None
    except Exception as error:  # obstore raises one class per store error, all plain Exceptions
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise StorageError(f"{location}: {doing} failed ({scrub(first)})") from None


def head(location: Location) -> dict[str, Any] | None:
    """The object's metadata (size, e_tag, last_modified), or None when there is none."""
    import obstore

    if not location.key:
        return None
    try:
        with failing(location, "reading"):
            return dict(obstore.head(_store(location), location.key))
    except ObjectNotFoundError:
        return None


def _prefix(location: Location) -> str:
    return f"{location.key}/" if location.key else ""


def _at(location: Location, key: str) -> Location:
    return Location.parse(f"{location.scheme}://{location.bucket}").joinpath(key)


def has_children(location: Location) -> bool:
    import obstore

    with failing(location, "listing"):
        stream = obstore.list(_store(location), prefix=_prefix(location) or None, chunk_size=1)
        return any(batch for batch in stream)


def children(location: Location) -> Iterator[Location]:
    import obstore

    with failing(location, "listing"):
        listed = obstore.list_with_delimiter(_store(location), prefix=_prefix(location) or None)
    for folder in listed["common_prefixes"]:
        yield _at(location, folder.rstrip("/"))
    for item in listed["objects"]:
        yield _at(location, item["path"])


def objects_below(location: Location) -> list[Location]:
    """Every object under the folder `location`, sorted by key."""
    import obstore

    with failing(location, "listing"):
        keys = [
            item["path"]
            for batch in obstore.list(_store(location), prefix=_prefix(location) or None)
            for item in batch
        ]
    return [_at(location, key) for key in sorted(keys)]


def read_bytes(location: Location) -> bytes:
    import obstore

    with failing(location, "reading"):
        return bytes(obstore.get(_store(location), location.key).bytes())


def upload(local: Path, location: Location) -> None:
    """One PUT (multipart for large files, completed in one request): readers see the old object
    or the new one, never a part."""
    import obstore

    with failing(location, "writing"):
        obstore.put(_store(location), location.key, local)


def delete(location: Location) -> None:
    import obstore

    with failing(location, "deleting"):
        obstore.delete(_store(location), location.key)


def copy(source: Location, target: Location) -> None:
    """A server-side copy: no byte passes through this machine."""
    import obstore

    with failing(target, "copying"):
        obstore.copy(_store(source), source.key, target.key)


# --- local copies of remote files -----------------------------------------------------------------


class FetchedPath(type(Path())):  # type: ignore[misc]
    """A local copy of a remote file that prints as the file's masked URL.

    The loaders take a `Path`, read it, and name it in the rows (`source_file`), the report and
    every error with `str(path)`: with this class they name the URL the user gave while reading
    the local bytes (`os.fspath` is the local file). Pickling keeps both.
    """

    _shown: str | None = None

    def __str__(self) -> str:
        return self._shown if self._shown is not None else super().__str__()

    def __fspath__(self) -> str:
        return super().__str__()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_fetched_path, (self.__fspath__(), self._shown))


def _fetched_path(local: str, shown: str | None) -> FetchedPath:
    path = FetchedPath(local)
    path._shown = shown
    return path


_fetched: dict[str, tuple[str, FetchedPath]] = {}
_fetch_root: list[Path] = []


def fetch_folder() -> Path:
    """This process's folder of fetched copies, removed when the process ends."""
    if not _fetch_root:
        _fetch_root.append(Path(tempfile.mkdtemp(prefix="sinch-groups-fetched-")))
        atexit.register(shutil.rmtree, _fetch_root[0], ignore_errors=True)
    return _fetch_root[0]


def local_name(location: Location, part: str = "") -> FetchedPath:
    """Where the copy of `location` goes: a folder per URL (and `part`: a prefix is not the
    whole copy), the object's own name kept (format detection may look at the suffix)."""
    folder = fetch_folder() / hashlib.sha256(f"{part}\0{location.url}".encode()).hexdigest()[:32]
    folder.mkdir(exist_ok=True)
    return _fetched_path(str(folder / (location.name or "object")), str(location))


def _version(meta: Mapping[str, Any]) -> str:
    """What names one version of an object: ETag, size and last-modified time (a rewrite
    changes the ETag; the other two guard a store whose ETags are weak)."""
    return "\0".join(
        f"{name}={meta.get(name)}" for name in ("e_tag", "size", "last_modified", "version")
    )


def _head_or_fail(location: Location) -> dict[str, Any]:
    meta = head(location)
    if meta is None:
        raise ObjectNotFoundError(f"{location}: no such object")
    return meta


def fingerprint(location: Location) -> str:
    """The object's version from one metadata request, no byte of it read: what the normalize
    cache keys a remote file on, so an unchanged re-sync downloads nothing."""
    return _version(_head_or_fail(location))


def fetch_prefix(location: Location, limit: int) -> tuple[FetchedPath, bool]:
    """At most the first `limit` bytes of the object in a local file, and whether that is the
    whole object. A small object is fetched whole (the copy `fetch` then reuses); of a large one
    one ranged GET reads the head, which is all a header and the first rows need."""
    import obstore

    meta = _head_or_fail(location)
    if int(meta.get("size") or 0) <= limit:
        return fetch(location), True
    path = local_name(location, "prefix")
    with failing(location, "reading"):
        data = obstore.get_range(_store(location), location.key, start=0, length=limit)
    Path(os.fspath(path)).write_bytes(bytes(data))
    return path, False


def fetch(location: Location) -> FetchedPath:
    """The object's bytes in a local file, fetched once per version (its ETag): the format
    sniffers and the loader of the same run read one download."""
    import obstore

    version = _version(_head_or_fail(location))
    known = _fetched.get(location.url)
    if known is not None and known[0] == version and Path(known[1]).is_file():
        return known[1]
    path = local_name(location)
    with failing(location, "reading"), Path(os.fspath(path)).open("wb") as handle:
        answer = obstore.get(_store(location), location.key)
        # 4 MiB chunks: measured against moto on loopback, 16 MiB chunks and 2-8 parallel
        # ranged GETs were no faster (76 MB: 0.11-0.16 s streamed, 0.20-0.36 s in parts).
        for chunk in answer.stream(min_chunk_size=1 << 22):
            handle.write(chunk)
    # The version the bytes are of (the GET's own metadata): a rewrite between the HEAD and the
    # GET leaves a copy that the next call fetches again rather than one named for old bytes.
    _fetched[location.url] = (_version(answer.meta), path)
    return path
