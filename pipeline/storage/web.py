"""http(s) sources: one streamed GET into a local file, with errors that say what went wrong.

A web server lists nothing and takes no writes, so an http(s) location is a single file to read;
user and password in the URL become Basic authentication (httpx does it), and neither they nor
a signed query string ever appear in a message (locations print masked).

Two cheaper reads spare the GET where the whole body is not needed: `fingerprint` (a HEAD: the
normalize cache keys on ETag / Last-Modified / Content-Length, so an unchanged file is not
downloaded) and `fetch_prefix` (a `Range` GET of the first bytes, for the header and first rows).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.storage.errors import ObjectNotFoundError, StorageError
from pipeline.storage.location import Location
from pipeline.storage.remote import FetchedPath, local_name

if TYPE_CHECKING:
    import httpx

__all__ = ["exists", "fetch", "fetch_prefix", "fingerprint", "read_bytes"]

TIMEOUT_S = 60.0
_CHUNK = 1 << 20


def exists(location: Location) -> bool:
    try:
        fetch(location)
    except ObjectNotFoundError:
        return False
    return True


def read_bytes(location: Location) -> bytes:
    return Path(os.fspath(fetch(location))).read_bytes()


def fetch(location: Location) -> FetchedPath:
    """GET the URL into a local file; the whole body or an error, never a truncated file."""
    path = local_name(location)
    try:
        _get(location, path)
    except BaseException:
        Path(os.fspath(path)).unlink(missing_ok=True)
        raise
    return path


def fingerprint(location: Location) -> str | None:
    """The file's version from a HEAD: its ETag and Last-Modified (and Content-Length); None
    when the server sends neither validator or refuses the HEAD, and the bytes must decide."""
    import httpx

    with _failing(location):
        answer = httpx.head(location.url, timeout=TIMEOUT_S, follow_redirects=True)
    if answer.status_code >= httpx.codes.BAD_REQUEST:
        return None  # the GET that follows says what is wrong, as it always has
    headers = answer.headers
    if "etag" not in headers and "last-modified" not in headers:
        return None
    return "\0".join(
        f"{name}={headers.get(name)}" for name in ("etag", "last-modified", "content-length")
    )


def fetch_prefix(location: Location, limit: int) -> tuple[FetchedPath, bool]:
    """At most the first `limit` bytes in a local file (a `Range` GET; of a server that ignores
    it, the body is cut off after `limit` bytes), and whether that is the whole file."""
    import httpx

    path = local_name(location, "prefix")
    headers = {"Range": f"bytes=0-{limit - 1}"}
    with (
        _failing(location),
        httpx.stream(
            "GET", location.url, headers=headers, timeout=TIMEOUT_S, follow_redirects=True
        ) as answer,
    ):
        _check(location, answer)
        data = bytearray()
        for chunk in answer.iter_bytes(_CHUNK):
            data += chunk
            if len(data) > limit:
                break
    total = answer.headers.get("content-range", "").rpartition("/")[2]
    whole = len(data) <= limit and (answer.status_code == httpx.codes.OK or total == str(len(data)))
    Path(os.fspath(path)).write_bytes(bytes(data[:limit]))
    return path, whole


def _get(location: Location, path: FetchedPath) -> None:
    import httpx

    with (
        _failing(location),
        httpx.stream("GET", location.url, timeout=TIMEOUT_S, follow_redirects=True) as answer,
        Path(os.fspath(path)).open("wb") as handle,
    ):
        _check(location, answer)
        for chunk in answer.iter_bytes(_CHUNK):
            handle.write(chunk)


def _check(location: Location, answer: httpx.Response) -> None:
    import httpx

    if answer.status_code == httpx.codes.NOT_FOUND:
        raise ObjectNotFoundError(f"{location}: not found (HTTP 404)")
    if answer.status_code >= httpx.codes.BAD_REQUEST:
        raise StorageError(
            f"{location}: the server answered HTTP {answer.status_code} "
            f"{answer.reason_phrase}".rstrip()
        )


@contextmanager
def _failing(location: Location) -> Iterator[None]:
    """httpx's transport errors as one line naming the masked location."""
    import httpx

    try:
        yield
    except (httpx.RemoteProtocolError, httpx.ReadError) as error:
        raise StorageError(
            f"{location}: the server closed the connection before the whole file arrived"
        ) from error
    except httpx.TimeoutException as error:
        raise StorageError(f"{location}: no answer within {TIMEOUT_S:.0f} s") from error
    except httpx.HTTPError as error:
        raise StorageError(
            f"{location}: cannot connect ({type(error).__name__}); check the host and port"
        ) from error
