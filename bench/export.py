"""Benchmark: streaming export vs. the straightforward SDK + pandas export, same data, same run.

    .venv/bin/python bench/export.py                       # 100 groups, 2,000,000 members
    .venv/bin/python bench/export.py --members 200000 --json export.json

Set-up (not measured): the emulator runs as a real HTTP server (EmulatorServer, in this process)
on an SQLite file, seeded through the API in 10,000-number batches. Then each side runs in its
own subprocess, so its peak RSS (`ru_maxrss`) is its own:

- sinch-groups: `pipeline.snapshot.export_snapshot` (the library the `export` flow runs, without
  Prefect's per-task overhead): bounded concurrent fetches, one Parquet row group per group,
  region/number_type enrichment, pandera validation, atomic publish.
- baseline: the official `sinch` SDK's `groups.list` + `list_members` for every group, all rows
  in a list, one pandas DataFrame, `to_parquet` (no enrichment, no validation).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import psutil
from _child import peak_rss_mib, run_side

from pipeline.sinch import GroupsClient
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorConfig, EmulatorServer, Plan

BATCH = 10_000


def number(i: int) -> str:
    """Distinct UK mobile numbers for i < 10,000,000."""
    return f"+447{400000000 + i:09d}"


async def seed(base_url: str, groups: int, members: int) -> None:
    per_group = members // groups
    async with GroupsClient(
        service_plan_id=DEFAULT_PLAN_ID, token=DEFAULT_TOKEN, base_url=base_url, max_concurrency=4
    ) as client:

        async def one(index: int) -> None:
            start = index * per_group
            numbers = [number(start + k) for k in range(per_group)]
            group = await client.create_group(name=f"bench {index:03d}", members=numbers[:BATCH])
            for offset in range(BATCH, per_group, BATCH):
                await client.update_group(group.id, add=numbers[offset : offset + BATCH])

        await asyncio.gather(*(one(index) for index in range(groups)))


def run_ours(base_url: str, out: Path) -> dict[str, float]:
    from pipeline import snapshot as snapshots

    enrich = 0.0
    describe = snapshots.describe_numbers

    def timed_describe(e164):  # type: ignore[no-untyped-def]
        nonlocal enrich
        started = time.perf_counter()
        try:
            return describe(e164)
        finally:
            enrich += time.perf_counter() - started

    snapshots.describe_numbers = timed_describe

    async def export() -> snapshots.SnapshotResult:
        async with GroupsClient(
            service_plan_id=DEFAULT_PLAN_ID, token=DEFAULT_TOKEN, base_url=base_url
        ) as client:
            return await snapshots.export_snapshot(
                client, out, target={"base_url": base_url}, concurrency=4
            )

    before = psutil.Process().memory_info().rss / 2**20
    started = time.perf_counter()
    result = asyncio.run(export())
    seconds = time.perf_counter() - started
    size = sum(path.stat().st_size for path in result.path.iterdir())
    return {
        "seconds": seconds,
        "enrich_seconds": enrich,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mib(),
        "rows": result.members,
        "bytes": size,
    }


def run_baseline(base_url: str, out: Path) -> dict[str, float]:
    import pandas as pd
    from sinch import SinchClient

    client = SinchClient(service_plan_id=DEFAULT_PLAN_ID, sms_api_token=DEFAULT_TOKEN)
    client.configuration.sms_origin_with_service_plan_id = base_url
    before = psutil.Process().memory_info().rss / 2**20
    started = time.perf_counter()
    rows = []
    for group in client.sms.groups.list(page_size=100).iterator():
        for member in client.sms.groups.list_members(group.id).iterator():
            rows.append((group.id, group.name, f"+{member}"))
    frame = pd.DataFrame(rows, columns=["group_id", "group_name", "phone_e164"])
    out.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out / "members.parquet", index=False)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "enrich_seconds": 0.0,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mib(),
        "rows": len(frame),
        "bytes": (out / "members.parquet").stat().st_size,
    }


SIDES = {"sinch-groups export (streaming)": run_ours, "baseline: SDK + pandas": run_baseline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--members", type=int, default=2_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--side", choices=list(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:  # a measured child
        print(json.dumps(SIDES[args.side](args.base_url, args.out)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-export-") as work:
        config = EmulatorConfig(
            plans=[Plan(id=DEFAULT_PLAN_ID, token=DEFAULT_TOKEN)],
            db_path=Path(work) / "emulator.sqlite3",
        )
        with EmulatorServer(config) as server:
            started = time.perf_counter()
            asyncio.run(seed(server.base_url, args.groups, args.members))
            print(
                f"seeded {args.groups} groups / {args.members:,} members through the API "
                f"in {time.perf_counter() - started:.1f} s (not measured)"
            )
            figures = {
                side: run_side(
                    __file__,
                    side,
                    "--base-url",
                    server.base_url,
                    "--out",
                    str(Path(work) / f"out-{index}"),
                )
                for index, side in enumerate(SIDES)
            }

    header = (
        f"{'side':34} {'wall s':>8} {'enrich s':>9} {'RSS before MB':>14} "
        f"{'peak RSS MB':>12} {'rows':>11} {'file MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for side, row in figures.items():
        print(
            f"{side:34} {row['seconds']:8.1f} {row['enrich_seconds']:9.1f} "
            f"{row['rss_before_mb']:14.0f} {row['peak_rss_mb']:12.0f} {row['rows']:11,.0f} "
            f"{row['bytes'] / 2**20:8.1f}"
        )
    ours, theirs = figures["sinch-groups export (streaming)"], figures["baseline: SDK + pandas"]
    speedup = theirs["seconds"] / ours["seconds"]
    memory = theirs["peak_rss_mb"] / ours["peak_rss_mb"]
    print(f"speed-up {speedup:.1f}x; peak RSS {memory:.1f}x lower")
    if args.json:
        summary = {"groups": args.groups, "members": args.members, "speedup": speedup}
        args.json.write_text(json.dumps({**summary, "sides": figures}, indent=2))


if __name__ == "__main__":
    main()
