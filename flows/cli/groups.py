"""`sinch-groups groups`: list the groups of the target plan (the demo's first look)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from flows.cli._app import app
from flows.cli._common import CredentialsBlock, EnvPrefix, console, handle_errors, target_session
from flows.cli._mode import require_api

if TYPE_CHECKING:
    from pipeline.sinch import Group, Target


async def _all_groups(target: Target) -> list[Group]:
    from pipeline.sinch import GroupsClient

    async with GroupsClient.from_target(target) as client:
        return [group async for group in client.iter_groups(page_size=100)]


@app.command(epilog="Example:\n\n  sinch-groups groups")
def groups(credentials_block: CredentialsBlock = None, env_prefix: EnvPrefix = "SINCH_") -> None:
    """List every group of the target service plan, newest first."""
    with handle_errors():
        if credentials_block is not None:
            require_api("--credentials-block")
        with target_session(env_prefix, credentials_block) as target:
            found = asyncio.run(_all_groups(target))
    from rich.table import Table

    where = ", ".join(f"{key} {value}" for key, value in target.describe().items() if key != "auth")
    table = Table(title=f"{len(found)} groups ({where})", header_style="bold")
    for column in ("id", "name", "size", "created", "modified", "child groups"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for group in found:
        table.add_row(
            group.id,
            group.name or "",
            f"{group.size:,}",
            f"{group.created_at:%Y-%m-%dT%H:%M:%SZ}",
            f"{group.modified_at:%Y-%m-%dT%H:%M:%SZ}",
            ", ".join(group.child_groups),
        )
    console.print(table)
