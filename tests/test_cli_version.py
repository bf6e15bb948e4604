"""`sinch-groups --version`: what a bug report needs, from the installed distributions."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pipeline


def test_version_names_the_tool_and_the_libraries_it_runs_on() -> None:
    script = Path(sys.executable).parent / "sinch-groups"
    done = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    libraries = ", ".join(
        f"{name} {version(name)}"
        for name in ("polars", "phonenumbers", "prefect", "pandera", "httpx")
    )
    python = ".".join(map(str, sys.version_info[:3]))
    assert done.stdout == f"sinch-groups {pipeline.__version__} (python {python}, {libraries})\n"
    assert pipeline.__version__ == version("sinch-groups") != "0+unknown"
