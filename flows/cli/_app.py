"""The typer application every command module registers itself on."""

from __future__ import annotations

import typer

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
    rich_markup_mode="rich",
)
