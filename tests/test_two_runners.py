"""One engine, two runners: the same command in-process and through Prefect gives the same report,
the same rejects file row for row, the same printed tables and the same exit status.

Each sync runs twice through the CLI, once with no Prefect API configured (in-process) and once
with PREFECT_API_URL pointing at the session's Prefect API (a flow run), each against its own
fresh emulator seeded the same way; the export runs both ways against one emulator.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from click.testing import Result
from typer.testing import CliRunner

from flows.cli import app
from flows.cli._mode import LOCAL_NOTE
from sinch_emulator import EmulatorServer
from tests.live import client_for, seed_group, set_faults

pytestmark = pytest.mark.usefixtures("wide_console")

VARYING = {"started_at", "duration_s", "report_path", "rejects_path", "target"}
"""Report fields that differ between two runs by nature: times, paths, where the emulator is."""


def number(i: int) -> str:
    return f"+4479111{i:05d}"


def run(args: list[str], prefect_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Result:
    if prefect_url is None:
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
    else:
        monkeypatch.setenv("PREFECT_API_URL", prefect_url)
    return CliRunner().invoke(app, args, terminal_width=250)


def comparable_report(path: Path) -> dict[str, object]:
    report = json.loads(path.read_text())
    for key in VARYING:
        report.pop(key)
    for group in report["groups"]:
        group.pop("group_id")
        group.pop("read_at")
    return report


def comparable_output(result: Result, folder: Path) -> str:
    lines = [line for line in result.output.splitlines() if line != LOCAL_NOTE]
    return "\n".join(lines).replace(str(folder), "<run>")


def write_contacts(path: Path) -> Path:
    rows = [number(i) for i in range(40)] + ["not a phone", "", number(3), "07911100041"]
    pl.DataFrame({"phone": rows}, schema={"phone": pl.String}).write_csv(path)
    return path


SCENARIOS = {
    "add": ["--group", "News", "--default-region", "GB"],
    "mirror-guard-trips": ["--group", "Seeded", "--mode", "mirror"],
    "remove": ["--group", "Seeded", "--mode", "remove", "--default-region", "GB"],
    "suppression": ["--group", "Seeded", "--suppress", "{optout}", "--default-region", "GB"],
    "refused-number": ["--group", "News", "--chunk-size", "7", "--default-region", "GB"],
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_sync_gives_the_same_outputs_in_process_and_through_prefect(
    scenario: str,
    fresh_emulator: Callable[[], EmulatorServer],
    prefect_harness: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    source = write_contacts(tmp_path / "contacts.csv")
    optout = tmp_path / "optout.csv"
    optout.write_text(f"phone\n{number(1)}\n{number(60)}\n")
    outcomes = {}
    for mode, url in (("local", None), ("prefect", prefect_harness)):
        server = fresh_emulator()
        asyncio.run(seed_group(server, "Seeded", [number(i) for i in range(30, 90)]))
        if scenario == "refused-number":
            set_faults(server, refuse_numbers=[number(5)])
        folder = tmp_path / mode
        args = [a.replace("{optout}", str(optout)) for a in SCENARIOS[scenario]]
        result = run(
            [
                "sync",
                str(source),
                *args,
                "--no-progress",
                "--report",
                str(folder / "report.json"),
                "--rejects",
                str(folder / "rejects.csv"),
            ],
            url,
            monkeypatch,
        )
        assert "Traceback" not in result.output
        assert (LOCAL_NOTE in result.output) == (url is None)
        written = (folder / "report.json").exists()
        outcomes[mode] = (
            result.exit_code,
            comparable_output(result, folder),
            comparable_report(folder / "report.json") if written else None,
            pl.read_csv(folder / "rejects.csv", infer_schema=False) if written else None,
        )
    local, prefect = outcomes["local"], outcomes["prefect"]
    assert local[:3] == prefect[:3]
    if local[3] is None:
        assert prefect[3] is None
    else:
        assert local[3].equals(prefect[3])
    expected_exit = 1 if scenario == "mirror-guard-trips" else 0
    assert local[0] == expected_exit, local[1]
    if scenario == "refused-number":
        assert local[2]["rejected_by_reason"]["api_rejected"] == 1


def test_a_three_way_sync_gives_the_same_outputs_in_process_and_through_prefect(
    fresh_emulator: Callable[[], EmulatorServer],
    prefect_harness: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Night 1 writes the base; on Sinch's side one member leaves and one joins; night 2 (a
    mirror) keeps the leaver out and the joiner in, the same way in both runners."""
    source = write_contacts(tmp_path / "contacts.csv")
    outcomes = {}
    for mode, url in (("local", None), ("prefect", prefect_harness)):
        server = fresh_emulator()
        folder = tmp_path / mode
        memory = ["--state", str(folder / "state"), "--optouts", str(folder / "optouts")]
        args = ["sync", str(source), "--group", "News", "--default-region", "GB", "--no-progress"]
        first = run([*args, *memory], url, monkeypatch)
        assert first.exit_code == 0, first.output
        asyncio.run(_leave_and_join(server, leaver=number(3), joiner=number(70)))
        night = [*args, *memory, "--mode", "mirror", "--report", str(folder / "report.json")]
        result = run([*night, "--rejects", str(folder / "rejects.csv")], url, monkeypatch)
        report = comparable_report(folder / "report.json")
        (group,) = report["groups"]
        assert group.pop("base")["mode"] == "add", "night 2 diffed against night 1's base"
        outcomes[mode] = (result.exit_code, comparable_output(result, folder), report)
    local, prefect = outcomes["local"], outcomes["prefect"]
    assert local == prefect
    (group,) = local[2]["groups"]
    assert (group["left"], group["left_kept_out"], group["optouts_recorded"]) == (1, 1, 1)
    assert (group["joined"], group["joined_kept"], group["removed"], group["added"]) == (1, 1, 0, 0)


async def _leave_and_join(server: EmulatorServer, *, leaver: str, joiner: str) -> None:
    """What a STOP text and a JOIN text do to the group, through the API."""
    async with client_for(server) as client:
        (group,) = [g async for g in client.iter_groups() if g.name == "News"]
        await client.update_group(group.id, add=[joiner], remove=[leaver])


def test_an_export_gives_the_same_snapshot_in_process_and_through_prefect(
    fresh_emulator: Callable[[], EmulatorServer],
    prefect_harness: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server = fresh_emulator()
    asyncio.run(seed_group(server, "one", [number(i) for i in range(25)]))
    asyncio.run(seed_group(server, "two", [number(i) for i in range(20, 30)]))
    frames = {}
    for mode, url in (("local", None), ("prefect", prefect_harness)):
        result = run(["export", "--out", str(tmp_path / mode), "--no-progress"], url, monkeypatch)
        assert result.exit_code == 0, result.output
        assert "Snapshot snapshot_at=" in result.output
        [members] = (tmp_path / mode / "members").glob("*/members.parquet")
        [groups] = (tmp_path / mode / "groups").glob("*/groups.parquet")
        frames[mode] = (pl.read_parquet(members), pl.read_parquet(groups))
    assert frames["local"][0].equals(frames["prefect"][0])
    assert frames["local"][1].equals(frames["prefect"][1])


def test_prefect_without_an_api_is_one_line_and_no_temporary_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    source = write_contacts(tmp_path / "x.csv")
    result = run(["sync", str(source), "--group", "g", "--prefect"], None, monkeypatch)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: --prefect needs a Prefect API: set PREFECT_API_URL (for example to a "
        "`prefect server start` at http://127.0.0.1:4200/api)"
    )
    dead = run(["export", "--out", "x", "--prefect"], "http://127.0.0.1:9/api", monkeypatch)
    assert dead.exit_code == 1
    assert "Error: the Prefect API at http://127.0.0.1:9/api does not answer" in dead.output
