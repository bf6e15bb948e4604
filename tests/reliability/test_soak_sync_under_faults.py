"""Soak: a 200,000-row multi-group mirror sync through the real flow, over real HTTP, while the
emulator rate-limits, fails and drops connections. The live membership must come out exactly as
the file says, the report must add up, and every injected fault must show up as a retry.

SOAK_SEEDS picks the seeds (a count N for seeds 1..N, or "3,17"); each seed changes the data,
which groups exist beforehand, and the emulator's fault sequence.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from flows.sync_groups import sync_groups
from pipeline.sync.plan import Mode
from sinch_emulator import EmulatorServer
from tests.live import members_by_name, seed_group, set_faults

from .helpers import SOAK_FAULTS as FAULTS
from .helpers import FaultLog, uk_mobile

ROWS = 200_000
GROUPS = [f"soak-{index}" for index in range(7)] + ["Café ☕"]
PREEXISTING = 6
"""The first six groups exist before the run (mirror adds and removes); the last two are created."""
BAD_VALUES = ["not a phone", "", "+44 12", '=HYPERLINK("http://x","y")', "07900 12345x"]
# With batches of 150 numbers a run makes about 500 requests, so every kind of fault in
# SOAK_FAULTS strikes (a seed where one kind did not would fail the test, not pass it silently).
SQUEEZE = {"after_requests": 60, "rate_limit": 3, "seconds": 1.0}
"""Whether 100/s is exceeded depends on the machine, so once applying has begun the limit drops
to 3/s for a second: with 8 requests in flight, 429s (and Retry-After waits) are certain."""


def squeeze_rate_limit(
    server: EmulatorServer, log: FaultLog, seed: int, done: threading.Event, squeezed: list[bool]
) -> None:
    """On its own thread: wait until the run is applying, then squeeze the rate limit."""
    while log.requests < SQUEEZE["after_requests"]:
        if done.wait(0.005):
            return
    set_faults(server, **{**FAULTS, "rate_limit": SQUEEZE["rate_limit"]}, seed=seed + 1)
    squeezed.append(not done.is_set())
    done.wait(SQUEEZE["seconds"])
    set_faults(server, **FAULTS, seed=seed + 2)


@dataclass
class SoakData:
    """The contact file and, computed independently of the pipeline, what it must lead to."""

    path: Path
    expected: dict[str, set[str]]
    rejected: int
    no_group: int
    duplicates: int


def spell(number: str, rng: random.Random) -> str:
    """One of the spellings a CRM export holds for a UK mobile."""
    national = "0" + number[3:]
    choice = rng.random()
    if choice < 0.7:
        return number
    if choice < 0.85:
        return f"{national[:5]} {national[5:]}"
    if choice < 0.95:
        return "00" + number[1:]
    return f"+44 ({national[1:5]}) {national[5:8]}-{national[8:]}"


def make_data(seed: int, folder: Path) -> SoakData:
    """200,000 rows over eight groups: spellings, duplicates, bad values and rows with no group."""
    rng = random.Random(seed)
    phones: list[str] = []
    groups: list[str] = []
    expected: dict[str, set[str]] = {name: set() for name in GROUPS}
    rejected = no_group = valid = 0
    for _ in range(ROWS):
        group = rng.choice(GROUPS)
        roll = rng.random()
        if roll < 0.005:
            phones.append(rng.choice(BAD_VALUES))
            groups.append(group)
            rejected += 1
            continue
        number = uk_mobile(rng.randrange(300_000))
        phones.append(spell(number, rng))
        if roll < 0.008:
            groups.append("")
            rejected += 1
            no_group += 1
            continue
        groups.append(group)
        expected[group].add(number)
        valid += 1
    path = folder / "crm_export.csv"
    pl.DataFrame({"phone": phones, "segment": groups}).write_csv(path)
    duplicates = valid - sum(len(numbers) for numbers in expected.values())
    return SoakData(path, expected, rejected, no_group, duplicates)


def initial_state(data: SoakData, seed: int) -> dict[str, list[str]]:
    """Six groups exist: each holds 92 % of its numbers plus strangers the mirror must remove
    (8 % of the group, under the default 10 % removal guard)."""
    rng = random.Random(seed * 7919)
    state = {}
    for index, name in enumerate(GROUPS[:PREEXISTING]):
        wanted = sorted(data.expected[name])
        kept = rng.sample(wanted, int(len(wanted) * 0.92))
        strangers = [uk_mobile(300_000 + index * 10_000 + i) for i in range(len(wanted) // 12)]
        state[name] = kept + strangers
    return state


@pytest.mark.soak
@pytest.mark.timeout(240)
async def test_mirror_sync_of_200k_rows_under_faults_lands_exactly(
    soak_seed: int,
    tmp_path: Path,
    prefect_harness: str,
    fault_log: FaultLog,
    sinch_env: EmulatorServer,
) -> None:
    data = make_data(soak_seed, tmp_path)
    before = initial_state(data, soak_seed)
    for name, members in before.items():
        await seed_group(sinch_env, name, members)
    set_faults(sinch_env, **FAULTS, seed=soak_seed)
    fault_log.clear()
    done, squeezed = threading.Event(), []
    squeezer = threading.Thread(
        target=squeeze_rate_limit, args=(sinch_env, fault_log, soak_seed, done, squeezed)
    )
    squeezer.start()
    try:
        report = await sync_groups(
            source=str(data.path),
            group_column="segment",
            mode=Mode.MIRROR,
            default_region="GB",
            chunk_size=150,
        )
    finally:
        done.set()
        squeezer.join(10)

    set_faults(sinch_env)
    injected, requests, summary = fault_log.injected, fault_log.requests, fault_log.summary()
    after = await members_by_name(sinch_env)

    assert after == data.expected, "the live membership differs from the file"

    assert (report.rows_read, report.rows_rejected) == (ROWS, data.rejected)
    assert report.rows_valid == ROWS - data.rejected
    assert report.rejected_by_reason["no_group"] == data.no_group
    assert sum(report.rejected_by_reason.values()) == report.rows_rejected
    assert report.duplicates == data.duplicates
    rejects = pl.read_parquet(report.rejects_path)
    assert rejects.height == data.rejected

    by_key = {group.key: group for group in report.groups}
    assert set(by_key) == set(GROUPS)
    for name, expected in data.expected.items():
        group = by_key[name]
        current = set(before.get(name, []))
        assert group.created is (name not in before)
        assert (group.added, group.removed) == (len(expected - current), len(current - expected))
        written = group.added + group.removed > 0
        assert (group.final_size, group.verified) == (len(expected), True if written else None)

    print(
        f"seed {soak_seed}: {summary}; report: requests={report.requests} retries={report.retries}"
    )
    assert squeezed == [True], "the rate limit was squeezed while the run was applying"
    assert fault_log.statuses.keys() >= {429, 500, 503}, summary
    assert sum(fault_log.resets.values()) > 0, summary
    assert report.retries == injected, f"every injected fault is one retry: {summary}"
    assert report.requests == requests, summary
