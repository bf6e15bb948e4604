"""`prefect.yaml`: `prefect deploy --all` accepts it, and a process worker runs what it declares.

This is the README's path from an empty machine to a scheduled run, against the session's
temporary Prefect API: create the work pool, deploy, start a worker, watch a run finish.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import yaml
from prefect.client.orchestration import get_client
from prefect.deployments import arun_deployment

from tests.live import members_by_name, seed_group
from tests.test_sync_flow import number, write_csv

REPO = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))


def prefect_cli(*args: str, env: dict[str, str], timeout: float = 180) -> str:
    done = subprocess.run(
        [PREFECT, "--no-prompt", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_file_declares_the_three_jobs_on_a_process_pool_with_documented_parameters():
    text = (REPO / "prefect.yaml").read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    deployments = {d["name"]: d for d in config["deployments"]}
    assert {"nightly-crm-sync", "weekly-membership-export", "optout-removal"} <= set(deployments)
    nightly = deployments["nightly-crm-sync"]
    assert nightly["parameters"]["mode"] == "mirror"
    assert {"source", "group_column", "default_region"} <= set(nightly["parameters"])
    assert nightly["schedules"][0]["cron"]
    assert deployments["weekly-membership-export"]["schedules"][0]["cron"].endswith(" 0")
    assert deployments["optout-removal"]["parameters"]["mode"] == "remove"
    assert "schedules" not in deployments["optout-removal"]
    assert all(d["work_pool"]["name"] == "sinch-groups" for d in deployments.values())
    # Every parameter value set in the file has a comment line above it saying what it is for.
    for name in ("source", "group_column", "default_region", "out_dir"):
        assert "# " in text.split(f"      {name}:")[0].rsplit("\n", 2)[-2]
    assert "token" not in "".join(str(d.get("parameters")) for d in deployments.values())


async def test_deploy_all_then_a_process_worker_runs_the_optout_deployment(
    sinch_env, tmp_path, prefect_harness
):
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_harness,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PYTHONPATH": str(REPO),
        "PWD": str(REPO),  # the pull step's working directory is recorded from it at deploy time
    }
    prefect_cli("work-pool", "create", "sinch-groups", "--type", "process", "--overwrite", env=env)
    prefect_cli("deploy", "--all", env=env)

    async with get_client() as client:
        nightly = await client.read_deployment_by_name("sync-groups/nightly-crm-sync")
        export = await client.read_deployment_by_name("export-groups/weekly-membership-export")
        optout = await client.read_deployment_by_name("sync-groups/optout-removal")
    assert nightly.work_pool_name == "sinch-groups"
    assert [s.schedule.cron for s in nightly.schedules] == ["30 2 * * *"]
    assert [s.schedule.cron for s in export.schedules] == ["0 4 * * 0"]
    assert optout.parameters["mode"] == "remove"
    form = optout.parameter_openapi_schema["properties"]
    assert form["mode"]
    assert form["source"]["description"]

    # The opt-out job on a real worker: three subscribers, two of whom opted out.
    optout_file = write_csv(tmp_path / "optout.csv", [{"phone": number(i)} for i in range(2)])
    await seed_group(sinch_env, "Newsletter", [number(i) for i in range(3)])
    run = await arun_deployment(
        "sync-groups/optout-removal",
        parameters={
            "source": str(optout_file),
            "report": str(tmp_path / "report.json"),
            "rejects": str(tmp_path / "rejects.parquet"),
        },
        timeout=0,
    )
    worker = await asyncio.to_thread(
        subprocess.run,
        [PREFECT, "worker", "start", "--pool", "sinch-groups", "--run-once"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    async with get_client() as client:
        finished = await client.read_flow_run(run.id)
    assert finished.state is not None
    assert finished.state.is_completed(), worker.stdout + worker.stderr
    assert (await members_by_name(sinch_env))["Newsletter"] == {number(2)}
    assert (tmp_path / "report.json").exists()


def test_the_readme_documents_every_option_of_every_command():
    from typer.main import get_command

    from flows.cli import app

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    undocumented = [
        f"{name} {option}"
        for name, command in get_command(app).commands.items()
        for parameter in command.params
        for option in parameter.opts + parameter.secondary_opts
        if option.startswith("--") and option != "--help" and option not in readme
    ]
    assert not undocumented
