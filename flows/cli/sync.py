"""`sinch-groups sync`: the import command. It builds one `SyncOptions` from its flags and runs
the engine in this process (`pipeline.sync_groups`), or the `sync-groups` flow when a Prefect API is
configured (or `--prefect`); the report, rejects, printed tables and exit status are the same."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from flows.cli._app import app
from flows.cli._common import (
    CredentialsBlock,
    EnvPrefix,
    ShowProgress,
    StorageBlock,
    UsePrefect,
    check_credentials,
    console,
    fail,
    handle_errors,
    print_table,
    stdout_for_json,
    storage_session,
    target_session,
    warning_line,
)
from flows.cli._mode import use_prefect
from pipeline.sync.lock import DEFAULT_LOCK_TIMEOUT
from pipeline.sync.options import DEFAULT_PARTITION_ROWS, Mode, RunnerKind, SyncOptions

if TYPE_CHECKING:
    from pipeline.sync.report import SyncReport

CHANGED_ELSEWHERE = 3
"""Exit status of a sync whose groups another writer changed while it ran (see the README)."""

SYNC_EXAMPLES = """
Examples:

  sinch-groups sync data/samples/contacts_clean.csv --group Newsletter

  sinch-groups sync 'exports/*.csv' --group-column segment --mode mirror --dry-run

  sinch-groups sync optout.csv --group Newsletter --mode remove

  sinch-groups sync crm.csv --group Promo --mode mirror --json | jq .groups

  sinch-groups sync contacts.xlsx --sheet "Newsletter" --group Newsletter

  sinch-groups sync --query "SELECT mobile, country, segment FROM crm.contacts"
      --db-env CRM_DB_URL --group-column segment
"""


def print_report(result: SyncReport) -> None:
    """The report for people: notes, the rows and groups tables, what changed on Sinch's side."""
    for note in result.notes:
        console.print(Text(f"Note: {note}"), soft_wrap=True)
    print_table(result.rows_table())
    print_table(result.groups_table())
    for group in result.groups:
        for line in group.history_lines():
            console.print(Text(f"{group.key}: {line}"), soft_wrap=True)
    console.print(f"Report: {result.report_path}", soft_wrap=True)
    console.print(f"Rejects: {result.rejects_path}", soft_wrap=True)


@app.command(epilog=SYNC_EXAMPLES)
def sync(
    source: Annotated[
        str | None,
        typer.Argument(
            help="A CSV/TSV (also .gz/.zst/.bz2/.xz), Parquet, Excel (.xlsx/.xlsm/.xls/.ods), "
            "JSON or NDJSON file, or a quoted glob of several (or none, with --query); "
            "paths or URLs: s3://, gs://, az://, abfs:// (globs too), http(s)://.",
            show_default=False,
        ),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(
            help="Read the contacts from this SQL query's rows instead of a file "
            "(PostgreSQL, MySQL, SQLite, DuckDB; see --db).",
            show_default=False,
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            help="The query's database URI, e.g. postgresql://user:password@host/db or "
            "sqlite:///crm.db (default: $SINCH_GROUPS_DB_URL). Prefer --db-env or "
            "--db-block: a password typed here is in your shell history.",
            show_default=False,
        ),
    ] = None,
    db_env: Annotated[
        str | None,
        typer.Option(
            help="Environment variable holding the query's database URI, read where the "
            "query runs (default: SINCH_GROUPS_DB_URL).",
            show_default=False,
        ),
    ] = None,
    db_block: Annotated[
        str | None,
        typer.Option(
            help="Prefect Secret block holding the query's database URI (runs through Prefect).",
            show_default=False,
        ),
    ] = None,
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
        typer.Option(
            help="Column holding the phone numbers (default: detected: mobile columns first, "
            "then the one with the most numbers)."
        ),
    ] = None,
    country_column: Annotated[
        str | None,
        typer.Option(
            help="Column holding each row's country: GB, GBR, United Kingdom, UK, +44 "
            "(default: detected when its values are countries)."
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            help="The sheet of an Excel or OpenDocument workbook to read (default: the first).",
            show_default=False,
        ),
    ] = None,
    default_region: Annotated[
        str | None,
        typer.Option(
            help="Country for numbers written without a country code (GB, UK, Germany, +49)."
        ),
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
        list[str] | None,
        typer.Option(
            help="Opt-out list (CSV or Parquet; a path or a URL), repeatable: never added, and "
            "removed from the target groups in every mode."
        ),
    ] = None,
    rejects: Annotated[
        str | None,
        typer.Option(
            help="Where to write rejected rows (a path or an s3://, gs://, az:// URL); .parquet "
            "or .csv (formulas neutralized). "
            "Default: ./sinch-groups-runs/<time>/rejects.parquet."
        ),
    ] = None,
    report: Annotated[
        str | None,
        typer.Option(
            help="Where to write the JSON report (a path or a URL). Default: ./sinch-groups-runs/<time>/report.json."
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
    ] = DEFAULT_PARTITION_ROWS,
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
    state: Annotated[
        str | None,
        typer.Option(
            help="Folder of each group's base, its membership after this tool's last run; a "
            "path or a URL such as s3://bucket/state (default: $SINCH_GROUPS_HOME/state).",
            show_default=False,
        ),
    ] = None,
    optouts: Annotated[
        str | None,
        typer.Option(
            help="Folder of the opt-out ledger, numbers seen leaving a group on Sinch's side; a "
            "path or a URL (default: $SINCH_GROUPS_HOME/optouts).",
            show_default=False,
        ),
    ] = None,
    readd_left: Annotated[
        bool,
        typer.Option(
            "--readd-left",
            help="For this run only, add back numbers that left a group on Sinch's side.",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Mirror also removes members who joined on Sinch's side (under the guard).",
        ),
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Go on when no row is valid (create the named group empty, apply --suppress); "
            "without it such a run changes nothing and exits 1 with the top reject reasons.",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the run report as JSON on stdout, and nothing else there: notes and "
            "progress go to stderr (the report file is written as well).",
        ),
    ] = False,
    credentials_block: CredentialsBlock = None,
    storage_block: StorageBlock = None,
    env_prefix: EnvPrefix = "SINCH_",
    progress: ShowProgress = True,
    prefect: UsePrefect = False,
) -> None:
    """Sync a contact file (or a database query's rows) into Sinch groups: load, normalize,
    validate, plan, apply, verify."""
    with handle_errors(), stdout_for_json(as_json), storage_session(storage_block):
        options = SyncOptions(
            source=source,
            query=query,
            db=db,
            db_env=db_env,
            db_block=db_block,
            group=group,
            group_id=group_id,
            group_column=group_column,
            phone_column=phone_column,
            country_column=country_column,
            sheet=sheet,
            default_region=default_region,
            mode=mode,
            dry_run=dry_run,
            max_remove_fraction=max_remove_fraction,
            force=force,
            mobile_only=mobile_only,
            suppress=tuple(suppress or []),
            rejects=rejects,
            report=report,
            chunk_size=chunk_size,
            partition_rows=partition_rows,
            use_cache=cache,
            lock_timeout=lock_timeout,
            state=state,
            optouts=optouts,
            readd_left=readd_left,
            strict=strict,
            allow_empty=allow_empty,
        )
        from pipeline.sync.outputs import check_outputs

        # Mistakes in the outputs show now, before Prefect or the emulator start (seconds).
        check_outputs(options, datetime.now(UTC))
        # And the columns the run will read, from the header: a wrong one (or a missing file)
        # shows while it costs nothing.
        from flows.cli._database import for_the_flow, with_database_read
        from pipeline.load import describe_columns

        columns_line = describe_columns(with_database_read(options))
        progress = progress and not as_json
        if credentials_block is None:
            check_credentials(env_prefix)
        through_prefect = use_prefect(
            prefect=prefect or db_block is not None or storage_block is not None,
            credentials_block=credentials_block,
        )
        if task_runner != "threads" and not through_prefect:
            raise fail(
                "--task-runner dask runs through Prefect: set PREFECT_API_URL or pass --prefect"
            )
        with target_session(env_prefix, credentials_block) as target:
            # After the lines saying where the run goes (the README promises those come first).
            console.print(Text(columns_line), soft_wrap=True)
            if through_prefect:
                from flows.sync_groups import sync_groups

                result = asyncio.run(
                    sync_groups(
                        **for_the_flow(options).flow_parameters(),
                        task_runner=task_runner,
                        dask_address=dask_address,
                        credentials_block=credentials_block,
                        storage_block=storage_block,
                        target_env_prefix=env_prefix,
                        show_progress=progress,
                    )
                )
            else:
                from pipeline.sync import sync_groups as run_locally

                result = asyncio.run(run_locally(options, target, show_progress=progress))
    if as_json:
        typer.echo(result.to_json())
    else:
        print_report(result)
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
