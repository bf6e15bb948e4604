"""polars' allocator in the command's processes (`flows` sets it before polars loads).

Each test is a fresh interpreter, since polars reads its allocator's setting once, when it loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flows import ALLOCATOR_ENV, RELEASE_SOON

# Imports `flows` (as the command and every flow run do) before polars, holds about 160 MiB of
# polars strings in many chunks, frees them, and reports RSS before, while held, and after.
PROBE = """
import json, time
import flows
import polars as pl

def rss():
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) / 1024

before = rss()
parts = [
    pl.select(pl.int_range(i, i + 20_000).cast(pl.String).alias("x"))
    for i in range(0, 10_000_000, 20_000)
]
held = rss()
del parts
deadline = time.monotonic() + 3
while rss() > before + (held - before) / 4 and time.monotonic() < deadline:
    time.sleep(0.05)
time.sleep(0.3)
print(json.dumps({"before": before, "held": held, "after": rss()}))
"""


def run(code: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout


def probe(setting: str) -> dict[str, float]:
    env = {**os.environ, ALLOCATOR_ENV: setting}
    figures: dict[str, float] = json.loads(run(PROBE, env))
    assert figures["held"] - figures["before"] > 100, figures  # the probe held what it meant to
    return figures


@pytest.mark.parametrize(
    ("inherited", "expected"),
    [
        (None, RELEASE_SOON),
        # What a parent process that imported polars passes on: polars' defaults, then the
        # user's setting if any.
        ("dirty_decay_ms:500,muzzy_decay_ms:1000", RELEASE_SOON),
        ("dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:2", f"{RELEASE_SOON},narenas:2"),
        ("dirty_decay_ms:-1", f"{RELEASE_SOON},dirty_decay_ms:-1"),
    ],
)
def test_the_command_sets_the_allocator_before_polars_loads(
    inherited: str | None, expected: str
) -> None:
    env = {key: value for key, value in os.environ.items() if key != ALLOCATOR_ENV}
    if inherited is not None:
        env[ALLOCATOR_ENV] = inherited
    code = (
        "import json, os, sys, flows; "
        f"print(json.dumps([os.environ.get('{ALLOCATOR_ENV}'), 'polars' in sys.modules]))"
    )

    setting, polars_loaded = json.loads(run(code, env))

    assert setting == expected
    assert not polars_loaded


def test_an_allocator_setting_in_the_environment_wins_and_reaches_polars() -> None:
    # jemalloc's own way to say "never give freed pages back": the memory stays resident, where
    # the command's own setting gives it back within moments.
    figures = probe("dirty_decay_ms:-1,muzzy_decay_ms:-1")

    assert figures["after"] > figures["held"] - (figures["held"] - figures["before"]) / 4
