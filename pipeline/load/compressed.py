"""Compressed exports (.gz, .zst, .bz2, .xz): decompressed into a temporary file, then read as
whatever they hold.

A temporary file rather than memory, because a compressed CSV is often a large one; and a file
rather than a stream, because the CSV reader settles the encoding in a pass of its own before
polars reads the bytes (`encoding`). The copy lives in a private temporary folder only while the
file is read, and every message and every row still names the compressed file.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, BinaryIO

import zstandard

from pipeline.errors import UnreadableSourceError
from pipeline.load.formats import Compression

__all__ = ["decompressed"]

_CHUNK_BYTES = 1 << 20
_STREAMS: dict[str, Callable[[BinaryIO], IO[bytes]]] = {
    "gzip": gzip.open,
    "bzip2": bz2.open,
    "xz": lzma.open,
}
_BROKEN = (EOFError, OSError, lzma.LZMAError, zstandard.ZstdError)
"""What a truncated or corrupt stream raises: `EOFError` for a cut one, `OSError` for a bad gzip
header or bzip2 data, `LZMAError` and `ZstdError` for bad xz and zstd data."""


@contextmanager
def decompressed(path: Path, compression: Compression, name: Path) -> Iterator[Path]:
    """The decompressed bytes of `path` in a temporary file, deleted on exit.

    A stream that ends early is refused: the rows of a cut export would look complete.
    """
    with tempfile.TemporaryDirectory(prefix="sinch-groups-") as folder:
        plain = Path(folder) / name.name
        try:
            with path.open("rb") as raw, plain.open("wb") as out:
                for chunk in _chunks(raw, compression):
                    out.write(chunk)
        except _BROKEN as exc:
            raise UnreadableSourceError(
                name,
                f"its {compression} data is truncated or damaged ({_first_line(exc)})",
                "Download or export it again",
            ) from exc
        yield plain


def _chunks(raw: BinaryIO, compression: Compression) -> Iterator[bytes]:
    if compression == "zstd":
        yield from _zstd_chunks(raw)
        return
    with _STREAMS[compression](raw) as stream:
        yield from iter(partial(stream.read, _CHUNK_BYTES), b"")


def _zstd_chunks(raw: BinaryIO) -> Iterator[bytes]:
    """zstd's stream reader stops quietly inside a cut frame, so the frames (the `zstd` tool
    may write several) are decoded one by one, and each must reach its end."""
    decoder, pending = zstandard.ZstdDecompressor().decompressobj(), False
    for chunk in iter(partial(raw.read, _CHUNK_BYTES), b""):
        while chunk:
            yield decoder.decompress(chunk)
            pending = True
            if not decoder.eof:
                break
            chunk, pending = decoder.unused_data, False
            decoder = zstandard.ZstdDecompressor().decompressobj()
    if pending:
        raise EOFError("the stream ends inside a zstd frame")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
