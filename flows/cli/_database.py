"""How `sinch-groups sync --query` gets its database URI to the run without exposing it.

A URI may hold a password, and a flow run's parameters are recorded and shown by Prefect. So a
URI typed with `--db` reaches the flow through this process's environment
(`$SINCH_GROUPS_DB_URL`, the flow gets only that name), a `--db-env` name is passed as it is, and
a `--db-block` name is passed for the flow to read the block on the worker. The command
itself reads the block too, for the columns line it prints before the run starts (which is also
where a wrong password shows, as one line).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace

from flows.cli._mode import require_api
from pipeline.dburi import DEFAULT_DB_ENV, DatabaseUri
from pipeline.sync.options import SyncOptions

__all__ = ["for_the_flow", "with_database_read"]


def with_database_read(options: SyncOptions) -> SyncOptions:
    """The options with a `--db-block` read into `db` (needs a Prefect API); others as
    they are (`SyncOptions.database()` reads an environment variable itself)."""
    if options.db_block is None:
        return options
    require_api("--db-block")
    from flows._credentials import database_from_block

    db = asyncio.run(database_from_block(options.db_block))
    return replace(options, db=db, db_block=None)


def for_the_flow(options: SyncOptions) -> SyncOptions:
    """Options that can be flow parameters: a `--db` URI moves into this process's environment
    (the flow runs in this process) and the flow is told only the variable's name."""
    if options.db is None:
        return options
    db = options.db if isinstance(options.db, DatabaseUri) else DatabaseUri(options.db)
    os.environ[DEFAULT_DB_ENV] = db.reveal()
    return replace(options, db=None, db_env=DEFAULT_DB_ENV)
