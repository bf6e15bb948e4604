"""`sinch-groups`: the command line. Each submodule registers its commands on the shared app."""

from __future__ import annotations

import os

# A command line wants its own output, not Prefect's run chatter, and this machine may have no
# route to Prefect's telemetry host; both stay overridable from the environment.
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from flows.cli import emulator as _emulator  # noqa: F401  (registers `emulator`)
from flows.cli import export as _export  # noqa: F401  (registers `export`, `diff`, `migrate`)
from flows.cli import groups as _groups  # noqa: F401  (registers `groups`)
from flows.cli import sync as _sync  # noqa: F401  (registers `sync`)
from flows.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
