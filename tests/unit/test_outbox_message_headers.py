"""``message_headers`` lists what the relay listed before it: the stored headers copied into a
dict, the send span's ``traceparent`` set in it, every value encoded."""

from __future__ import annotations

import pytest

from contracts.envelope import H_TRACEPARENT
from ikmkit.messaging.outbox import message_headers

_RECORDED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
_SENT = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"


def _before(stored: dict[str, str], traceparent: str | None) -> list[tuple[str, bytes]]:
    headers = dict(stored)
    if traceparent:
        headers[H_TRACEPARENT] = traceparent
    return [(k, v.encode()) for k, v in headers.items()]


@pytest.mark.parametrize(
    "stored",
    [
        {"ce_id": "1", H_TRACEPARENT: _RECORDED, "ce_region": "34", "content-type": "x"},
        {"ce_id": "1", "ce_type": "t", "ce_subject": "nama ü"},
        {H_TRACEPARENT: _RECORDED},
        {},
    ],
)
@pytest.mark.parametrize("traceparent", [_SENT, None, ""])
def test_headers_as_before(stored: dict[str, str], traceparent: str | None) -> None:
    assert message_headers(stored, traceparent) == _before(stored, traceparent)
    assert stored.get(H_TRACEPARENT) in {None, _RECORDED}  # the row is left as it was
