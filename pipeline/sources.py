"""Load CRM contact exports (CSV or Parquet) into the raw contacts frame.

Real exports break a plain `read_csv` in predictable ways: Excel writes a BOM, European locales
use `;`, older systems write Windows-1252, and a reader that infers types turns a column of digits
into integers and drops the leading zero of every national number. So every CSV column is read as
text, the delimiter is sniffed from the header line, the encoding is checked before polars sees
the bytes, and each row keeps the file and line it came from so that a reject can send the user
back to it.

`source_line` conventions:
- CSV: the header is line 1 and the first record starts on line 2. A quoted field that spans
  several lines moves every later record down by as many lines, as an editor would number them.
  Blank lines (or lines of bare delimiters) are not contacts: they are skipped but still counted.
- A one-column CSV without a header (a plain list of numbers, as opt-out lists often are) starts
  on line 1.
- Parquet has no lines: `source_line` is the row number counted from 1.
"""

from __future__ import annotations

import codecs
import glob
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import polars as pl

from pipeline.errors import (
    MissingColumnError,
    NoPhoneColumnError,
    SourceNotFoundError,
    UnreadableSourceError,
)
from pipeline.schemas import RawContacts

__all__ = [
    "DELIMITERS",
    "PHONE_HEADERS",
    "RAW_SCHEMA",
    "LoadResult",
    "SourceFile",
    "load_contacts",
    "load_phone_list",
    "source_files",
]

RAW_SCHEMA = pl.Schema(
    {
        "source_file": pl.String,
        "source_line": pl.Int64,
        "phone_raw": pl.String,
        "region_raw": pl.String,
        "group": pl.String,
    }
)

# Compared after dropping case, spaces, `_`, `-` and `.`. Mobile names come first: SMS only reaches
# mobiles, so when an export has both a "Phone" and a "Mobile" column the mobile one is wanted.
PHONE_HEADERS: tuple[str, ...] = (
    "msisdn",
    "mobile",
    "mobilephone",
    "mobilenumber",
    "mobileno",
    "cell",
    "cellphone",
    "cellnumber",
    "phone",
    "phonenumber",
    "phoneno",
    "phonee164",
    "e164",
    "telephone",
    "telephonenumber",
    "tel",
    "number",
    "contactnumber",
)
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")

# Windows-1252 is what Excel and most Windows CRMs write when they do not write UTF-8; every byte
# sequence is valid Latin-1, so it is the last resort and never fails.
_LEGACY_ENCODINGS = ("cp1252", "latin-1")
_UTF8 = frozenset({"utf-8", "utf-8-sig"})
_HEADERLESS_COLUMN = "phone"
_LINE = "__source_line"
_LOOKS_LIKE_A_NUMBER = re.compile(r"^\s*\+?[\d\s().\-/]{6,}\s*$")
_GLOB_CHARS = re.compile(r"[*?\[]")
_QUOTED = re.compile(r'"[^"]*"')
_HEADER_KEY_NOISE = re.compile(r"[\s_\-.]")
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK_BYTES = 1 << 20
_HEAD_BYTES = 1 << 16

_CSV_HINT = (
    "Check that it is a text export: a row with more fields than the header usually means a wrong "
    "delimiter or an unclosed quote"
)
_PARQUET_HINT = "The file may be truncated or written by an incompatible tool; export it again"


@dataclass(frozen=True)
class SourceFile:
    """How one file was read, so the run report can say it (and a surprise encoding is visible)."""

    path: Path
    format: Literal["csv", "parquet"]
    phone_column: str
    rows: int
    encoding: str | None = None
    delimiter: str | None = None


@dataclass(frozen=True)
class LoadResult:
    """The raw contacts of every file of a source, in file order, with how each file was read."""

    frame: pl.DataFrame
    sources: tuple[SourceFile, ...]

    @property
    def files(self) -> list[Path]:
        return [source.path for source in self.sources]

    @property
    def phone_column(self) -> str:
        """The phone column used; files of a glob normally agree, else their names comma-joined."""
        return ", ".join(dict.fromkeys(source.phone_column for source in self.sources))

    @property
    def rows(self) -> int:
        return self.frame.height

    @property
    def encodings(self) -> dict[str, str]:
        """Codec per CSV file: `utf-8`, `utf-8-sig` (with BOM), or a legacy fallback."""
        return {str(s.path): s.encoding for s in self.sources if s.encoding is not None}

    @property
    def notes(self) -> list[str]:
        """Things the user should know although nothing failed (a guessed legacy encoding)."""
        return [
            f"{path}: not valid UTF-8, read as {encoding}"
            for path, encoding in self.encodings.items()
            if encoding not in _UTF8
        ]


@dataclass(frozen=True)
class _CsvLayout:
    encoding: str
    delimiter: str
    has_header: bool


@dataclass(frozen=True)
class _Wanted:
    """The column names the caller gave (None: detect the phone column, omit the others)."""

    phone: str | None
    region: str | None
    group: str | None


@dataclass(frozen=True)
class _Columns:
    """The file columns feeding the raw frame; None where the source has no such column."""

    phone: str
    region: str | None
    group: str | None


def load_contacts(
    source: str | Path | Sequence[str | Path],
    *,
    phone_column: str | None = None,
    country_column: str | None = None,
    group_column: str | None = None,
) -> LoadResult:
    """Read one file, a glob, or a list of either into the raw contacts frame (`RAW_SCHEMA`).

    The phone column is found by its header unless named; the country and group columns are only
    used when named, because guessing them wrong would silently misfile contacts.
    """
    wanted = _Wanted(phone_column, country_column, group_column)
    loaded = [_load_file(path, wanted) for path in _resolve(source)]
    return LoadResult(
        frame=RawContacts.validate(pl.concat([frame for frame, _ in loaded])),
        sources=tuple(info for _, info in loaded),
    )


def load_phone_list(
    source: str | Path | Sequence[str | Path], *, phone_column: str | None = None
) -> pl.DataFrame:
    """Read an opt-out or suppression list by the same rules as contacts.

    Same rules and the same frame shape, so the list goes through `normalize` too and a number
    matches however differently the two files wrote it.
    """
    return load_contacts(source, phone_column=phone_column).frame


def source_files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files `load_contacts` reads for a source, in its order, without reading them (what
    a cache key needs before deciding whether to load at all)."""
    return _resolve(source)


def _resolve(source: str | Path | Sequence[str | Path]) -> list[Path]:
    items = [source] if isinstance(source, str | Path) else list(source)
    paths = [path for item in items for path in _expand(str(item))]
    if not paths:
        raise SourceNotFoundError("no source file given")
    return list(dict.fromkeys(paths))


def _expand(item: str) -> list[Path]:
    if _GLOB_CHARS.search(item):
        matches = sorted(Path(match) for match in glob.glob(item, recursive=True))
        files = [path for path in matches if path.is_file()]
        if not files:
            raise SourceNotFoundError(f"no file matches {item!r}")
        return files
    path = Path(item)
    if path.is_dir():
        raise SourceNotFoundError(f"{item} is a directory; pass a file or a glob like {item}/*.csv")
    if not path.is_file():
        raise SourceNotFoundError(f"{item}: no such file")
    return [path]


def _load_file(path: Path, wanted: _Wanted) -> tuple[pl.DataFrame, SourceFile]:
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == _PARQUET_MAGIC:
        return _load_parquet(path, wanted)
    if magic == _ZIP_MAGIC:
        raise UnreadableSourceError(
            path, "it is a zip archive, most likely an Excel workbook", "Save the sheet as CSV"
        )
    return _load_csv(path, wanted)


def _load_csv(path: Path, wanted: _Wanted) -> tuple[pl.DataFrame, SourceFile]:
    layout = _sniff_csv(path)
    data = path if layout.encoding in _UTF8 else path.read_bytes().decode(layout.encoding).encode()
    with _reading(path, _CSV_HINT):
        lazy = pl.scan_csv(
            data,
            separator=layout.delimiter,
            has_header=layout.has_header,
            new_columns=None if layout.has_header else [_HEADERLESS_COLUMN],
            infer_schema=False,
        )
        available = lazy.collect_schema().names()
        picked = _pick_columns(path, available, wanted)
        header_lines = 1 + sum(name.count("\n") for name in available) if layout.has_header else 0
        frame = (
            lazy.with_columns(_csv_lines(available, header_lines + 1).alias(_LINE))
            .filter(pl.any_horizontal(pl.col(available).is_not_null()))
            .select(_raw_columns(path, picked, pl.col(_LINE)))
            .collect()
        )
    info = SourceFile(path, "csv", picked.phone, frame.height, layout.encoding, layout.delimiter)
    return frame, info


def _load_parquet(path: Path, wanted: _Wanted) -> tuple[pl.DataFrame, SourceFile]:
    with _reading(path, _PARQUET_HINT):
        lazy = pl.scan_parquet(path)
        schema = lazy.collect_schema()
        picked = _pick_columns(path, schema.names(), wanted)
        _refuse_lossy_floats(path, schema, picked.phone)
        frame = lazy.select(_raw_columns(path, picked, pl.int_range(1, pl.len() + 1))).collect()
    return frame, SourceFile(path, "parquet", picked.phone, frame.height)


@contextmanager
def _reading(path: Path, hint: str) -> Iterator[None]:
    """Turn a reader's failure into an error that names the file and says what to try."""
    try:
        yield
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        problem = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UnreadableSourceError(path, problem, hint) from exc


def _sniff_csv(path: Path) -> _CsvLayout:
    encoding = _detect_encoding(path)
    first = _first_line(path, encoding)
    if not first.strip():
        raise UnreadableSourceError(
            path, "the file is empty", "A contacts file needs at least a header line"
        )
    delimiter = _sniff_delimiter(first)
    headerless = delimiter not in first and _LOOKS_LIKE_A_NUMBER.match(first) is not None
    return _CsvLayout(encoding, delimiter, has_header=not headerless)


def _detect_encoding(path: Path) -> str:
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


def _first_line(path: Path, encoding: str) -> str:
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    line = head.split(b"\n", 1)[0]
    return line.decode(encoding, errors="replace").rstrip("\r")


def _sniff_delimiter(header: str) -> str:
    """The candidate seen most often outside quotes; a one-column header falls back to a comma."""
    unquoted = _QUOTED.sub("", header)
    best = max(DELIMITERS, key=unquoted.count)
    return best if unquoted.count(best) else ","


def _csv_lines(columns: Sequence[str], first_line: int) -> pl.Expr:
    """Each record's first physical line: earlier records may hold quoted line breaks."""
    breaks = pl.sum_horizontal(pl.col(columns).str.count_matches("\n", literal=True)).fill_null(0)
    return first_line + pl.int_range(pl.len()) + breaks.cum_sum() - breaks


def _pick_columns(path: Path, available: Sequence[str], wanted: _Wanted) -> _Columns:
    return _Columns(
        phone=_phone_column(path, available, wanted.phone),
        region=_named_column(path, available, wanted.region, flag="--country-column"),
        group=_named_column(path, available, wanted.group, flag="--group-column"),
    )


def _named_column(
    path: Path, available: Sequence[str], name: str | None, *, flag: str
) -> str | None:
    if name is None:
        return None
    found = _find_column(available, name)
    if found is None:
        raise MissingColumnError(path, name, available, flag=flag)
    return found


def _phone_column(path: Path, available: Sequence[str], wanted: str | None) -> str:
    if wanted is not None:
        found = _find_column(available, wanted)
        if found is None:
            raise NoPhoneColumnError(path, available, wanted)
        return found
    by_key = {_header_key(name): name for name in reversed(available)}
    for header in PHONE_HEADERS:
        if header in by_key:
            return by_key[header]
    raise NoPhoneColumnError(path, available)


def _find_column(available: Sequence[str], wanted: str) -> str | None:
    """An exact match, else the one column equal to it ignoring case, spaces and underscores."""
    if wanted in available:
        return wanted
    loose = [name for name in available if _header_key(name) == _header_key(wanted)]
    return loose[0] if len(loose) == 1 else None


def _header_key(name: str) -> str:
    return _HEADER_KEY_NOISE.sub("", name).casefold()


def _raw_columns(path: Path, picked: _Columns, line: pl.Expr) -> list[pl.Expr]:
    """The five raw columns; an integer phone column becomes its exact digits as text.

    Group names are trimmed because they are keys: `"VIP "` and `"VIP"` must not become two groups.
    """
    group = _as_text(picked.group).str.strip_chars()
    return [
        pl.lit(str(path), pl.String).alias("source_file"),
        line.cast(pl.Int64).alias("source_line"),
        _as_text(picked.phone).alias("phone_raw"),
        _as_text(picked.region).alias("region_raw"),
        pl.when(group != "").then(group).alias("group"),
    ]


def _as_text(column: str | None) -> pl.Expr:
    return pl.lit(None, pl.String) if column is None else pl.col(column).cast(pl.String)


def _refuse_lossy_floats(path: Path, schema: pl.Schema, column: str) -> None:
    """Float64 holds every 15-digit number exactly (`447911123456.0` is recovered downstream);
    Float32 keeps about 7 digits, so its values would be guesses and the file is refused."""
    if schema[column] == pl.Float32:
        raise UnreadableSourceError(
            path,
            f"column {column!r} is stored as 32-bit floats, which cannot hold phone numbers",
            "Export the phone column as text",
        )
