"""A command group whose subcommand groups are imported only when one is invoked.

``ikm --help`` lists every group from its name and one-line help alone; ``ikm token``
never imports the services, FastAPI or Kafka clients the other groups need.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperGroup

from ikm_cli.plain import plain_params


@dataclass(frozen=True)
class LazyCommand:
    module: str  # the module whose ``app`` (a typer.Typer) is the group
    help: str


class LazyGroup(TyperGroup):
    """Subclass it with ``lazy = {name: LazyCommand(...)}`` and pass it as ``Typer(cls=...)``."""

    lazy: ClassVar[dict[str, LazyCommand]] = {}

    def get_params(self, ctx: Any) -> list[Any]:
        # The group's own options (--help ...) are parsed on every call: no pydantic for them.
        return plain_params(super().get_params(ctx))

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The loaded command, else a stand-in carrying the help text (for listings)."""
        loaded = super().get_command(ctx, cmd_name)
        if loaded is not None or cmd_name not in self.lazy:
            return loaded
        return TyperGroup(name=cmd_name, help=self.lazy[cmd_name].help)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in self.lazy and args[0] not in self.commands:
            self.add_command(load(args[0], self.lazy[args[0]]), args[0])
        return super().resolve_command(ctx, args)


def load(name: str, lazy: LazyCommand) -> Any:
    """The real click group of a lazy command (imports its module)."""
    app = importlib.import_module(lazy.module).app
    command = typer.main.get_group(app)  # a group even when it has a single command
    command.name = name
    return command
