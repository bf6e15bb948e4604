"""What the benchmark scripts share: each measured side runs in a fresh interpreter (so its timings
and peak memory are its own) and prints its figures as JSON on its last line."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from typing import Any


def run_side(script: str, side: str, *arguments: str) -> dict[str, Any]:
    """Run `script --side SIDE ARGUMENTS...` and read back the figures it printed."""
    command = [sys.executable, script, "--side", side, *arguments]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise SystemExit(f"{side} failed:\n{finished.stderr}")
    return dict(json.loads(finished.stdout.strip().splitlines()[-1]))


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (`ru_maxrss` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
