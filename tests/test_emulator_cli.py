"""`sinch-groups emulator`: the flags reach the server it starts, and it says how to reach it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.emulator.helpers import BANNER_URL, read_banner


@contextmanager
def emulator(*flags: str) -> Iterator[tuple[str, str]]:
    """Run the command; yield its base URL and the banner it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "emulator", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        text = read_banner(process.stdout)
        match = BANNER_URL.search(text)
        assert match, text
        yield match.group(1), text
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_flags_configure_plans_storage_and_refused_numbers(tmp_path: Path):
    refused = tmp_path / "refused.txt"
    refused.write_text("+44 7400 123456\n")
    db = tmp_path / "state.sqlite3"
    flags = ("--plan", "myplan:my-token", "--db", str(db), "--refuse-numbers", str(refused))
    with emulator(*flags) as (url, banner):
        assert "service plan myplan  token my-token" in banner
        groups = f"{url}/xms/v1/myplan/groups"
        auth = {"Authorization": "Bearer my-token"}
        assert httpx.get(groups, headers={"Authorization": "Bearer demo-token"}).status_code == 401
        created = httpx.post(groups, headers=auth, json={"name": "kept"})
        assert created.status_code == 201
        refusal = httpx.post(groups, headers=auth, json={"members": ["+447400123456"]})
        assert refusal.status_code == 400
        assert "447400123456" in refusal.json()["text"]
    with emulator("--plan", "myplan:my-token", "--db", str(db)) as (url, _banner):
        listed = httpx.get(
            f"{url}/xms/v1/myplan/groups", headers={"Authorization": "Bearer my-token"}
        )
        assert [g["name"] for g in listed.json()["groups"]] == ["kept"]


def test_a_bad_flag_value_is_a_one_line_error():
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "emulator", "--plan", "no-token-here"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "PLAN_ID:TOKEN" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
