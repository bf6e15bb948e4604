"""Row-wise work on one slice of the rows per core.

An eager polars operation runs on one core, and the reading builds its queries region by region
in Python; with one slice per thread both cores stay busy, since polars releases the GIL while it
computes and one slice's Python runs while the other's queries do. The work must answer each row
from that row alone, so that the slices' answers put end to end are the answer for every row.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import polars as pl

__all__ = ["ROWS_PER_THREAD", "map_slices"]

T = TypeVar("T")

ROWS_PER_THREAD = 100_000
"""Rows per thread below which the work runs in one piece: a thread costs more than it saves on
fewer."""


def map_slices(frame: pl.DataFrame, work: Callable[[pl.DataFrame], T]) -> list[T]:
    """`work` of each slice of the rows, in order: one slice per core when each gets
    `ROWS_PER_THREAD` rows or more, else the whole frame as the one slice."""
    threads = min(max(os.cpu_count() or 1, 2), frame.height // ROWS_PER_THREAD)
    if threads < 2:
        return [work(frame)]
    size = -(-frame.height // threads)
    with ThreadPoolExecutor(threads, thread_name_prefix="normalize") as pool:
        return list(
            pool.map(work, [frame.slice(start, size) for start in range(0, frame.height, size)])
        )
