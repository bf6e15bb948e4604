"""`sinch-groups snapshots list|upgrade DIR`: what a dataset folder holds, and moving snapshots
written in the legacy layout into the dataset layout (see `pipeline.snapshot.layout`)."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.cli._app import app
from flows.cli._common import console, handle_errors

snapshots_app = typer.Typer(
    help="List the snapshots of a dataset folder, or move legacy ones into the current layout.",
    no_args_is_help=True,
)
app.add_typer(snapshots_app, name="snapshots")

Folder = Annotated[
    str, typer.Argument(help="The dataset folder (export's --out): a path or a URL (s3://, ...).")
]


@snapshots_app.command("list", epilog="Example:\n\n  sinch-groups snapshots list snapshots")
def list_(folder: Folder) -> None:
    """Every snapshot in FOLDER, oldest first: time, layout, groups, members, and its path."""
    from rich.table import Table

    from pipeline.snapshot import Layout, list_snapshots

    with handle_errors():
        found = list_snapshots(folder)
    table = Table(header_style="bold")
    for column in ("taken at (UTC)", "layout", "groups", "members", "path"):
        justify = "right" if column in ("groups", "members") else "left"
        table.add_column(column, justify=justify, overflow="fold")
    for snapshot in found:
        table.add_row(
            f"{snapshot.taken_at:%Y-%m-%d %H:%M:%S}.{snapshot.taken_at.microsecond // 1000:03d}",
            str(snapshot.layout),
            f"{snapshot.group_count:,}",
            f"{snapshot.member_count:,}",
            str(snapshot.path),
        )
    console.print(table)
    legacy = sum(snapshot.layout is Layout.LEGACY for snapshot in found)
    console.print(f"{len(found)} snapshot(s) in {folder}", soft_wrap=True)
    if legacy:
        console.print(
            f"{legacy} in the legacy layout: `sinch-groups snapshots upgrade {folder}` moves them "
            "into members/ and groups/",
            soft_wrap=True,
        )


@snapshots_app.command(epilog="Example:\n\n  sinch-groups snapshots upgrade snapshots")
def upgrade(folder: Folder) -> None:
    """Move legacy snapshots (FOLDER/snapshot_at=<time>/) into FOLDER/members/ and FOLDER/groups/.

    Each file moves with one rename; an interrupted upgrade is finished by running it again.
    """
    from pipeline.snapshot import partition_name, upgrade_snapshots

    with handle_errors():
        moved = upgrade_snapshots(folder)
    for snapshot in moved:
        console.print(f"upgraded {partition_name(snapshot.taken_at)}", soft_wrap=True)
    console.print(f"{len(moved)} snapshot(s) upgraded in {folder}", soft_wrap=True)
