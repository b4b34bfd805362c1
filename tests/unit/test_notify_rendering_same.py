"""The renderer's fast path (flat globals, no LRU lock) renders byte for byte what Jinja's
own API renders from the same templates: every template, both languages, both channels,
subject or not, optional fields absent or present, every value of each enumerated field,
ASCII and non-ASCII names."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from contracts.base import Event
from contracts.catalog import EVENTS_BY_NAME
from services.notify.templates import TEMPLATE_DIR, Renderer
from tests.support.event_samples import sample

NAMES = ("Siti", "Ni Luh Putu Ayu Déwi", "Ṡiti Nurhaliza", "林 Budi", "عبدالله")
TEMPLATES = sorted(p.stem for p in (TEMPLATE_DIR / "id").glob("[!_]*.j2"))


def _reference_env() -> Environment:
    """Jinja's defaults (LRU cache, ``ChainMap`` globals) with the renderer's options."""
    fast = Renderer()._env
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update({k: fast.filters[k] for k in ("nik", "phone", "email", "date", "rupiah")})
    return env


def _block(template: Template, name: str, variables: dict[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(variables))).strip()


def _variants(event: Event) -> list[Event]:
    """The sample; with every optional field absent; with each value of each literal field."""
    found = [event]
    fields = type(event).model_fields
    absent = {n: None for n, f in fields.items() if type(None) in typing.get_args(f.annotation)}
    if absent:
        found.append(event.model_copy(update=absent))
    for name, field in fields.items():
        if typing.get_origin(field.annotation) is typing.Literal:
            found += [event.model_copy(update={name: v}) for v in typing.get_args(field.annotation)]
    return found


def _cases(name: str) -> list[tuple[Event, str, bool]]:
    events = _variants(sample(EVENTS_BY_NAME[name]))
    return [(e, who, subj) for e in events for who in NAMES for subj in (True, False)]


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("language", ["id", "en"])
def test_every_template_renders_as_jinja_renders_it(name: str, language: str) -> None:
    renderer, env = Renderer(), _reference_env()
    template = env.get_template(f"{language}/{name}.j2")
    for event, who, is_subject in _cases(name):
        context = {"event": event, "event_id": "e-1", "name": who, "is_subject": is_subject}
        variables = {**context, "lang": language}
        email = renderer.render(name, "email", language, context)  # type: ignore[arg-type]
        inbox = renderer.render(name, "inbox", language, context)  # type: ignore[arg-type]
        assert email.subject == inbox.subject == _block(template, "subject", variables)
        assert email.body == template.render(variables).strip()
        assert inbox.body == _block(template, "message", variables)
        assert who in email.body  # the greeting: the layout was rendered around the message


def test_every_event_type_with_a_template_is_covered() -> None:
    assert len(TEMPLATES) >= 26
    assert {p.stem for p in (TEMPLATE_DIR / "en").glob("[!_]*.j2")} == set(TEMPLATES)
