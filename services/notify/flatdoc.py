"""A stored document of a flat model without ``model_dump``: the notify consumer writes four
documents per event (three notifications, a contact), and pydantic's generic dump took more
CPU than deciding them.

"Flat": every field is a string, int, bool, None, a ``Literal`` of strings or a ``datetime``.
Such a model's ``model_dump(mode="json")`` is its ``__dict__`` with each datetime in
pydantic's JSON form, which is what ``FlatDocs.doc`` returns (the same dict, the same key
order; ``tests/unit/test_notify_flat_docs.py``). A model with any other field (a float, which
may be NaN; a nested model; a list) is refused when the repository class is defined.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter

_TIME = TypeAdapter(datetime)
_PLAIN = frozenset({str, int, bool, type(None)})


def _kind(annotation: Any) -> str:
    """ "plain", "time" (datetime, maybe None) or "other"."""
    if annotation in _PLAIN:
        return "plain"
    if annotation is datetime:
        return "time"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "plain" if all(type(a) is str for a in args) else "other"
    if origin is typing.Union or origin is types.UnionType:
        kinds = {_kind(a) for a in args}
        if "other" in kinds:
            return "other"
        return "time" if "time" in kinds else "plain"
    return "other"


class FlatDocs:
    """Builds ``{**item.model_dump(mode="json"), "id": str(item.<id_field>)}`` for one flat
    model class, the document ``Repository._doc`` stores."""

    def __init__(self, model: type[BaseModel], id_field: str) -> None:
        kinds = {name: _kind(f.annotation) for name, f in model.model_fields.items()}
        other = sorted(name for name, kind in kinds.items() if kind == "other")
        if other or model.model_computed_fields or model.model_config.get("extra") == "allow":
            raise TypeError(f"{model.__name__} is not flat: {', '.join(other) or 'computed'}")
        self._model = model
        self._id_field = id_field
        self._times = tuple(name for name, kind in kinds.items() if kind == "time")
        self._last: tuple[datetime, Any] | None = None

    def _time(self, value: datetime) -> Any:
        # A batch's documents share one time (the unit of work's), so one entry is enough;
        # kept by identity: equal datetimes in other time zones are written differently.
        last = self._last
        if last is not None and last[0] is value:
            return last[1]
        text = _TIME.dump_python(value, mode="json")
        self._last = (value, text)
        return text

    def doc(self, item: BaseModel) -> dict[str, Any]:
        if type(item) is not self._model:  # a subclass may add fields: the generic path
            return {**item.model_dump(mode="json"), "id": str(getattr(item, self._id_field))}
        doc = item.__dict__.copy()
        for name in self._times:
            value = doc[name]
            if value is not None:
                doc[name] = self._time(value)
        doc["id"] = str(doc[self._id_field])
        return doc
