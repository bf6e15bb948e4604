"""One writer per group: a run holds a lock on each group it writes from before it reads the
group's membership for the plan until its outputs are written.

Without it two runs on one group both plan against the same membership, both apply, both verify
what they expected to see, and one run's changes are silently lost. In-process runs take an OS
file lock (`filelock`, `flock(2)` on Linux) per (service plan, group) under
`$SINCH_GROUPS_HOME/locks/`: the kernel releases it when the holder dies, even by SIGKILL, so a
crashed run never blocks the next one. Beside each lock a small JSON file names the holder (host,
process, since when) for the message a waiting run prints when it gives up.

Runs through Prefect take a Prefect global concurrency limit per group instead (see
`flows/_steps.py`): runs on several machines do not share a file system.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline.errors import PipelineError
from pipeline.storage import home_dir

__all__ = ["DEFAULT_LOCK_TIMEOUT", "GroupLockedError", "group_lock_keys", "hold_file_locks"]

DEFAULT_LOCK_TIMEOUT = 600.0
"""Seconds a run waits for another run's lock on one of its groups (`--lock-timeout`): long
enough for a nightly sync of a large group to finish, short enough that a stuck job is noticed."""


class GroupLockedError(PipelineError):
    """Another run holds a group this run must write, and did not let go in time."""


def group_lock_keys(group_id: str | None, name: str | None) -> list[str]:
    """What a run locks for a group: its id and its name. A run that is to create the group knows
    only the name, a run given `--group-id` of that group later knows both: they share the name."""
    keys = [f"id:{group_id}"] if group_id else []
    return keys + ([f"name:{name}"] if name else [])


def _lock_path(directory: Path, plan: str, key: str) -> Path:
    """A file name per (plan, group) that is safe whatever the name holds, and still readable."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{plan}-{key}")[:60]
    digest = hashlib.sha256(f"{plan}\0{key}".encode()).hexdigest()[:12]
    return directory / f"{readable}-{digest}.lock"


def _holder_text(lock: Path) -> str:
    try:
        holder = json.loads(lock.with_suffix(".holder.json").read_text(encoding="utf-8"))
        return f"pid {holder['pid']} on {holder['host']} since {holder['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another run"


def _acquire(lock: FileLock, path: Path, key: str, timeout: float) -> None:
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        waited = f"waited {timeout:g} s" if timeout > 0 else "--lock-timeout 0"
        raise GroupLockedError(
            f"group {key.partition(':')[2]!r} is being written by {_holder_text(path)} "
            f"({waited}); run again when it is done, or wait longer with --lock-timeout"
        ) from None
    holder = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv[:2]),
    }
    path.with_suffix(".holder.json").write_text(json.dumps(holder), encoding="utf-8")


@asynccontextmanager
async def hold_file_locks(
    plan: str, keys: Sequence[str], *, wait_s: float, directory: Path | None = None
) -> AsyncIterator[None]:
    """Hold the lock of every group in `keys` (taken in sorted order, so that two runs on the same
    groups cannot deadlock), waiting up to `wait_s` seconds for each (0: fail at once)."""
    directory = directory or home_dir() / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as held:
        for key in sorted(set(keys)):
            path = _lock_path(directory, plan, key)
            # Not thread-local: it is acquired in a worker thread and released in this one.
            lock = FileLock(path, thread_local=False)
            await asyncio.to_thread(_acquire, lock, path, key, wait_s)
            held.callback(lock.release)
            held.callback(path.with_suffix(".holder.json").unlink, missing_ok=True)
        yield
