"""Benchmark: how the cost per row holds as the file grows, 100,000 to 5,000,000 rows.

    .venv/bin/python bench/scaling.py                          # 100k, 1M, 5M rows, ~10 minutes
    .venv/bin/python bench/scaling.py --rows 100000 1000000 --json scaling.json

For each size of `make_contacts.py`'s CRM export (generated once into bench/.data), each step a
process of its own, so that its time and its peak RSS are its own:

- normalize: `load_contacts` + `normalize` of the whole file, `normalize.py`'s project side;
- unchanged re-sync: `sinch-groups sync` (mirror, one group) into the emulator, run once to
  create the group and fill the normalization cache, then timed again with the cache warm, as
  `sync.py` runs it (a user's install, 20 ms latency on every request);
- dry run, cold: `sinch-groups sync --dry-run --no-cache` of the file into a new group: the file
  read and normalized a partition at a time, every number planned as an add.

Printed: a table of rows, seconds (the whole process for the syncs), microseconds per row and
peak RSS per step, and the target "the 5,000,000-row dry run peaks at <= 1 GiB", met or not.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import normalize
from _child import print_report, run_side
from make_contacts import contacts_file
from sync import GROUP, emulated, sync, use_install

DRY_RUN_LIMIT_MIB = 1024
"""Issue 19: the 5,000,000-row dry run peaks at most this."""
DRY_RUN_ROWS = 5_000_000
STEPS = ("normalize", "unchanged re-sync", "dry run, cold")


def measure(rows: int, work: Path, latency_ms: float) -> dict[str, dict[str, float]]:
    """Each step on the `rows`-row file: wall seconds and peak RSS MiB."""
    source = contacts_file(rows)
    side = run_side(normalize.__file__, "project", "--path", str(source), "--out", str(work / "n"))
    figures = {
        "normalize": {"s": side["load_s"] + side["normalize_s"], "mib": side["peak_rss_mib"]}
    }
    with emulated(work, latency_ms, "local") as bench:
        env, counter = bench.env, bench.counter
        sync("first sync", source, work, env, counter)
        again = sync("unchanged re-sync", source, work, env, counter)
        cold = sync(
            "dry run", source, work, env, counter, "--dry-run", "--no-cache", group=f"{GROUP}-dry"
        )
    for step, run in (("unchanged re-sync", again), ("dry run, cold", cold)):
        figures[step] = {"s": run["wall_s"], "mib": run["peak_rss_mib"]}
    return figures


def report(results: dict[int, dict[str, dict[str, float]]]) -> dict[str, Any]:
    """The table, and the dry-run target where the 5,000,000-row file was measured."""
    steps = " ".join(f"{step:>23}" for step in STEPS)
    header = f"{'rows':>10} " + " ".join(f"{'s':>7} {'us/row':>7} {'MiB':>7}" for _ in STEPS)
    lines = [f"{'':10} {steps}", header, "-" * len(header)]
    for rows, figures in results.items():
        cells = (
            f"{figures[step]['s']:7.1f} {figures[step]['s'] / rows * 1e6:7.2f} "
            f"{figures[step]['mib']:7,.0f}"
            for step in STEPS
        )
        lines.append(f"{rows:10,} " + " ".join(cells))
    target = f"5,000,000-row dry run peaks at <= {DRY_RUN_LIMIT_MIB:,} MiB"
    if DRY_RUN_ROWS in results:
        peak = results[DRY_RUN_ROWS]["dry run, cold"]["mib"]
        met = peak <= DRY_RUN_LIMIT_MIB
        lines.append(f"  {'met' if met else 'NOT met'}: {target}: {peak:,.0f} MiB")
    else:
        met = None
        lines.append(f"  not measured: {target} (add 5000000 to --rows)")
    return {"results": results, "dry_run_target_met": met, "text": "\n".join(lines)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000, DRY_RUN_ROWS],
        help="file sizes to measure (default: 100000 1000000 5000000)",
    )
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--dev-venv",
        action="store_true",
        help="run the syncs with this interpreter's environment instead of a user's install",
    )
    args = parser.parse_args()
    use_install(dev_venv=args.dev_venv)
    results = {}
    for rows in sorted(args.rows):
        with tempfile.TemporaryDirectory(prefix="bench-scaling-") as work:
            results[rows] = measure(rows, Path(work), args.latency_ms)
        print(
            f"{rows:,} rows: " + ", ".join(f"{k} {v['s']:.1f} s" for k, v in results[rows].items())
        )
    print_report(report(results), args.json)


if __name__ == "__main__":
    main()
