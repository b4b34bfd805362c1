"""The ``ikm`` command line."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ikm_cli import audit, dev, notify, outbox, registry, training
from ikmkit.auth import ROLES, issue_token
from ikmkit.service.settings import DEV_JWT_SECRET, ServiceSettings

app = typer.Typer(help="IKM platform command line.", no_args_is_help=True)
app.add_typer(dev.app, name="dev")
app.add_typer(registry.app, name="registry")
app.add_typer(training.app, name="training")
app.add_typer(notify.app, name="notify")
app.add_typer(audit.app, name="audit")
app.add_typer(outbox.app, name="outbox")


@app.command()
def token(
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}")],
    subject: Annotated[str, typer.Option(help="Who the token is for.")] = "dev-user",
    province: Annotated[str | None, typer.Option(help="Province code (regional role).")] = None,
    nib: Annotated[str | None, typer.Option(help="NIB (enterprise role).")] = None,
    partner_id: Annotated[str | None, typer.Option(help="Partner id (partner role).")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds (<= IKM_JWT_MAX_LIFETIME).")] = (
        8 * 3600
    ),
) -> None:
    """Issue a bearer token signed with IKM_JWT_SECRET (default: the development secret).

    Issuer, audience and the longest lifetime are the services' own settings
    (IKM_JWT_ISSUER, IKM_JWT_AUDIENCE, IKM_JWT_MAX_LIFETIME), so the token is accepted.
    """
    if role not in ROLES:
        raise typer.BadParameter(f"unknown role {role!r}", param_hint="role")
    settings = ServiceSettings()
    if not 0 < ttl <= settings.jwt_max_lifetime:
        raise typer.BadParameter(
            f"must be 1..{settings.jwt_max_lifetime} s (IKM_JWT_MAX_LIFETIME)", param_hint="--ttl"
        )
    secret = os.environ.get("IKM_JWT_SECRET", DEV_JWT_SECRET)
    print(
        issue_token(
            secret,
            subject=subject,
            role=role,
            province=province,
            nib=nib,
            partner_id=partner_id,
            ttl_seconds=ttl,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )


if __name__ == "__main__":
    app()
