"""The environment the benchmarks run the command in: a user's install, built from uv.lock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USER_VENV = ROOT / "bench" / ".data" / "user-venv"
"""A user's install: the locked runtime dependencies only (no dev tools: the dev venv also holds
pandas and hypothesis, which pandera imports whenever they are installed, about 1.3 s that a
user never pays), plus the `sinch` SDK the baseline script needs."""


def user_python(refresh: bool) -> Path:
    """The interpreter of `USER_VENV`, built with uv from `uv.lock` when missing (or `refresh`)."""
    python = USER_VENV / "bin" / "python"
    if python.exists() and not refresh:
        return python
    uv = [sys.executable, "-m", "uv"]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    locked = subprocess.run(
        [*uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    dev = subprocess.run(
        [*uv, "export", "--frozen", "--extra", "dev", "--no-hashes", "--no-emit-project", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    sdk = [line for line in dev.splitlines() if line.startswith("sinch==")]
    requirements = USER_VENV.with_suffix(".txt")
    requirements.parent.mkdir(parents=True, exist_ok=True)
    requirements.write_text(locked + "\n" + "\n".join(sdk) + "\n", encoding="utf-8")
    shutil.rmtree(USER_VENV, ignore_errors=True)
    subprocess.run(
        [*uv, "venv", "-q", str(USER_VENV), "--python", sys.executable], check=True, env=env
    )
    # Compiled at install time, as pip does: a user's commands never compile a module.
    install = [*uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(python)]
    subprocess.run([*install, "-r", str(requirements)], check=True, env=env)
    subprocess.run([*install, "--no-deps", "-e", str(ROOT)], check=True, env=env)
    packages = [str(ROOT / name) for name in ("pipeline", "flows", "sinch_emulator")]
    subprocess.run([str(python), "-m", "compileall", "-q", *packages], check=True, env=env)
    return python
