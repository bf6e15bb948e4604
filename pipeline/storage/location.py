"""Where a file is: a local path or a URL, parsed once, joined without string concatenation, and
printed with its secrets masked.

    Location.parse("contacts/*.csv")                       a local path (or glob)
    Location.parse("s3://bucket/exports/contacts.csv")     object storage: s3, gs, az/abfs
    Location.parse("https://user:pw@host/web.csv?sig=x")   http(s): read only

`str(location)` is the masked form, `scheme://user:***@host/path` with any query string dropped
(signed URLs carry their signature there), so a location formatted into a message, a report or a
file name can never leak a secret; the full URL is `location.url`, and only the code that opens a
connection reads it. Every operation takes a `Location` and dispatches on its kind: local ones
are `pathlib` calls, object storage goes through `remote`, http(s) through `web`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import SplitResult, urlsplit, urlunsplit

__all__ = ["Location", "is_url", "masked", "scrub"]

Kind = Literal["local", "object", "http"]
OBJECT_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "az", "azure", "abfs", "abfss", "adl"})
HTTP_SCHEMES = frozenset({"http", "https"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_SECRET_IN_TEXT = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/\s:@]*):[^/\s@]*@")
_QUERY_IN_TEXT = re.compile(r"(?P<url>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?'\"]*)\?[^\s'\"]*")


def is_url(where: object) -> bool:
    """A string naming object storage or http(s) (a `Path` never does: it would have eaten the
    second slash of `s3://`)."""
    if isinstance(where, Location):
        return where.kind != "local"
    if not isinstance(where, str):
        return False
    found = _SCHEME.match(where)
    return found is not None and found.group(1).lower() in OBJECT_SCHEMES | HTTP_SCHEMES


def masked(where: object) -> str:
    """`where` as it may be shown: password masked, query string dropped."""
    return str(where) if isinstance(where, Location | Path) else str(Location.parse(str(where)))


def scrub(text: str) -> str:
    """Any URL inside `text` masked the same way (for messages from libraries that quote URLs)."""
    text = _SECRET_IN_TEXT.sub(r"\g<scheme>\g<user>:***@", text)
    return _QUERY_IN_TEXT.sub(r"\g<url>", text)


@dataclass(frozen=True, slots=True)
class Location:
    """A file or folder, local or remote; immutable, joined with `/` like a `Path`."""

    kind: Kind
    url: str
    """The full path or URL, secrets included: only for the code that opens a connection."""

    @classmethod
    def parse(cls, where: str | Path | Location) -> Location:
        if isinstance(where, Location):
            return where
        if isinstance(where, Path) or not is_url(where):
            return cls("local", str(Path(where).expanduser()))
        parts = urlsplit(where)
        kind: Kind = "http" if parts.scheme.lower() in HTTP_SCHEMES else "object"
        path = parts.path if kind == "http" else parts.path.rstrip("/")
        return cls(kind, urlunsplit(parts._replace(scheme=parts.scheme.lower(), path=path)))

    # --- naming ---------------------------------------------------------------------------------

    @property
    def _parts(self) -> SplitResult:
        return urlsplit(self.url)

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def path(self) -> Path:
        """The local path; a remote location has none (read it with `local_copy`)."""
        if not self.is_local:
            raise ValueError(f"{self} is not a local path")
        return Path(self.url)

    @property
    def scheme(self) -> str:
        return "" if self.is_local else self._parts.scheme

    @property
    def bucket(self) -> str:
        """The bucket or container (object storage), the host (http), "" (local)."""
        return "" if self.is_local else self._parts.netloc

    @property
    def key(self) -> str:
        """The object's key inside its bucket, without a leading slash ("" for the bucket)."""
        return self.url if self.is_local else self._parts.path.lstrip("/")

    @property
    def name(self) -> str:
        return self.path.name if self.is_local else posixpath.basename(self._parts.path)

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1]

    @property
    def parent(self) -> Location:
        if self.is_local:
            return Location("local", str(self.path.parent))
        parts = self._parts
        folder = posixpath.dirname(parts.path.rstrip("/"))
        return self._with(parts, "" if folder == "/" else folder)

    def __truediv__(self, part: str) -> Location:
        return self.joinpath(part)

    def joinpath(self, *parts: str) -> Location:
        if self.is_local:
            return Location("local", str(self.path.joinpath(*parts)))
        split = self._parts
        return self._with(split, posixpath.join(split.path or "/", *parts))

    def _with(self, parts: SplitResult, path: str) -> Location:
        return Location(self.kind, urlunsplit(parts._replace(path=path)))

    def relative_to(self, other: Location) -> str:
        """The `/`-separated path of this location below `other`."""
        if self.is_local:
            return self.path.relative_to(other.path).as_posix()
        return posixpath.relpath(self._parts.path, other._parts.path or "/")

    def __str__(self) -> str:
        if self.is_local:
            return self.url
        parts = self._parts
        netloc = parts.netloc
        if parts.password is not None:
            host = netloc.rpartition("@")[2]
            netloc = f"{parts.username}:***@{host}"
        return urlunsplit(parts._replace(netloc=netloc, query="", fragment=""))

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"

    # --- reading and writing: dispatched on the kind ---------------------------------------------

    def exists(self) -> bool:
        """A file or a folder (on object storage: an object, or a prefix with objects under it)."""
        return self.is_file() or self.is_dir()

    def is_file(self) -> bool:
        if self.is_local:
            return self.path.is_file()
        from pipeline.storage import remote, web

        return web.exists(self) if self.kind == "http" else remote.head(self) is not None

    def is_dir(self) -> bool:
        if self.is_local:
            return self.path.is_dir()
        from pipeline.storage import remote

        return self.kind == "object" and remote.has_children(self)

    def iterdir(self) -> Iterator[Location]:
        """The files and folders directly below (object storage: objects and common prefixes)."""
        if self.is_local:
            yield from (Location("local", str(child)) for child in self.path.iterdir())
            return
        from pipeline.storage import remote

        yield from remote.children(self)

    def files(self) -> list[Location]:
        """Every file below this folder, at any depth, sorted."""
        if self.is_local:
            if not self.path.is_dir():
                return []
            found = (p for p in self.path.rglob("*") if p.is_file())
            return [Location("local", str(path)) for path in sorted(found)]
        from pipeline.storage import remote

        return remote.objects_below(self)

    def read_bytes(self) -> bytes:
        if self.is_local:
            return self.path.read_bytes()
        from pipeline.storage import remote, web

        return web.read_bytes(self) if self.kind == "http" else remote.read_bytes(self)

    def local_copy(self) -> Path:
        """A local file with this location's bytes: the file itself, or a fetched copy that
        prints as this location (see `remote.FetchedPath`), so every format sniffer, the
        encoding check and the cache's byte digest read a remote file like a local one."""
        if self.is_local:
            return self.path
        from pipeline.storage import remote, web

        return web.fetch(self) if self.kind == "http" else remote.fetch(self)

    def local_prefix(self, limit: int) -> tuple[Path, bool]:
        """A local file with at most the first `limit` bytes (one ranged GET, not the whole
        object), and whether it holds the whole file: what reading a header and the first rows
        needs. A local file is itself, whole."""
        if self.is_local:
            return self.path, True
        from pipeline.storage import remote, web

        fetched = web.fetch_prefix if self.kind == "http" else remote.fetch_prefix
        return fetched(self, limit)

    def fingerprint(self) -> str | None:
        """A remote file's version from one metadata request (object storage: ETag, size,
        last-modified; http: ETag, Last-Modified, Content-Length), so that whether it changed is
        known without downloading it; None where there is none (a local file, a web server that
        sends no validator): then only its bytes tell."""
        if self.is_local:
            return None
        from pipeline.storage import remote, web

        return web.fingerprint(self) if self.kind == "http" else remote.fingerprint(self)

    def upload(self, local: Path) -> None:
        """Replace this location with `local`'s bytes in one step (a local rename; on object
        storage one PUT, which readers see whole or not at all)."""
        if self.is_local:
            raise ValueError("upload is for remote locations; write local files with atomic_path")
        self._writable()
        from pipeline.storage import remote

        remote.upload(local, self)

    def delete(self) -> None:
        """Remove a file if it is there."""
        if self.is_local:
            self.path.unlink(missing_ok=True)
            return
        self._writable()
        from pipeline.storage import remote

        remote.delete(self)

    def delete_tree(self) -> None:
        """Remove a folder and everything below it, if it is there."""
        if self.is_local:
            import shutil

            shutil.rmtree(self.path, ignore_errors=True)
            return
        self._writable()
        from pipeline.storage import remote

        for location in remote.objects_below(self):
            remote.delete(location)

    def copy_to(self, target: Location) -> None:
        """Copy a file within one store (server-side on object storage)."""
        if self.is_local:
            import shutil

            target.path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.path, target.path)
            return
        self._writable()
        from pipeline.storage import remote

        remote.copy(self, target)

    def _writable(self) -> None:
        if self.kind == "http":
            from pipeline.storage.errors import StorageError

            raise StorageError(f"{self}: http(s) locations are read-only; write to s3, gs or az")
