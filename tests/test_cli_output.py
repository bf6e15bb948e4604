"""What the commands print for people and for scripts: partial credentials are one `Error:` line
before anything starts, `--json` is the only thing on stdout, and ids and option names are never
cut at 80 columns or in a pipe."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from click.testing import Result
from typer.testing import CliRunner

from flows.cli import app
from sinch_emulator import EmulatorServer
from tests.live import client_for, seed_group

runner = CliRunner()
LEGACY = Path(__file__).parent / "fixtures" / "legacy_snapshots"
"""Two snapshots: one group changed, one created, one deleted."""
CANARY = "canary-SECRET-value"
CLI = [sys.executable, "-m", "flows.cli"]


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args), terminal_width=80)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No SINCH_*/OLD_SINCH_* variables; the embedded emulator's home is tmp_path/home."""
    for key in list(os.environ):
        if key.startswith(("SINCH_", "OLD_SINCH_")):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    monkeypatch.setenv("SINCH_GROUPS_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return home


# --- partial credentials ------------------------------------------------------------------------

EVERY_SET = (
    "set SINCH_SERVICE_PLAN_ID and SINCH_API_TOKEN, or SINCH_PROJECT_ID, SINCH_KEY_ID and "
    "SINCH_KEY_SECRET"
)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"SINCH_BASE_URL": "http://127.0.0.1:9"},
            f"SINCH_BASE_URL is set but no credentials are: {EVERY_SET}",
        ),
        (
            {"SINCH_SERVICE_PLAN_ID": "plan", "SINCH_BASE_URL": "http://127.0.0.1:9"},
            "SINCH_SERVICE_PLAN_ID is set but SINCH_API_TOKEN is not: set SINCH_API_TOKEN",
        ),
        (
            {"SINCH_API_TOKEN": CANARY},
            "SINCH_API_TOKEN is set but SINCH_SERVICE_PLAN_ID is not: set SINCH_SERVICE_PLAN_ID",
        ),
        (
            {"SINCH_KEY_ID": "key", "SINCH_KEY_SECRET": CANARY},
            "SINCH_KEY_ID and SINCH_KEY_SECRET are set but SINCH_PROJECT_ID is not: "
            "set SINCH_PROJECT_ID",
        ),
    ],
)
@pytest.mark.parametrize("command", [["groups"], ["export", "--out", "snaps"], ["migrate"]])
def test_partial_credentials_are_one_error_line_before_anything_starts(
    no_credentials: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    variables: dict[str, str],
    message: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    if command == ["migrate"]:
        command = ["migrate", "--from-snapshot", "snaps"]

    result = runner.invoke(app, command)

    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""  # neither the local-run note nor the embedded emulator's
    assert not no_credentials.exists()  # the embedded emulator never started
    assert CANARY not in result.output


def test_a_partial_migration_source_fails_before_the_destination_starts(
    no_credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLD_SINCH_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OLD_SINCH_API_TOKEN", CANARY)

    result = runner.invoke(app, ["migrate", "--from-env", "OLD_SINCH_"])

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: OLD_SINCH_API_TOKEN is set but OLD_SINCH_SERVICE_PLAN_ID is not: "
        "set OLD_SINCH_SERVICE_PLAN_ID\n"
    )
    assert result.stdout == ""
    assert not no_credentials.exists()


def test_sync_with_only_a_base_url_fails_instead_of_using_the_embedded_emulator(
    no_credentials: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SINCH_BASE_URL", "http://127.0.0.1:9")
    (tmp_path / "c.csv").write_text("phone\n+447911123456\n")

    result = runner.invoke(app, ["sync", "c.csv", "--group", "x", "--no-progress"])

    assert result.exit_code == 1
    assert result.stderr == f"Error: SINCH_BASE_URL is set but no credentials are: {EVERY_SET}\n"
    assert "embedded" not in result.output
    assert not no_credentials.exists()


# --- --json ---------------------------------------------------------------------------------------


async def seed_family(server: EmulatorServer) -> dict[str, str]:
    """Two groups and a parent of both; their ids by name."""
    ids = {
        "VIP": await seed_group(server, "VIP", ["+447911123456"]),
        "Newsletter": await seed_group(server, "Newsletter", ["+447911123457", "+447911123458"]),
    }
    async with client_for(server) as client:
        parent = await client.create_group(name="All", child_groups=list(ids.values()))
    return {**ids, "All": parent.id}


def test_groups_json_is_the_only_thing_on_stdout(sinch_env: EmulatorServer) -> None:
    ids = asyncio.run(seed_family(sinch_env))

    result = invoke("groups", "--json")

    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert listing["target"] == {
        "base_url": sinch_env.base_url,
        "auth": "service plan token",
        "service_plan_id": "sinchgroupsdemo",
    }
    by_name = {group["name"]: group for group in listing["groups"]}
    assert {name: group["id"] for name, group in by_name.items()} == ids
    assert [group["name"] for group in listing["groups"]] == ["All", "Newsletter", "VIP"]
    assert (by_name["Newsletter"]["size"], by_name["VIP"]["size"]) == (2, 1)
    assert sorted(by_name["All"]["child_groups"]) == sorted([ids["VIP"], ids["Newsletter"]])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", by_name["VIP"]["created_at"])
    assert by_name["VIP"]["auto_update"] is None


def test_groups_json_says_embedded_emulator_on_stderr(no_credentials: Path) -> None:
    result = invoke("groups", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["groups"] == []
    assert result.stderr.startswith("Using the embedded Sinch emulator at http://127.0.0.1:")


def test_diff_json_lists_both_snapshots_counts_and_groups(tmp_path: Path) -> None:
    result = invoke("diff", str(LEGACY), "--json", "--out", str(tmp_path / "changes.parquet"))

    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["before"]["snapshot_at"] == "2026-12-04T17:39:09.427Z"
    assert found["after"]["snapshot_at"] == "2026-12-04T17:39:09.714Z"
    assert found["match_on"] == "id"
    assert found["status_counts"] == {"changed": 1, "created": 1, "deleted": 1}
    assert (found["members_added"], found["members_removed"]) == (2, 2)
    assert found["changes_file"] == str(tmp_path / "changes.parquet")
    assert [(g["status"], g["name_before"], g["name_after"]) for g in found["groups"]] == [
        ("changed", "keep", "keep"),
        ("created", None, "new"),
        ("deleted", "gone", None),
    ]
    changed = found["groups"][0]
    assert changed["group_id_before"] == changed["group_id_after"] == "01M9126WZDDV5R0G1X70XQ8Z5D"
    assert (changed["members_before"], changed["members_after"], changed["unchanged"]) == (2, 2, 1)


# --- whole ids and option names at 80 columns and in a pipe ---------------------------------------

ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")


def assert_whole(ids: list[str], output: str) -> None:
    lines = output.splitlines()
    for group_id in ids:
        assert any(group_id in line for line in lines), f"{group_id} cut in:\n{output}"


def test_groups_prints_ids_whole_within_80_columns(
    sinch_env: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    ids = [asyncio.run(seed_group(sinch_env, name, [])) for name in ("VIP", "Newsletter EU")]

    result = invoke("groups")

    assert result.exit_code == 0, result.output
    assert_whole(ids, result.stdout)
    assert max(map(len, result.stdout.splitlines())) <= 80


def test_groups_with_child_groups_prints_every_id_whole_at_80_columns(
    sinch_env: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    ids = asyncio.run(seed_family(sinch_env))

    result = invoke("groups")

    assert result.exit_code == 0, result.output
    assert_whole(list(ids.values()), result.stdout)
    assert len(ID.findall(result.stdout)) == 5  # three groups, two of them also as children


def test_groups_prints_ids_whole_in_a_pipe(sinch_env: EmulatorServer) -> None:
    ids = asyncio.run(seed_family(sinch_env))
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"}

    piped = subprocess.run(
        [*CLI, "groups"], env=env, capture_output=True, text=True, timeout=60, check=True
    )

    assert_whole(list(ids.values()), piped.stdout)


def test_diff_prints_ids_whole_within_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")

    result = invoke("diff", str(LEGACY))

    assert result.exit_code == 0, result.output
    assert_whole(
        ["01M9126WZDDV5R0G1X70XQ8Z5D", "01M9126X86XSADRR3WZX17EZJM", "01M9126WZG2GTFKBG29R4D7QBP"],
        result.stdout,
    )
    assert max(map(len, result.stdout.splitlines())) <= 80


def command_paths() -> list[list[str]]:
    """Every command and group of commands, as the words that name it."""

    def walk(command: object, prefix: list[str]) -> list[list[str]]:
        paths = []
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*prefix, name])
            paths += walk(sub, [*prefix, name])
        return paths

    return [[], *walk(typer.main.get_command(app), [])]


def option_names(path: list[str]) -> list[str]:
    command = typer.main.get_command(app)
    for word in path:
        command = command.commands[word]  # type: ignore[attr-defined]
    return [
        name
        for param in command.params
        if param.param_type_name == "option"
        for name in (*param.opts, *param.secondary_opts)
    ]


@pytest.mark.parametrize("columns", ["80", None], ids=["80-columns", "pipe"])
@pytest.mark.parametrize("path", command_paths(), ids=lambda path: " ".join(path) or "top")
def test_help_shows_every_option_name_whole(path: list[str], columns: str | None) -> None:
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    if columns:
        env["COLUMNS"] = columns

    shown = subprocess.run(
        [*CLI, *path, "--help"], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout

    for name in ["--help", *option_names(path)]:
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", shown), f"{name}:\n{shown}"
    assert "…" not in shown
    assert max(map(len, shown.splitlines())) <= 80, shown
