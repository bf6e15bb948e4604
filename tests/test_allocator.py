"""polars' allocator setting, which `flows` makes before polars loads (`flows.allocator_setting`).

The tests that load polars run a fresh interpreter each: polars reads the setting once, on load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flows import ALLOCATOR_ENV, RELEASE_SOON, allocator_setting

POLARS_DEFAULTS = "dirty_decay_ms:500,muzzy_decay_ms:1000"


@pytest.mark.parametrize(
    ("inherited", "expected"),
    [
        ("", RELEASE_SOON),
        # What a parent that imported polars passes on: its defaults, then the user's setting.
        (POLARS_DEFAULTS, RELEASE_SOON),
        (f"{POLARS_DEFAULTS},narenas:2", f"{RELEASE_SOON},narenas:2"),
        (f"{POLARS_DEFAULTS},thp:always,metadata_thp:always", RELEASE_SOON),  # POLARS_THP=1
        # A parent that imported flows, then polars: nothing is repeated, generation after
        # generation.
        (f"{POLARS_DEFAULTS},{RELEASE_SOON},narenas:2", f"{RELEASE_SOON},narenas:2"),
        (f"{RELEASE_SOON},narenas:2", f"{RELEASE_SOON},narenas:2"),
        # The user's own values, whole, even where they start like polars' defaults.
        ("dirty_decay_ms:-1", f"{RELEASE_SOON},dirty_decay_ms:-1"),
        (
            "dirty_decay_ms:500,muzzy_decay_ms:10000",
            f"{RELEASE_SOON},dirty_decay_ms:500,muzzy_decay_ms:10000",
        ),
    ],
)
def test_the_setting_puts_the_users_own_options_last(inherited: str, expected: str) -> None:
    assert allocator_setting(inherited) == expected


def run(code: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout


def test_importing_flows_sets_the_allocator_before_polars_loads() -> None:
    env = {**os.environ, ALLOCATOR_ENV: POLARS_DEFAULTS}
    code = (
        "import json, os, sys, flows; "
        f"print(json.dumps([os.environ.get('{ALLOCATOR_ENV}'), 'polars' in sys.modules]))"
    )

    setting, polars_loaded = json.loads(run(code, env))

    assert setting == RELEASE_SOON
    assert not polars_loaded


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads RSS from /proc")
def test_a_users_setting_reaches_polars_allocator_through_flows() -> None:
    # jemalloc's own way to say "never give freed pages back": with it last in what `flows`
    # writes, about 160 MiB of freed polars strings stay resident.
    env = {**os.environ, ALLOCATOR_ENV: "dirty_decay_ms:-1,muzzy_decay_ms:-1"}
    code = """
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
time.sleep(1)
print(json.dumps([before, held, rss()]))
"""

    before, held, after = json.loads(run(code, env))

    assert held - before > 100
    assert after > held - (held - before) / 4
