"""Hostile and broken input through the real `sinch-groups sync` command, against a live emulator.

Each input must end in one readable `Error: ...` line or in reasoned rejects: never a traceback,
and never a partial change. The files are fed in `--mode mirror` (the mode that removes members)
to a group that already has members, so the only acceptable outcomes are an error before any
write or, for files that load, the removal guard (or, with no valid row, the refusal to go on)
refusing before any write; the emulator's
`modified_at` of every group proves that nothing was written, not even a no-op.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import json
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app
from sinch_emulator import EmulatorServer
from tests.live import members_by_name, seed_group
from tests.workbooks import Formula, Sheets, write_xlsx

from .helpers import TRACEBACK, assert_one_line_error, groups_raw

runner = CliRunner()
run = asyncio.run
"""The command runs its own event loop (asyncio.run), so these tests are synchronous."""
pytestmark = pytest.mark.usefixtures("wide_console")

AUDIENCE = [f"+447900{i:06d}" for i in range(20)]
"""The members of the group every broken file is mirrored into."""


def parquet(path: Path, frame: pl.DataFrame) -> str:
    frame.write_parquet(path)
    return str(path)


def truncated_parquet(path: Path) -> str:
    full = path.with_name("full.parquet")
    pl.DataFrame({"phone": AUDIENCE * 50}).write_parquet(full)
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return str(path)


def truncated_crm_export(path: Path) -> str:
    """The full export (the group's members and five more), cut mid-line at 30 % of its bytes."""
    rows = "".join(f"{number},Customer {i}\n" for i, number in enumerate(AUDIENCE))
    rows += "".join(f"+447900{100 + i:06d},New {i}\n" for i in range(5))
    data = ("phone,name\n" + rows).encode()
    path.write_bytes(data[: int(len(data) * 0.3)])
    return str(path)


def write(data: bytes) -> Callable[[Path], str]:
    def build(path: Path) -> str:
        path.write_bytes(data)
        return str(path)

    return build


def garbage(path: Path) -> str:
    rng = random.Random(7)
    path.write_bytes(bytes(rng.randrange(256) for _ in range(20_000)))
    return str(path)


MIXED = "phone,name\n+447900000001,Zoë\n".encode() + "+447900000002,Zoë\n".encode("cp1252")
BROKEN_FILES: dict[str, tuple[Callable[[Path], str], str]] = {
    # id: (build the file in a folder, return the SOURCE argument), text the error line must hold
    "empty": (write(b""), "the file is empty"),
    "header-only": (write(b"phone\n"), "has a header but no rows: nothing to sync"),
    "no-phone-column": (write(b"name,email\nAl,al@example.com\n"), "--phone-column"),
    "binary-garbage": (garbage, "phone column"),
    "truncated-parquet": (truncated_parquet, "truncated"),
    "damaged-zip": (write(b"PK\x03\x04" + b"\x00" * 100), "it is a damaged zip archive"),
    "10MB-line": (
        write(b"phone\n" + b"7" * 10_000_000 + b"\n"),
        "the one row is not valid, so nothing was changed",
    ),
    "10MB-header": (write(b"x" * 10_000_000 + b"\n1\n"), "phone column"),
    "mixed-encodings": (write(MIXED), "would lose 18 of 20 members"),
    "ragged-rows": (write(b"phone,name\n+447900000001,Al,extra,fields\n"), "delimiter"),
    "unclosed-quote": (write(b'phone,name\n"+447900000001,Al\n+447900000002,Bo\n'), "quote"),
    "int64-parquet": (
        lambda p: parquet(p, pl.DataFrame({"phone": [447900000000, 447900000001]})),
        "would lose 18 of 20 members",
    ),
    "float64-parquet": (
        lambda p: parquet(p, pl.DataFrame({"phone": [447900000000.0, None]})),
        "would lose 19 of 20 members",
    ),
    "list-parquet": (
        lambda p: parquet(p, pl.DataFrame({"phone": [[447900000000]]})),
        "cannot read",
    ),
    "missing-path": (lambda p: str(p.with_name("nope.csv")), "no such file"),
    "directory": (lambda p: str(p.parent), "is a directory"),
    "glob-matching-nothing": (lambda p: str(p.parent / "*.nothing"), "no file matches"),
    "truncated-crm-export": (truncated_crm_export, "removal guard tripped, nothing was changed"),
}


BROKEN_FILES["markup-in-header"] = (write(b"name,[/],[bold]x\nAl,1,2\n"), "'[/]', '[bold]x'")


def truncated_gzip(path: Path) -> str:
    whole = gzip.compress(("phone\n" + "\n".join(AUDIENCE * 100) + "\n").encode())
    path.write_bytes(whole[: len(whole) // 2])
    return str(path)


def zip_of_csv(path: Path) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("contacts.csv", "phone\n" + "\n".join(AUDIENCE))
    return str(path)


def workbook(sheets: Sheets) -> Callable[[Path], str]:
    return lambda path: str(write_xlsx(path, sheets))


UNCALCULATED = [[Formula(f'="+44"&"{number[3:]}"', ""), "x"] for number in AUDIENCE[:3]]
"""Formulas a script wrote and Excel never calculated: no cached value, so no number."""
BROKEN_FILES |= {
    "truncated-gzip": (truncated_gzip, "its gzip data is truncated or damaged"),
    "excel-formula-in-the-phone-column": (
        workbook({"Contacts": [["phone", "name"], *UNCALCULATED]}),
        "none of the 3 rows is valid, so nothing was changed; top reasons: empty 3",
    ),
    "empty-sheet": (workbook({"Sheet1": [], "Sheet2": [["phone"]]}), "sheet 'Sheet1' is empty"),
    "json-array-of-numbers": (write(b"[1, 2, 3]"), "item 1 of its array is a number"),
    "json-object": (write(b'{\n  "a": 1,\n  "b": [2]\n}'), "it is a JSON object (keys: 'a', 'b')"),
    "json-scalar": (write(b'"+447900000001"'), "phone column"),
    "ndjson-broken-line": (
        write(b'{"phone": "+447900000001"}\n{"phone": "+4479\n'),
        "line 2 is not valid JSON",
    ),
    "pdf": (
        write(b"%PDF-1.7\n" + bytes(100)),
        "it looks like a PDF document. sinch-groups reads CSV/TSV (also .gz/.zst/.bz2/.xz), "
        "Parquet, Excel (.xlsx/.xlsm/.xls/.ods), JSON and NDJSON",
    ),
    "zip-of-csv": (zip_of_csv, "it looks like a zip archive, not a workbook; unzip it first"),
}
CASES = list(BROKEN_FILES)


@pytest.mark.parametrize("case", CASES)
def test_a_broken_file_is_one_error_line_and_changes_nothing(
    case: str, sinch_env: EmulatorServer, prefect_harness: str, tmp_path: Path
) -> None:
    build, expected = BROKEN_FILES[case]
    (tmp_path / "in").mkdir()
    source = build(tmp_path / "in" / f"{case}.data")
    run(seed_group(sinch_env, "Audience", AUDIENCE))
    before = groups_raw(sinch_env)

    result = runner.invoke(
        app, ["sync", source, "--group", "Audience", "--mode", "mirror", "--no-progress"]
    )

    assert result.exit_code == 1, result.output
    line = assert_one_line_error(result.output)
    assert expected in line
    assert len(line) < 2_000, "an error line stays readable whatever the file holds"
    assert groups_raw(sinch_env) == before, "nothing was written, not even a no-op"


ARABIC_INDIC, DEVANAGARI, FULLWIDTH = 0x0660, 0x0966, 0xFF10
"""The code points of the digit zero in scripts other than ASCII."""


def in_script(digits: str, zero: int) -> str:
    """The same digits written in another script (e.g. Arabic-Indic ٤٤٧...)."""
    return "".join(chr(zero + int(digit)) for digit in digits)


HOSTILE_VALUES: dict[str, str | None] = {
    # the cell as written: the only member it may become (None: it must be rejected)
    '=HYPERLINK("http://evil.example","click")': None,
    "+SUM(A1:A9)": None,
    "-2+3": None,
    "@cmd|' /C calc'!A0": None,
    "\t=1+1": None,
    "\x07+447900000001": None,
    "\u200f+447900000002": None,
    "\u202e+447900000003": None,
    "\ufeff+447900000004": None,
    "+447900000005\x1b[31m": None,
    "9" * 1000: None,
    "+" + "4" * 1000: None,
    "   ": None,
    "\u3000": None,
    "+" + in_script("447900000006", ARABIC_INDIC): "+447900000006",
    "+" + in_script("447900000007", DEVANAGARI): "+447900000007",
    "+" + in_script("447900000008", FULLWIDTH): "+447900000008",
    "+447900000009": "+447900000009",
}


def test_hostile_values_are_rejected_with_reasons_or_become_exactly_their_number(
    sinch_env: EmulatorServer, prefect_harness: str, tmp_path: Path
) -> None:
    source = tmp_path / "values.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone"])
        writer.writerows([value] for value in HOSTILE_VALUES)
    rejects, report = tmp_path / "out" / "rejects.csv", tmp_path / "out" / "report.json"

    result = runner.invoke(
        app,
        [
            *("sync", str(source), "--group", "Values", "--no-progress"),
            *("--rejects", str(rejects), "--report", str(report)),
        ],
    )

    assert result.exit_code == 0, result.output
    assert not TRACEBACK.search(result.output)
    wanted = {number for number in HOSTILE_VALUES.values() if number}
    assert run(members_by_name(sinch_env)) == {"Values": wanted}
    saved = json.loads(report.read_text())
    assert saved["rows_read"] == len(HOSTILE_VALUES)
    assert saved["rows_rejected"] == sum(number is None for number in HOSTILE_VALUES.values())
    assert saved["rows_read"] == saved["rows_valid"] + saved["rows_rejected"]

    with rejects.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == saved["rows_rejected"]
    assert all(row["reason"] and row["detail"] for row in rows), "every reject says why"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), f"live formula: {cell!r}"
    assert any(row["raw_value"].startswith("'=HYPERLINK(") for row in rows), "kept, disarmed"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "1 to 20 characters"),
        ("   ", "not blank"),
        ("x" * 21, "1 to 20 characters"),
        ("01J0000000000000000000000A", "use --group-id"),
    ],
    ids=["empty", "blank", "too-long", "looks-like-an-id"],
)
def test_an_unusable_group_name_is_one_error_line_and_changes_nothing(
    name: str, expected: str, sinch_env: EmulatorServer, prefect_harness: str, tmp_path: Path
) -> None:
    (tmp_path / "c.csv").write_text("phone\n+447900000001\n")
    before = groups_raw(sinch_env)

    result = runner.invoke(app, ["sync", "c.csv", "--group", name, "--no-progress"])

    assert result.exit_code == 1, result.output
    assert expected in assert_one_line_error(result.output)
    assert groups_raw(sinch_env) == before


def test_a_name_two_groups_share_is_refused_and_changes_nothing(
    sinch_env: EmulatorServer, prefect_harness: str, tmp_path: Path
) -> None:
    first = run(seed_group(sinch_env, "twin", [AUDIENCE[0]]))
    second = run(seed_group(sinch_env, "twin", [AUDIENCE[1]]))
    (tmp_path / "c.csv").write_text("phone\n+447900000005\n")
    before = groups_raw(sinch_env)

    result = runner.invoke(app, ["sync", "c.csv", "--group", "twin", "--no-progress"])

    assert result.exit_code == 1, result.output
    line = assert_one_line_error(result.output)
    assert first in line
    assert second in line
    assert "--group-id" in line
    assert groups_raw(sinch_env) == before


HOSTILE_GROUP_NAMES = ["Café ☕ 日本", "[/]", "[bold red]VIP[/]", "../../etc/x", "a/b\\c", "CON"]


def test_hostile_group_names_become_exactly_those_groups(
    sinch_env: EmulatorServer, prefect_harness: str, tmp_path: Path
) -> None:
    """Names are data: markup, paths and scripts other than Latin are kept as written, and
    printing them in the report table does not break the command."""
    rows = [(f"+447900{i:06d}", name) for i, name in enumerate(HOSTILE_GROUP_NAMES)]
    pl.DataFrame(rows, schema=["phone", "segment"], orient="row").write_csv(tmp_path / "c.csv")

    result = runner.invoke(
        app, ["sync", "c.csv", "--group-column", "segment", "--no-progress"], terminal_width=250
    )

    assert result.exit_code == 0, result.output
    assert not TRACEBACK.search(result.output)
    assert run(members_by_name(sinch_env)) == {name: {phone} for phone, name in rows}
    for name in HOSTILE_GROUP_NAMES:
        assert name in result.output, f"{name!r} is printed as written"


def test_markup_in_group_names_and_paths_is_printed_as_written(
    sinch_env: EmulatorServer, prefect_harness: str, tmp_path: Path
) -> None:
    """`groups` prints names as written, and an error naming `[x].csv` says `[x].csv` (Rich
    markup would swallow `[x]`, raise on `[/]`, and turn `[link=...]` into a hyperlink)."""
    run(seed_group(sinch_env, "[/]", [AUDIENCE[0]]))
    run(seed_group(sinch_env, "[link=http://x]VIP", [AUDIENCE[1]]))

    listed = runner.invoke(app, ["groups"], terminal_width=250)
    missing = runner.invoke(app, ["sync", "[x].csv", "--group", "g", "--no-progress"])

    assert listed.exit_code == 0, listed.exception
    assert "[/]" in listed.output
    assert "[link=http://x]VIP" in listed.output
    assert "[x].csv" in assert_one_line_error(missing.output)
