"""Prefect flows around `pipeline`, and the `sinch-groups` command that runs them."""

import os

ALLOCATOR_ENV = "_RJEM_MALLOC_CONF"
RELEASE_SOON = "background_thread:true,dirty_decay_ms:50,muzzy_decay_ms:0"
_POLARS_WRITTEN = (
    "dirty_decay_ms:500,muzzy_decay_ms:1000,thp:always,metadata_thp:always",  # POLARS_THP=1
    "dirty_decay_ms:500,muzzy_decay_ms:1000",
)
"""What polars writes in front of the variable when it loads."""


def allocator_setting(inherited: str) -> str:
    """`RELEASE_SOON`, then the user's own setting from an inherited `_RJEM_MALLOC_CONF`.

    jemalloc takes the last value of each option. polars writes its defaults in front of the
    variable when it loads (and this package writes `RELEASE_SOON` in front before that), so a
    child of a process that imported them inherits those first: they are dropped, option by
    option, and what follows is the user's, which comes last and wins. A user who sets exactly
    polars' defaults cannot be told from a parent that imported polars; `RELEASE_SOON` wins there.
    """
    options = [option for option in inherited.split(",") if option]
    for written in _POLARS_WRITTEN:
        if (rest := _after(options, written)) is not None:
            options = rest
            break
    if (rest := _after(options, RELEASE_SOON)) is not None:
        options = rest
    return ",".join([RELEASE_SOON, *options])


def _after(options: list[str], written: str) -> list[str] | None:
    """The options after `written`'s, if they start with those; else None."""
    known = written.split(",")
    return options[len(known) :] if options[: len(known)] == known else None


# polars allocates through jemalloc, which by polars' defaults keeps freed memory for half a
# second to a second before giving it back, so a sync's steps (the partitions of the file, the
# membership read, the diff) pile up in its peak; in a flow run, where tasks run on threads of
# their own, more so. Given back within 50 ms, by jemalloc's own thread, the 1,000,000-row sync
# as a flow run peaks some 60 MiB lower than with polars' defaults (under 512 MiB with a margin),
# for about 5% more wall time than with 250 ms (bench/README.md). polars reads the setting once,
# on import: hence here, in the package the command and every flow run (a deployment's too)
# import first.
os.environ[ALLOCATOR_ENV] = allocator_setting(os.environ.get(ALLOCATOR_ENV, ""))
