"""What notify is asked to do: HTTP request bodies, and the dispatcher's report of a send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, HttpUrl, UrlConstraints

from contracts.values import ProvinceCode
from ikmkit.service import limits
from ikmkit.service.command import Command
from ikmkit.service.errors import InvalidInput
from ikmkit.service.limits import MAX_IDS, Codes, Key, Secret, Text
from services.notify.domain.model import Notification


class Subscribe(Command):
    """``POST /subscriptions`` body."""

    url: Annotated[HttpUrl, UrlConstraints(max_length=limits.URL_MAX)]
    event_types: Codes = Field(min_length=1, description="Event names, e.g. SubsidyApproved.")
    province: ProvinceCode | None = Field(None, description="Only events of this province.")
    secret: Annotated[Secret, Field(min_length=16)] | None = Field(
        None,
        description=(
            "Signing secret (Standard Webhooks): whsec_ + base64 of 24-64 bytes, or any other"
            " text of 16+ characters, used as its UTF-8 bytes. Omitted: notify generates a"
            " whsec_ secret and returns it once, as generated_secret."
        ),
    )
    description: Text = ""


class Redrive(Command):
    """``POST /dead/redrive`` body: these notifications, or every dead one."""

    ids: Annotated[list[Key], MAX_IDS] = []
    all: bool = False

    def check(self) -> None:
        if bool(self.ids) == self.all:
            raise InvalidInput("give either ids or all=true", field="ids", rule="ids_or_all")


@dataclass(frozen=True)
class SendOutcome:
    """What became of one send: ``error`` None when it was delivered; ``permanent`` when no
    retry can help; ``target`` the address it went to when it was resolved only now."""

    notification: Notification
    error: str | None = None
    permanent: bool = False
    target: str | None = None
