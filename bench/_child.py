"""What the benchmark scripts share: each measured side runs in a fresh interpreter (so its timings
and peak memory are its own) and prints its figures as JSON on its last line."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
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


def print_report(report: dict[str, Any], json_path: Path | None) -> None:
    """Print a script's report (its `text`), and write its figures, all but the text, as JSON to
    `json_path` when one is given (`--json`)."""
    print(report["text"])
    if json_path:
        figures = {key: value for key, value in report.items() if key != "text"}
        json_path.write_text(json.dumps(figures, indent=2, default=str))
