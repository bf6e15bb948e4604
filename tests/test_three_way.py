"""The three-way sync, end to end over HTTP: a member who left on Sinch's side (a keyword, the
dashboard) is never added back, one who joined is kept by a mirror unless `--strict`.

Each test drives the `sinch-groups` command in-process against a live emulator (uvicorn), makes
the subscribers' changes with real inbound SMS (`POST /_emulator/inbound`) or API updates, and
checks the group through the API, the report file and the opt-out ledger on disk.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.cli import app
from pipeline.sinch import AutoUpdate, Keyword
from pipeline.sync.state import OptOutLedger
from sinch_emulator import DEFAULT_PLAN_ID, EmulatorServer
from tests.live import client_for, inbound, members_by_name

pytestmark = pytest.mark.usefixtures("wide_console")

KEYWORD_NUMBER = "+15551231234"
A, B, C, D = "+447911100001", "+447911100002", "+447911100003", "+447911100004"


class Nightly:
    """The same contacts file synced into group `Promo` again and again, as a schedule would,
    with its state and ledger in the test's folder."""

    def __init__(self, folder: Path, numbers: list[str]) -> None:
        self.folder = folder
        self.source = folder / "contacts.csv"
        self.source.write_text("phone\n" + "\n".join(numbers) + "\n", encoding="utf-8")
        self.state, self.optouts = folder / "state", folder / "optouts"
        self.runs = 0

    def run(self, *args: str, exit_code: int = 0) -> tuple[str, dict[str, Any]]:
        """One sync; returns the printed output and the group's line in the report."""
        self.runs += 1
        report = self.folder / f"report-{self.runs}.json"
        result = CliRunner().invoke(
            app,
            [
                "sync",
                str(self.source),
                "--group",
                "Promo",
                "--no-progress",
                "--state",
                str(self.state),
                "--optouts",
                str(self.optouts),
                "--report",
                str(report),
                "--rejects",
                str(self.folder / "rejects.csv"),
                *args,
            ],
        )
        assert result.exit_code == exit_code, result.output
        if not report.exists():
            return result.output, {}
        (group,) = json.loads(report.read_text(encoding="utf-8"))["groups"]
        return result.output, group

    def ledger(self) -> list[tuple[str, str | None]]:
        entries = OptOutLedger(self.optouts).entries()
        return list(entries.select("phone_e164", "group_name").iter_rows())


def promo(server: EmulatorServer) -> set[str]:
    return asyncio.run(members_by_name(server))["Promo"]


def create_keyword_group(server: EmulatorServer) -> str:
    """`Promo` with the seed's auto_update: JOIN joins, STOP leaves (texts to KEYWORD_NUMBER)."""

    async def create() -> str:
        async with client_for(server) as client:
            keywords = AutoUpdate(
                to=KEYWORD_NUMBER,
                add=Keyword(first_word="JOIN"),
                remove=Keyword(first_word="STOP"),
            )
            return (await client.create_group(name="Promo", auto_update=keywords)).id

    return asyncio.run(create())


def dashboard_remove(server: EmulatorServer, group_id: str, number: str) -> None:
    """What an agent's removal in the dashboard is on the wire: a plain group update."""

    async def remove() -> None:
        async with client_for(server) as client:
            await client.update_group(group_id, remove=[number])

    asyncio.run(remove())


@pytest.fixture
def nightly(sinch_env: EmulatorServer, tmp_path: Path) -> Nightly:
    create_keyword_group(sinch_env)
    return Nightly(tmp_path, [A, B, C])


def test_a_keyword_leave_is_kept_out_in_add_and_mirror_and_readd_left_brings_it_back(
    sinch_env: EmulatorServer, nightly: Nightly
) -> None:
    _, first = nightly.run()
    assert first["base"] is None
    assert first["added"] == 3
    assert promo(sinch_env) == {A, B, C}

    assert inbound(sinch_env, B, KEYWORD_NUMBER, "stop please")["left"]
    assert promo(sinch_env) == {A, C}

    output, add = nightly.run()
    assert (add["left"], add["left_kept_out"], add["to_add"], add["added"]) == (1, 1, 0, 0)
    assert add["optouts_recorded"] == 1
    assert add["base"]["mode"] == "add"
    assert "Promo: left since the last run: 1; kept out: 1" in output
    assert promo(sinch_env) == {A, C}
    assert nightly.ledger() == [(B, "Promo")]

    output, mirror = nightly.run("--mode", "mirror")
    # the leave is in the ledger now: not new since the base, still kept out
    assert (mirror["left"], mirror["left_kept_out"], mirror["added"]) == (0, 1, 0)
    assert (mirror["optouts_recorded"], mirror["current"], mirror["final_size"]) == (0, 2, 2)
    assert "kept out: 1" in output
    assert promo(sinch_env) == {A, C}

    output, readd = nightly.run("--readd-left")
    assert (readd["readded_left"], readd["added"], readd["left_kept_out"]) == (1, 1, 0)
    assert "added back although they had left (--readd-left): 1" in output
    assert promo(sinch_env) == {A, B, C}
    # one run only: the ledger still holds the number for the next one
    assert nightly.ledger() == [(B, "Promo")]


def test_a_dashboard_removal_is_kept_out_like_a_keyword_leave(
    sinch_env: EmulatorServer, nightly: Nightly
) -> None:
    nightly.run()
    group_id = nightly_group_id(sinch_env)
    dashboard_remove(sinch_env, group_id, C)

    _, again = nightly.run("--mode", "mirror")
    assert (again["left"], again["left_kept_out"], again["added"]) == (1, 1, 0)
    assert promo(sinch_env) == {A, B}
    assert nightly.ledger() == [(C, "Promo")]


def nightly_group_id(server: EmulatorServer) -> str:
    async def find() -> str:
        async with client_for(server) as client:
            return next(iter([g.id async for g in client.iter_groups() if g.name == "Promo"]))

    return asyncio.run(find())


def test_a_keyword_join_is_kept_by_mirror_and_removed_by_strict_under_the_guard(
    sinch_env: EmulatorServer, nightly: Nightly
) -> None:
    nightly.run()
    assert inbound(sinch_env, D, KEYWORD_NUMBER, "Join")["joined"]

    output, kept = nightly.run("--mode", "mirror")
    assert (kept["joined"], kept["joined_kept"], kept["to_remove"], kept["removed"]) == (1, 1, 0, 0)
    assert "Promo: joined since the last run: 1; kept: 1" in output
    assert promo(sinch_env) == {A, B, C, D}

    # still kept on the next night, although no longer new since the base
    _, again = nightly.run("--mode", "mirror")
    assert (again["joined"], again["joined_kept"], again["removed"]) == (0, 1, 0)

    # --strict removes the joined member, and that removal counts against the guard
    output, _ = nightly.run("--mode", "mirror", "--strict", exit_code=1)
    assert "'Promo' would lose 1 of 4 members (allowed 0)" in output
    assert promo(sinch_env) == {A, B, C, D}

    output, strict = nightly.run("--mode", "mirror", "--strict", "--max-remove-fraction", "0.25")
    assert (strict["joined_removed"], strict["removed"], strict["final_size"]) == (1, 1, 3)
    assert "removed (--strict): 1" in output
    assert promo(sinch_env) == {A, B, C}
    assert nightly.ledger() == [], "a number our run removed is not an opt-out"


def test_strict_without_mirror_is_refused_before_anything_runs(nightly: Nightly) -> None:
    output, group = nightly.run("--strict", exit_code=1)
    assert output == (
        "Error: --strict only changes what --mode mirror removes; drop it, or use --mode mirror\n"
    )
    assert group == {}


def test_with_the_state_lost_the_plan_is_two_way_and_the_ledger_still_keeps_out(
    sinch_env: EmulatorServer, nightly: Nightly
) -> None:
    nightly.run()
    inbound(sinch_env, B, KEYWORD_NUMBER, "STOP")
    nightly.run()  # sees the leave, records it in the ledger
    shutil.rmtree(nightly.state)

    output, lost = nightly.run("--mode", "mirror")
    assert lost["base"] is None
    assert lost["left"] == 0
    assert (lost["left_kept_out"], lost["added"]) == (1, 0)
    assert "has no base (a first run on it, or the state was lost)" in output
    assert promo(sinch_env) == {A, C}

    _, rebuilt = nightly.run("--mode", "mirror")
    assert rebuilt["base"] is not None, "the run after a loss writes a new base"


def test_a_dry_run_shows_the_three_way_counts_and_writes_no_state(
    sinch_env: EmulatorServer, nightly: Nightly
) -> None:
    nightly.run()
    inbound(sinch_env, A, KEYWORD_NUMBER, "stop")
    inbound(sinch_env, D, KEYWORD_NUMBER, "join")
    before = sorted(p.relative_to(nightly.folder) for p in nightly.folder.rglob("*.parquet"))

    output, plan = nightly.run("--mode", "mirror", "--dry-run")
    assert (plan["left"], plan["left_kept_out"], plan["joined"], plan["joined_kept"]) == (
        1,
        1,
        1,
        1,
    )
    assert (plan["current"], plan["to_add"], plan["to_remove"], plan["final_size"]) == (3, 0, 0, 3)
    assert "left since the last run: 1; kept out: 1" in output
    after = sorted(p.relative_to(nightly.folder) for p in nightly.folder.rglob("*.parquet"))
    assert after == before, "a dry run neither records leaves nor publishes a base"
    assert nightly.ledger() == []


def test_the_base_is_keyed_by_service_plan_and_group_id(
    sinch_env: EmulatorServer, nightly: Nightly
) -> None:
    nightly.run()
    group_id = nightly_group_id(sinch_env)
    (base,) = nightly.state.rglob("*.parquet")
    assert base.relative_to(nightly.state) == Path(DEFAULT_PLAN_ID) / f"{group_id}.parquet"


def test_a_group_deleted_and_created_again_by_name_keeps_its_opt_outs(
    sinch_env: EmulatorServer, nightly: Nightly
) -> None:
    nightly.run()
    inbound(sinch_env, B, KEYWORD_NUMBER, "STOP")
    nightly.run()  # the ledger holds B for the old group
    old_id = nightly_group_id(sinch_env)

    async def delete() -> None:
        async with client_for(sinch_env) as client:
            await client.delete_group(old_id)

    asyncio.run(delete())
    _, recreated = nightly.run()
    assert recreated["created"] is True
    assert (recreated["left_kept_out"], recreated["added"]) == (1, 2)
    assert promo(sinch_env) == {A, C}


def test_a_joiner_the_file_also_lists_stays_a_joiner_when_the_file_drops_them(
    sinch_env: EmulatorServer, nightly: Nightly
) -> None:
    nightly.run()
    inbound(sinch_env, D, KEYWORD_NUMBER, "JOIN")
    nightly.source.write_text(f"phone\n{A}\n{B}\n{C}\n{D}\n", encoding="utf-8")
    nightly.run("--mode", "mirror")  # the CRM lists D as well that night
    nightly.source.write_text(f"phone\n{A}\n{B}\n{C}\n", encoding="utf-8")

    _, dropped = nightly.run("--mode", "mirror")
    assert (dropped["joined_kept"], dropped["removed"]) == (1, 0)
    assert promo(sinch_env) == {A, B, C, D}
