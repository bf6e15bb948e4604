"""`sinch-groups optouts list|export|forget NUMBER`: read and correct the opt-out ledger.

The ledger (`pipeline.sync.state.OptOutLedger`) is a compliance record: every number a sync saw
leave a group on Sinch's side (a STOP keyword, a dashboard removal), which later syncs never add
back. These commands let a person see it, hand it to an auditor, and take a number out when the
subscriber opts in again. Nothing here talks to Sinch.

polars and the ledger are imported inside the commands: `optouts --help` must stay fast.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from flows.cli._app import app
from flows.cli._common import console, fail, handle_errors

if TYPE_CHECKING:
    from pathlib import Path

    import polars as pl

    from pipeline.storage import Location
    from pipeline.sync.state import OptOutLedger

optouts_app = typer.Typer(
    help="List, export or forget the numbers the opt-out ledger keeps out of groups.",
    no_args_is_help=True,
)
app.add_typer(optouts_app, name="optouts")

# Strings, not `Path`s: a Path turns `s3://bucket/optouts` into `s3:/bucket/optouts`.
LedgerDir = Annotated[
    str | None,
    typer.Option(
        "--optouts",
        help="Folder of the opt-out ledger, as given to sync: a path or a URL such as "
        "s3://bucket/optouts (default: $SINCH_GROUPS_HOME/optouts).",
        show_default=False,
    ),
]
GroupId = Annotated[
    str | None, typer.Option(help="Only the entries of the group with this id.", show_default=False)
]
Plan = Annotated[
    str | None,
    typer.Option(
        "--plan",
        metavar="SERVICE_PLAN",
        help="Only the entries of this service plan id.",
        show_default=False,
    ),
]

SUFFIXES = (".parquet", ".csv")
"""What `export` writes, chosen by the file name."""
# A CSV cell starting with one of these runs as a formula in a spreadsheet (as in
# `pipeline.phones.rejects`); group names come from Sinch, where anyone may type them.
FORMULA_START = r"^([=+\-@\t\r])"
NO_COUNTRY_CODE = (
    "it has no country code; write it as +<country code><number> or pass --default-region"
)


def _ledger(optouts: str | None) -> OptOutLedger:
    from pipeline.sync.state import OptOutLedger, default_optouts_dir

    return OptOutLedger(optouts if optouts is not None else default_optouts_dir())


def _entries(ledger: OptOutLedger, group_id: str | None, plan: str | None) -> pl.DataFrame:
    """The ledger's entries, oldest first, of one group and/or plan when asked."""
    import polars as pl

    frame = ledger.entries()
    if group_id is not None:
        frame = frame.filter(pl.col("group_id") == group_id)
    if plan is not None:
        frame = frame.filter(pl.col("service_plan") == plan)
    return frame


def _where(ledger: OptOutLedger, group_id: str | None, plan: str | None) -> str:
    """`the opt-out ledger at DIR`, narrowed by the filters: what every message names."""
    scope = f" for group {group_id}" if group_id is not None else ""
    scope += f" of service plan {plan}" if plan is not None else ""
    return f"the opt-out ledger at {ledger.root}{scope}"


def _nothing(ledger: OptOutLedger, group_id: str | None, plan: str | None) -> str:
    """What to say when no entry matches: an empty ledger and a filter that matches nothing
    differ, and a folder that does not exist may be a mistyped --optouts."""
    if group_id is not None or plan is not None:
        return f"no entries in {_where(ledger, group_id, plan)}"
    missing = "" if ledger.root.exists() else " (the folder does not exist)"
    return f"the opt-out ledger at {ledger.root} is empty{missing}"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


LIST_EXAMPLES = """
Examples:

  sinch-groups optouts list

  sinch-groups optouts list --group-id 01J0000000000000000000000A --json
"""


@optouts_app.command("list", epilog=LIST_EXAMPLES)
def list_(
    optouts: LedgerDir = None,
    group_id: GroupId = None,
    plan: Plan = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the entries as one JSON array, nothing else."),
    ] = False,
) -> None:
    """The numbers kept out of each group, oldest first: number, group, when a sync first saw it
    missing, and the run that saw it."""
    with handle_errors():
        ledger = _ledger(optouts)
        frame = _entries(ledger, group_id, plan)
    if as_json:
        rows = [
            {**row, "first_seen_missing": row["first_seen_missing"].isoformat()}
            for row in frame.to_dicts()
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if frame.is_empty():
        console.print(_nothing(ledger, group_id, plan), soft_wrap=True)
        return
    for (service_plan,), entries in frame.group_by("service_plan", maintain_order=True):
        console.print(f"service plan {service_plan}", soft_wrap=True)
        console.print(_table(entries))
    groups = frame.select("service_plan", "group_id").unique().height
    console.print(
        f"{_plural(frame.height, 'entry', 'entries')} in {_plural(groups, 'group', 'groups')} "
        f"in {_where(ledger, group_id, plan)}",
        soft_wrap=True,
    )


def _table(entries: pl.DataFrame) -> Table:
    """One plan's entries in three columns that fit 80 characters: each cell stacks two fields,
    so that the ids (up to 36 characters) and the numbers are never cut, and long names fold."""
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, padding=(0, 0), show_edge=False)
    table.add_column("number", no_wrap=True)
    table.add_column("group name / id", overflow="fold", min_width=26)
    table.add_column("first seen missing / run", no_wrap=True)
    for row in entries.iter_rows(named=True):
        name = row["group_name"] if row["group_name"] is not None else "(no name)"
        table.add_row(
            row["phone_e164"],
            Text.assemble(name, "\n", (row["group_id"], "dim")),
            Text.assemble(
                f"{row['first_seen_missing']:%Y-%m-%d %H:%M:%S} UTC\n", (row["run_id"], "dim")
            ),
        )
    return table


@optouts_app.command(
    epilog="Example:\n\n  sinch-groups optouts export --out optouts-2026-12.csv --plan myplan"
)
def export(
    out: Annotated[
        str,
        typer.Option(
            help="The file to write, a path or a URL (s3://, gs://, az://): .parquet, or .csv "
            "for a spreadsheet (written whole or not at all).",
            show_default=False,
        ),
    ],
    optouts: LedgerDir = None,
    group_id: GroupId = None,
    plan: Plan = None,
) -> None:
    """Write the ledger's entries (or one group's, one plan's) to a file, phone numbers as text."""
    from pipeline.storage import location

    target = location(out)
    if target.suffix.lower() not in SUFFIXES:
        raise fail(f"cannot write {target}: name it .parquet or .csv")
    with handle_errors():
        ledger = _ledger(optouts)
        frame = _entries(ledger, group_id, plan)
        _write(frame, target, ledger.root)
    console.print(
        f"wrote {_plural(frame.height, 'entry', 'entries')} of {_where(ledger, group_id, plan)} "
        f"to {target}",
        soft_wrap=True,
    )


def _write(frame: pl.DataFrame, out: Location, root: Path | Location) -> None:
    """Parquet keeps the ledger's types; a CSV is for a spreadsheet: UTF-8 with a BOM (so Excel
    does not guess the code page), ISO times, and group names that cannot run as formulas."""
    import polars as pl

    from pipeline.storage import atomic_path, write_parquet_atomic

    if out.suffix.lower() == ".parquet":
        write_parquet_atomic(frame, out, {"optouts": str(root)}, kind="optout-export")
        return
    text = frame.with_columns(
        pl.col("group_name").str.replace(FORMULA_START, "'$1"),
        pl.col("first_seen_missing").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
    )
    with atomic_path(out) as temporary:
        text.write_csv(temporary, include_bom=True)


FORGET_EXAMPLES = """
Examples:

  sinch-groups optouts forget +447911123456 --yes

  sinch-groups optouts forget '07911 123456' --default-region GB --plan myplan
"""


@optouts_app.command(epilog=FORGET_EXAMPLES)
def forget(
    number: Annotated[
        str, typer.Argument(help="The phone number, in E.164 or with --default-region.")
    ],
    optouts: LedgerDir = None,
    group_id: GroupId = None,
    plan: Plan = None,
    default_region: Annotated[
        str | None,
        typer.Option(
            help="ISO country for a NUMBER written without a country code.", show_default=False
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Forget without asking (needed when there is no terminal)."),
    ] = False,
    lock_timeout: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds to wait while a sync on this machine writes one of the groups "
            "(0: fail at once).",
        ),
    ] = 60.0,
) -> None:
    """Take NUMBER out of the ledger (of every group, or of --group-id / --plan only): the next
    sync may add it again. For a subscriber who opted in again; this changes a compliance record.
    """
    with handle_errors():
        ledger = _ledger(optouts)
        entries = _entries(ledger, group_id, plan)
        e164 = _e164(number, default_region, entries.get_column("phone_e164"))
        found = entries.filter(entries.get_column("phone_e164") == e164)
    where = _where(ledger, group_id, plan)
    if found.is_empty():
        raise fail(f"{e164} is not in {where}")
    groups = _plural(found.height, "group", "groups")
    if not yes:
        if not _can_ask():
            raise fail(
                f"forgetting {e164} in {groups} changes the opt-out record; add --yes to confirm"
            )
        names = ", ".join(
            name or group for name, group in found.select("group_name", "group_id").rows()
        )
        if not typer.confirm(f"Forget {e164} in {groups} ({names})? It may be added again"):
            raise fail("nothing forgotten")
    with handle_errors():
        removed = asyncio.run(_forget_locked(ledger, e164, found, group_id, plan, lock_timeout))
    if not removed:
        raise fail(f"{e164} is not in {where}")
    console.print(
        f"forgot {e164} in {_plural(removed, 'group', 'groups')}; "
        "it may be added again by the next sync",
        soft_wrap=True,
    )


def _can_ask() -> bool:
    """Whether a person can answer a confirmation (a cron job or a pipe cannot)."""
    return sys.stdin.isatty()


def _e164(number: str, default_region: str | None, known: pl.Series) -> str:
    """NUMBER as the ledger writes it, read by the same rules as the contact files.

    A number written exactly as a ledger entry is taken as it is: phonenumbers' ranges change
    between releases, and a number recorded under older ones must still be forgettable.
    """
    import polars as pl

    from pipeline import phones

    text = number.strip()
    if text in known:
        return text
    raw = pl.DataFrame(
        {"source_file": ["NUMBER"], "source_line": [1], "phone_raw": [text]},
        schema={"source_file": pl.String, "source_line": pl.Int64, "phone_raw": pl.String},
    ).with_columns(region_raw=pl.lit(None, pl.String), group=pl.lit(None, pl.String))
    result = phones.normalize(raw, default_region=default_region)
    if result.valid.height:
        return str(result.valid.item(0, "phone_e164"))
    reason, detail = result.rejects.row(0)[-2:]
    if reason == phones.Reason.INVALID_COUNTRY_CODE and default_region is None:
        # The library's hint names a country column, which a single NUMBER does not have.
        detail = NO_COUNTRY_CODE
    raise fail(f"cannot read {number!r} as a phone number: {detail}")


async def _forget_locked(
    ledger: OptOutLedger,
    e164: str,
    found: pl.DataFrame,
    group_id: str | None,
    plan: str | None,
    wait_s: float,
) -> int:
    """Forget while holding the write lock of every group concerned (as a sync on this machine
    takes it), so that a run recording an opt-out in the same file cannot undo the forget, nor
    the forget drop what the run recorded. (Runs through Prefect lock with a Prefect concurrency
    limit instead, which this does not take.)"""
    from pipeline.sync.lock import group_lock_keys, hold_file_locks

    async with AsyncExitStack() as held:
        for (service_plan,), rows in found.group_by("service_plan", maintain_order=True):
            keys = [
                key for gid in rows.get_column("group_id") for key in group_lock_keys(gid, None)
            ]
            await held.enter_async_context(hold_file_locks(str(service_plan), keys, wait_s=wait_s))
        return await asyncio.to_thread(ledger.forget, e164, plan=plan, group_id=group_id)
