"""Which codec a CSV file is in, decided before polars sees its bytes.

polars reads UTF-8 only, and Windows CRMs and Excel write Windows-1252 when they do not write
UTF-8; a file that is not UTF-8 is decoded with the legacy codec and the run says so (`notes`).
"""

from __future__ import annotations

import codecs
from functools import partial
from pathlib import Path

__all__ = ["UTF8", "detect_encoding"]

UTF8 = frozenset({"utf-8", "utf-8-sig"})
"""The codecs polars reads as they are: no re-encoding, and nothing to tell the user."""
# Windows-1252 is what Excel and most Windows CRMs write when they do not write UTF-8; every byte
# sequence is valid Latin-1, so it is the last resort and never fails.
_LEGACY_ENCODINGS = ("cp1252", "latin-1")
_CHUNK_BYTES = 1 << 20


def detect_encoding(path: Path) -> str:
    """Prove the file is UTF-8 in one streaming pass, else name the legacy codec that decodes it.

    The whole file is checked because one `é` on line 90,000 is enough to break polars' reader.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        has_bom = handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
        handle.seek(0)
        try:
            for chunk in iter(partial(handle.read, _CHUNK_BYTES), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _legacy_encoding(path)
    return "utf-8-sig" if has_bom else "utf-8"


def _legacy_encoding(path: Path) -> str:
    data = path.read_bytes()
    for encoding in _LEGACY_ENCODINGS:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise AssertionError("latin-1 decodes any byte sequence")
