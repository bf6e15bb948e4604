"""`sinch-groups sync`: the import command. It builds one `SyncOptions` from its flags and runs
the engine in this process (`pipeline.sync_groups`), or the `sync-groups` flow when a Prefect API is
configured (or `--prefect`); the report, rejects, printed tables and exit status are the same."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from flows.cli._app import app
from flows.cli._common import (
    CredentialsBlock,
    EnvPrefix,
    ShowProgress,
    UsePrefect,
    console,
    fail,
    handle_errors,
    target_session,
    warning_line,
)
from flows.cli._mode import use_prefect
from pipeline.sync.lock import DEFAULT_LOCK_TIMEOUT
from pipeline.sync.options import Mode, RunnerKind, SyncOptions

CHANGED_ELSEWHERE = 3
"""Exit status of a sync whose groups another writer changed while it ran (see the README)."""

SYNC_EXAMPLES = """
Examples:

  sinch-groups sync data/samples/contacts_clean.csv --group Newsletter

  sinch-groups sync 'exports/*.csv' --group-column segment --mode mirror --dry-run

  sinch-groups sync optout.csv --group Newsletter --mode remove
"""


@app.command(epilog=SYNC_EXAMPLES)
def sync(
    source: Annotated[
        str, typer.Argument(help="A CSV or Parquet file, or a quoted glob of several.")
    ],
    group: Annotated[
        str | None, typer.Option(help="Target one group by name (created if missing).")
    ] = None,
    group_id: Annotated[str | None, typer.Option(help="Target one existing group by id.")] = None,
    group_column: Annotated[
        str | None,
        typer.Option(help="Column naming each row's group; every distinct value is a group."),
    ] = None,
    phone_column: Annotated[
        str | None,
        typer.Option(help="Column holding the phone numbers (default: detected from the header)."),
    ] = None,
    country_column: Annotated[
        str | None, typer.Option(help="Column holding each row's ISO country (e.g. GB, US).")
    ] = None,
    default_region: Annotated[
        str | None, typer.Option(help="ISO country for numbers written without a country code.")
    ] = None,
    mode: Annotated[
        Mode,
        typer.Option(
            help="add: add what is missing; mirror: make each group exactly the file's set; "
            "remove: take the listed numbers out."
        ),
    ] = Mode.ADD,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compute, print and write the plan; change nothing.")
    ] = False,
    max_remove_fraction: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Mirror refuses to remove more than this fraction of a group's current members.",
        ),
    ] = 0.10,
    force: Annotated[
        bool, typer.Option("--force", help="Apply a mirror even when the removal guard trips.")
    ] = False,
    mobile_only: Annotated[
        bool, typer.Option("--mobile-only", help="Reject numbers that are not mobile numbers.")
    ] = False,
    suppress: Annotated[
        list[Path] | None,
        typer.Option(
            help="Opt-out list (CSV or Parquet), repeatable: never added, and removed from the "
            "target groups in every mode."
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Where to write rejected rows; .parquet or .csv (formulas neutralized). "
            "Default: ./sinch-groups-runs/<time>/rejects.parquet."
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the JSON report. Default: ./sinch-groups-runs/<time>/report.json."
        ),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=10_000,
            show_default=False,
            help="Numbers per add/remove array in one request (default and maximum: 10,000, "
            "the Groups API's limit).",
        ),
    ] = None,
    task_runner: Annotated[
        RunnerKind,
        typer.Option(
            help="Where normalization runs: threads (this machine) or dask (an existing cluster)."
        ),
    ] = "threads",
    dask_address: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler for --task-runner dask (default: $DASK_SCHEDULER_ADDRESS)."
        ),
    ] = None,
    partition_rows: Annotated[
        int, typer.Option(min=1_000, help="Rows per normalization task (each a partition).")
    ] = 500_000,
    cache: Annotated[
        bool,
        typer.Option(
            help="Reuse the normalized result of an unchanged file (kept in $SINCH_GROUPS_CACHE, "
            "default $SINCH_GROUPS_HOME/cache or ~/.cache/sinch-groups)."
        ),
    ] = True,
    lock_timeout: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds to wait while another run writes one of the groups (0: fail at once); "
            "then exit 1 naming the run that holds it.",
        ),
    ] = DEFAULT_LOCK_TIMEOUT,
    credentials_block: CredentialsBlock = None,
    env_prefix: EnvPrefix = "SINCH_",
    progress: ShowProgress = True,
    prefect: UsePrefect = False,
) -> None:
    """Sync a contact file into Sinch groups: load, normalize, validate, plan, apply, verify."""
    with handle_errors():
        options = SyncOptions(
            source=source,
            group=group,
            group_id=group_id,
            group_column=group_column,
            phone_column=phone_column,
            country_column=country_column,
            default_region=default_region,
            mode=mode,
            dry_run=dry_run,
            max_remove_fraction=max_remove_fraction,
            force=force,
            mobile_only=mobile_only,
            suppress=tuple(str(path) for path in suppress or []),
            rejects=str(rejects) if rejects else None,
            report=str(report) if report else None,
            chunk_size=chunk_size,
            partition_rows=partition_rows,
            use_cache=cache,
            lock_timeout=lock_timeout,
        )
        through_prefect = use_prefect(prefect=prefect, credentials_block=credentials_block)
        if task_runner != "threads" and not through_prefect:
            raise fail(
                "--task-runner dask runs through Prefect: set PREFECT_API_URL or pass --prefect"
            )
        with target_session(env_prefix, credentials_block) as target:
            if through_prefect:
                from flows.sync_groups import sync_groups

                result = asyncio.run(
                    sync_groups(
                        **options.flow_parameters(),
                        task_runner=task_runner,
                        dask_address=dask_address,
                        credentials_block=credentials_block,
                        target_env_prefix=env_prefix,
                        show_progress=progress,
                    )
                )
            else:
                from pipeline.sync import sync_groups as run_locally

                result = asyncio.run(run_locally(options, target, show_progress=progress))
    for note in result.notes:
        console.print(f"Note: {note}")
    console.print(result.rows_table())
    console.print(result.groups_table())
    console.print(f"Report: {result.report_path}", soft_wrap=True)
    console.print(f"Rejects: {result.rejects_path}", soft_wrap=True)
    changed = [(g.key, g.interference()) for g in result.groups if g.interference()]
    for key, what in changed:
        console.print(warning_line(f"group {key!r} was {what}"), soft_wrap=True)
    if changed:
        raise fail(
            f"{len(changed)} group(s) changed by another writer during the run; the report lists "
            "the numbers. Run again to converge, once the other writer is done",
            status=CHANGED_ELSEWHERE,
        )
    if not result.ok:
        raise fail("the live membership differs from the plan after applying; see the report")
