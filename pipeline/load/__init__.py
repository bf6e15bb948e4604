"""The load stage: CRM contact exports (CSV/TSV, compressed or not, Parquet, Excel and
OpenDocument workbooks, JSON and NDJSON) into the raw contacts frame.

Real exports break a plain `read_csv` in predictable ways: Excel writes a BOM, European locales
use `;`, older systems write Windows-1252, and a reader that infers types turns a column of digits
into integers and drops the leading zero of every national number. So every column is read as
text, and each row keeps the file and line it came from, so that a reject can send the user back
to it. The modules: `files` (which files a source names), `formats` (what a file is, by its
content), `contacts` (a file by its format), `compressed` (.gz/.zst/.bz2/.xz, decompressed and
read as what they hold), `delimited` and `encoding` (CSV and its kin), `parquet`, `excel`
(workbooks, one sheet), `jsonfile` (JSON arrays and NDJSON), `columns` (which columns, and the raw
frame), `detect` (the phone and country columns nobody named), `result` (what a load gives),
`describe` (the columns line a run prints before it starts).

`source_line` conventions:
- CSV: the header is line 1 and the first record starts on line 2. A quoted field that spans
  several lines moves every later record down by as many lines, as an editor would number them.
  Blank lines (or lines of bare delimiters) are not contacts: they are skipped but still counted.
- A one-column CSV without a header (a plain list of numbers, as opt-out lists often are) starts
  on line 1.
- Parquet has no lines: `source_line` is the row number counted from 1.
- A workbook: the sheet's row number (the header row is 1, the first contact row 2; a table
  that starts lower is numbered from its header row, see `excel`).
- JSON: an array's item number counted from 1; NDJSON: the line number (blank lines skipped
  but counted). A compressed file is numbered as what it holds.
- A database query (`database`; `pipeline.dburi` keeps its URI secret) has none either:
  `source_line` is the row number counted from 1, and `source_file` is `query`.
"""

from __future__ import annotations

from pipeline.load.columns import PHONE_HEADERS, RAW_SCHEMA, Columns
from pipeline.load.contacts import load_contacts, load_phone_list, source_columns, stream_contacts
from pipeline.load.database import QUERY_LABEL, load_query, query_columns
from pipeline.load.delimited import DELIMITERS
from pipeline.load.describe import describe_columns
from pipeline.load.files import source_files, source_locations, source_samples
from pipeline.load.result import ContactStream, LoadResult, SourceFile

__all__ = [
    "DELIMITERS",
    "PHONE_HEADERS",
    "QUERY_LABEL",
    "RAW_SCHEMA",
    "Columns",
    "ContactStream",
    "LoadResult",
    "SourceFile",
    "describe_columns",
    "load_contacts",
    "load_phone_list",
    "load_query",
    "query_columns",
    "source_columns",
    "source_files",
    "source_locations",
    "source_samples",
    "stream_contacts",
]
