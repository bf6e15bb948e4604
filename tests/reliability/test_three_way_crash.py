"""A sync SIGKILLed after its writes reached Sinch but before it published the group's new base.

The old base then says the removed numbers were members; without the run's pending note they
would look like leaves on Sinch's side and land in the opt-out ledger, to be kept out for ever.
Re-running must converge, and the ledger must hold only real leaves.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from pipeline.sync.state import OptOutLedger, StateStore
from sinch_emulator import DEFAULT_PLAN_ID, EmulatorConfig, EmulatorServer
from tests.live import client_for, members_by_name, seed_group, set_faults

from .helpers import Traffic, cli, cli_env, kill, uk_mobile


def write_numbers(path: Path, numbers: list[str]) -> Path:
    path.write_text("phone\n" + "\n".join(numbers) + "\n", encoding="utf-8")
    return path


@pytest.mark.timeout(180)
async def test_a_run_killed_between_apply_and_base_converges_and_never_ledgers_its_own_removals(
    tmp_path: Path, traffic: list[Traffic]
) -> None:
    everyone = [uk_mobile(i) for i in range(20)]
    keep, ours = everyone[:12], everyone[12:16]  # the second file drops `ours`
    state, optouts = tmp_path / "state", tmp_path / "optouts"
    with EmulatorServer(EmulatorConfig()) as server:
        group_id = await seed_group(server, "Promo", [])
        [watch] = traffic
        env = cli_env(server.base_url, "")

        def sync(source: Path, *args: str) -> list[str]:
            return cli(
                "sync", str(source), "--group", "Promo", "--no-progress", "--mode", "mirror",
                "--force", "--state", str(state), "--optouts", str(optouts), *args,
            )  # fmt: skip

        first = subprocess.run(
            sync(write_numbers(tmp_path / "all.csv", everyone[:16])),
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert first.returncode == 0, first.stdout + first.stderr
        # someone really leaves (a keyword would do the same; the dashboard is an API update)
        await _remove(server, group_id, everyone[0])

        source = write_numbers(tmp_path / "fewer.csv", keep)
        kill_while_verifying(server, watch, group_id, sync(source), env, tmp_path)
        assert (await members_by_name(server))["Promo"] == set(keep) - {everyone[0]}
        store = StateStore(state, DEFAULT_PLAN_ID)
        base = store.read(group_id)
        assert base is not None
        assert set(base.members.to_list()) == set(everyone[:16]), "the old base stays"
        assert set(base.pending.remove.to_list()) == set(ours), "the run noted its removals"
        ledger = OptOutLedger(optouts)
        assert ledger.numbers(DEFAULT_PLAN_ID, group_id).to_list() == [everyone[0]]

        again = subprocess.run(
            sync(source), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert (await members_by_name(server))["Promo"] == set(keep) - {everyone[0]}
        assert ledger.numbers(DEFAULT_PLAN_ID, group_id).to_list() == [everyone[0]], (
            "numbers our own run removed are not opt-outs"
        )
        base = store.read(group_id)
        assert base is not None
        assert set(base.members.to_list()) == set(keep) - {everyone[0]}
        assert base.pending.remove.is_empty()
        assert base.pending.add.is_empty()

        # and they may come back: a later file that lists them adds them again
        back = subprocess.run(
            sync(write_numbers(tmp_path / "back.csv", everyone[:16])),
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert back.returncode == 0, back.stdout + back.stderr
        assert (await members_by_name(server))["Promo"] == set(everyone[1:16])


def kill_while_verifying(
    server: EmulatorServer,
    watch: Traffic,
    group_id: str,
    command: list[str],
    env: dict[str, str],
    cwd: Path,
) -> None:
    """Run `command` and SIGKILL it once the group was updated and its members are being read
    back (the verify step, made slow): after every write, before the new base."""
    set_faults(server, latency_ms=1500)
    start = len(watch.requests)
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )

    def verifying() -> bool:
        sent = watch.requests[start:]
        writes = [i for i, (m, path) in enumerate(sent) if m == "POST" and group_id in path]
        return bool(writes) and any(
            m == "GET" and path.endswith("/members") for m, path in sent[writes[0] + 1 :]
        )

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not verifying():
        time.sleep(0.01)
    if process.poll() is not None:
        output = process.stdout.read().decode() if process.stdout else ""
        pytest.fail(f"the run ended before the kill could land while it verified:\n{output}")
    kill(process)
    set_faults(server)


@pytest.mark.timeout(180)
async def test_a_member_our_killed_first_run_added_who_then_leaves_is_kept_out(
    tmp_path: Path, traffic: list[Traffic]
) -> None:
    """The first run on a group adds everyone and is killed before it writes any base; one of
    them texts STOP. The pending note says Sinch confirmed the add: the re-run sees a leave."""
    numbers = [uk_mobile(i) for i in range(8)]
    source = write_numbers(tmp_path / "all.csv", numbers)
    with EmulatorServer(EmulatorConfig()) as server:
        group_id = await seed_group(server, "Promo", [])
        [watch] = traffic
        env = cli_env(server.base_url, "")
        command = cli(
            "sync", str(source), "--group", "Promo", "--no-progress",
            "--state", str(tmp_path / "state"), "--optouts", str(tmp_path / "optouts"),
        )  # fmt: skip
        kill_while_verifying(server, watch, group_id, command, env, tmp_path)
        assert (await members_by_name(server))["Promo"] == set(numbers)
        assert StateStore(tmp_path / "state", DEFAULT_PLAN_ID).read(group_id) is not None
        await _remove(server, group_id, numbers[2])

        again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert again.returncode == 0, again.stdout + again.stderr
        assert (await members_by_name(server))["Promo"] == set(numbers) - {numbers[2]}
        ledger = OptOutLedger(tmp_path / "optouts")
        assert ledger.numbers(DEFAULT_PLAN_ID, group_id).to_list() == [numbers[2]]


async def _remove(server: EmulatorServer, group_id: str, number: str) -> None:
    async with client_for(server) as client:
        await client.update_group(group_id, remove=[number])
