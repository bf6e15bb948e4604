"""`sinch-groups optouts list|export|forget`: on a real ledger written by `OptOutLedger.record`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import Result
from typer.testing import CliRunner

from flows.cli import app
from pipeline.sync.state import OptOutLedger

runner = CliRunner()

PLAN = "0123456789abcdef0123456789abcdef"
NEWSLETTER = "01J0000000000000000000000A"
VIP = "01J0000000000000000000000B"
FIRST, SECOND = "+447911123456", "+447911123457"
LOCAL_RUN = "01JD9ZQ5S4Y0V9T6N8M2K1H3G4"
PREFECT_RUN = "8f1d7a52-0a56-4c3e-b7a5-3b8f0a7f1e22"
SEEN = datetime(2026, 11, 26, 22, 45, tzinfo=UTC)
LONG_NAME = "Newsletter for everyone who asked about the winter sale in any of our shops"


@pytest.fixture
def ledger(tmp_path: Path) -> OptOutLedger:
    """Two numbers out of the newsletter, the first one out of the VIP group a day later."""
    ledger = OptOutLedger(tmp_path / "optouts")
    ledger.record(PLAN, NEWSLETTER, LONG_NAME, pl.Series([FIRST, SECOND]), LOCAL_RUN, SEEN)
    ledger.record(PLAN, VIP, "VIP", pl.Series([FIRST]), PREFECT_RUN, SEEN + timedelta(days=1))
    return ledger


def invoke(ledger: OptOutLedger, *args: str, **kwargs: object) -> Result:
    return runner.invoke(app, ["optouts", *args, "--optouts", str(ledger.root)], **kwargs)


def error_line(result: Result) -> str:
    assert "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    return line


def remaining(ledger: OptOutLedger) -> list[tuple[str, str]]:
    return sorted(ledger.entries().select("group_id", "phone_e164").rows())


def test_list_fits_80_columns_and_never_cuts_a_number_or_an_id(
    ledger: OptOutLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = invoke(ledger, "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines[:-1]) <= 80  # the count line names a long tmp path
    words = result.output.split()
    for whole in (FIRST, SECOND, NEWSLETTER, VIP, LOCAL_RUN, PREFECT_RUN, PLAN):
        assert whole in words
    assert words.count(FIRST) == 2
    assert "2026-11-27 22:45:00 UTC" in result.output
    assert "winter sale" in result.output  # the long name folds, it is not cut
    assert lines[0] == f"service plan {PLAN}"
    assert lines[-1] == f"3 entries in 2 groups in the opt-out ledger at {ledger.root}"


def test_list_json_prints_only_a_json_array(ledger: OptOutLedger) -> None:
    result = invoke(ledger, "list", "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [(e["group_id"], e["phone_e164"]) for e in entries] == [
        (NEWSLETTER, FIRST),
        (NEWSLETTER, SECOND),
        (VIP, FIRST),
    ]
    assert entries[2] == {
        "phone_e164": FIRST,
        "group_id": VIP,
        "group_name": "VIP",
        "service_plan": PLAN,
        "first_seen_missing": "2026-11-27T22:45:00+00:00",
        "run_id": PREFECT_RUN,
    }


@pytest.mark.usefixtures("wide_console")
def test_list_of_one_group(ledger: OptOutLedger) -> None:
    result = invoke(ledger, "list", "--group-id", VIP)
    assert result.exit_code == 0, result.output
    assert SECOND not in result.output
    assert result.output.splitlines()[-1] == (
        f"1 entry in 1 group in the opt-out ledger at {ledger.root} for group {VIP}"
    )
    unknown = invoke(ledger, "list", "--group-id", "nope", "--plan", PLAN)
    assert error_line(unknown) == (
        f"no entries in the opt-out ledger at {ledger.root} for group nope of service plan {PLAN}"
    )
    assert unknown.exit_code == 0


@pytest.mark.usefixtures("wide_console")
def test_an_empty_ledger_says_so(tmp_path: Path) -> None:
    empty = OptOutLedger(tmp_path / "optouts")
    empty.root.mkdir()
    result = invoke(empty, "list")
    assert result.exit_code == 0
    assert error_line(result) == f"the opt-out ledger at {empty.root} is empty"
    missing = invoke(OptOutLedger(tmp_path / "typo"), "list")
    assert error_line(missing) == (
        f"the opt-out ledger at {tmp_path / 'typo'} is empty (the folder does not exist)"
    )
    assert json.loads(invoke(empty, "list", "--json").stdout) == []


@pytest.mark.usefixtures("wide_console")
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_export_writes_the_entries_with_numbers_as_text(
    ledger: OptOutLedger, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / "out" / f"optouts{suffix}"
    result = invoke(ledger, "export", "--out", str(out), "--plan", PLAN)
    assert result.exit_code == 0, result.output
    assert error_line(result) == (
        f"wrote 3 entries of the opt-out ledger at {ledger.root} of service plan {PLAN} to {out}"
    )
    frame = pl.read_parquet(out) if suffix == ".parquet" else pl.read_csv(out)
    assert frame.schema["phone_e164"] == pl.String
    assert frame.columns == [
        "phone_e164",
        "group_id",
        "group_name",
        "service_plan",
        "first_seen_missing",
        "run_id",
    ]
    assert frame.select("group_id", "phone_e164").rows() == [
        (NEWSLETTER, FIRST),
        (NEWSLETTER, SECOND),
        (VIP, FIRST),
    ]
    assert not list(out.parent.glob(".*.tmp"))


@pytest.mark.usefixtures("wide_console")
def test_a_csv_export_disarms_group_names_a_spreadsheet_would_run(tmp_path: Path) -> None:
    ledger = OptOutLedger(tmp_path / "optouts")
    ledger.record(PLAN, NEWSLETTER, "=HYPERLINK(1)", pl.Series([FIRST]), LOCAL_RUN, SEEN)
    out = tmp_path / "optouts.csv"
    assert invoke(ledger, "export", "--out", str(out)).exit_code == 0
    row = pl.read_csv(out).row(0, named=True)
    assert (row["phone_e164"], row["group_name"]) == (FIRST, "'=HYPERLINK(1)")
    assert row["first_seen_missing"] == "2026-11-26T22:45:00.000Z"


@pytest.mark.usefixtures("wide_console")
def test_export_to_another_suffix_is_one_error_line(ledger: OptOutLedger, tmp_path: Path) -> None:
    out = tmp_path / "optouts.xlsx"
    result = invoke(ledger, "export", "--out", str(out))
    assert result.exit_code == 1
    assert error_line(result) == f"Error: cannot write {out}: name it .parquet or .csv"
    assert not out.exists()


@pytest.mark.usefixtures("wide_console")
def test_forget_everywhere(ledger: OptOutLedger) -> None:
    result = invoke(ledger, "forget", "+44 7911 123456", "--yes")
    assert result.exit_code == 0, result.output
    assert error_line(result) == (
        f"forgot {FIRST} in 2 groups; it may be added again by the next sync"
    )
    assert remaining(ledger) == [(NEWSLETTER, SECOND)]


@pytest.mark.usefixtures("wide_console")
def test_forget_in_one_group_keeps_the_other_groups_entries(ledger: OptOutLedger) -> None:
    result = invoke(ledger, "forget", FIRST, "--group-id", VIP, "--yes")
    assert result.exit_code == 0, result.output
    assert error_line(result) == (
        f"forgot {FIRST} in 1 group; it may be added again by the next sync"
    )
    assert remaining(ledger) == [(NEWSLETTER, FIRST), (NEWSLETTER, SECOND)]


@pytest.mark.usefixtures("wide_console")
def test_forget_reads_a_national_number_with_the_default_region(ledger: OptOutLedger) -> None:
    national = invoke(ledger, "forget", "07911 123457", "--default-region", "GB", "--yes")
    assert national.exit_code == 0, national.output
    assert error_line(national) == (
        f"forgot {SECOND} in 1 group; it may be added again by the next sync"
    )
    assert remaining(ledger) == [(NEWSLETTER, FIRST), (VIP, FIRST)]
    without = invoke(ledger, "forget", "07911 123456", "--yes")
    assert without.exit_code == 1
    assert error_line(without) == (
        "Error: cannot read '07911 123456' as a phone number: it has no country code; "
        "write it as +<country code><number> or pass --default-region"
    )


@pytest.mark.usefixtures("wide_console")
def test_forget_of_something_that_is_no_phone_number(ledger: OptOutLedger) -> None:
    result = invoke(ledger, "forget", "call me", "--yes")
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: cannot read 'call me' as a phone number: holds characters other than digits, "
        "a leading '+' and separators"
    )
    assert len(remaining(ledger)) == 3


@pytest.mark.usefixtures("wide_console")
def test_forget_of_a_number_not_in_the_ledger_exits_1(ledger: OptOutLedger) -> None:
    result = invoke(ledger, "forget", "+447911123458", "--yes")
    assert result.exit_code == 1
    assert error_line(result) == (
        f"Error: +447911123458 is not in the opt-out ledger at {ledger.root}"
    )
    other_group = invoke(ledger, "forget", SECOND, "--group-id", VIP, "--yes")
    assert other_group.exit_code == 1
    assert error_line(other_group) == (
        f"Error: {SECOND} is not in the opt-out ledger at {ledger.root} for group {VIP}"
    )
    assert len(remaining(ledger)) == 3


@pytest.mark.usefixtures("wide_console")
def test_a_number_phonenumbers_no_longer_accepts_is_forgotten_as_written(tmp_path: Path) -> None:
    ledger = OptOutLedger(tmp_path / "optouts")
    unassigned = "+447700900123"  # a range set aside for drama: phonenumbers calls it invalid
    ledger.record(PLAN, NEWSLETTER, "Newsletter", pl.Series([unassigned]), LOCAL_RUN, SEEN)
    result = invoke(ledger, "forget", unassigned, "--yes")
    assert result.exit_code == 0, result.output
    assert ledger.entries().is_empty()


@pytest.mark.usefixtures("wide_console")
def test_forget_without_yes_and_without_a_terminal_is_refused(ledger: OptOutLedger) -> None:
    result = invoke(ledger, "forget", FIRST)
    assert result.exit_code == 1
    assert error_line(result) == (
        f"Error: forgetting {FIRST} in 2 groups changes the opt-out record; add --yes to confirm"
    )
    assert len(remaining(ledger)) == 3


@pytest.mark.usefixtures("wide_console")
@pytest.mark.parametrize(("answer", "left"), [("y", 1), ("n", 3)])
def test_forget_in_a_terminal_asks_first(
    ledger: OptOutLedger, monkeypatch: pytest.MonkeyPatch, answer: str, left: int
) -> None:
    monkeypatch.setattr("flows.cli.optouts._can_ask", lambda: True)
    result = invoke(ledger, "forget", FIRST, input=f"{answer}\n")
    assert f"Forget {FIRST} in 2 groups ({LONG_NAME}, VIP)? It may be added again" in (
        result.output
    )
    assert result.exit_code == (0 if answer == "y" else 1)
    assert len(remaining(ledger)) == left
