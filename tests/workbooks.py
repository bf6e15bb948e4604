"""Workbooks for the tests, written offline: .xlsx with xlsxwriter, .xls with xlwt, and .ods by
hand (a zip of a `mimetype` member and a `content.xml`, which is all calamine reads of one).

A sheet is a list of rows; a cell is a string (written as a text cell, never parsed), a number
(a number cell), None (no cell), or a `Formula` (a formula cell with its cached value).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import xlsxwriter
import xlwt


@dataclass(frozen=True)
class Formula:
    """A formula cell; `cached` is the value Excel would have stored when it last calculated
    (`""` for a formula never calculated, as scripts write them)."""

    formula: str
    cached: str | float


Cell = str | float | int | Formula | None
Sheets = dict[str, Sequence[Sequence[Cell]]]


def write_xlsx(path: Path, sheets: Sheets) -> Path:
    with xlsxwriter.Workbook(path) as workbook:
        for name, rows in sheets.items():
            sheet = workbook.add_worksheet(name)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if isinstance(value, Formula):
                        sheet.write_formula(r, c, value.formula, None, value.cached)
                    elif isinstance(value, str):
                        sheet.write_string(r, c, value)
                    elif value is not None:
                        sheet.write_number(r, c, value)
    return path


def write_xls(path: Path, sheets: Sheets) -> Path:
    """A legacy (Excel 97-2003) workbook; xlwt writes numbers as 64-bit floats, as Excel does."""
    workbook = xlwt.Workbook()
    for name, rows in sheets.items():
        sheet = workbook.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, Formula):
                    raise NotImplementedError("xlwt writes no cached formula values")
                if value is not None:
                    sheet.write(r, c, value)
    workbook.save(str(path))
    return path


_ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
_ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"'
)
_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODS_MIMETYPE}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def write_ods(path: Path, sheets: Sheets) -> Path:
    """An OpenDocument spreadsheet as LibreOffice lays one out, reduced to what a reader needs:
    the `mimetype` member first and uncompressed, a manifest, and the cells in `content.xml`."""
    tables = "".join(
        f"<table:table table:name={quoteattr(name)}>"
        + "".join(
            "<table:table-row>" + "".join(_ods_cell(value) for value in row) + "</table:table-row>"
            for row in rows
        )
        + "</table:table>"
        for name, rows in sheets.items()
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<office:document-content {_ODS_NAMESPACES}><office:body><office:spreadsheet>"
        f"{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), _ODS_MIMETYPE, compress_type=zipfile.ZIP_STORED
        )
        archive.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        archive.writestr("content.xml", content)
    return path


def _ods_cell(value: Cell) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, Formula):
        raise NotImplementedError("the hand-made .ods has no formulas")
    if isinstance(value, str):
        return f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p></table:table-cell>'
    return (
        f'<table:table-cell office:value-type="float" office:value="{value!r}">'
        f"<text:p>{value}</text:p></table:table-cell>"
    )
