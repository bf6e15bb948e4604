"""What a new user meets around a sync: outputs that cannot be written are found before any
change, a failure to write them after the changes still leaves a report, a file with no valid
row changes nothing, and `--json` gives scripts the report alone."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.cli._mode import LOCAL_NOTE
from pipeline.phones.rejects import empty_rejects
from pipeline.storage import HOME_ENV
from pipeline.sync.outputs import OutputWriteError, write_or_fall_back
from pipeline.sync.report import SyncReport
from sinch_emulator import EmulatorServer
from tests.live import members_by_name

pytestmark = pytest.mark.usefixtures("wide_console")

NUMBERS = ["+447911123456", "+447911123457", "+447911123458"]


def sync(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["sync", *args, "--no-progress"])
    return result.exit_code, result.stdout, result.stderr


def contacts(folder: Path, rows: list[str], header: str = "phone") -> Path:
    path = folder / "contacts.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def groups(server: EmulatorServer) -> dict[str | None, set[str]]:
    return asyncio.run(members_by_name(server))


def test_a_report_path_that_is_a_folder_is_refused_before_anything_starts(
    sinch_env: EmulatorServer, tmp_path: Path
) -> None:
    (tmp_path / "reports").mkdir()
    status, out, err = sync(
        str(contacts(tmp_path, NUMBERS)), "--group", "X", "--report", str(tmp_path / "reports")
    )
    assert status == 1
    assert err == (
        f"Error: --report {tmp_path / 'reports'} is a folder; give a file path, such as "
        f"{tmp_path / 'reports' / 'report.json'}\n"
    )
    assert out == "", "refused before the run said where it runs or read the file"
    assert groups(sinch_env) == {}


def test_a_rejects_path_under_a_file_is_refused_before_anything_starts(
    sinch_env: EmulatorServer, tmp_path: Path
) -> None:
    source = contacts(tmp_path, NUMBERS)
    status, _, err = sync(str(source), "--group", "X", "--rejects", f"{source}/rejects.csv")
    assert status == 1
    assert err == (
        f"Error: --rejects {source}/rejects.csv: {source} is a file, not a folder; "
        "choose a path in a folder\n"
    )
    assert groups(sinch_env) == {}


def test_a_state_folder_that_is_a_file_is_refused_unless_the_run_is_dry(
    sinch_env: EmulatorServer, tmp_path: Path
) -> None:
    source = contacts(tmp_path, NUMBERS)
    status, _, err = sync(str(source), "--group", "X", "--state", str(source))
    assert (status, err) == (1, f"Error: --state {source} is a file; give a folder\n")
    status, _, _ = sync(str(source), "--group", "X", "--state", str(source), "--dry-run")
    assert status == 0, "a dry run writes no state"


def test_a_name_too_long_for_the_filesystem_is_refused_before_anything_starts(
    sinch_env: EmulatorServer, tmp_path: Path
) -> None:
    too_long = tmp_path / ("r" * 300 + ".json")
    status, _, err = sync(
        str(contacts(tmp_path, NUMBERS)), "--group", "X", "--report", str(too_long)
    )
    assert (status, err) == (
        1,
        f"Error: --report {too_long}: File name too long; choose another path\n",
    )
    assert groups(sinch_env) == {}


def test_outputs_that_fail_after_the_apply_go_to_the_fallback_folder(tmp_path: Path) -> None:
    """The check at the start passed; then the folder became a file (a clean-up job, another
    process): the report and rejects still land, in $SINCH_GROUPS_HOME/runs, and the error says
    where."""
    blocked = tmp_path / "out"
    report = SyncReport(
        sources=["contacts.csv"], mode="add", dry_run=False, target={}, started_at="now",
        rows_read=1, rows_valid=1, report_path=str(blocked / "report.json"),
        rejects_path=str(blocked / "rejects.csv"),
    )  # fmt: skip
    blocked.write_text("a file where the folder was", encoding="utf-8")
    with pytest.raises(OutputWriteError) as raised:
        write_or_fall_back(report, empty_rejects())
    message = str(raised.value)
    assert message.startswith("could not write the report and rejects where asked (")
    assert "the changes were applied; the report is at " in message
    fallback = Path(message.split("the report is at ")[1].split(" and the rejects at ")[0])
    assert fallback.parent.parent == Path(os.environ[HOME_ENV]) / "runs"
    written = json.loads(fallback.read_text(encoding="utf-8"))
    assert written["report_path"] == str(fallback)
    assert written["rejects_path"] == str(fallback.parent / "rejects.csv")
    assert Path(written["rejects_path"]).exists()
    assert written["notes"][-1].startswith("the outputs could not be written where asked")


def test_no_valid_row_changes_nothing_and_names_the_top_reasons(
    sinch_env: EmulatorServer, tmp_path: Path
) -> None:
    source = contacts(tmp_path, ["not a number", "12", "also not"])
    status, _, err = sync(str(source), "--group", "X", "--rejects", str(tmp_path / "r.csv"))
    assert status == 1
    assert err == (
        "Error: none of the 3 rows is valid, so nothing was changed; top reasons: "
        f"not_a_number 2, invalid_country_code 1; every row and its reason is in {tmp_path / 'r.csv'}\n"
    ), err
    assert groups(sinch_env) == {}, "no empty group was created"
    assert (tmp_path / "r.csv").exists()

    status, _, _ = sync(str(source), "--group", "X", "--allow-empty")
    assert status == 0
    assert groups(sinch_env) == {"X": set()}


def test_a_header_only_file_says_so_and_creates_nothing(
    sinch_env: EmulatorServer, tmp_path: Path
) -> None:
    source = contacts(tmp_path, [])
    status, _, err = sync(str(source), "--group", "X")
    assert status == 1
    assert err == (
        f"Error: {source} has a header but no rows: nothing to sync, nothing was changed "
        "(--allow-empty goes on anyway)\n"
    )
    assert groups(sinch_env) == {}


def test_json_prints_the_report_alone_on_stdout(sinch_env: EmulatorServer, tmp_path: Path) -> None:
    status, out, err = sync(
        str(contacts(tmp_path, NUMBERS)),
        "--group",
        "X",
        "--json",
        "--report",
        str(tmp_path / "r.json"),
    )
    assert status == 0
    report = json.loads(out)  # nothing else on stdout
    assert (report["rows_valid"], report["groups"][0]["added"]) == (3, 3)
    assert report == json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert LOCAL_NOTE in err
    assert "phone column: 'phone' (detected)" in err


def test_a_missing_file_is_reported_before_the_embedded_emulator_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SINCH_SERVICE_PLAN_ID", "SINCH_API_TOKEN", "SINCH_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    status, out, err = sync("nothere.csv", "--group", "X")
    assert (status, out, err) == (1, "", "Error: nothere.csv: no such file\n")
