"""`sinch-groups export`, `diff` and `migrate`: snapshots of groups, and moving groups elsewhere.

`export` and `migrate` run the library in this process (`export_snapshot`, `pipeline.migrate`),
or their Prefect flows when a Prefect API is configured (or `--prefect`); `diff` only reads two
snapshots and needs no target. The library is imported inside the commands, so `--help` is quick.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli._app import app
from flows.cli._common import (
    CredentialsBlock,
    EnvPrefix,
    ShowProgress,
    StorageBlock,
    UsePrefect,
    check_credentials,
    console,
    handle_errors,
    print_table,
    storage_session,
    target_session,
    warning_line,
)
from flows.cli._mode import use_prefect
from pipeline.snapshot.match import MatchOn

if TYPE_CHECKING:
    from pipeline.migrate import MigrationResult
    from pipeline.sinch import Target
    from pipeline.snapshot import SnapshotDiff, SnapshotResult

EXPORT_EXAMPLES = """
Examples:

  sinch-groups export --out snapshots

  sinch-groups export --out snapshots --group VIP --group Newsletter

Read the dataset back with pl.scan_parquet('snapshots/members') (or 'snapshots/groups');
restore one with
sinch-groups sync snapshots/members/snapshot_at=.../members.parquet --group-column group_name --mode mirror
"""

DIFF_EXAMPLES = """
Examples:

  sinch-groups diff snapshots/members/snapshot_at=2026-11-25T22:00:00.000Z snapshots/members/snapshot_at=2026-11-26T22:00:00.000Z

  sinch-groups diff snapshots --out changes.parquet      (the two newest snapshots in snapshots/)

  sinch-groups diff snapshots --json | jq '.groups[] | select(.status == "changed")'
"""

MIGRATE_EXAMPLES = """
Examples:

  OLD_SINCH_SERVICE_PLAN_ID=... OLD_SINCH_API_TOKEN=... sinch-groups migrate --from-env OLD_SINCH_

  sinch-groups migrate --from-snapshot snapshots/members/snapshot_at=2026-11-26T22:00:00.000Z --to-env EU_SINCH_
"""


@app.command(epilog=EXPORT_EXAMPLES)
def export(
    out: Annotated[
        str,
        typer.Option(
            help="Dataset folder, local or a URL (s3://, gs://, az://); the snapshot goes into "
            "OUT/members/snapshot_at=<UTC time>/ and OUT/groups/snapshot_at=<UTC time>/."
        ),
    ],
    group_id: Annotated[
        list[str] | None, typer.Option(help="Export only this group id (repeatable).")
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option(help="Export only the groups with this name (repeatable).")
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1, max=32, help="Groups fetched at once (bounds the members held in memory)."
        ),
    ] = 4,
    credentials_block: CredentialsBlock = None,
    storage_block: StorageBlock = None,
    env_prefix: EnvPrefix = "SINCH_",
    progress: ShowProgress = True,
    prefect: UsePrefect = False,
) -> None:
    """Snapshot groups and their members to Parquet (groups.parquet + members.parquet)."""
    with handle_errors(), storage_session(storage_block):
        if credentials_block is None:
            check_credentials(env_prefix)
        through_prefect = use_prefect(
            prefect=prefect or storage_block is not None, credentials_block=credentials_block
        )
        with target_session(env_prefix, credentials_block) as target:
            if through_prefect:
                from flows.export_groups import export_groups

                result = asyncio.run(
                    export_groups(
                        out_dir=out,
                        group_ids=group_id or [],
                        group_names=group or [],
                        concurrency=concurrency,
                        credentials_block=credentials_block,
                        target_env_prefix=env_prefix,
                        show_progress=progress,
                        storage_block=storage_block,
                    )
                )
            else:
                result = asyncio.run(
                    _export_locally(target, out, group_id or [], group or [], concurrency, progress)
                )
    _print_export(result)


async def _export_locally(
    target: Target,
    out: str,
    group_ids: list[str],
    group_names: list[str],
    concurrency: int,
    show_progress: bool,
) -> SnapshotResult:
    from pipeline.progress import stages
    from pipeline.sinch import GroupsClient
    from pipeline.snapshot import export_snapshot

    with stages(show_progress) as ui:
        async with GroupsClient.from_target(target) as client:
            return await export_snapshot(
                client,
                out,
                target=target.describe(),
                group_ids=group_ids,
                group_names=group_names,
                concurrency=concurrency,
                ui=ui,
            )


def _print_export(result: SnapshotResult) -> None:
    from pipeline.snapshot import partition_name

    console.print(
        f"Snapshot {partition_name(result.taken_at)}: {result.groups:,} groups, "
        f"{result.members:,} members in {result.elapsed_s:.1f} s"
    )
    console.print(f"  members: {result.members_path}", soft_wrap=True)
    console.print(f"  groups:  {result.groups_path}", soft_wrap=True)
    for warning in result.warnings:
        console.print(warning_line(warning))


@app.command(epilog=DIFF_EXAMPLES)
def diff(
    snapshot_a: Annotated[
        str,
        typer.Argument(
            help="The earlier snapshot (its members/ or groups/ partition folder, or a file in "
            "it); or, alone, a dataset folder whose two newest snapshots are compared. "
            "Paths or URLs (s3://, gs://, az://)."
        ),
    ],
    snapshot_b: Annotated[str | None, typer.Argument(help="The later snapshot.")] = None,
    out: Annotated[
        str | None,
        typer.Option(help="Write the member-level changes to this Parquet file (path or URL)."),
    ] = None,
    match_on: Annotated[
        MatchOn,
        typer.Option(
            help="Pair groups by id (follows renames) or by name (across plans, after a restore)."
        ),
    ] = MatchOn.ID,
    show_all: Annotated[bool, typer.Option("--all", help="List unchanged groups too.")] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print JSON on stdout for scripts: both snapshots, the counts, and per group "
            "its ids, names, status and member counts (with --out, the file as changes_file).",
        ),
    ] = False,
) -> None:
    """Compare two snapshots: groups created, deleted, renamed; members added and removed."""
    from pipeline.snapshot import diff_snapshots, latest_snapshots, open_snapshot

    with handle_errors():
        if snapshot_b:
            before, after = open_snapshot(snapshot_a), open_snapshot(snapshot_b)
        else:
            before, after = latest_snapshots(snapshot_a)
        result = diff_snapshots(before, after, match_on=match_on)
        written = result.write_changes(out) if out else None
    if as_json:
        found = result.to_dict(include_unchanged=show_all)
        found["changes_file"] = str(written) if written else None
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    _print_diff(result, show_all)
    if written:
        console.print(f"Member changes: {written} ({result.changes.height:,} rows)")


def _print_diff(result: SnapshotDiff, show_all: bool) -> None:
    from rich.table import Table

    title = f"{result.before.taken_at:%Y-%m-%d %H:%M:%S} -> {result.after.taken_at:%Y-%m-%d %H:%M:%S} UTC"
    table = Table(title=title, header_style="bold")
    # Five columns, so that the whole id fits beside the rest at 80 columns (see print_table);
    # `members` is before -> after, `change` added and removed (unchanged = before - removed).
    table.add_column("group", overflow="fold")
    table.add_column("id", no_wrap=True)
    table.add_column("status")
    table.add_column("members", justify="right")
    table.add_column("change", justify="right")
    for row in result.listed(include_unchanged=show_all).iter_rows(named=True):
        before, after = row["name_before"], row["name_after"]
        name = f"{before} -> {after}" if row["status"] == "renamed" else (after or before)
        table.add_row(
            name or "(no name)",
            row["group_id_after"] or row["group_id_before"],
            row["status"],
            f"{row['members_before']:,} -> {row['members_after']:,}",
            f"+{row['added']:,} -{row['removed']:,}",
        )
    print_table(table)
    counts = ", ".join(f"{count} {status}" for status, count in result.status_counts().items())
    added = int(result.groups["added"].sum())
    removed = int(result.groups["removed"].sum())
    console.print(f"Groups: {counts}. Members: +{added:,} -{removed:,}.")


@app.command(epilog=MIGRATE_EXAMPLES)
def migrate(
    to_env: Annotated[
        str, typer.Option(help="Destination credentials: <PREFIX>SERVICE_PLAN_ID, ...")
    ] = "SINCH_",
    from_env: Annotated[
        str | None, typer.Option(help="Source credentials: <PREFIX>SERVICE_PLAN_ID, ...")
    ] = None,
    from_snapshot: Annotated[
        str | None,
        typer.Option(help="Read the source groups from this snapshot instead (a path or a URL)."),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            help="Old id -> new id table, read and updated on every run; keep it to re-run. "
            "A path or a URL (s3://, gs://, az://). "
            "Default: ./sinch-groups-migrations/<source>--to--<destination>.parquet."
        ),
    ] = None,
    adopt_existing: Annotated[
        bool,
        typer.Option(
            "--adopt-existing",
            help="Add to a same-named destination group that is not in the mapping instead of "
            "skipping the source group.",
        ),
    ] = False,
    storage_block: StorageBlock = None,
    progress: ShowProgress = True,
    prefect: UsePrefect = False,
) -> None:
    """Recreate every group (names, members, auto-update, child groups) on another plan or region."""
    from pipeline.migrate import migrate_groups as migrate_locally
    from pipeline.migrate import require_one_source

    with handle_errors(), storage_session(storage_block):
        require_one_source(from_env, from_snapshot)
        check_credentials(to_env, *([from_env] if from_env else []))
        through_prefect = use_prefect(
            prefect=prefect or storage_block is not None, credentials_block=None
        )
        with target_session(to_env):
            if through_prefect:
                from flows.migrate_groups import migrate_groups

                result = asyncio.run(
                    migrate_groups(
                        to_env_prefix=to_env,
                        from_env_prefix=from_env,
                        from_snapshot=from_snapshot,
                        mapping=mapping,
                        adopt_existing=adopt_existing,
                        show_progress=progress,
                        storage_block=storage_block,
                    )
                )
            else:
                result = asyncio.run(
                    migrate_locally(
                        to_env_prefix=to_env,
                        from_env_prefix=from_env,
                        from_snapshot=from_snapshot,
                        mapping=mapping,
                        adopt_existing=adopt_existing,
                        show_progress=progress,
                    )
                )
    _print_migration(result)


def _print_migration(result: MigrationResult) -> None:
    from rich.table import Table

    table = Table(title="Mapping (old id -> new id)", header_style="bold")
    for column in ("old id", "name", "action", "new id", "members"):
        table.add_column(
            column,
            justify="right" if column == "members" else "left",
            no_wrap=column.endswith(" id"),  # ids are never cut (see print_table)
            overflow="fold",
        )
    for outcome in result.outcomes:
        table.add_row(
            outcome.source_id,
            outcome.name or "",
            str(outcome.action),
            outcome.target_id or "",
            f"{outcome.members:,}",
        )
    print_table(table)
    counts = ", ".join(f"{count} {action}" for action, count in sorted(result.counts().items()))
    console.print(f"Groups: {counts or 'none'}. Mapping: {result.mapping_path}")
    for warning in result.warnings:
        console.print(warning_line(warning))
