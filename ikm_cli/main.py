"""The ``ikm`` command line.

Start-up stays fast: this module imports only typer and the standard library; each command
group's module (and the services, HTTP and Kafka clients it needs) is imported when that
group is invoked (``ikm_cli.lazy``).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ikm_cli.lazy import LazyCommand, LazyGroup
from ikm_cli.plain import PlainCommand
from ikm_cli.tokens import DEFAULT_TTL, ROLES, SCOPE_CLAIMS, TokenSettings, issue_token

GROUPS = {
    "dev": LazyCommand("ikm_cli.dev", "Run the whole system locally."),
    "registry": LazyCommand("ikm_cli.registry", "registry commands: bulk import."),
    "training": LazyCommand("ikm_cli.training", "training commands."),
    "notify": LazyCommand("ikm_cli.notify", "notify commands: dead notifications, deliveries."),
    "audit": LazyCommand("ikm_cli.audit", "Audit the event log: replay, trail, rebuild."),
    "outbox": LazyCommand(
        "ikm_cli.outbox", "Outbox operations: parked events, republishing a lost topic."
    ),
}


class IkmGroup(LazyGroup):
    lazy = GROUPS


# Plain (not rich) help at the top: typer's rich help formatting alone imports for 0.2 s.
app = typer.Typer(cls=IkmGroup, no_args_is_help=True, rich_markup_mode=None)


@app.callback()
def ikm() -> None:
    """IKM platform command line."""


@app.command(cls=PlainCommand)
def token(
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}")],
    subject: Annotated[str, typer.Option(help="Who the token is for.")] = "dev-user",
    province: Annotated[str | None, typer.Option(help="Province code (regional role).")] = None,
    nib: Annotated[str | None, typer.Option(help="NIB (enterprise role).")] = None,
    partner_id: Annotated[str | None, typer.Option(help="Partner id (partner role).")] = None,
    ttl: Annotated[
        int, typer.Option(help="Lifetime in seconds (<= IKM_JWT_MAX_LIFETIME).")
    ] = DEFAULT_TTL,
    as_json: Annotated[
        bool, typer.Option("--json", help='{"token": ..., "expires_in": TTL} on stdout.')
    ] = False,
) -> None:
    """Issue a bearer token signed with IKM_JWT_SECRET (default: the development secret).

    Issuer, audience and the longest lifetime are the services' own settings
    (IKM_JWT_ISSUER, IKM_JWT_AUDIENCE, IKM_JWT_MAX_LIFETIME), so the token is accepted.
    """
    if role not in ROLES:
        raise typer.BadParameter(f"unknown role {role!r}", param_hint="role")
    scopes = {"province": province, "nib": nib, "partner_id": partner_id}
    scope = SCOPE_CLAIMS.get(role)
    if scope is not None and not scopes[scope]:
        option = "--" + scope.replace("_", "-")
        raise typer.BadParameter(f"a {role} token needs {option}", param_hint=option)
    settings = TokenSettings.from_env()
    if not 0 < ttl <= settings.max_lifetime:
        raise typer.BadParameter(
            f"must be 1..{settings.max_lifetime} s (IKM_JWT_MAX_LIFETIME)", param_hint="--ttl"
        )
    issued = issue_token(
        subject=subject, role=role, province=province, nib=nib, partner_id=partner_id,
        ttl_seconds=ttl, settings=settings,
    )  # fmt: skip
    print(json.dumps({"token": issued, "expires_in": ttl}) if as_json else issued)


if __name__ == "__main__":
    app()
