"""`sinch-groups`: the command line. Each submodule registers its commands on the shared app."""

from __future__ import annotations

import gc
import os

# The command prints its own report and one-line errors; Prefect's console log (run chatter, and a
# traceback for every failed task) would bury them. Run logs still reach the Prefect API. Both
# settings stay overridable: PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL=INFO shows Prefect's log.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# polars allocates through jemalloc, which keeps freed memory for seconds before giving it back,
# so a sync's steps (the partitions of the file, the membership read, the diff) pile up in its
# peak. Given back within a quarter of a second, by jemalloc's own thread, the 1,000,000-row sync
# peaks 20 to 60 MiB lower (under 512 MiB, a flow run's Prefect engine included) for about half a
# second more system CPU (bench/README.md). polars reads it once, on import: hence here, first.
os.environ.setdefault(
    "_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:250,muzzy_decay_ms:0"
)

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
