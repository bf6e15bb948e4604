"""What a file is, from its first bytes: names lie, contents do not.

CRM exports arrive renamed (`contacts.csv` that is gzip, `export.dat` that is a workbook), so a
file's format is read from its content: magic bytes for the binary formats, the inside of a zip
for workbooks (an .xlsx and an .ods are both zips), the first non-blank character for JSON, and
text for everything else, which the CSV reader then judges. A file in a format nobody could mean
as contacts (a PDF, an image, a Word document) is refused with one line that names what it looks
like and what is read instead, rather than being parsed as CSV into a confusing column list.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Literal, get_args

from pipeline.errors import UnreadableSourceError

__all__ = ["COMPRESSIONS", "READ_FORMATS", "Compression", "Format", "sniff"]

Compression = Literal["gzip", "zstd", "bzip2", "xz"]
Format = Literal["csv", "json", "parquet", "excel"] | Compression
"""What `sniff` finds; a compressed file is decompressed and sniffed again (`compressed`)."""
COMPRESSIONS: frozenset[str] = frozenset(get_args(Compression))

READ_FORMATS = (
    "sinch-groups reads CSV/TSV (also .gz/.zst/.bz2/.xz), Parquet, "
    "Excel (.xlsx/.xlsm/.xls/.ods), JSON and NDJSON"
)
"""The hint of every refusal of a format: what to convert the file to."""

_HEAD_BYTES = 512
_MAGIC: tuple[tuple[bytes, Format], ...] = (
    (b"PAR1", "parquet"),
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""Microsoft's compound file: a legacy .xls workbook, but also a .doc, .ppt or Outlook .msg."""
_OLE2_WORKBOOK_STREAMS = tuple(name.encode("utf-16-le") for name in ("Workbook", "Book"))
_NOT_CONTACTS: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3\x00", "an SQLite database (sync --query reads one)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program (an ELF executable)"),
)
_MARKUP = (
    (re.compile(rb"^\s*<(!doctype\s+html|html)", re.IGNORECASE), "an HTML page"),
    (re.compile(rb"^\s*<\?xml", re.IGNORECASE), "an XML document"),
)
_JSON_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:\{|\[\s*[\[\]{\"\d\-tfn])")
"""`{`, or `[` followed by a JSON value: a CSV header such as `[Phone],[Name]` stays CSV."""
_TAR_MAGIC_AT = 257
_ZIP_KINDS: tuple[tuple[str, str | None], ...] = (
    ("xl/workbook.xml", None),
    ("xl/workbook.bin", "an Excel binary workbook (.xlsb); save it as .xlsx"),
    ("word/document.xml", "a Word document"),
    ("ppt/presentation.xml", "a PowerPoint presentation"),
)
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ODF_MIMETYPE = b"application/vnd.oasis.opendocument."


def sniff(path: Path, name: Path | None = None) -> Format:
    """The format of the file at `path` by its content (its extension is not looked at).

    `name` is what an error calls the file (a decompressed copy is named by its original).
    Raises `UnreadableSourceError` for a format that is not read, naming what it looks like.
    """
    name = name or path
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    for magic, found in _MAGIC:
        if head.startswith(magic):
            return found
    if head.startswith(_ZIP_MAGIC):
        return _zip_format(path, name)
    if head.startswith(_OLE2_MAGIC):
        return _ole2_format(path, name)
    looks_like = _not_contacts(head)
    if looks_like is not None:
        raise unreadable_format(name, looks_like)
    return "json" if _JSON_START.match(head) else "csv"


def unreadable_format(name: Path, looks_like: str) -> UnreadableSourceError:
    """`cannot read x.pdf: it looks like a PDF document. sinch-groups reads CSV/TSV (...)`."""
    return UnreadableSourceError(name, f"it looks like {looks_like}", READ_FORMATS)


def _not_contacts(head: bytes) -> str | None:
    for magic, looks_like in _NOT_CONTACTS:
        if head.startswith(magic):
            return looks_like
    if head[_TAR_MAGIC_AT : _TAR_MAGIC_AT + 5] == b"ustar":
        return "a tar archive"
    return next((looks_like for pattern, looks_like in _MARKUP if pattern.match(head)), None)


def _zip_format(path: Path, name: Path) -> Format:
    """An .xlsx/.xlsm (`xl/workbook.xml`) or an .ods (its `mimetype` member) is a workbook;
    any other zip is named for what it holds."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            mimetype = archive.read("mimetype").strip() if "mimetype" in members else b""
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UnreadableSourceError(
            name, f"it is a damaged zip archive ({exc})", "Export or download it again"
        ) from exc
    if mimetype == _ODS_MIMETYPE:
        return "excel"
    if mimetype.startswith(_ODF_MIMETYPE):
        raise unreadable_format(name, "an OpenDocument file that is not a spreadsheet")
    for member, looks_like in _ZIP_KINDS:
        if member in members:
            if looks_like is None:
                return "excel"
            raise unreadable_format(name, looks_like)
    raise unreadable_format(name, "a zip archive, not a workbook; unzip it first")


def _ole2_format(path: Path, name: Path) -> Format:
    """A legacy .xls holds a `Workbook` (or, before Excel 97, `Book`) stream; its name sits in
    the compound file's directory as UTF-16."""
    data = path.read_bytes()
    if any(stream in data for stream in _OLE2_WORKBOOK_STREAMS):
        return "excel"
    raise unreadable_format(name, "a legacy Office document (Word, PowerPoint or Outlook)")
