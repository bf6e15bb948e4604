"""Benchmark: a 1,000,000-row CRM export synced (mirror) into an emulator group.

The emulator runs as its own process (`sinch-groups emulator`), as Sinch would be a remote
service; the group starts with rows/5 members the file lists and rows/100 it no longer lists. The
sync flow runs in this process and its report is printed. In the same run, a baseline does what a
hand-written script around the official SDK does (phonenumbers per row in a Python loop, then
`sinch` SDK `groups.update` in 10,000-number batches, one after another) on a sample, and both
throughputs are printed.

    python bench/bench_sync.py                  # 1,000,000 rows, baseline on 100,000
    python bench/bench_sync.py --rows 200000 --baseline-rows 50000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import phonenumbers
import polars as pl

from pipeline.emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN

GROUPS = f"/xms/v1/{DEFAULT_PLAN_ID}/groups"


def messy_contacts(rows: int, seed: int = 7) -> pl.DataFrame:
    """CRM-like rows: 95% valid numbers in five spellings, 3% repeats, 2% junk; phones as strings."""
    index = pl.int_range(0, rows, eager=True)
    person = (index * 7919 + seed) % int(rows * 0.97)  # ~3% of rows repeat an earlier person
    digits = (pl.lit("74") + person.cast(pl.String).str.zfill(8)).alias("d")
    frame = pl.DataFrame({"i": index, "person": person}).with_columns(digits)
    spelling = pl.col("i") % 5
    phone = (
        pl.when(pl.col("i") % 50 == 0)
        .then(pl.lit("n/a"))
        .when(spelling == 0)
        .then("+44" + pl.col("d"))
        .when(spelling == 1)
        .then("0" + pl.col("d").str.slice(0, 4) + " " + pl.col("d").str.slice(4))
        .when(spelling == 2)
        .then("0044 " + pl.col("d"))
        .when(spelling == 3)
        .then("+44 (0)" + pl.col("d").str.slice(0, 4) + "-" + pl.col("d").str.slice(4))
        .otherwise("44" + pl.col("d") + ".0")
    )
    return frame.select(
        pl.format("Customer {}", pl.col("person")).alias("name"),
        phone.alias("phone"),
        pl.lit("GB").alias("country"),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(
                f"http://127.0.0.1:{port}/xms/v1/{DEFAULT_PLAN_ID}/groups",
                headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
            ).raise_for_status()
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the emulator did not start")


def seed_group(base_url: str, name: str, members: list[str]) -> str:
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}, timeout=120
    ) as client:
        group_id = client.post(GROUPS, json={"name": name}).raise_for_status().json()["id"]
        for start in range(0, len(members), 10_000):
            client.post(
                f"{GROUPS}/{group_id}", json={"add": members[start : start + 10_000]}
            ).raise_for_status()
        return group_id


def baseline(base_url: str, frame: pl.DataFrame) -> float:
    """The hand-written script: parse each row, collect, update through the official SDK."""
    from sinch import SinchClient

    started = time.perf_counter()
    numbers: set[str] = set()
    for raw, region in frame.select("phone", "country").iter_rows():
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            numbers.add(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    client = SinchClient(service_plan_id=DEFAULT_PLAN_ID, sms_api_token=DEFAULT_TOKEN)
    client.configuration.sms_origin_with_service_plan_id = base_url
    group = client.sms.groups.create(name="baseline")
    ordered = sorted(numbers)
    for start in range(0, len(ordered), 10_000):
        client.sms.groups.update(
            group_id=group.id, name="baseline", add=ordered[start : start + 10_000]
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    args = parser.parse_args()

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.sync_groups import sync_groups
    from pipeline.plan import Mode

    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    contacts = messy_contacts(args.rows)
    source = work / "crm_export.csv"
    contacts.write_csv(source)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    emulator = start_emulator(port)
    try:
        existing = [f"+4474{i:08d}" for i in range(args.rows // 5)]
        stale = [f"+4475{i:08d}" for i in range(args.rows // 100)]
        seed_group(base_url, "crm-all", existing + stale)
        os.environ.update(
            SINCH_SERVICE_PLAN_ID=DEFAULT_PLAN_ID,
            SINCH_API_TOKEN=DEFAULT_TOKEN,
            SINCH_BASE_URL=base_url,
        )
        os.chdir(work)
        started = time.perf_counter()
        report = asyncio.run(
            sync_groups(
                source=str(source), group="crm-all", mode=Mode.MIRROR, country_column="country"
            )
        )
        wall = time.perf_counter() - started
        print(report.to_json())
        sample = contacts.head(args.baseline_rows)
        baseline_s = baseline(base_url, sample)
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)

    ours = args.rows / report.duration_s
    theirs = args.baseline_rows / baseline_s
    print()
    print(f"{'run':<44} {'rows':>10} {'seconds':>9} {'rows/s':>10}")
    print(
        f"{'sinch-groups sync (flow, mirror)':<44} {args.rows:>10,} {report.duration_s:>9.1f} {ours:>10,.0f}"
    )
    print(
        f"{'  same, incl. Prefect start-up':<44} {args.rows:>10,} {wall:>9.1f} {args.rows / wall:>10,.0f}"
    )
    print(
        f"{'baseline: per-row phonenumbers + SDK':<44} {args.baseline_rows:>10,} {baseline_s:>9.1f} {theirs:>10,.0f}"
    )
    print(
        f"speed-up: {ours / theirs:.1f}x rows/s (the baseline also skips planning, removals, verification and the report)"
    )
    group = report.groups[0]
    print(
        f"group: {group.current:,} -> {group.final_size:,} members, +{group.added:,} -{group.removed:,}, "
        f"verified={group.verified}, requests={report.requests:,}, retries={report.retries:,}"
    )


if __name__ == "__main__":
    main()
