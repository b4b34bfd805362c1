"""Message rendering with Jinja2: ``templates/<lang>/<EventName>.j2``.

Each template extends its language's ``_email.j2`` layout and fills two blocks:
``subject`` (e-mail subject, in-app message title) and ``message`` (in-app message
body; the e-mail body is the layout around it). Personal data is masked unless the
reader is the person it belongs to (the ``nik``, ``phone`` and ``email`` filters).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, pass_context
from jinja2.runtime import Context, new_context
from lokal.rupiah import format_rupiah

from contracts.catalog import EVENTS_BY_NAME
from contracts.notify import Channel
from contracts.values import Language
from services.notify.domain.model import (
    MINISTRY,
    Contact,
    Notification,
    mask_email,
    mask_nik,
    mask_phone,
)

TEMPLATE_DIR = Path(__file__).parent / "templates"

_MONTHS = {
    "id": "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember",
    "en": "January February March April May June July August September October November December",
}
_MONTH_NAMES = {lang: names.split() for lang, names in _MONTHS.items()}


@pass_context
def _nik(ctx: Context, value: str | None) -> str:
    return value or "" if ctx.get("is_subject") else mask_nik(value)


@pass_context
def _phone(ctx: Context, value: str | None) -> str:
    return value or "" if ctx.get("is_subject") else mask_phone(value)


@pass_context
def _email(ctx: Context, value: str | None) -> str:
    return value or "" if ctx.get("is_subject") else mask_email(value)


@pass_context
def _date(ctx: Context, value: date | datetime | str) -> str:
    day = value if isinstance(value, date) else datetime.fromisoformat(value)
    month = _MONTH_NAMES[ctx.get("lang", "id")][day.month - 1]
    return f"{day.day} {month} {day.year}"


def _rupiah(value: int) -> str:
    return format_rupiah(value)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


class Renderer:
    """Renders a template for one channel and language (falls back to Indonesian)."""

    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self._directory = directory
        self._templates: dict[tuple[str, Language], tuple[Template, dict[str, Any]]] = {}

    @cached_property
    def _env(self) -> Environment:
        env = Environment(
            loader=FileSystemLoader(self._directory),
            undefined=StrictUndefined,
            autoescape=False,  # plain-text messages
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates ship with the code; no stat per render
            # A plain dict, not the default LRU (a lock per lookup): each template's
            # ``{% extends %}`` looks its layout up on every render, and there are few.
            cache_size=-1,
        )
        env.filters.update(nik=_nik, phone=_phone, email=_email, date=_date, rupiah=_rupiah)
        return env

    def has(self, name: str, language: Language) -> bool:
        return (self._directory / language / f"{name}.j2").exists()

    def _template(self, name: str, language: Language) -> tuple[Template, dict[str, Any]]:
        """The template, and its globals as one dict: ``Template.globals`` is a ``ChainMap``
        that ``Template.new_context`` copies key by key on every render (half a render's
        CPU for these small templates)."""
        found = self._templates.get((name, language))
        if found is None:
            lang = language if self.has(name, language) else "id"
            template = self._env.get_template(f"{lang}/{name}.j2")
            found = self._templates[(name, language)] = (template, dict(template.globals))
        return found

    def render(
        self, name: str, channel: Channel, language: Language, context: dict[str, Any]
    ) -> Rendered:
        template, globals_ = self._template(name, language)
        variables = {**context, "lang": language}
        # One context for both parts; what ``Template.new_context`` builds, from flat globals.
        context_ = new_context(
            self._env, template.name, template.blocks, variables, False, globals_, None
        )
        subject = "".join(template.blocks["subject"](context_)).strip()
        part = template.root_render_func if channel == "email" else template.blocks["message"]
        return Rendered(subject=subject, body="".join(part(context_)).strip())


def rendered(
    notification: Notification, renderer: Renderer, name: str, language: Language | None = None
) -> Rendered:
    """An e-mail's or in-app message's subject and text, rendered from the stored event data
    (``language``: the recipient's now, else the one kept when it was decided)."""
    if notification.data is None:  # nothing to render from: the stored text is the message
        return Rendered(subject=notification.subject, body=notification.body)
    event = EVENTS_BY_NAME[notification.event_type].model_validate_json(notification.data)
    return renderer.render(
        notification.event_type,
        notification.channel,
        language or notification.language,
        {
            "event": event,
            "event_id": notification.event_id,
            "name": name,
            "is_subject": notification.is_subject,
        },
    )


def greeting_name(recipient: str, contact: Contact | None, language: Language) -> str:
    """Whom an e-mail addresses: the contact's name, else the office, else a polite form."""
    if contact is not None:
        return contact.name
    kind, _, key = recipient.partition(":")
    if kind == "regional":
        return f"Disperindag Provinsi {key}" if language == "id" else f"Disperindag, province {key}"
    if kind == MINISTRY:
        return "Ditjen IKMA"
    return "Bapak/Ibu" if language == "id" else "Sir or Madam"
