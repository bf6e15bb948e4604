"""Where a command runs: in this process, or as a Prefect flow run when a Prefect API is configured.

Without an API, Prefect would start a temporary server for every command (10 s and more on a
small machine; its docs call that mode a convenience for demos and tests), so the commands run
the library in-process instead and say so. Reading the API from the environment and the active
profile file costs no Prefect import.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pipeline.errors import PipelineError

__all__ = [
    "LOCAL_NOTE",
    "PrefectUnavailableError",
    "configured_api_url",
    "require_api",
    "use_prefect",
]

LOCAL_NOTE = "Running locally; set PREFECT_API_URL to record runs in Prefect."


class PrefectUnavailableError(PipelineError):
    """A run was asked to go through Prefect, and no Prefect API answers."""


def _profiles_path() -> Path:
    home = os.environ.get("PREFECT_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".prefect"
    configured = os.environ.get("PREFECT_PROFILES_PATH")
    return Path(configured).expanduser() if configured else base / "profiles.toml"


def configured_api_url() -> str | None:
    """`PREFECT_API_URL` from the environment, else from the active Prefect profile, else None."""
    url = os.environ.get("PREFECT_API_URL")
    if url is not None:
        return url or None
    try:
        profiles = tomllib.loads(_profiles_path().read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    value = profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL")
    return str(value) if value else None


def _check_reachable(url: str) -> None:
    import httpx

    try:
        httpx.get(f"{url.rstrip('/')}/health", timeout=5.0).raise_for_status()
    except httpx.HTTPError as exc:
        raise PrefectUnavailableError(
            f"the Prefect API at {url} does not answer ({type(exc).__name__}); start one with "
            "`prefect server start`, or unset PREFECT_API_URL to run locally"
        ) from None


def require_api(flag: str) -> str:
    """The configured Prefect API's URL, checked to answer; `flag` is what needs it."""
    url = configured_api_url()
    if url is None:
        raise PrefectUnavailableError(
            f"{flag} needs a Prefect API: set PREFECT_API_URL (for example to a "
            "`prefect server start` at http://127.0.0.1:4200/api)"
        )
    _check_reachable(url)
    return url


def use_prefect(*, prefect: bool, credentials_block: str | None) -> bool:
    """True to run the command's flow; False to run in-process (after saying so)."""
    if prefect or credentials_block is not None:
        require_api("--prefect" if prefect else "--credentials-block")
        return True
    url = configured_api_url()
    if url is None:
        from flows.cli._common import console

        console.print(LOCAL_NOTE, soft_wrap=True)
        return False
    _check_reachable(url)
    return True
