"""``compose`` builds the message bytes directly: the same bytes as before for ASCII text,
and for non-ASCII names (subject and body) what a mail reader decodes back to the text."""

from __future__ import annotations

import email
import re
import time
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parsedate_to_datetime

import pytest

from services.notify.senders import UndeliverableAddress, compose

SENDER = "Ditjen IKMA <noreply@ikm.kemenperin.go.id>"
REF = "0190a5c4-0000-7000-8000-000000000001|enterprise:1234567890123|email"
BODY = (
    "Yth. Siti,\n\nCV Maju (NIB 1234567890123) telah terdaftar pada 1 Maret 2026 dan menunggu"
    " verifikasi oleh Disperindag provinsi Anda.\n\n\nSalam,\nDitjen IKMA = Kemenperin \n"
    "Pesan ini dikirim otomatis; mohon tidak membalas. Ref: e1"
)
# What compose produced before (ASCII input; captured from the old code), Date aside.
EXPECTED = (
    "From: Ditjen IKMA <noreply@ikm.kemenperin.go.id>\r\n"
    "To: siti@example.id\r\n"
    "Subject: Pendaftaran IKM diterima: CV Maju\r\n"
    "Date: DATE\r\n"
    "Message-ID: <0190a5c4-0000-7000-8000-000000000001.enterprise.1234567890123.email"
    "@notify.ikm>\r\n"
    f"X-IKM-Notification-Id: {REF}\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Yth. Siti,\r\n\r\n"
    "CV Maju (NIB 1234567890123) telah terdaftar pada 1 Maret 2026 dan menunggu =\r\n"
    "verifikasi oleh Disperindag provinsi Anda.\r\n\r\n\r\nSalam,\r\n"
    "Ditjen IKMA =3D Kemenperin=20\r\n"
    "Pesan ini dikirim otomatis; mohon tidak membalas. Ref: e1\r\n"
)
NAMES = ["Ni Luh Putu Ayu Déwi", "Ṡiti Nurhaliza", "林 Budi Santoso", "عبدالله", "Siti"]


def _subject_lines(head: bytes) -> list[bytes]:
    lines = head.split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"Subject: "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(b" "))
    return lines[start:end]


def _parsed(message: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(message, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_ascii_message_is_byte_for_byte_what_it_was() -> None:
    message = compose(
        sender=SENDER,
        to="siti@example.id",
        subject="Pendaftaran IKM  diterima:\n CV Maju",
        body=BODY,
        ref=REF,
    )
    assert message == EXPECTED.replace("DATE", _date(message)).encode()


def _date(message: bytes) -> str:
    found = re.search(rb"\r\nDate: ([^\r]*)\r\n", message)
    assert found is not None
    return found.group(1).decode()


def test_date_is_now_as_formatdate_writes_it() -> None:
    for _ in range(3):
        before = formatdate(usegmt=True)
        date = _date(compose(sender=SENDER, to="a@b.id", subject="s", body="b", ref="r"))
        after = formatdate(usegmt=True)
        assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", date)
        start, end = parsedate_to_datetime(before), parsedate_to_datetime(after)
        assert start <= parsedate_to_datetime(date) <= end
        time.sleep(0.6)  # across a second's change too


@pytest.mark.parametrize("name", NAMES)
def test_non_ascii_names_decode_back_to_the_text(name: str) -> None:
    body = f"Yth. {name},\n\n{name} (NIB 1234567890123) terdaftar.\n{'é' * 120}\nRef: e1"
    subject = f"Pendaftaran IKM diterima: {name}"
    message = compose(sender=SENDER, to="siti@example.id", subject=subject, body=body, ref=REF)
    head, _, text = message.partition(b"\r\n\r\n")
    assert all(len(line) <= 76 for line in text.split(b"\r\n"))
    assert all(len(line) <= 78 for line in _subject_lines(head))
    parsed = _parsed(message)
    assert parsed["Subject"] == subject
    assert parsed.get_content().replace("\r\n", "\n") == body + "\n"
    assert parsed["Message-ID"] == (
        "<0190a5c4-0000-7000-8000-000000000001.enterprise.1234567890123.email@notify.ikm>"
    )
    assert parsed["X-IKM-Notification-Id"] == REF


def test_a_long_non_ascii_subject_is_folded_with_crlf_only() -> None:
    subject = "Pendaftaran IKM diterima: CV Maju Bersama Déwi Sejahtera Abadi Jaya Makmur Logam"
    message = compose(sender=SENDER, to="a@b.id", subject=subject, body="b", ref="r")
    assert b"\n" not in message.replace(b"\r\n", b"")  # no bare LF anywhere
    assert all(len(line) <= 78 for line in _subject_lines(message.partition(b"\r\n\r\n")[0]))
    assert _parsed(message)["Subject"] == subject


@pytest.mark.parametrize("to", ["a@b.id, c@d.id", "A <a@b.id>", "a@b.id\r\nBcc: x@y.id", "ab.id"])
def test_anything_but_one_plain_address_is_undeliverable(to: str) -> None:
    with pytest.raises(UndeliverableAddress):
        compose(sender=SENDER, to=to, subject="s", body="b", ref="r")


def test_a_non_ascii_address_is_undeliverable() -> None:
    with pytest.raises(UndeliverableAddress):
        compose(sender=SENDER, to="déwi@example.id", subject="s", body="b", ref="r")
