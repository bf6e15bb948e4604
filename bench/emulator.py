"""Benchmark: one emulator group grown to 1,000,000 members in 10,000-number updates.

Starts a real EmulatorServer (uvicorn on a thread), creates a group, adds distinct numbers
with plain httpx `POST /groups/{id}` requests of 10,000 `add` each, lists the members, checks
the count is exact, and prints timings. The same workload at a smaller baseline size runs
first in the same process, so the output shows whether cost per member stays flat (linear).
Then the round trip runs again through the project's own `GroupsClient` (concurrent updates,
`list_members` returning E.164 with `+`).

    .venv/bin/python bench/emulator.py                    # in-memory SQLite
    .venv/bin/python bench/emulator.py --db /tmp/emu.db   # also with a database file
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from pipeline.sinch import GroupsClient
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorConfig, EmulatorServer

BATCH = 10_000
GROUPS = f"/xms/v1/{DEFAULT_PLAN_ID}/groups"


@dataclass(frozen=True)
class Result:
    """Timings of one run; `per_member_us` is the add phase's cost per member."""

    label: str
    members: int
    create_s: float
    add_s: float
    request_p50_ms: float
    request_p95_ms: float
    request_bytes: int
    fetch_s: float
    payload_bytes: int

    @property
    def per_member_us(self) -> float:
        return self.add_s / self.members * 1e6


def numbers(start: int, count: int) -> list[str]:
    """Distinct, valid UK mobile-style numbers with a `+`."""
    return [f"+447{index:09d}" for index in range(start, start + count)]


def run(label: str, members: int, db_path: Path | None) -> Result:
    """Grow one group to `members` and list it back, against a fresh server."""
    config = EmulatorConfig(db_path=db_path)
    with (
        EmulatorServer(config) as server,
        httpx.Client(
            base_url=server.base_url,
            timeout=120,
            headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
        ) as client,
    ):
        started = time.perf_counter()
        group_id = client.post(GROUPS, json={"name": "million"}).raise_for_status().json()["id"]
        create_s = time.perf_counter() - started

        latencies, request_bytes = [], 0
        started = time.perf_counter()
        for offset in range(0, members, BATCH):
            body = json.dumps({"add": numbers(offset, min(BATCH, members - offset))}).encode()
            request_bytes = max(request_bytes, len(body))
            sent = time.perf_counter()
            client.post(
                f"{GROUPS}/{group_id}", content=body, headers={"Content-Type": "application/json"}
            ).raise_for_status()
            latencies.append(time.perf_counter() - sent)
        add_s = time.perf_counter() - started

        started = time.perf_counter()
        response = client.get(f"{GROUPS}/{group_id}/members").raise_for_status()
        listed = response.json()
        fetch_s = time.perf_counter() - started
        size = client.get(f"{GROUPS}/{group_id}").raise_for_status().json()["size"]

    if not (len(listed) == len(set(listed)) == size == members):
        sys.exit(f"{label}: expected {members} members, listed {len(listed)}, size {size}")
    return Result(
        label,
        members,
        create_s,
        add_s,
        statistics.median(latencies) * 1e3,
        statistics.quantiles(latencies, n=20)[-1] * 1e3
        if len(latencies) > 1
        else latencies[0] * 1e3,
        request_bytes,
        fetch_s,
        len(response.content),
    )


async def run_client(label: str, members: int, db_path: Path | None) -> Result:
    """The same round trip through the project's own client (4 updates in flight, retries on)."""
    with EmulatorServer(EmulatorConfig(db_path=db_path)) as server:
        async with GroupsClient(
            service_plan_id=DEFAULT_PLAN_ID,
            token=DEFAULT_TOKEN,
            base_url=server.base_url,
            max_concurrency=4,
            timeout=120,
        ) as client:
            started = time.perf_counter()
            group = await client.create_group(name="million")
            create_s = time.perf_counter() - started
            latencies: list[float] = []
            window = asyncio.Semaphore(4)  # the client's own bound: time requests, not queueing

            async def add(offset: int) -> None:
                async with window:
                    sent = time.perf_counter()
                    await client.update_group(
                        group.id, add=numbers(offset, min(BATCH, members - offset))
                    )
                    latencies.append(time.perf_counter() - sent)

            started = time.perf_counter()
            await asyncio.gather(*(add(offset) for offset in range(0, members, BATCH)))
            add_s = time.perf_counter() - started
            started = time.perf_counter()
            listed = await client.list_members(group.id)
            fetch_s = time.perf_counter() - started
            size = (await client.get_group(group.id)).size
    if not (len(listed) == len(set(listed)) == size == members) or not listed[0].startswith("+"):
        sys.exit(f"{label}: expected {members} members, listed {len(listed)}, size {size}")
    ordered = sorted(latencies)
    return Result(
        label,
        members,
        create_s,
        add_s,
        statistics.median(ordered) * 1e3,
        ordered[int(len(ordered) * 0.95) - 1] * 1e3,
        0,
        fetch_s,
        sum(len(m) + 3 for m in listed),
    )


def report(results: list[Result]) -> str:
    """A fixed-width table, then the scaling of each large run against its baseline."""
    header = (
        f"{'run':<22}{'members':>10}{'create':>9}{'add total':>11}{'req p50':>9}"
        f"{'req p95':>9}{'us/member':>11}{'members GET':>13}{'payload':>10}"
    )
    rows = [header, "-" * len(header)]
    for item in results:
        rows.append(
            f"{item.label:<22}{item.members:>10,}{item.create_s * 1e3:>7.1f}ms"
            f"{item.add_s:>10.2f}s{item.request_p50_ms:>7.1f}ms{item.request_p95_ms:>7.1f}ms"
            f"{item.per_member_us:>11.2f}{item.fetch_s:>12.2f}s"
            f"{item.payload_bytes / 1e6:>8.1f}MB"
        )
    rows.append(f"request body: {results[0].request_bytes / 1e3:.0f} kB per {BATCH:,}-number add")
    for baseline, large in zip(results[::2], results[1::2], strict=True):
        growth = large.members / baseline.members
        rows.append(
            f"{large.label}: {growth:.0f}x the members took {large.add_s / baseline.add_s:.1f}x"
            f" the add time and {large.fetch_s / baseline.fetch_s:.1f}x the members GET"
            f" (linear = {growth:.0f}x)"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="also run against this SQLite file (recreated)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    storages: list[tuple[str, Path | None]] = [("memory", None)]
    if args.db:
        storages.append(("file", args.db))
    results = []
    for name, db_path in storages:
        for members in (args.baseline, args.members):
            if db_path is not None:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db_path}{suffix}").unlink(missing_ok=True)
            print(f"running {name} {members:,} ...", file=sys.stderr, flush=True)
            results.append(run(f"{name} {members // 1000:,}k", members, db_path))
    for members in (args.baseline, args.members):
        print(f"running client {members:,} ...", file=sys.stderr, flush=True)
        results.append(asyncio.run(run_client(f"client {members // 1000:,}k", members, None)))
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(result) for result in results], indent=2))


if __name__ == "__main__":
    main()
