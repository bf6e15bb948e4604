"""The `sinch-groups` command: documented options, one-line errors, the embedded emulator, crash recovery."""

from __future__ import annotations

import os
import re

import pytest
import typer.main
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("wide_console")


def number(i: int) -> str:
    return f"+4479111{i:05d}"


def leaf_commands(command, prefix=""):
    """(name, command) of every command that runs something, sub-commands included."""
    for name, sub in command.commands.items():
        if hasattr(sub, "commands"):
            yield from leaf_commands(sub, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", sub


def test_every_command_and_option_is_documented():
    command = typer.main.get_command(app)
    assert set(command.commands) >= {"sync", "groups", "emulator", "export", "diff", "migrate"}
    leaves = dict(leaf_commands(command))
    assert {"snapshots list", "snapshots upgrade"} <= set(leaves)
    for name, sub in leaves.items():
        assert sub.help, f"command {name} has no help"
        assert "Example" in (sub.epilog or ""), f"command {name} has no example"
        assert sub.params, f"command {name} takes nothing"
        for param in sub.params:
            assert param.help, f"{name} {param.opts} has no help text"


def test_sync_help_lists_every_option_of_the_issue():
    result = runner.invoke(app, ["sync", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in (
        "--group",
        "--group-id",
        "--group-column",
        "--phone-column",
        "--country-column",
        "--default-region",
        "--mode",
        "--dry-run",
        "--max-remove-fraction",
        "--force",
        "--mobile-only",
        "--suppress",
        "--rejects",
        "--report",
        "--chunk-size",
    ):
        assert option in result.output


def error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    return lines[-1]


def test_a_missing_file_is_one_line_and_exit_1(sinch_env, prefect_harness):
    result = runner.invoke(app, ["sync", "nope.csv", "--group", "x", "--no-progress"])
    assert result.exit_code == 1
    assert error_line(result).startswith("Error:")
    assert "nope.csv" in result.output


def test_no_phone_column_lists_the_columns_that_exist(sinch_env, prefect_harness, tmp_path):
    (tmp_path / "c.csv").write_text("name,email\nAda,ada@example.com\n")
    result = runner.invoke(
        app, ["sync", "c.csv", "--group", "x", "--no-progress"], terminal_width=300
    )
    assert result.exit_code == 1
    assert "its columns are: 'name', 'email'" in result.output
    assert "--phone-column" in result.output


def test_a_wrong_token_is_an_auth_error_that_names_the_variable(
    sinch_env, prefect_harness, tmp_path, monkeypatch
):
    monkeypatch.setenv("SINCH_API_TOKEN", "wrong-token")
    (tmp_path / "c.csv").write_text(f"phone\n{number(1)}\n")
    result = runner.invoke(
        app, ["sync", "c.csv", "--group", "x", "--no-progress"], terminal_width=300
    )
    assert result.exit_code == 1
    assert "SINCH_API_TOKEN" in result.output
    assert "wrong-token" not in result.output


def test_guard_trip_exits_1_with_the_numbers(sinch_env, prefect_harness, tmp_path):
    (tmp_path / "c.csv").write_text("phone\n" + "\n".join(number(i) for i in range(10)) + "\n")
    assert runner.invoke(app, ["sync", "c.csv", "--group", "g", "--no-progress"]).exit_code == 0
    (tmp_path / "short.csv").write_text(f"phone\n{number(0)}\n")
    result = runner.invoke(
        app,
        ["sync", "short.csv", "--group", "g", "--mode", "mirror", "--no-progress"],
        terminal_width=300,
    )
    assert result.exit_code == 1
    assert "would lose 9 of 10 members (allowed 1)" in result.output


def test_without_credentials_the_embedded_emulator_is_used_and_said_first(
    prefect_harness, tmp_path, monkeypatch
):
    for key in list(os.environ):
        if key.startswith("SINCH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SINCH_GROUPS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.csv").write_text(f"phone\n{number(1)}\n{number(2)}\n")
    result = runner.invoke(
        app, ["sync", "c.csv", "--group", "demo", "--no-progress"], terminal_width=300
    )
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()[:2]
    assert first == "Running locally; set PREFECT_API_URL to record runs in Prefect."
    assert second.startswith("Using the embedded Sinch emulator")
    assert (tmp_path / "home" / "emulator.sqlite3").exists()
    listed = runner.invoke(app, ["groups"], terminal_width=300)
    assert listed.exit_code == 0
    assert re.search(r"│ demo\s+│\s+2 │", listed.output), listed.output
