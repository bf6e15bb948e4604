"""`sinch-groups groups`: list the groups of the target plan (the demo's first look)."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.cli._app import app
from flows.cli._common import (
    CredentialsBlock,
    EnvPrefix,
    console,
    err_console,
    handle_errors,
    print_table,
    target_session,
)
from flows.cli._mode import require_api

if TYPE_CHECKING:
    from datetime import datetime

    from pipeline.sinch import Group, Target


async def _all_groups(target: Target) -> list[Group]:
    from pipeline.sinch import GroupsClient

    async with GroupsClient.from_target(target) as client:
        return [group async for group in client.iter_groups(page_size=100)]


GROUPS_EXAMPLES = """
Examples:

  sinch-groups groups

  sinch-groups groups --json | jq -r '.groups[] | "\\(.id) \\(.name)"'
"""

AsJson = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print JSON on stdout for scripts: the target and every group (ids, names, sizes, "
        "times, child groups, auto_update); any note goes to stderr.",
    ),
]


def group_json(group: Group) -> dict[str, Any]:
    """One group as the API's JSON spells it: timestamps in UTC with milliseconds and a Z."""

    def stamp(value: datetime) -> str:
        return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"

    return {
        "id": group.id,
        "name": group.name,
        "size": group.size,
        "created_at": stamp(group.created_at),
        "modified_at": stamp(group.modified_at),
        "child_groups": list(group.child_groups),
        "auto_update": group.auto_update.to_wire() if group.auto_update else None,
    }


@app.command(epilog=GROUPS_EXAMPLES)
def groups(
    credentials_block: CredentialsBlock = None,
    env_prefix: EnvPrefix = "SINCH_",
    as_json: AsJson = False,
) -> None:
    """List every group of the target service plan, newest first."""
    with handle_errors():
        if credentials_block is not None:
            require_api("--credentials-block")
        notes = err_console if as_json else console
        with target_session(env_prefix, credentials_block, notes=notes) as target:
            found = asyncio.run(_all_groups(target))
    if as_json:
        listing = {"target": target.describe(), "groups": [group_json(g) for g in found]}
        typer.echo(json.dumps(listing, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    where = ", ".join(f"{key} {value}" for key, value in target.describe().items() if key != "auth")
    table = Table(title=f"{len(found)} groups ({where}; times in UTC)", header_style="bold")
    # Ids are copied into the next command: never wrapped or cut (see print_table). Times wrap
    # at the space between date and time, names wherever they must.
    table.add_column("id", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("created")
    table.add_column("modified")
    children = any(group.child_groups for group in found)
    if children:
        table.add_column("child groups", no_wrap=True)
    for group in found:
        table.add_row(
            group.id,
            group.name or "",
            f"{group.size:,}",
            f"{group.created_at:%Y-%m-%d %H:%M:%S}",
            f"{group.modified_at:%Y-%m-%d %H:%M:%S}",
            *(["\n".join(group.child_groups)] if children else []),
        )
    print_table(table)
