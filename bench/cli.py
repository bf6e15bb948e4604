"""Benchmark: the `sinch-groups` command's whole-process wall time on small work.

    .venv/bin/python bench/cli.py                  # 5 runs of each, about 2 minutes
    .venv/bin/python bench/cli.py --runs 2 --json cli.json

On a 30-row file the time is start-up, imports and exit, not data, so this is what a user waits
for on every small command. Four commands, each its own process, run in rounds (one of each per
round, so a busy moment of a shared machine falls on all four alike); every run is printed, and
the figure is the fastest of the runs, the one the rest of the machine disturbed least:

1. `sinch-groups --help`;
2. local: `sinch-groups sync data/samples/contacts_clean.csv --group <new> --no-progress`
   with no Prefect API configured, so the library runs in the process ("Running locally...");
3. Prefect: the same sync with PREFECT_API_URL set to a `prefect server start` this script
   starts once (as a deployment has one), so the `sync-groups` flow runs and reports to it;
4. baseline: the script a user writes for the job, in a fresh `python`: phonenumbers per row
   (default region GB, `is_valid_number`, E.164), then the official `sinch` SDK's
   `groups.create` with the numbers.

The emulator runs in this process on 127.0.0.1 (no added latency); every sync creates a new group
in it, and each group is checked afterwards to hold the same numbers. The normalization cache is
off (SINCH_GROUPS_CACHE=off), so every run normalizes. SINCH_GROUPS_HOME and PREFECT_HOME are a
temporary folder (no Prefect profile of this machine's configures an API) and the syncs run in
it (their report and rejects land there); no other SINCH_* or PREFECT_* variable is passed on.

The commands run in a user's install (`bench/.data/user-venv`, built once with uv from uv.lock:
the runtime dependencies and the `sinch` SDK, none of the dev tools), since the dev venv holds
pandas and hypothesis, which pandera imports whenever they are installed; `--dev-venv` runs them
in this interpreter's environment instead.

Targets: `--help` <= 0.5 s; local sync <= 2 s; local sync within 2x of the baseline script; and,
printed, the local sync's time as a fraction of the Prefect one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _env import user_python
from sync import PrefectServer, run_process

from flows.cli._mode import LOCAL_NOTE
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorConfig, EmulatorServer

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path("data/samples/contacts_clean.csv")
HELP_LIMIT_S = 0.5
SYNC_LIMIT_S = 2.0
BASELINE_FACTOR = 2.0
CASES = {
    "help": "sinch-groups --help",
    "local": "sync, local (30 rows)",
    "prefect": "sync, through Prefect",
    "sdk": "SDK script (baseline)",
}

BASELINE_SCRIPT = '''\
"""Put a CSV's phone numbers into a new Sinch group."""

import csv
import os
import sys

import phonenumbers
from sinch import SinchClient

path, group = sys.argv[1], sys.argv[2]
numbers = set()
with open(path, newline="", encoding="utf-8") as file:
    for row in csv.DictReader(file):
        try:
            number = phonenumbers.parse(row["phone"], "GB")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            numbers.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

client = SinchClient(
    service_plan_id=os.environ["SINCH_SERVICE_PLAN_ID"],
    sms_api_token=os.environ["SINCH_API_TOKEN"],
)
client.configuration.sms_origin_with_service_plan_id = os.environ["SINCH_BASE_URL"]
created = client.sms.groups.create(name=group, members=sorted(numbers))
print(f"group {created.id}: {len(numbers)} numbers")
'''


def _command_line(python: Path) -> list[str]:
    """The installed `sinch-groups` script beside `python`, as a user runs it."""
    return [str(python.parent / "sinch-groups")]


def _clean_env(home: Path) -> dict[str, str]:
    """This process's environment without SINCH_* and PREFECT_* settings, homes in `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SINCH_", "PREFECT_"))}
    return {
        **env,
        "SINCH_GROUPS_HOME": str(home / "sinch-groups"),
        "SINCH_GROUPS_CACHE": "off",
        "PREFECT_HOME": str(home / "prefect"),
    }


def _run(case: str, command: list[str], env: dict[str, str], log: Path) -> float:
    """Wall seconds of one process, which must exit 0 (and say how it ran, for a sync)."""
    wall, _, status = run_process(command, env, log)
    output = log.read_text(errors="replace")
    if status != 0:
        raise SystemExit(f"{CASES[case]} exited with {status}:\n{output[-4000:]}")
    if case == "local" and LOCAL_NOTE not in output:
        raise SystemExit(f"the local sync did not run locally:\n{output[-4000:]}")
    if case == "prefect" and LOCAL_NOTE in output:
        raise SystemExit(f"the Prefect sync ran locally:\n{output[-4000:]}")
    return wall


def _group_sizes(base_url: str) -> dict[str, int]:
    """Every group in the emulator, by name: its member count."""
    sizes: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    page = 0
    while True:
        response = httpx.get(
            f"{base_url}/xms/v1/{DEFAULT_PLAN_ID}/groups",
            params={"page": page, "page_size": 100},
            headers=headers,
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        sizes |= {group["name"]: int(group["size"]) for group in body["groups"]}
        if not body["groups"] or len(sizes) >= body["count"]:
            return sizes
        page += 1


def _flow_run_count(api_url: str) -> int:
    response = httpx.post(f"{api_url}/flow_runs/count", json={}, timeout=30)
    response.raise_for_status()
    return int(response.json())


def measure(runs: int, work: Path, python: Path) -> dict[str, Any]:
    """Every run's wall seconds by case, and what was checked on the way."""
    env = _clean_env(work)
    baseline = work / "baseline_sdk.py"
    baseline.write_text(BASELINE_SCRIPT, encoding="utf-8")
    cli = _command_line(python)
    source = str(ROOT / SOURCE)
    quiet = ["--no-progress"]
    with EmulatorServer(EmulatorConfig(), host="127.0.0.1", port=0) as emulator:
        env |= {
            "SINCH_BASE_URL": emulator.base_url,
            "SINCH_SERVICE_PLAN_ID": DEFAULT_PLAN_ID,
            "SINCH_API_TOKEN": DEFAULT_TOKEN,
        }
        print(f"emulator: {emulator.base_url}; starting `prefect server start`...", flush=True)
        started = time.perf_counter()
        with PrefectServer(work / "prefect-server") as prefect:
            print(f"Prefect server up in {time.perf_counter() - started:.1f} s", flush=True)
            prefect_env = {**env, "PREFECT_API_URL": prefect.url}
            walls: dict[str, list[float]] = {case: [] for case in CASES}
            groups: list[str] = []
            for round_ in range(1, runs + 1):
                names = {case: f"cli-{case}-{round_}" for case in ("local", "prefect", "sdk")}
                groups += names.values()
                commands = {
                    "help": ([*cli, "--help"], env),
                    "local": ([*cli, "sync", source, "--group", names["local"], *quiet], env),
                    "prefect": (
                        [*cli, "sync", source, "--group", names["prefect"], *quiet],
                        prefect_env,
                    ),
                    "sdk": ([str(python), str(baseline), source, names["sdk"]], env),
                }
                for case, (command, case_env) in commands.items():
                    log = work / f"{case}-{round_}.log"
                    walls[case].append(_run(case, command, case_env, log))
                figures = "   ".join(f"{case} {walls[case][-1]:5.2f}" for case in CASES)
                print(f"run {round_}/{runs}   {figures}", flush=True)
            flow_runs = _flow_run_count(prefect.url)
        sizes = _group_sizes(emulator.base_url)
    held = {sizes.get(name) for name in groups}
    if len(held) != 1 or None in held or 0 in held:
        held_by = {name: sizes.get(name) for name in groups}
        raise SystemExit(f"the groups do not hold the same numbers: {held_by}")
    if flow_runs != runs:
        raise SystemExit(f"the Prefect server recorded {flow_runs} flow runs, not {runs}")
    return {"walls": walls, "members": held.pop(), "flow_runs": flow_runs}


def report(measured: dict[str, Any], runs: int) -> dict[str, Any]:
    walls: dict[str, list[float]] = measured["walls"]
    fastest = {case: min(values) for case, values in walls.items()}
    median = {case: statistics.median(values) for case, values in walls.items()}
    local, prefect, sdk = fastest["local"], fastest["prefect"], fastest["sdk"]
    targets = {
        "help": {
            "name": f"`sinch-groups --help` <= {HELP_LIMIT_S} s",
            "value": fastest["help"],
            "unit": "s",
            "met": fastest["help"] <= HELP_LIMIT_S,
        },
        "local": {
            "name": f"local 30-row sync <= {SYNC_LIMIT_S:.0f} s",
            "value": local,
            "unit": "s",
            "met": local <= SYNC_LIMIT_S,
        },
        "local_vs_sdk": {
            "name": f"local sync within {BASELINE_FACTOR:.0f}x of the SDK script",
            "value": local / sdk,
            "unit": "x",
            "met": local <= BASELINE_FACTOR * sdk,
        },
    }
    header = f"{'wall seconds, ' + str(runs) + ' runs':34}{'fastest':>9}{'median':>9}{'slowest':>9}"
    lines = ["", header, "-" * len(header)]
    lines += [
        f"{label:34}{fastest[case]:9.2f}{median[case]:9.2f}{max(walls[case]):9.2f}"
        for case, label in CASES.items()
    ]
    lines += [
        "",
        f"checked: every group holds the same {measured['members']} numbers; "
        f"{measured['flow_runs']} flow runs recorded",
        "",
        f"targets (fastest of {runs}):",
    ]
    for target in targets.values():
        verdict = "met" if target["met"] else "NOT met"
        value = f"{target['value']:.2f}{' s' if target['unit'] == 's' else 'x'}"
        lines.append(f"  {verdict + ':':9}{target['name']} ({value})")
    lines.append(
        f"local / Prefect: {local / prefect:.2f} (the Prefect run takes {prefect / local:.1f}x "
        "the local one)"
    )
    return {
        "runs": runs,
        "walls_s": walls,
        "fastest_s": fastest,
        "median_s": median,
        "members": measured["members"],
        "targets": targets,
        "local_over_prefect": local / prefect,
        "local_over_sdk": local / sdk,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "text": "\n".join(lines),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--dev-venv",
        action="store_true",
        help="run the commands with this interpreter's environment instead of a user's install",
    )
    parser.add_argument(
        "--refresh", action="store_true", help="rebuild the user's install from uv.lock"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    rows = len((ROOT / SOURCE).read_text(encoding="utf-8").splitlines()) - 1
    python = Path(sys.executable) if args.dev_venv else user_python(args.refresh)
    print(f"source: {SOURCE} ({rows} rows); {os.cpu_count()} CPUs", flush=True)
    print(f"environment: {python.parent.parent}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as temporary, contextlib.chdir(temporary):
        # The syncs write their report and rejects under the working directory: this one.
        measured = measure(args.runs, Path(temporary), python)
    figures = report(measured, args.runs)
    print(figures["text"])
    if args.json:
        args.json.write_text(
            json.dumps({k: v for k, v in figures.items() if k != "text"}, indent=2)
        )


if __name__ == "__main__":
    main()
