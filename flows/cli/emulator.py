"""`sinch-groups emulator`: run the local Sinch-compatible Groups API in the foreground."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli._app import app
from flows.cli._common import fail
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN

if TYPE_CHECKING:
    from sinch_emulator import Plan, ProjectKey

EMULATOR_EXAMPLES = f"""
Examples:

  sinch-groups emulator                      # plan {DEFAULT_PLAN_ID}, token {DEFAULT_TOKEN}, port 8765

  sinch-groups emulator --db groups.sqlite3 --plan myplan:secret-token --port 9000

  sinch-groups emulator --rate-limit 20 --error-rate 0.05 --reset-rate 0.02 --seed 7
"""


def _plan(value: str) -> Plan:
    from sinch_emulator import Plan

    plan_id, sep, token = value.partition(":")
    if not sep:
        raise typer.BadParameter("expected PLAN_ID:TOKEN")
    return Plan(id=plan_id, token=token)


def _project(value: str) -> ProjectKey:
    from sinch_emulator import ProjectKey

    parts = value.split(":")
    if len(parts) != 3:
        raise typer.BadParameter("expected PROJECT_ID:KEY_ID:KEY_SECRET")
    return ProjectKey(project_id=parts[0], key_id=parts[1], key_secret=parts[2])


@app.command(epilog=EMULATOR_EXAMPLES)
def emulator(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0 picks a free one).")] = 8765,
    db: Annotated[
        Path | None,
        typer.Option(help="SQLite file that keeps state across restarts (default: in memory)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="TOML or JSON file with plans, projects, db_path, faults.",
        ),
    ] = None,
    plan: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Service plan as PLAN_ID:TOKEN, repeatable (default {DEFAULT_PLAN_ID}:{DEFAULT_TOKEN})."
        ),
    ] = None,
    project: Annotated[
        list[str] | None,
        typer.Option(help="OAuth2 project key as PROJECT_ID:KEY_ID:KEY_SECRET, repeatable."),
    ] = None,
    token_ttl: Annotated[
        int | None,
        typer.Option(min=1, help="Lifetime of OAuth2 access tokens, seconds (default 3600)."),
    ] = None,
    latency_ms: Annotated[
        float | None, typer.Option(min=0, help="Delay added to every API request, milliseconds.")
    ] = None,
    rate_limit: Annotated[
        float | None,
        typer.Option(
            min=0.001, help="Requests per second per plan; excess gets 429 + Retry-After."
        ),
    ] = None,
    error_rate: Annotated[
        float | None, typer.Option(min=0, max=1, help="Probability of a 500/503 response.")
    ] = None,
    reset_rate: Annotated[
        float | None,
        typer.Option(
            min=0, max=1, help="Probability of dropping the connection without a response."
        ),
    ] = None,
    refuse_numbers: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="File of numbers (one a line) the plan refuses with a 400.",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed that makes the faults reproducible.")
    ] = None,
) -> None:
    """Run the Sinch-compatible Groups API emulator, so any Sinch client works without an account."""
    from sinch_emulator import (
        ConfigError,
        EmulatorConfig,
        load_config_file,
        load_refuse_numbers,
        serve,
    )

    try:
        base = load_config_file(config) if config else EmulatorConfig(db_path=None)
        fault_changes = {
            name: value
            for name, value in {
                "latency_ms": latency_ms,
                "rate_limit": rate_limit,
                "error_rate": error_rate,
                "reset_rate": reset_rate,
                "seed": seed,
            }.items()
            if value is not None
        }
        if refuse_numbers is not None:
            fault_changes["refuse_numbers"] = load_refuse_numbers(refuse_numbers)
        changes: dict[str, object] = {"faults": dataclasses.replace(base.faults, **fault_changes)}
        if plan:
            changes["plans"] = [_plan(value) for value in plan]
        if project:
            changes["projects"] = [_project(value) for value in project]
        if db is not None:
            changes["db_path"] = db
        if token_ttl is not None:
            changes["token_ttl"] = token_ttl
        settings = dataclasses.replace(base, **changes)
    except (ConfigError, OSError) as exc:
        raise fail(str(exc)) from None
    try:
        # The banner goes out as plain, flushed text: Rich would wrap it at the terminal's width
        # and break the URLs and the SDK snippet in it across lines.
        serve(settings, host=host, port=port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc}; pick another --port") from None
