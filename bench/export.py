"""Benchmark: streaming export vs. the straightforward SDK + pandas export, same data, same run.

    .venv/bin/python bench/export.py                       # 100 groups, 2,000,000 members
    .venv/bin/python bench/export.py --members 200000 --repeat 1 --json export.json

Set-up (not measured): the emulator runs as a real HTTP server (EmulatorServer, in this process)
on an SQLite file, seeded through the API in 10,000-number batches. Then each side runs in its
own subprocess, so its peak RSS (`ru_maxrss`) and CPU time are its own:

- sinch-groups: `pipeline.snapshot.export_snapshot` (the library the `export` flow runs, without
  Prefect's per-task overhead): bounded concurrent fetches, one Parquet row group per group,
  region/number_type enrichment, validation against the pandera models, atomic publish.
- baseline: the official `sinch` SDK's `groups.list` + `list_members` for every group, all rows
  in a list, one pandas DataFrame, `to_parquet` (no enrichment, no validation).

Each side is timed from its first request to its file, its imports and the making of its client
excluded (the SDK's client connects at its first request; httpx's loads the CA bundle when made).
Each side runs `--repeat` times (default 5), alternating, and each side's fastest run counts (every
run's wall time is printed): on a shared machine that is the run other processes disturbed least.
The emulator answers both sides from this process, so a member list costs the same server time
for either. Targets (issue 19), printed after the table with "met" or "not met": the export at
least 1.5x as fast as the baseline (baseline wall / ours, enrichment on), and its peak RSS at most
the baseline's / 1.5 (baseline peak / ours >= 1.5). "enrich s" is the time in `describe_each`
(region and number type); "CPU s" the side's own CPU time (all its threads), the steadier figure
when the machine is busy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from _child import peak_rss_mib, run_side

from pipeline.sinch import GroupsClient
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorConfig, EmulatorServer, Plan

BATCH = 10_000
SPEED_TARGET = 1.5
"""Baseline wall time / the export's, enrichment on."""
MEMORY_TARGET = 1.5
"""Baseline peak RSS / the export's."""
OURS, BASELINE = "sinch-groups export (streaming)", "baseline: SDK + pandas"


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
    from pipeline.snapshot import members

    enrich = 0.0
    describe = members.describe_each

    def timed_describe(e164):  # type: ignore[no-untyped-def]
        nonlocal enrich
        started = time.perf_counter()
        try:
            return describe(e164)
        finally:
            enrich += time.perf_counter() - started

    members.describe_each = timed_describe

    # Made before the clock starts, as the baseline's is (httpx loads the CA bundle up front).
    client = GroupsClient(service_plan_id=DEFAULT_PLAN_ID, token=DEFAULT_TOKEN, base_url=base_url)

    async def export() -> snapshots.SnapshotResult:
        async with client:
            return await snapshots.export_snapshot(
                client, out, target={"base_url": base_url}, concurrency=4
            )

    before = psutil.Process().memory_info().rss / 2**20
    cpu = time.process_time()
    started = time.perf_counter()
    result = asyncio.run(export())
    seconds = time.perf_counter() - started
    size = sum(path.stat().st_size for path in result.path.iterdir())
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
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
    cpu = time.process_time()
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
        "cpu_seconds": time.process_time() - cpu,
        "enrich_seconds": 0.0,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mib(),
        "rows": len(frame),
        "bytes": (out / "members.parquet").stat().st_size,
    }


SIDES = {OURS: run_ours, BASELINE: run_baseline}


def fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The side's fastest run, with every run's wall time beside it."""
    best = min(runs, key=lambda run: run["seconds"])
    return {**best, "seconds_runs": [run["seconds"] for run in runs]}


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def report(figures: dict[str, dict[str, Any]]) -> tuple[list[str], dict[str, float]]:
    """The table, every run's wall time and the targets' lines; and the two ratios."""
    header = (
        f"{'side':34} {'wall s':>7} {'CPU s':>6} {'enrich s':>9} {'RSS before MB':>14} "
        f"{'peak RSS MB':>12} {'rows':>11} {'file MB':>8}"
    )
    lines = [header, "-" * len(header)]
    for side, row in figures.items():
        lines.append(
            f"{side:34} {row['seconds']:7.2f} {row['cpu_seconds']:6.2f} "
            f"{row['enrich_seconds']:9.2f} {row['rss_before_mb']:14.0f} "
            f"{row['peak_rss_mb']:12.0f} {row['rows']:11,.0f} {row['bytes'] / 2**20:8.1f}"
        )
    lines.append(
        "wall s, every run: "
        + "; ".join(
            f"{side} {', '.join(f'{s:.2f}' for s in row['seconds_runs'])}"
            for side, row in figures.items()
        )
    )
    ours, theirs = figures[OURS], figures[BASELINE]
    ratios = {
        "speedup": theirs["seconds"] / ours["seconds"],
        "memory_ratio": theirs["peak_rss_mb"] / ours["peak_rss_mb"],
    }
    lines += [
        f"target: export >= {SPEED_TARGET}x as fast as the baseline, enrichment on "
        f"(baseline wall / ours): {ratios['speedup']:.2f}x, "
        f"{_met(ratios['speedup'] >= SPEED_TARGET)}",
        f"target: peak RSS <= the baseline's / {MEMORY_TARGET} (baseline peak / ours): "
        f"{ratios['memory_ratio']:.2f}x, {_met(ratios['memory_ratio'] >= MEMORY_TARGET)}",
    ]
    return lines, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--members", type=int, default=2_000_000)
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs of each side, alternating; the fastest counts"
    )
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
            runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
            for run in range(args.repeat):
                for index, side in enumerate(SIDES):
                    out = Path(work) / f"out-{run}-{index}"
                    runs[side].append(
                        run_side(__file__, side, "--base-url", server.base_url, "--out", str(out))
                    )
            figures = {side: fastest(done) for side, done in runs.items()}

    lines, ratios = report(figures)
    print("\n".join(lines))
    if args.json:
        summary = {"groups": args.groups, "members": args.members, "repeat": args.repeat}
        args.json.write_text(json.dumps({**summary, **ratios, "sides": figures}, indent=2))


if __name__ == "__main__":
    main()
