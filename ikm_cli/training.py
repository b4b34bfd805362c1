"""``ikm training`` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="training commands.", no_args_is_help=True)
