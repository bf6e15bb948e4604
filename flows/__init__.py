"""Prefect flows around `pipeline`, and the `sinch-groups` command that runs them."""

import os

# polars allocates through jemalloc, which keeps freed memory for a while before giving it back,
# so a sync's steps (the partitions of the file, the membership read, the diff) pile up in its
# peak; in a flow run, where tasks run on threads of their own, more so. Given back within 50 ms,
# by jemalloc's own thread, the 1,000,000-row sync as a flow run peaks some 60 MiB lower (under
# 512 MiB with a margin) for a few percent more wall time (bench/README.md). polars reads the
# setting once, on import: hence here, in the package the command and every flow run (a
# deployment's too) import first.
#
# jemalloc takes the last value of each option. polars puts its own defaults first when it loads,
# and a parent process that imported polars passes them on to its children: those are dropped
# here, while a setting of the user's (what follows them, or the whole value) comes last and wins.
ALLOCATOR_ENV = "_RJEM_MALLOC_CONF"
RELEASE_SOON = "background_thread:true,dirty_decay_ms:50,muzzy_decay_ms:0"
_POLARS_DEFAULTS = "dirty_decay_ms:500,muzzy_decay_ms:1000"
_users = os.environ.get(ALLOCATOR_ENV, "").removeprefix(_POLARS_DEFAULTS).lstrip(",")
os.environ[ALLOCATOR_ENV] = ",".join(part for part in (RELEASE_SOON, _users) if part)
