"""Real CRM exports sync with no flags: `sinch-groups sync <export> --group G --dry-run` against the
emulator reads the right columns, says which, and counts every row (issue 18)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"

runner = CliRunner()
GROUP = "CRM samples"

pytestmark = pytest.mark.usefixtures("wide_console", "sinch_env")


def dry_run(sample: str, *flags: str) -> str:
    result = runner.invoke(
        app,
        ["sync", str(SAMPLES / sample), "--group", GROUP, "--dry-run", "--no-progress", *flags],
        terminal_width=250,
    )
    assert result.exit_code == 0, result.output
    return result.output


def count(output: str, row: str) -> int:
    match = re.search(rf"│ {re.escape(row)}\s+│\s+(\d+) │", output)
    assert match, output
    return int(match[1])


def plan(output: str) -> tuple[int, ...]:
    """(current, add, remove, final) of the one group's plan row."""
    cells = r"\s+│\s+(\d+) │\s+(\d+) │\s+(\d+) │.*│\s+(\d+) │\s+- │"
    match = re.search(rf"│ {re.escape(GROUP)} \(new\){cells}", output)
    assert match, output
    return tuple(int(n) for n in match.groups())


def test_hubspot_export_is_all_valid_with_no_flags() -> None:
    output = dry_run("hubspot_export.csv")

    assert (
        "phone column: 'Mobile Phone Number' (detected); "
        "country column: 'Country/Region' (detected)"
    ) in output.splitlines()
    assert (count(output, "read"), count(output, "valid"), count(output, "rejected")) == (12, 12, 0)
    assert plan(output) == (0, 12, 0, 12)


def test_salesforce_export_reads_local_country_names_and_excel_text_cells() -> None:
    output = dry_run("salesforce_contacts.csv")

    assert (
        "phone column: 'Mobile' (detected); country column: 'Mailing Country' (detected)"
        in output.splitlines()
    )
    assert (count(output, "read"), count(output, "valid"), count(output, "rejected")) == (14, 12, 2)
    assert plan(output) == (0, 12, 0, 12)


def test_the_columns_line_comes_before_the_tables() -> None:
    output = dry_run("hubspot_export.csv")

    assert output.index("phone column:") < output.index("read")


def test_named_columns_are_reported_as_given() -> None:
    output = dry_run(
        "salesforce_contacts.csv", "--phone-column", "Phone", "--country-column", "Mailing Country"
    )

    assert (
        "phone column: 'Phone' (given); country column: 'Mailing Country' (given)"
        in output.splitlines()
    )
    assert (count(output, "read"), count(output, "valid"), count(output, "rejected")) == (14, 4, 10)


def test_default_region_is_printed_in_iso_spelling() -> None:
    output = dry_run("hubspot_export.csv", "--default-region", "UK")

    assert output.count("; default region: GB") == 1


def test_an_unknown_default_region_is_one_error_line_suggesting_the_nearest() -> None:
    result = runner.invoke(
        app,
        [
            "sync",
            str(SAMPLES / "hubspot_export.csv"),
            "--group",
            GROUP,
            "--dry-run",
            "--no-progress",
            "--default-region",
            "Untied Kingdom",
        ],
        terminal_width=250,
    )

    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: unknown region 'Untied Kingdom'; did you mean GB?"
    )


def test_with_json_the_columns_line_stays_off_stdout() -> None:
    result = runner.invoke(
        app,
        ["sync", str(SAMPLES / "hubspot_export.csv"), "--group", GROUP, "--dry-run", "--json"],
        terminal_width=250,
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_valid"] == 12
    assert "phone column: 'Mobile Phone Number' (detected)" in result.stderr
