"""What every command shares: the target (real Sinch or the embedded emulator) and error reporting.

Imports of the library, the emulator and Prefect happen inside the functions that need them: this
module is loaded for every command, `--help` included, which must stay fast.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from pipeline.errors import PipelineError
from pipeline.storage import home_dir

if TYPE_CHECKING:
    from rich.table import Table

    from pipeline.sinch import Target

EnvPrefix = Annotated[
    str,
    typer.Option(help="Read credentials from <PREFIX>SERVICE_PLAN_ID, <PREFIX>API_TOKEN, ..."),
]
"""The `--env-prefix` option every command that talks to Sinch shares."""
ShowProgress = Annotated[bool, typer.Option(help="Show progress bars.")]
UsePrefect = Annotated[
    bool,
    typer.Option(
        "--prefect",
        help="Run as a Prefect flow run (the default when PREFECT_API_URL is set); without a "
        "reachable Prefect API this is an error, never a temporary server.",
    ),
]
"""The `--progress/--no-progress` option of the long-running commands."""
CredentialsBlock = Annotated[
    str | None,
    typer.Option(
        help="Read credentials from this Prefect Secret block (e.g. sinch-groups-credentials); "
        "it wins over the environment. Needs a Prefect API."
    ),
]
"""The `--credentials-block` option: what deployments do by default, on request for the CLI."""
StorageBlock = Annotated[
    str | None,
    typer.Option(
        help="Read object-storage credentials for s3://, gs://, az:// paths from this Prefect "
        "block: aws-credentials/NAME (or just NAME), gcp-credentials/NAME or "
        "azure-blob-storage-credentials/NAME; it wins over the environment. Needs a Prefect API.",
        show_default=False,
    ),
]
"""The `--storage-block` option: a deployment's `storage_block` parameter, for the CLI."""

# Everything printed is data (names, paths, messages quoting the input), never Rich markup: a
# group named "[/]" must print as written, not crash the command.
console = Console(highlight=False, markup=False)
err_console = Console(stderr=True, highlight=False, markup=False)


def embedded_db_path() -> Path:
    """The SQLite file behind the embedded emulator, so state survives between commands."""
    return home_dir() / "emulator.sqlite3"


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a run (flows read their target from there)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def storage_session(storage_block: str | None) -> Iterator[None]:
    """Inside the block, object storage is reached with the named Prefect block's credentials.

    The command reads the block itself (it checks the source's header and the outputs before the
    run starts), and passes the flow only the name, which the flow reads again on its worker:
    the keys are never a parameter, a log line or part of a report.
    """
    if storage_block is None:
        yield
        return
    from flows._storage import storage_options_from_block
    from flows.cli._mode import require_api
    from pipeline.storage import using_storage_options

    require_api("--storage-block")
    with using_storage_options(asyncio.run(storage_options_from_block(storage_block))):
        yield


def check_credentials(*env_prefixes: str) -> None:
    """Raise the ConfigurationError of a partial `{prefix}*` credential set, before anything slow.

    `target_session` would raise the same error, but only after the command has decided where to
    run (and perhaps said so) or, for a migration's source, after the emulator started.
    """
    from pipeline.sinch import Target

    for prefix in env_prefixes:
        Target.from_env(prefix)


@contextmanager
def target_session(
    env_prefix: str = "SINCH_",
    credentials_block: str | None = None,
    *,
    notes: Console | None = None,
) -> Iterator[Target]:
    """Yield the target of the named Secret block or of the `{env_prefix}*` variables, or the
    embedded emulator when neither names one.

    Flows never receive credentials as parameters (Prefect records parameters), they read them from
    the block or the environment; so for the embedded emulator the demo credentials are put in the
    environment for the run. The line saying so goes to `notes` (stdout unless told: `--json`
    keeps stdout for the JSON alone).
    """
    from pipeline.sinch import ConfigurationError, Target
    from sinch_emulator import (
        DEFAULT_PLAN_ID,
        DEFAULT_TOKEN,
        EmulatorConfig,
        EmulatorServer,
        Plan,
    )

    if credentials_block is None:
        target = Target.from_env(env_prefix)
    else:
        from flows._credentials import resolve_target

        target = asyncio.run(resolve_target(env_prefix, credentials_block))
    if credentials_block is not None and not target.has_credentials:
        raise ConfigurationError(
            f"no credentials in the Secret block {credentials_block!r} or the environment: "
            f"create the block (see the README) or set {env_prefix}SERVICE_PLAN_ID and "
            f"{env_prefix}API_TOKEN"
        )
    if target.has_credentials:
        yield target
        return
    db_path = embedded_db_path()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    config = EmulatorConfig(plans=[Plan(id=DEFAULT_PLAN_ID, token=DEFAULT_TOKEN)], db_path=db_path)
    with EmulatorServer(config) as server:
        (notes or console).print(
            f"Using the embedded Sinch emulator at {server.base_url} (state in {db_path}): "
            f"no {env_prefix}SERVICE_PLAN_ID/{env_prefix}API_TOKEN set.",
            soft_wrap=True,
        )
        embedded = {
            f"{env_prefix}SERVICE_PLAN_ID": DEFAULT_PLAN_ID,
            f"{env_prefix}API_TOKEN": DEFAULT_TOKEN,
            f"{env_prefix}BASE_URL": server.base_url,
        }
        with _environ(embedded):
            yield Target.from_env(env_prefix)


def print_table(table: Table, *, out: Console | None = None) -> None:
    """Print `table` at the terminal's width, or wider when its longest words need more room.

    Rich fits a table to the width by cutting cells (`01M90X0CPDT...`), ids included, and in a
    pipe that width is 80. Ids must come out whole: they are copied into the next command. So a
    table whose words cannot all fit is printed wider instead (the terminal wraps the line; a
    pipe keeps it whole). Columns of ids are also `no_wrap`, so Rich narrows the others first.
    """
    from rich.measure import Measurement

    out = out or console
    floor = Measurement.get(out, out.options.update_width(1_000_000), table).minimum
    if floor > out.width:
        # Console.print(width=...) only narrows, so a console of the needed width prints it.
        out = Console(
            file=out.file,
            width=floor,
            color_system=out.color_system,  # type: ignore[arg-type]  # the name it was given
            force_terminal=out.is_terminal,
            no_color=out.no_color,
            highlight=False,
            markup=False,
        )
    out.print(table)


@contextmanager
def stdout_for_json(enabled: bool) -> Iterator[None]:
    """With `--json`, stdout carries the JSON alone: whatever the command says for people while
    it runs (notes, the emulator's banner, tables) goes to stderr instead."""
    if not enabled:
        yield
        return
    console.file = sys.stderr
    try:
        yield
    finally:
        console.file = None  # type: ignore[assignment]  # back to whatever sys.stdout is then


def warning_line(message: str) -> Text:
    """`Warning: ...` with the message as plain text."""
    return Text.assemble(("Warning:", "yellow"), " ", message)


def fail(message: str, status: int = 1) -> typer.Exit:
    """Print `Error: ...` on stderr and return the exit to raise (exit status 1 unless told)."""
    err_console.print(Text.assemble(("Error:", "bold red"), " ", message), soft_wrap=True)
    return typer.Exit(status)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn the library's errors into one readable line and exit status 1, never a traceback."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, PipelineError) or _is_sinch_error(exc):
            raise fail(str(exc)) from None
        raise
    except KeyboardInterrupt:
        raise fail("interrupted; run the same command again to converge") from None


def _is_sinch_error(exc: Exception) -> bool:
    """Whether `exc` is the client's `SinchError` (without importing the client to ask)."""
    client = sys.modules.get("pipeline.sinch")
    return client is not None and isinstance(exc, client.SinchError)
