"""The typer application every command module registers itself on, and `--version`."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

REPORTED = ("polars", "phonenumbers", "prefect", "pandera", "httpx")
"""The libraries whose versions a bug report needs beside the tool's own."""

app = typer.Typer(
    name="sinch-groups",
    help=(
        "Bulk import/export for Sinch SMS recipient groups.\n\n"
        "With no SINCH_* credentials in the environment every command runs against the embedded "
        "Sinch-compatible emulator, so you can try everything without an account."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def versions() -> dict[str, str]:
    """The tool's version, then Python's and each of `REPORTED` (read from the installed
    distributions' metadata, so nothing is imported)."""

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return {
        "sinch-groups": installed("sinch-groups"),
        "python": platform.python_version(),
        **{name: installed(name) for name in REPORTED},
    }


def _print_version(value: bool) -> None:
    if value:
        found = versions()
        tool = found.pop("sinch-groups")
        typer.echo(f"sinch-groups {tool} ({', '.join(f'{k} {v}' for k, v in found.items())})")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the version of sinch-groups and of the libraries it runs on, then exit.",
        ),
    ] = False,
) -> None:
    """Bulk import/export for Sinch SMS recipient groups."""
