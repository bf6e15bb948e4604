"""Workbooks (.xlsx, .xlsm, .xls, .ods), read with calamine through `fastexcel`, the engine of
polars' `read_excel`, called directly for the sheet names and the blank rows polars would drop.

One sheet is read: the first, or the one `--sheet` names. Its first row is the header, as in an
export, and every cell is read as text, for the reason CSV is (a column of digits is not a column
of integers). A number cell is where a workbook differs: calamine spells it as its shortest
decimal (`447911123456.0` as `447911123456`), which is the number when Excel could hold it. When
it could not, the cell is spelled in scientific notation, as Excel shows it, so that the cleaning
rejects it as `excel_damaged` (`pipeline.phones.clean`) instead of reading a wrong number:
- more than 15 digits: Excel keeps 15 significant digits and replaces the rest with zeros;
- 12 digits or more, of which at most 6 are significant (`447911000000`): what a number shown as
  `4.47911E+11` becomes when the sheet is saved as CSV and opened again;
- a fractional part: no phone number has one.
calamine gives a text cell and a number cell alike, so a text cell of such digits is judged the
same way.

A formula cell is read as its cached value, the one Excel showed when the file was last saved;
a formula never calculated (written by a script) has none and is an `empty` reject.

`source_line` is the sheet's row number when the table starts in row 1: the header is row 1 and
the first contact row 2. calamine starts a sheet at its first non-empty row, so the rows of a
table placed lower are numbered from its header as row 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from pipeline.errors import UnreadableSourceError
from pipeline.load.columns import Columns, Wanted, pick_columns, raw_frame
from pipeline.load.detect import SAMPLE_ROWS
from pipeline.load.result import SourceFile

__all__ = ["excel_columns", "load_excel"]

_EXCEL_HINT = "The workbook may be damaged or password-protected; save it again, or as CSV"
_FIRST_CONTACT_ROW = 2
_EXCEL_DIGITS = 15
_SHOWN_DIGITS = 6
"""Significant digits Excel's General format shows of a number of 12 digits or more."""
_FRACTION = r"^\d+\.\d+$"
_TOO_LONG = rf"^[1-9]\d{{{_EXCEL_DIGITS},}}$"
_ROUNDED = rf"^[1-9]\d{{0,{_SHOWN_DIGITS - 1}}}0+$"
_ROUNDED_MIN_DIGITS = 12


@dataclass(frozen=True)
class _Sheet:
    frame: pl.DataFrame
    """Every column as text; row `i` is the sheet's row `i + 2`."""
    note: str | None
    """`read sheet 'Contacts', the first of 3 (--sheet NAME reads another)` when none was named."""


def load_excel(
    path: Path, wanted: Wanted, *, name: Path, sheet: str | None
) -> tuple[pl.DataFrame, SourceFile]:
    """Read one sheet of the workbook at `path` (named `name` in the rows and messages)."""
    table = _read_sheet(path, name, sheet)
    picked = pick_columns(name, table.frame.lazy(), wanted)
    frame = raw_frame(
        name,
        table.frame.with_columns(excel_number_text(pl.col(picked.phone))),
        picked,
        pl.int_range(_FIRST_CONTACT_ROW, pl.len() + _FIRST_CONTACT_ROW),
    )
    return frame, SourceFile(name, "excel", picked, frame.height, note=table.note)


def excel_columns(path: Path, wanted: Wanted, *, name: Path, sheet: str | None) -> Columns:
    """The columns `load_excel` would read, from the header and the first rows only."""
    return pick_columns(name, _read_sheet(path, name, sheet, rows=SAMPLE_ROWS).frame.lazy(), wanted)


def excel_number_text(cell: pl.Expr) -> pl.Expr:
    """The cell's text, or, for a number Excel could not have held whole, the number in
    scientific notation (`4.47911E+11`), which the cleaning rejects as `excel_damaged`."""
    integer = cell.str.extract(r"^(\d+)", 1)
    damaged = cell.str.contains(_FRACTION) | cell.str.contains(_TOO_LONG)
    damaged = damaged | (
        cell.str.contains(_ROUNDED) & (cell.str.len_chars() >= _ROUNDED_MIN_DIGITS)
    )
    significant = cell.str.replace(".", "", literal=True).str.strip_chars_end("0")
    mantissa = (
        pl.when(significant.str.len_chars() > 1)
        .then(significant.str.slice(0, 1) + "." + significant.str.slice(1))
        .otherwise(significant)
    )
    scientific = mantissa + "E+" + (integer.str.len_chars() - 1).cast(pl.String)
    return pl.when(damaged.fill_null(False)).then(scientific).otherwise(cell)


def _read_sheet(path: Path, name: Path, sheet: str | None, *, rows: int | None = None) -> _Sheet:
    try:
        # From its bytes: calamine then tells the format by content, not by the file's name.
        workbook = fastexcel.read_excel(path.read_bytes())
        names = workbook.sheet_names
        chosen = _sheet_name(name, names, sheet)
        frame = workbook.load_sheet(chosen, dtypes="string", n_rows=rows).to_polars()
    except fastexcel.FastExcelError as exc:
        problem = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UnreadableSourceError(name, problem, _EXCEL_HINT) from exc
    if frame.width == 0:
        raise UnreadableSourceError(
            name,
            f"sheet {chosen!r} is empty",
            "A contacts sheet needs a header row; pass --sheet to read another",
        )
    note = None
    if sheet is None and len(names) > 1:
        note = f"read sheet {chosen!r}, the first of {len(names)} (--sheet NAME reads another)"
    return _Sheet(frame, note)


def _sheet_name(name: Path, names: list[str], wanted: str | None) -> str:
    """The first sheet, or the one named: exactly, else the one equal to it ignoring case."""
    if not names:
        raise UnreadableSourceError(name, "the workbook has no sheet", _EXCEL_HINT)
    if wanted is None:
        return names[0]
    if wanted in names:
        return wanted
    loose = [sheet for sheet in names if sheet.casefold() == wanted.strip().casefold()]
    if len(loose) == 1:
        return loose[0]
    listed = ", ".join(repr(sheet) for sheet in names)
    raise UnreadableSourceError(
        name,
        f"it has no sheet {wanted!r}; its sheets are: {listed}",
        "Pass --sheet with one of them",
    )
