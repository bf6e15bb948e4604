"""`sinch-groups`: the command line. Each submodule registers its commands on the shared app."""

from __future__ import annotations

import gc
import os

# The command prints its own report and one-line errors; Prefect's console log (run chatter, and a
# traceback for every failed task) would bury them. Run logs still reach the Prefect API. Both
# settings stay overridable: PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL=INFO shows Prefect's log.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from flows.cli import emulator as _emulator  # noqa: F401  (registers `emulator`)
from flows.cli import export as _export  # noqa: F401  (registers `export`, `diff`, `migrate`)
from flows.cli import groups as _groups  # noqa: F401  (registers `groups`)
from flows.cli import optouts as _optouts  # noqa: F401  (registers `optouts`)
from flows.cli import snapshots as _snapshots  # noqa: F401  (registers `snapshots`)
from flows.cli import sync as _sync  # noqa: F401  (registers `sync`)
from flows.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    finally:
        # The work is done and written. Without this, the interpreter's last collection walks
        # the millions of objects Prefect, pydantic and polars leave before exiting: about half a
        # second of every command. atexit handlers (Prefect flushing its logs) still run.
        gc.freeze()
