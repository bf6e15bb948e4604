"""Benchmark: `sinch-groups sync` of the 1,000,000-row file into the emulator over real HTTP.

    .venv/bin/python bench/sync.py                     # 1,000,000 rows, 20 ms latency, ~5 minutes
    .venv/bin/python bench/sync.py --mode prefect      # the same, each sync a Prefect flow run
    .venv/bin/python bench/sync.py --rows 100000 --json sync.json --no-baseline

Three syncs (mirror mode, one group) of `make_contacts.py`'s CRM export, each as its own
`sinch-groups sync` process, as a nightly job runs it:

1. first sync: the group does not exist yet, so every number is added;
2. unchanged re-sync: the same file again; nothing to send;
3. re-sync after 1% of the rows changed (`make_contacts.change_rows`): about as many removals as
   additions.

The emulator runs in this process on a real port, with `--latency-ms` added to every request, and
counts the requests it answers: the writes (creates and updates) are compared with the minimum
the 10,000-numbers-per-array limit allows (one create per new group, and per group the larger of
ceil(additions / 10,000) and ceil(removals / 10,000) updates), and may exceed it only by the
retries the report counts.

`--mode` is how the sync processes run, as `sinch-groups sync` decides it:

- `local` (the default): no Prefect API is configured (no PREFECT_* variable is passed on, and
  PREFECT_HOME is a temporary folder, so no profile configures one), so each process runs the
  library in itself ("Running locally..."), as a user's or a cron job's command does without a
  Prefect server. Per sync: the wall time of the process (interpreter start and imports
  included), and the time inside the engine from its report. "Under a fifth of the first sync's
  time" is read on the wall time.
- `prefect`: a Prefect server is started once for the runs (as a deployment has one; each sync
  process then spends no time starting a temporary one; its own memory is not the sync's), and
  PREFECT_API_URL points the processes at it, so each runs the `sync-groups` flow. Per sync: the
  wall time, the flow run's duration as the Prefect server recorded it (start to end, artifacts
  included: what a deployment's run shows), and the time inside the flow function from its
  report. "Under a fifth of the first sync's time" is read on the flow run's duration: the wall
  time also holds the interpreter start-up, imports and exit that every run pays whatever the
  file holds.

In both modes: the peak RSS of the sync process (`wait4`), Prefect's engine and client included
when it runs one (target: every sync at most 512 MiB, met or not printed with the highest); and
the start-up and exit alone, measured as `sinch-groups sync --help` and printed, with the wall
ratio with and without it.

Baseline in the same run: the script a user writes first, on the same file: phonenumbers per row,
then the official `sinch` SDK's `groups.create` and `groups.update` with 10,000 numbers each, one
after another. It has no diff, so it sends the same requests on every run.

The normalization cache (`pipeline.phones.cache`) is given a fresh directory
(`SINCH_GROUPS_CACHE`), so the runs measure it from an empty cache: the first sync fills it, the
unchanged re-sync reads it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from _child import print_report
from _env import user_python
from _servers import PrefectServer, RequestCounter, run_process
from make_contacts import COUNTRY_COLUMN, DEFAULT_REGION, change_rows, contacts_file, write

from flows.cli._mode import LOCAL_NOTE
from pipeline.sinch import MAX_MEMBERS_PER_REQUEST
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorConfig, EmulatorServer, Faults
from sinch_emulator import server as emulator_server

__all__ = ["PrefectServer", "run_process"]  # bench/cli.py's, from here

GROUP = "crm-nightly"
MEMORY_LIMIT_MIB = 512
"""Issue 19: the 1,000,000-row syncs peak at most this (Prefect's engine included as a flow)."""


CLI: list[str] = [sys.executable, "-m", "flows.cli"]
"""The command the syncs run: a user's install by default (`main` sets it), or `--dev-venv`."""


def measure_startup(env: dict[str, str], log: Path, runs: int = 3) -> float:
    """What every sync's wall time holds whatever the file (interpreter start, imports, exit): the
    fastest of a few `sinch-groups sync --help`, since one run on a busy machine can take longer
    than a whole re-sync."""
    fastest = math.inf
    for _ in range(runs):
        wall, _, status = run_process([*CLI, "sync", "--help"], env, log)
        if status != 0:
            raise SystemExit(log.read_text(errors="replace")[-4000:])
        fastest = min(fastest, wall)
    return fastest


def sync(
    label: str,
    source: Path,
    work: Path,
    env: dict[str, str],
    counter: RequestCounter,
    *options: str,
    group: str = GROUP,
) -> dict[str, Any]:
    """One `sinch-groups sync` process (with `options` added, such as `--dry-run`) and what it
    did."""
    report_path = work / f"{label}.report.json"
    command = [*CLI, "sync", str(source), "--group", group, *options]
    command += ["--country-column", COUNTRY_COLUMN, "--default-region", DEFAULT_REGION]
    command += ["--mode", "mirror", "--no-progress", "--report", str(report_path)]
    command += ["--rejects", str(work / f"{label}.rejects.parquet")]
    counter.take()
    wall, peak, status = run_process(command, env, work / f"{label}.log")
    requests = counter.take()
    log = (work / f"{label}.log").read_text(errors="replace")
    if status != 0:
        raise SystemExit(f"{label}: sinch-groups sync exited with {status}:\n{log[-4000:]}")
    api_url = env.get("PREFECT_API_URL")
    if (LOCAL_NOTE in log) != (api_url is None):
        how = "locally" if api_url else "through Prefect"
        raise SystemExit(f"{label}: sinch-groups sync ran {how}, not as asked:\n{log[-4000:]}")
    report = json.loads(report_path.read_text())
    flow_s = None if api_url is None else _latest_flow_run(api_url)["total_run_time"]
    (group,) = report["groups"]
    added, removed = group["added"], group["removed"]
    minimum = int(group["created"]) + max(
        math.ceil(added / MAX_MEMBERS_PER_REQUEST), math.ceil(removed / MAX_MEMBERS_PER_REQUEST)
    )
    writes = requests.get("create", 0) + requests.get("update", 0) + requests.get("replace", 0)
    return {
        "label": label,
        "wall_s": wall,
        "flow_s": flow_s,
        "in_flow_s": report["duration_s"],
        "peak_rss_mib": peak,
        "rows_read": report["rows_read"],
        "rows_valid": report["rows_valid"],
        "added": added,
        "removed": removed,
        "final_size": group["final_size"],
        "verified": group["verified"],
        "requests": requests,
        "writes": writes,
        "minimum_writes": minimum,
        "retries": report["retries"],
        "client_requests": report["requests"],
    }


def _latest_flow_run(api_url: str) -> dict[str, Any]:
    """The sync's flow run as the Prefect server recorded it (the runs are one after another)."""
    response = httpx.post(
        f"{api_url}/flow_runs/filter", json={"sort": "START_TIME_DESC", "limit": 1}, timeout=30
    )
    response.raise_for_status()
    (run,) = response.json()
    if run["state_type"] != "COMPLETED":
        raise SystemExit(f"the sync's flow run ended {run['state_type']}")
    return dict(run)


def run_baseline(path: Path, base_url: str) -> dict[str, Any]:
    """The hand-written script: phonenumbers per row, then the SDK, 10,000 numbers a request."""
    from normalize import e164_or_none
    from sinch import SinchClient

    started = time.perf_counter()
    frame = pl.read_csv(path, infer_schema=False)
    numbers = sorted(
        {
            e164
            for phone, country in frame.select("phone", COUNTRY_COLUMN).iter_rows()
            if (e164 := e164_or_none(phone, country)) is not None
        }
    )
    normalized = time.perf_counter()
    client = SinchClient(service_plan_id=DEFAULT_PLAN_ID, sms_api_token=DEFAULT_TOKEN)
    client.configuration.sms_origin_with_service_plan_id = base_url
    group = client.sms.groups.create(name="baseline")
    for start in range(0, len(numbers), MAX_MEMBERS_PER_REQUEST):
        client.sms.groups.update(
            group_id=group.id, name="baseline", add=numbers[start : start + MAX_MEMBERS_PER_REQUEST]
        )
    done = time.perf_counter()
    return {
        "wall_s": done - started,
        "normalize_s": normalized - started,
        "numbers": len(numbers),
    }


def use_install(*, dev_venv: bool) -> None:
    """Run the syncs in a user's install (`_env.user_python`), unless `dev_venv`."""
    if not dev_venv:
        CLI[:] = [str(user_python(refresh=False).parent / "sinch-groups")]


@dataclass(frozen=True)
class Emulated:
    """What the sync processes of a benchmark run against, and the environment they run in."""

    env: dict[str, str]
    counter: RequestCounter
    base_url: str
    prefect: PrefectServer | None


@contextlib.contextmanager
def emulated(work: Path, latency_ms: float, mode: str) -> Iterator[Emulated]:
    """The emulator in this process (its requests counted), with `latency_ms` on every request,
    and in `prefect` mode a Prefect server; the normalization cache in `work`."""
    counter = RequestCounter()
    create_app = emulator_server.create_app
    emulator_server.create_app = lambda config: counter.wrap(create_app(config))  # type: ignore[assignment, return-value]
    config = EmulatorConfig(faults=Faults(latency_ms=latency_ms))
    server = PrefectServer(work / "prefect") if mode == "prefect" else None
    try:
        with EmulatorServer(config) as emulator, server or contextlib.nullcontext():
            env = {
                **os.environ,
                "SINCH_BASE_URL": emulator.base_url,
                "SINCH_SERVICE_PLAN_ID": DEFAULT_PLAN_ID,
                "SINCH_API_TOKEN": DEFAULT_TOKEN,
                "SINCH_GROUPS_CACHE": str(work / "cache"),
            }
            if server is None:  # no API in the environment or in a profile: in-process runs
                env = {k: v for k, v in env.items() if not k.startswith("PREFECT_")}
                env["PREFECT_HOME"] = str(work / "prefect-home")
            else:
                env["PREFECT_API_URL"] = server.url
            yield Emulated(env, counter, emulator.base_url, server)
    finally:
        emulator_server.create_app = create_app  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--changed", type=float, default=0.01, help="share of rows changed")
    parser.add_argument(
        "--mode",
        choices=("local", "prefect"),
        default="local",
        help="local: the syncs run in-process (no Prefect API); prefect: each sync is a flow run "
        "reported to a Prefect server started for the runs (default: local)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the SDK baseline")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--dev-venv",
        action="store_true",
        help="run the syncs with this interpreter's environment instead of a user's install "
        "(bench/.data/user-venv, built from uv.lock without the dev tools)",
    )
    parser.add_argument("--baseline-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_child:  # the measured baseline process
        print(json.dumps(run_baseline(Path(args.baseline_child[0]), args.baseline_child[1])))
        return

    use_install(dev_venv=args.dev_venv)
    source = contacts_file(args.rows, args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as temporary:
        work = Path(temporary)
        changed = work / "contacts-changed.csv"
        write(change_rows(pl.read_csv(source, infer_schema=False), args.changed), changed)
        with emulated(work, args.latency_ms, args.mode) as bench:
            env, counter = bench.env, bench.counter
            print(f"file: {source} ({args.rows:,} rows); changed copy: {args.changed:.0%} of rows")
            print(f"mode: {args.mode}; command: {' '.join(CLI)}")
            startup = measure_startup(env, work / "startup.log")
            runs = [
                sync("first sync", source, work, env, counter),
                sync("unchanged re-sync", source, work, env, counter),
                sync(f"re-sync, {args.changed:.0%} changed", changed, work, env, counter),
            ]
            prefect_rss = None if bench.prefect is None else bench.prefect.rss_mib()
            baseline = None
            if not args.no_baseline:
                counter.take()
                command = [sys.executable, __file__, "--baseline-child", str(source)]
                wall, peak, status = run_process(
                    [*command, bench.base_url], env, work / "baseline.log"
                )
                if status != 0:
                    raise SystemExit((work / "baseline.log").read_text(errors="replace")[-4000:])
                log = (work / "baseline.log").read_text().strip().splitlines()
                baseline = {**json.loads(log[-1]), "process_wall_s": wall, "peak_rss_mib": peak}
                baseline["requests"] = counter.take()
    print_report(_report(args.mode, runs, baseline, prefect_rss, startup), args.json)


def _report(
    mode: str,
    runs: list[dict[str, Any]],
    baseline: dict[str, Any] | None,
    prefect_rss: float | None,
    startup: float,
) -> dict[str, Any]:
    # Local runs have no flow run: no "flow s" column, and the report's time is the engine's.
    through_prefect = mode == "prefect"
    timings = f"{'flow s':>7} {'in flow':>7}" if through_prefect else f"{'in run':>7}"
    header = (
        f"{'run':28} {'wall s':>7} {timings} {'peak RSS MiB':>13} {'added':>9} "
        f"{'removed':>8} {'writes':>7} {'minimum':>8} {'retries':>8} {'reads':>6}"
    )
    lines = [header, "-" * len(header)]
    for run in runs:
        reads = sum(v for k, v in run["requests"].items() if k in {"list groups", "list members"})
        times = f"{run['flow_s']:7.1f} " if through_prefect else ""
        lines.append(
            f"{run['label']:28} {run['wall_s']:7.1f} {times}{run['in_flow_s']:7.1f} "
            f"{run['peak_rss_mib']:13,.0f} {run['added']:9,} {run['removed']:8,} "
            f"{run['writes']:7,} {run['minimum_writes']:8,} {run['retries']:8,} {reads:6,}"
        )
    first, unchanged, _ = runs
    read_on = "flow_s" if through_prefect else "wall_s"
    highest = max(runs, key=lambda run: run["peak_rss_mib"])
    targets = {
        "unchanged re-sync sends no update": unchanged["requests"].get("update", 0) == 0,
        f"unchanged re-sync under 1/5 of the first ({'flow run' if through_prefect else 'wall'} "
        "time)": unchanged[read_on] < first[read_on] / 5,
        "writes never above minimum + retries": all(
            r["writes"] <= r["minimum_writes"] + r["retries"] for r in runs
        ),
        f"peak RSS of every sync <= {MEMORY_LIMIT_MIB} MiB (the 1,000,000-row target"
        f"{', Prefect engine included' if through_prefect else ''}): highest "
        f"{highest['peak_rss_mib']:,.0f} MiB ({highest['label']})": highest["peak_rss_mib"]
        <= MEMORY_LIMIT_MIB,
    }
    summary = f"unchanged / first: {unchanged['wall_s'] / first['wall_s']:.2f} (wall)"
    if through_prefect:
        summary += f", {unchanged['flow_s'] / first['flow_s']:.2f} (flow)"
    written = [r for r in runs if r["added"] or r["removed"]]
    summary += f"; every written group verified: {all(r['verified'] for r in written)}"
    summary += f"; unchanged ones reported unchanged: {all(r['verified'] is None for r in runs if r not in written)}"
    if prefect_rss is not None:
        summary += f"; Prefect server (separate, shared): {prefect_rss:,.0f} MiB"
    lines.append(summary)
    lines += [f"  {'met' if ok else 'NOT met'}: {name}" for name, ok in targets.items()]
    startup_share = startup / first["wall_s"]
    startup_line = (
        f"start-up and exit alone (`sinch-groups sync --help`): {startup:.1f} s of every wall time; "
        f"without it, unchanged / first: "
        f"{(unchanged['wall_s'] - startup) / (first['wall_s'] - startup):.2f} (with it: "
        f"{unchanged['wall_s'] / first['wall_s']:.2f}"
    )
    if startup_share >= 1 / 5:
        startup_line += (
            f", a figure no data path can bring under 1/5 while start-up alone is "
            f"{startup_share:.2f} of the first sync"
        )
    lines.append(startup_line + ")")
    if baseline is not None:
        lines.append(
            f"baseline (phonenumbers per row + SDK, no diff): {baseline['process_wall_s']:.1f} s "
            f"({baseline['normalize_s']:.1f} s normalizing), {baseline['numbers']:,} numbers, "
            f"{sum(baseline['requests'].values()):,} requests on every run, peak RSS "
            f"{baseline['peak_rss_mib']:,.0f} MiB; first sync speed-up "
            f"{baseline['process_wall_s'] / first['wall_s']:.1f}x"
        )
    return {
        "mode": mode,
        "runs": runs,
        "baseline": baseline,
        "targets": targets,
        "startup_s": startup,
        "text": "\n".join(lines),
    }


if __name__ == "__main__":
    main()
