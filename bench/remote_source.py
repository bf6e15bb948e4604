"""Benchmark: `sinch-groups sync` reading its source from S3 against the same file read locally.

    .venv/bin/python bench/remote_source.py                  # 1,000,000 rows, ~5 minutes
    .venv/bin/python bench/remote_source.py --rows 100000

`make_contacts.py`'s export is uploaded to an S3-compatible server started here (moto in server
mode on 127.0.0.1, as the tests use), and synced (mirror, one new group per source) by separate
`sinch-groups sync` processes into the emulator (no added latency, so the source's cost is not
hidden behind the API's): a first sync from the local file, a first sync from `s3://`, then the
unchanged re-sync of each (the normalize cache, fresh for the run, answers it: the local file by
its bytes' digest, the object by its version from one HEAD, without a download). Printed per
sync: the wall time of the process; then the S3 overhead over the local file, against the target
of <= 20%; then where a remote source's time goes, measured in this process: the HEAD the cache
keys on, the ranged GET of the first MiB the columns line reads, and the whole download a first
sync makes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from make_contacts import COUNTRY_COLUMN, DEFAULT_REGION, contacts_file

from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorConfig, EmulatorServer

CLI = [sys.executable, "-m", "flows.cli"]
TARGET = 0.20
BUCKET = "bench"


def sync(source: str, group: str, work: Path, env: dict[str, str], label: str) -> float:
    command = [*CLI, "sync", source, "--group", group, "--mode", "mirror", "--no-progress"]
    command += ["--country-column", COUNTRY_COLUMN, "--default-region", DEFAULT_REGION]
    command += [
        "--report",
        str(work / f"{label}.json"),
        "--rejects",
        str(work / f"{label}.parquet"),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{label}: exit {done.returncode}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    report = json.loads((work / f"{label}.json").read_text())
    print(f"  {label:<24} {wall:7.2f} s  rows {report['rows_read']:,}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    source = contacts_file(args.rows)
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    s3_env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    os.environ.update(s3_env)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.upload_file(str(source), BUCKET, f"exports/{source.name}")
    url = f"s3://{BUCKET}/exports/{source.name}"
    print(f"{args.rows:,} rows, {source.stat().st_size / 1e6:.1f} MB: {source} and {url}")
    try:
        with tempfile.TemporaryDirectory() as folder, EmulatorServer(EmulatorConfig()) as emulator:
            work = Path(folder)
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("PREFECT_", "SINCH_"))
            }
            env |= {
                "SINCH_BASE_URL": emulator.base_url,
                "SINCH_SERVICE_PLAN_ID": DEFAULT_PLAN_ID,
                "SINCH_API_TOKEN": DEFAULT_TOKEN,
                "SINCH_GROUPS_CACHE": str(work / "cache"),
                "SINCH_GROUPS_HOME": str(work / "home"),
                "PREFECT_HOME": str(work / "prefect"),
            }
            walls = {
                "first, local file": sync(str(source), "local", work, env, "first-local"),
                "first, s3": sync(url, "s3", work, env, "first-s3"),
                "unchanged, local file": sync(str(source), "local", work, env, "again-local"),
                "unchanged, s3": sync(url, "s3", work, env, "again-s3"),
            }
        costs = remote_costs(url)
    finally:
        moto.stop()
    for case in ("first", "unchanged"):
        local, remote = walls[f"{case}, local file"], walls[f"{case}, s3"]
        overhead = remote / local - 1
        verdict = "met" if overhead <= TARGET else "not met"
        print(
            f"{case} sync: s3 {remote:.2f} s vs local {local:.2f} s: overhead {overhead:+.1%} "
            f"(target <= {TARGET:.0%}: {verdict})"
        )
    print("where a remote source's time goes (this process, best of 3):")
    for what, seconds in costs.items():
        print(f"  {what:<46} {seconds:6.3f} s")


def remote_costs(url: str) -> dict[str, float]:
    """The requests a sync makes of a remote source, timed alone."""
    from pipeline.load.files import SAMPLE_BYTES
    from pipeline.storage import location, remote

    place = location(url)

    def best(step: object) -> float:
        times = []
        for _ in range(3):
            remote._fetched.clear()  # every download a fresh one
            started = time.perf_counter()
            step()  # type: ignore[operator]
            times.append(time.perf_counter() - started)
        return min(times)

    return {
        "HEAD (the cache's version of the object)": best(place.fingerprint),
        "ranged GET of 1 MiB (the columns line)": best(lambda: place.local_prefix(SAMPLE_BYTES)),
        "whole download to a local file (a first sync)": best(place.local_copy),
    }


if __name__ == "__main__":
    main()
