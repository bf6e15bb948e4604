"""More file formats (issue 17): workbooks, compressed CSV, JSON and NDJSON load the contacts the
equivalent CSV loads; the format is told by content; a format that is not read is one line."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import zstandard
from typer.testing import CliRunner

from flows.cli import app
from pipeline.errors import NoPhoneColumnError, UnreadableSourceError
from pipeline.load import RAW_SCHEMA, load_contacts, source_columns
from pipeline.load.formats import READ_FORMATS
from pipeline.phones import normalize
from pipeline.sync.options import SyncOptions, SyncOptionsError
from tests.test_crm_samples import GROUP, count, plan
from tests.workbooks import Formula, write_ods, write_xls, write_xlsx

HEADER = ["Name", "Mobile", "Country"]
ROWS: list[list[str | None]] = [
    ["Ann", "+44 7911 123456", "GB"],
    ["Bob", "07911 123457", "United Kingdom"],
    ["Cleo", "0151 23456789", "DE"],
    ["Dan", "call me", "GB"],
    ["Eve", None, "GB"],
    ["Finn", "+1 202-555-0143", None],
    ["Gus", "4.47911E+11", "GB"],
]
"""Valid numbers, national ones read by their row's country, and three rejects (not a number,
empty, and a number a spreadsheet already damaged)."""


def csv_text() -> str:
    lines = [",".join(HEADER)] + [",".join(cell or "" for cell in row) for row in ROWS]
    return "\n".join(lines) + "\n"


def objects() -> list[dict[str, str | None]]:
    return [dict(zip(HEADER, row, strict=True)) for row in ROWS]


def compress(data: bytes, compression: str) -> bytes:
    compressors: dict[str, Callable[[bytes], bytes]] = {
        "gz": gzip.compress,
        "zst": zstandard.ZstdCompressor().compress,
        "bz2": bz2.compress,
        "xz": lzma.compress,
    }
    return compressors[compression](data)


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


WRITERS: dict[str, Callable[[Path], Path]] = {
    "csv.gz": lambda p: write_bytes(p, compress(csv_text().encode(), "gz")),
    "csv.zst": lambda p: write_bytes(p, compress(csv_text().encode(), "zst")),
    "csv.bz2": lambda p: write_bytes(p, compress(csv_text().encode(), "bz2")),
    "csv.xz": lambda p: write_bytes(p, compress(csv_text().encode(), "xz")),
    "xlsx": lambda p: write_xlsx(p, {"Contacts": [HEADER, *ROWS]}),
    "xls": lambda p: write_xls(p, {"Contacts": [HEADER, *ROWS]}),
    "ods": lambda p: write_ods(p, {"Contacts": [HEADER, *ROWS]}),
    "json": lambda p: write_bytes(p, json.dumps(objects(), indent=2).encode()),
    "ndjson": lambda p: write_bytes(p, "\n".join(map(json.dumps, objects())).encode()),
    "ndjson.gz": lambda p: write_bytes(
        p, compress("\n".join(map(json.dumps, objects())).encode(), "gz")
    ),
}


def outcome(source: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """(valid E.164 numbers, (raw value, reason) of each reject), in file order."""
    result = normalize(load_contacts(source).frame)
    rejects = result.rejects.sort("source_line")
    return (
        result.valid.sort("source_line")["phone_e164"].to_list(),
        list(zip(rejects["raw_value"].fill_null(""), rejects["reason"], strict=True)),
    )


@pytest.mark.parametrize("kind", list(WRITERS))
def test_every_format_loads_the_contacts_the_csv_loads(tmp_path: Path, kind: str) -> None:
    expected = outcome(write_bytes(tmp_path / "contacts.csv", csv_text().encode()))
    source = WRITERS[kind](tmp_path / f"contacts.{kind}")

    assert outcome(source) == expected
    assert expected[0] == ["+447911123456", "+447911123457", "+4915123456789", "+12025550143"]
    assert [reason for _, reason in expected[1]] == ["not_a_number", "empty", "excel_damaged"]
    loaded = load_contacts(source)
    assert loaded.frame.schema == RAW_SCHEMA
    assert [str(path) for path in loaded.files] == [str(source)]
    assert loaded.frame["source_file"].unique().to_list() == [str(source)]
    assert source_columns(source) == [info.columns for info in loaded.sources]


@pytest.mark.parametrize("compression", ["gz", "zst", "bz2", "xz"])
def test_compressed_csv_is_told_by_content_even_when_named_csv(
    tmp_path: Path, compression: str
) -> None:
    source = write_bytes(tmp_path / "contacts.csv", compress(csv_text().encode(), compression))

    loaded = load_contacts(source)

    assert loaded.sources[0].format == "csv"
    assert loaded.frame["source_line"].to_list() == list(range(2, 2 + len(ROWS)))
    assert loaded.frame["phone_raw"][0] == "+44 7911 123456"


def test_a_compressed_legacy_encoded_csv_is_still_decoded(tmp_path: Path) -> None:
    data = "phone,name\n+447911123456,Zoë\n".encode("cp1252")
    source = write_bytes(tmp_path / "contacts.csv.gz", gzip.compress(data))

    loaded = load_contacts(source)

    assert loaded.notes == [f"{source}: not valid UTF-8, read as cp1252"]


@pytest.mark.parametrize("compression", ["gz", "zst", "bz2", "xz"])
def test_a_truncated_compressed_file_is_refused_not_read_in_part(
    tmp_path: Path, compression: str
) -> None:
    whole = compress(("phone\n" + "+447911123456\n" * 5_000).encode(), compression)
    source = write_bytes(tmp_path / "contacts.csv", whole[: len(whole) // 2])

    with pytest.raises(UnreadableSourceError, match="data is truncated or damaged") as caught:
        load_contacts(source)
    assert str(source) in str(caught.value)


def contacts_sheet(*phones: object) -> list[list[object]]:
    return [["Mobile"], *([phone] for phone in phones)]


def test_a_workbook_reads_its_first_sheet_and_says_so(tmp_path: Path) -> None:
    source = write_xlsx(
        tmp_path / "book.xlsx",
        {"Contacts": contacts_sheet("+447911123456"), "Old": contacts_sheet("+447911000001")},
    )

    loaded = load_contacts(source)

    assert loaded.frame["phone_raw"].to_list() == ["+447911123456"]
    assert loaded.notes == [
        f"{source}: read sheet 'Contacts', the first of 2 (--sheet NAME reads another)"
    ]


def test_sheet_reads_the_named_sheet_and_matches_ignoring_case(tmp_path: Path) -> None:
    source = write_xlsx(
        tmp_path / "book.xlsx",
        {"Contacts": contacts_sheet("+447911123456"), "Old list": contacts_sheet("+447911000001")},
    )

    for sheet in ("Old list", "old LIST"):
        loaded = load_contacts(source, sheet=sheet)
        assert loaded.frame["phone_raw"].to_list() == ["+447911000001"]
        assert loaded.notes == []
    assert source_columns(source, sheet="Old list")[0].phone == "Mobile"


def test_a_missing_sheet_names_the_sheets_there_are(tmp_path: Path) -> None:
    source = write_xlsx(
        tmp_path / "book.xlsx", {"Contacts": contacts_sheet("1"), "Old": contacts_sheet("2")}
    )

    with pytest.raises(UnreadableSourceError) as caught:
        load_contacts(source, sheet="Newsletter")

    assert str(caught.value) == (
        f"cannot read {source}: it has no sheet 'Newsletter'; its sheets are: 'Contacts', "
        "'Old'. Pass --sheet with one of them"
    )


def test_sheet_is_refused_for_a_file_that_is_not_a_workbook(tmp_path: Path) -> None:
    source = write_bytes(tmp_path / "contacts.csv", csv_text().encode())

    with pytest.raises(UnreadableSourceError, match="--sheet names a sheet of a workbook"):
        load_contacts(source, sheet="Contacts")


def test_sheet_changes_the_cache_key_and_goes_with_a_file_only() -> None:
    first = SyncOptions(source="book.xlsx", group="G")
    other = SyncOptions(source="book.xlsx", group="G", sheet="Old")

    assert first.normalize_options() != other.normalize_options()
    assert other.flow_parameters()["sheet"] == "Old"
    with pytest.raises(SyncOptionsError, match="--sheet"):
        SyncOptions(query="select 1", db="sqlite:///x.db", group="G", sheet="Old")


@pytest.mark.parametrize("write", [write_xlsx, write_xls, write_ods])
def test_number_cells_become_their_digits(tmp_path: Path, write: Callable[..., Path]) -> None:
    source = write(
        tmp_path / f"numbers.{write.__name__.removeprefix('write_')}",
        {"Contacts": contacts_sheet(447911123456, 447911123457.0, 12025550143)},
    )

    result = normalize(load_contacts(source).frame)

    assert result.valid["phone_e164"].to_list() == [
        "+447911123456",
        "+447911123457",
        "+12025550143",
    ]
    assert result.rejects.is_empty()


def test_numbers_excel_could_not_hold_whole_are_excel_damaged(tmp_path: Path) -> None:
    damaged = {
        447911000000: "4.47911E+11",  # shown as 4.47911E+11, saved as CSV, opened again
        4479111234567891: "4.479111234567891E+15",  # more digits than Excel keeps
        447911123456.5: "4.479111234565E+11",  # no phone number has a fraction
    }
    source = write_xlsx(
        tmp_path / "damaged.xlsx", {"Contacts": contacts_sheet(*damaged, 441234567000)}
    )

    result = normalize(load_contacts(source).frame)

    assert result.rejects["raw_value"].to_list() == list(damaged.values())
    assert set(result.rejects["reason"]) == {"excel_damaged"}
    assert result.valid["phone_e164"].to_list() == ["+441234567000"], "7 significant digits"


def test_a_formula_cell_reads_its_cached_value_and_an_uncalculated_one_is_empty(
    tmp_path: Path,
) -> None:
    source = write_xlsx(
        tmp_path / "formulas.xlsx",
        {
            "Contacts": [
                ["Mobile", "Name"],
                [Formula('="+44"&"7911123456"', "+447911123456"), "Al"],
                [Formula("=447911123457", 447911123457), "Bo"],
                [Formula('="+44"&B1', ""), "Cy"],
            ]
        },
    )

    result = normalize(load_contacts(source).frame)

    assert result.valid["phone_e164"].to_list() == ["+447911123456", "+447911123457"]
    assert result.rejects.select("source_line", "reason").rows() == [(4, "empty")]


def test_workbook_rows_are_numbered_as_the_sheet_numbers_them(tmp_path: Path) -> None:
    source = write_xlsx(
        tmp_path / "book.xlsx",
        {"Contacts": [["Mobile", "Name"], ["+447911123456", "Al"], [None, None], ["07911", "Bo"]]},
    )

    frame = load_contacts(source).frame

    assert frame.select("source_line", "phone_raw").rows() == [
        (2, "+447911123456"),
        (4, "07911"),
    ]


def test_an_empty_sheet_is_unreadable_and_a_header_only_sheet_has_no_rows(tmp_path: Path) -> None:
    source = write_xlsx(tmp_path / "book.xlsx", {"Empty": [], "Header": [["Mobile"]]})

    with pytest.raises(UnreadableSourceError, match="sheet 'Empty' is empty"):
        load_contacts(source)
    assert load_contacts(source, sheet="Header").frame.height == 0


def test_json_numbers_keep_every_digit(tmp_path: Path) -> None:
    source = write_bytes(
        tmp_path / "contacts.json",
        b'[{"phone": 447911123456}, {"phone": 447911123457.0}, {"phone": 4479111234567891}]',
    )

    frame = load_contacts(source).frame

    assert frame["phone_raw"].to_list() == ["447911123456", "447911123457.0", "4479111234567891"]
    assert frame["source_line"].to_list() == [1, 2, 3]


def test_ndjson_rows_are_numbered_by_line_and_missing_keys_are_empty(tmp_path: Path) -> None:
    source = write_bytes(
        tmp_path / "contacts.ndjson",
        b'{"phone": "+447911123456", "segment": "VIP"}\n\n{"phone": "+447911123457"}\n',
    )

    frame = load_contacts(source, group_column="segment").frame

    assert frame.select("source_line", "phone_raw", "group").rows() == [
        (1, "+447911123456", "VIP"),
        (3, "+447911123457", None),
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[1, 2, 3]", "item 1 of its array is a number, not an object"),
        (b'[{"phone": "1"}, "x"]', "item 2 of its array is a string, not an object"),
        (b'{\n  "contacts": [{"phone": "1"}]\n}', "it is a JSON object (keys: 'contacts')"),
        (b"[]", "the JSON file holds no contact"),
        (b'[{"phone": "1"}', "it is not valid JSON"),
        (b'{"phone": "1"}\n{"phone": "2"}\n{"phone": \n{"phone": "4"}\n', "line 3 is not valid"),
        (b'{"phone": "1"}\n[2]\n', "line 2 is an array, not an object"),
    ],
    ids=["array-of-numbers", "array-of-mixed", "wrapper", "empty", "truncated", "ndjson", "row"],
)
def test_json_that_is_not_rows_of_objects_is_one_error(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    source = write_bytes(tmp_path / "contacts.json", content)

    with pytest.raises(UnreadableSourceError) as caught:
        load_contacts(source)

    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_json_scalar_is_read_as_text_and_has_no_phone_column(tmp_path: Path) -> None:
    source = write_bytes(tmp_path / "contacts.json", b'"just a string"\n')

    with pytest.raises(NoPhoneColumnError, match="'just a string'"):
        load_contacts(source)


def test_one_plain_object_is_one_contact(tmp_path: Path) -> None:
    source = write_bytes(tmp_path / "one.json", b'{"phone": "+447911123456", "name": "Al"}')

    assert load_contacts(source).frame["phone_raw"].to_list() == ["+447911123456"]


def zip_of(*members: str) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        with zipfile.ZipFile(path, "w") as archive:
            for member in members:
                archive.writestr(member, "x")
        return path

    return build


def sqlite_database(path: Path) -> Path:
    with sqlite3.connect(path) as connection:
        connection.execute("create table contacts (phone text)")
    return path


UNREAD_FORMATS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "pdf": (lambda p: write_bytes(p, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "a PDF document"),
    "png": (lambda p: write_bytes(p, b"\x89PNG\r\n\x1a\n" + bytes(64)), "a PNG image"),
    "zip": (zip_of("contacts.csv"), "a zip archive, not a workbook; unzip it first"),
    "docx": (zip_of("[Content_Types].xml", "word/document.xml"), "a Word document"),
    "xlsb": (zip_of("xl/workbook.bin"), "an Excel binary workbook (.xlsb); save it as .xlsx"),
    "sqlite": (sqlite_database, "an SQLite database (sync --query reads one)"),
    "html": (
        lambda p: write_bytes(p, b"<!DOCTYPE html>\n<html><body>Sign in</body></html>"),
        "an HTML page",
    ),
    "doc": (
        lambda p: write_bytes(p, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)),
        "a legacy Office document (Word, PowerPoint or Outlook)",
    ),
}


@pytest.mark.parametrize("kind", list(UNREAD_FORMATS))
def test_a_format_that_is_not_read_is_named_in_one_line(tmp_path: Path, kind: str) -> None:
    build, looks_like = UNREAD_FORMATS[kind]
    source = build(tmp_path / "contacts.csv")

    with pytest.raises(UnreadableSourceError) as caught:
        source_columns(source)

    assert str(caught.value) == f"cannot read {source}: it looks like {looks_like}. {READ_FORMATS}"


def test_a_gzipped_pdf_is_named_by_the_compressed_file(tmp_path: Path) -> None:
    source = write_bytes(tmp_path / "contacts.csv.gz", gzip.compress(b"%PDF-1.7\n"))

    with pytest.raises(UnreadableSourceError, match=r"contacts\.csv\.gz: it looks like a PDF"):
        load_contacts(source)


def test_a_csv_header_in_brackets_is_not_taken_for_json(tmp_path: Path) -> None:
    source = write_bytes(tmp_path / "contacts.csv", b"[Phone],[Name]\n+447911123456,Al\n")

    assert load_contacts(source).frame["phone_raw"].to_list() == ["+447911123456"]


SALESFORCE = Path(__file__).resolve().parents[1] / "data" / "samples" / "salesforce_contacts.csv"
runner = CliRunner()


def cli_dry_run(source: Path, *flags: str) -> str:
    result = runner.invoke(
        app,
        ["sync", str(source), "--group", GROUP, "--dry-run", "--no-progress", *flags],
        terminal_width=250,
    )
    assert result.exit_code == 0, result.output
    return result.output


def summary(output: str) -> tuple[object, ...]:
    """What a dry run says of the contacts: the columns line, the counts and the plan."""
    columns = next(line for line in output.splitlines() if line.startswith("phone column:"))
    counts = tuple(count(output, row) for row in ("read", "valid", "rejected"))
    return columns, counts, plan(output)


@pytest.mark.usefixtures("wide_console", "sinch_env")
def test_sync_of_a_workbook_or_a_gzip_plans_what_the_csv_plans(tmp_path: Path) -> None:
    export = pl.read_csv(SALESFORCE, infer_schema=False)
    workbook = tmp_path / "salesforce.xlsx"
    export.write_excel(workbook, worksheet="Contacts")
    gzipped = write_bytes(tmp_path / "salesforce.csv.gz", gzip.compress(SALESFORCE.read_bytes()))

    expected = summary(cli_dry_run(SALESFORCE))

    assert expected[1:] == ((14, 12, 2), (0, 12, 0, 12))
    assert summary(cli_dry_run(workbook)) == expected
    assert summary(cli_dry_run(gzipped)) == expected


@pytest.mark.usefixtures("wide_console", "sinch_env")
def test_sync_sheet_reads_that_sheet_and_a_missing_one_is_one_error_line(tmp_path: Path) -> None:
    source = write_xlsx(
        tmp_path / "book.xlsx",
        {"Notes": [["text"], ["hello"]], "Contacts": contacts_sheet("+447911123456")},
    )

    assert summary(cli_dry_run(source, "--sheet", "Contacts"))[1] == (1, 1, 0)
    result = runner.invoke(
        app, ["sync", str(source), "--group", GROUP, "--dry-run", "--sheet", "Nope"]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: cannot read {source}: it has no sheet 'Nope'; its sheets are: 'Notes', "
        "'Contacts'. Pass --sheet with one of them"
    ]
