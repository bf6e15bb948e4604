"""Every command, run as the user runs it, with recognizable credentials: not one output byte
(stdout, stderr, reports, rejects, snapshots, mappings, diffs, the emulator's database, Prefect's
database with its flow run parameters, logs and artifacts) may hold a token or key secret.

The runs try to make a secret slip out: injected server errors and dropped connections (retry
warnings quote the failed request), a wrong token (an authentication error), OAuth2 keys (the
Basic header and the access tokens the emulator issues), and Prefect logging turned up to INFO
for the project's and httpx's loggers, shipped to the Prefect API and printed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app
from pipeline.sinch import GroupsClient
from pipeline.snapshot import export_snapshot
from sinch_emulator import EmulatorConfig, EmulatorServer, Plan, ProjectKey
from sinch_emulator.auth import Authenticator
from tests.emulator.helpers import BANNER_URL, read_banner
from tests.live import set_faults

from .helpers import REPO, assert_one_line_error, cli

TOKEN = "SECRET-TOKEN-canary-123"
OLD_TOKEN = "SECRET-TOKEN-canary-old-456"
KEY_SECRET = "SECRET-KEYSECRET-canary-789"
WRONG_TOKEN = "SECRET-WRONG-canary-000"
EMULATOR_TOKEN = "SECRET-EMUTOKEN-canary-321"
EMULATOR_SECRET = "SECRET-EMUSECRET-canary-654"
PLAN, OLD_PLAN, PROJECT, KEY_ID = "canaryplan", "canaryold", "canaryproject", "canarykey"
HOSTILE_NAMES = ["../../escape", "a/b", "..", "/abs", "C:\\x", "snapshot_at=1"]
"""Group names that would walk out of a folder if a name were ever used as a path."""


@pytest.fixture
def issued_tokens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The OAuth2 access tokens the emulator hands out during the test (secrets too)."""
    issued: list[str] = []
    issue = Authenticator.issue_token

    def recording(self: Authenticator, *args: object) -> dict[str, object]:
        answer = issue(self, *args)  # type: ignore[arg-type]
        issued.append(str(answer["access_token"]))
        return answer

    monkeypatch.setattr(Authenticator, "issue_token", recording)
    return issued


@pytest.fixture
def canary_emulator() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        plans=[Plan(id=PLAN, token=TOKEN), Plan(id=OLD_PLAN, token=OLD_TOKEN)],
        projects=[ProjectKey(project_id=PROJECT, key_id=KEY_ID, key_secret=KEY_SECRET)],
    )
    with EmulatorServer(config) as server:
        yield server


def harness_database() -> Path:
    """The folder of the session's temporary Prefect database (flow runs, logs, artifacts)."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    url = str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value())
    return Path(url.split(":///", 1)[1]).parent


def run_all(commands: list[tuple[list[str], dict[str, str]]], cwd: Path) -> list[tuple[int, str]]:
    """Run commands side by side (the machine's cores are the limit); (exit status, output)."""
    processes = [
        subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for command, env in commands
    ]
    results = []
    try:
        for process in processes:
            output, _ = process.communicate(timeout=240)
            results.append((process.returncode, output.decode(errors="replace")))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    return results


def tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def leaks(data: bytes, secrets: set[str]) -> list[str]:
    return sorted(secret for secret in secrets if secret.encode() in data)


@pytest.mark.timeout(300)
def test_no_command_lets_a_token_or_key_secret_out(
    tmp_path: Path,
    prefect_harness_api_url: str,
    canary_emulator: EmulatorServer,
    issued_tokens: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not Path("/abs").exists()
    work, home, prefect_home = tmp_path / "work", tmp_path / "home", tmp_path / "prefect-home"
    for folder in (work, home, prefect_home, tmp_path / "user-home"):
        folder.mkdir()
    rows = [(f"+447900{i:06d}", HOSTILE_NAMES[i % len(HOSTILE_NAMES)]) for i in range(60)]
    rows += [('=HYPERLINK("http://x")', "a/b"), ("not a number", "..")]
    pl.DataFrame(rows, schema=["phone", "segment"], orient="row").write_csv(work / "crm.csv")
    url = canary_emulator.base_url
    base = {key: value for key, value in os.environ.items() if not key.startswith("SINCH_")}
    base.update(
        {
            "HOME": str(tmp_path / "user-home"),
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_API_URL": prefect_harness_api_url,
            "PREFECT_LOGGING_EXTRA_LOGGERS": "pipeline,httpx",
            "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO",
            "PYTHONPATH": str(REPO),
            "SINCH_GROUPS_HOME": str(home),
            "COLUMNS": "200",
        }
    )
    plan = {**base, "SINCH_SERVICE_PLAN_ID": PLAN, "SINCH_API_TOKEN": TOKEN, "SINCH_BASE_URL": url}
    old = {**plan, "OLD_SINCH_SERVICE_PLAN_ID": OLD_PLAN, "OLD_SINCH_API_TOKEN": OLD_TOKEN}
    old["OLD_SINCH_BASE_URL"] = url
    oauth = {**base, "SINCH_PROJECT_ID": PROJECT, "SINCH_KEY_ID": KEY_ID}
    oauth.update({"SINCH_KEY_SECRET": KEY_SECRET, "SINCH_BASE_URL": url})
    asyncio.run(seed_old_plan(url, work / "snapshots"))  # what migrate reads, and a snapshot
    [snapshot] = (work / "snapshots" / "members").iterdir()
    sync = ["sync", "crm.csv", "--group-column", "segment", "--no-progress"]
    set_faults(canary_emulator, error_rate=0.1, reset_rate=0.05, seed=3)
    emulator = start_emulator_command(base, home, work)  # starts up while the others run
    try:
        first = run_all(
            [
                (cli(*sync, "--rejects", "out/rejects.csv", "--report", "out/report.json"), plan),
                (cli("diff", str(snapshot), str(snapshot), "--out", "out/changes.parquet"), plan),
            ],
            work,
        )
        second = run_all(
            [
                (cli("export", "--out", "snapshots", "--no-progress"), oauth),
                (
                    cli("migrate", "--from-env", "OLD_SINCH_", "--adopt-existing", "--no-progress"),
                    old,
                ),
                (cli("groups"), plan),
            ],
            work,
        )
        set_faults(canary_emulator)
        emulator_output, emulator_db = finish_emulator_command(emulator, home / "emulator.sqlite3")
    finally:
        if emulator.poll() is None:
            emulator.kill()
            emulator.wait(timeout=10)
    # A wrong token, as the user sees it: one `Error:` line (Prefect's console log left quiet).
    wrong: dict[str, str | None] = {**plan, "SINCH_API_TOKEN": WRONG_TOKEN}
    wrong["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = None
    monkeypatch.chdir(work)
    refused = CliRunner().invoke(app, [*sync, "--report", "out/wrong.json"], env=wrong)

    for status, output in (*first, *second):
        assert status == 0, output
    assert refused.exit_code == 1, refused.output
    assert "SINCH_API_TOKEN" in assert_one_line_error(refused.output)
    assert (work / "out" / "rejects.csv").exists()
    assert (work / "sinch-groups-migrations").is_dir()
    assert issued_tokens, "the export authenticated with the OAuth2 project key"

    secrets = {TOKEN, OLD_TOKEN, KEY_SECRET, WRONG_TOKEN, EMULATOR_TOKEN, EMULATOR_SECRET}
    secrets |= set(issued_tokens)
    secrets.add(base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode())
    outputs = [output for _, output in (*first, *second)] + [emulator_output, refused.output]
    for output in outputs:
        assert not leaks(output.encode(), secrets), output
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    database = [path for path in harness_database().rglob("*") if path.is_file()]
    assert emulator_db in written
    for path in written + database:
        assert not leaks(path.read_bytes(), secrets), f"{path} holds a secret"
    # The search reads what it should: the runs' parameters and logs are in those bytes.
    stored = b"".join(path.read_bytes() for path in database)
    assert b"crm.csv" in stored, "flow run parameters are stored in plain text"
    assert b"retrying" in stored, "the client's retry warnings reached the Prefect API"

    allowed = {"crm.csv", "out", "snapshots", "sinch-groups-runs", "sinch-groups-migrations"}
    assert {Path(name).parts[0] for name in tree(work)} <= allowed, tree(work)
    assert sorted(os.listdir(work / "snapshots")) == ["groups", "members"]
    for dataset in ("groups", "members"):
        partitions = (work / "snapshots" / dataset).iterdir()
        assert all(path.name.startswith("snapshot_at=") for path in partitions)
    assert set(os.listdir(tmp_path)) == {"work", "home", "prefect-home", "user-home"}
    assert not Path("/abs").exists(), "a group named /abs never becomes a path"


async def seed_old_plan(base_url: str, snapshots: Path) -> None:
    """The old plan's groups (hostile names) for migrate, and a snapshot of them for diff."""
    async with GroupsClient(service_plan_id=OLD_PLAN, token=OLD_TOKEN, base_url=base_url) as client:
        for index, name in enumerate(HOSTILE_NAMES):
            await client.create_group(name=name, members=[f"+447901{index:06d}"])
        await export_snapshot(client, snapshots, target={"service_plan_id": OLD_PLAN})


def start_emulator_command(env: dict[str, str], home: Path, cwd: Path) -> subprocess.Popen[str]:
    """`sinch-groups emulator` with its own plan and project key and a database in `home`."""
    return subprocess.Popen(
        cli(
            *("emulator", "--port", "0", "--db", str(home / "emulator.sqlite3")),
            *("--plan", f"emuplan:{EMULATOR_TOKEN}"),
            *("--project", f"emuproject:emukey:{EMULATOR_SECRET}"),
        ),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish_emulator_command(process: subprocess.Popen[str], db: Path) -> tuple[str, Path]:
    """Use the emulator command with its credentials (and a wrong token), then stop it.

    Its start-up banner lists the credentials it serves (documented: that is how a user learns
    what to connect with), so only what follows the banner counts as output; its database must
    not keep the secrets, nor the access tokens it issued.
    """
    assert process.stdout is not None
    banner = read_banner(process.stdout)
    assert EMULATOR_TOKEN in banner, banner
    found = BANNER_URL.search(banner)
    assert found, banner
    base_url = found.group(1)
    groups = f"{base_url}/xms/v1/emuplan/groups"
    assert httpx.post(groups, headers={"Authorization": f"Bearer {EMULATOR_TOKEN}"}).is_success
    assert httpx.get(groups, headers={"Authorization": f"Bearer {WRONG_TOKEN}"}).status_code == 401
    issued = httpx.post(
        f"{base_url}/oauth2/token",
        auth=("emukey", EMULATOR_SECRET),
        data={"grant_type": "client_credentials"},
    ).json()["access_token"]
    projects = f"{base_url}/xms/v1/emuproject/groups"
    assert httpx.get(projects, headers={"Authorization": f"Bearer {issued}"}).is_success
    process.terminate()
    rest, _ = process.communicate(timeout=30)
    assert issued not in rest
    assert issued.encode() not in db.read_bytes()
    return rest, db
