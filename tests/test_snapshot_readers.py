"""What analysts run on a snapshot dataset works: the README's read-back block, verbatim, on the
polars and DuckDB this project is locked to and on the oldest ones `pyproject.toml` allows; and
snapshots written in the 0.1 layout are still restored and migrated from."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tomllib
from datetime import UTC
from pathlib import Path

import pytest
from packaging.version import Version

from pipeline.migrate import MappingFile, SnapshotSource, migrate_group, plan_migration
from pipeline.snapshot import Layout, export_snapshot, list_snapshots
from sinch_emulator import EmulatorServer
from tests.live import client_for, members_by_name

ROOT = Path(__file__).resolve().parent.parent
LEGACY = Path(__file__).parent / "fixtures" / "legacy_snapshots"
MARKER = "<!-- read-back snippet:"

REPORT = """
import json
print(json.dumps({
    "versions": [pl.__version__, duckdb.__version__],
    "members_snapshot_at": str(members.collect_schema()["snapshot_at"]),
    "groups_snapshot_at": str(groups.collect_schema()["snapshot_at"]),
    "sizes": sizes.rows(),
    "duckdb_types": [str(t) for t in per_snapshot.types],
    "duckdb_rows": [[str(v) for v in row] for row in per_snapshot.fetchall()],
}))
"""


def readme_snippet() -> str:
    """The Python block that follows the read-back marker in the README, as it is."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(MARKER) :]
    match = re.search(r"```python\n(.*?)```", after, re.DOTALL)
    assert match, "the README's read-back block is gone"
    return match.group(1)


@pytest.fixture
def dataset(live_emulator: EmulatorServer, tmp_path: Path) -> Path:
    """A folder holding `snapshots/` with two snapshots of two groups (one grows by a member)."""

    async def two_snapshots() -> None:
        async with client_for(live_emulator) as client:
            vip = await client.create_group(name="vip", members=["+447911123456"])
            await client.create_group(name="news", members=["+447911123457", "+12015550123"])
            await export_snapshot(client, tmp_path / "snapshots", target={})
            await client.update_group(vip.id, add=["+447911123458"])
            await export_snapshot(client, tmp_path / "snapshots", target={})

    asyncio.run(two_snapshots())
    return tmp_path


def run_snippet(python: str, folder: Path) -> dict[str, object]:
    """Run the README block with `python` in `folder` and return what it read."""
    done = subprocess.run(
        [python, "-c", readme_snippet() + REPORT],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def check(read: dict[str, object], dataset: Path) -> None:
    taken = [s.taken_at.astimezone(UTC) for s in list_snapshots(dataset / "snapshots")]
    assert read["members_snapshot_at"] == "Datetime(time_unit='us', time_zone='UTC')"
    assert read["groups_snapshot_at"] == "Datetime(time_unit='us', time_zone='UTC')"
    assert read["sizes"] == [["news", 2], ["vip", 2]]
    assert read["duckdb_types"][0] in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
    stamps = [f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond:06d}" for t in taken]
    assert read["duckdb_rows"] == [
        [stamps[0], "news", "2"],
        [stamps[0], "vip", "1"],
        [stamps[1], "news", "2"],
        [stamps[1], "vip", "2"],
    ]


def test_the_readme_read_back_block_runs_on_the_locked_polars_and_duckdb(dataset: Path) -> None:
    check(run_snippet(sys.executable, dataset), dataset)


def lower_bound(requirements: list[str], name: str) -> str:
    [bound] = [r for r in requirements if re.match(rf"{name}\s*>=", r)]
    return bound


def test_the_readme_read_back_block_runs_on_the_oldest_allowed_polars_and_duckdb(
    dataset: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The lowest versions the bounds admit, installed by uv into a venv of their own."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = [
        lower_bound(project["dependencies"], "polars"),
        lower_bound(project["optional-dependencies"]["dev"], "duckdb"),
    ]
    venv = tmp_path_factory.mktemp("oldest-readers") / "venv"
    uv = [sys.executable, "-m", "uv"]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([*uv, "venv", "-q", str(venv), "--python", sys.executable], check=True, env=env)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [*uv, "pip", "install", "-q", "--python", python, "--resolution", "lowest-direct", *bounds],
        check=True,
        env=env,
        timeout=600,
    )
    read = run_snippet(python, dataset)
    oldest = [Version(bound.split(">=")[1]) for bound in bounds]
    assert [Version(v) for v in read["versions"]] == oldest
    check(read, dataset)


def test_a_legacy_snapshot_is_migrated_into_an_empty_plan(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    """A restore from a 0.1 snapshot (a migrate into a wiped plan) recreates its groups."""
    older, newer = list_snapshots(LEGACY)
    assert (older.layout, newer.layout) == (Layout.LEGACY, Layout.LEGACY)

    async def restore() -> None:
        source = SnapshotSource(newer)
        async with client_for(live_emulator) as client:
            store = MappingFile.open(
                tmp_path / "mapping.parquet", source=source.description, destination={}
            )
            for step in await plan_migration(source, client, store):
                await migrate_group(step, source, client, store)

    asyncio.run(restore())
    assert asyncio.run(members_by_name(live_emulator)) == {
        "keep": {"+447911100002", "+447911100005"},
        "new": {"+12015550123"},
    }
