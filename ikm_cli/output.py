"""What a command prints. ``--json`` means the same on every command: the command's result
as one JSON document on stdout and nothing else there; progress and messages go to stderr.
Without ``--json`` the result is shown for people (tables, sentences)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

JsonOption = Annotated[
    bool,
    typer.Option(
        "--json", help="The result as one JSON document on stdout (messages go to stderr)."
    ),
]


# soft_wrap: a line is never broken at the console's width (80 when piped), so a path or an
# id a script reads from a message stays whole.
@cache
def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True)


@cache
def stdout() -> Console:
    return Console(soft_wrap=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    """``data`` as JSON on stdout with ``--json``; else ``human()`` shows it."""
    if as_json:
        emit_json(data)
    else:
        human()


def fail(message: str, code: int = 1) -> NoReturn:
    """A plain message on stderr (no markup: service messages may hold brackets); exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
