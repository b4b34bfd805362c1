"""The dev SMTP sink keeps every mail across `ikm dev up`s: numbering continues, nothing is
overwritten (real SMTP over a socket, real files)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

from ikm_cli.devextras import SmtpSink


def send(sink: SmtpSink, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "notify@ikm.example"
    message["To"] = "owner@example.id"
    message["Subject"] = subject
    message.set_content(subject)
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.send_message(message)


def subject(mail: Path) -> str:
    lines = mail.read_text().splitlines()
    return next(line.split(": ", 1)[1] for line in lines if line.startswith("Subject"))


def subjects(folder: Path) -> dict[str, str]:
    return {f.name: subject(f) for f in sorted(folder.glob("*.eml"))}


def test_a_second_sink_on_the_same_folder_continues_the_numbering(tmp_path: Path) -> None:
    folder = tmp_path / "smtp"
    for up, mails in (("first", 2), ("second", 2)):
        sink = SmtpSink(directory=folder).start()
        try:
            for n in range(mails):
                send(sink, f"{up} up, mail {n}")
        finally:
            sink.stop()
    assert subjects(folder) == {
        "0000001.eml": "first up, mail 0",
        "0000002.eml": "first up, mail 1",
        "0000003.eml": "second up, mail 0",
        "0000004.eml": "second up, mail 1",
    }


def test_a_file_that_appears_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "smtp"
    sink = SmtpSink(directory=folder).start()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "0000001.eml").write_text("Subject: written by another sink\n\n")
        send(sink, "mine")
    finally:
        sink.stop()
    assert subjects(folder) == {
        "0000001.eml": "written by another sink",
        "0000002.eml": "mine",
    }
