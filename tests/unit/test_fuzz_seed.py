"""The fuzz runs' cases are decided by one declared seed (tests.support.fuzz.SEED,
IKM_FUZZ_SEED): the same seed sends the same requests, another seed others. (Derandomized,
Hypothesis seeded from the test function's source and ignored the seed.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import settings
from schemathesis.openapi import from_dict

from tests.support import fuzz

SCHEMA = {
    "openapi": "3.1.0",
    "info": {"title": "seeded", "version": "1"},
    "paths": {
        "/items": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "n": {"type": "integer"},
                                },
                                "required": ["name", "n"],
                            }
                        }
                    },
                },
                "responses": {"204": {"description": "taken"}},
            }
        }
    },
}


class Recorder(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        Recorder.bodies.append(self.rfile.read(length))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def sent(base_url: str) -> list[bytes]:
    Recorder.bodies = []
    failures: list[str] = []
    (operation,) = [r.ok() for r in from_dict(json.loads(json.dumps(SCHEMA))).get_all_operations()]
    fuzz.fuzz_operation(operation, base_url, failures)  # other methods: 501s, not the point
    return list(Recorder.bodies)


@pytest.fixture(params=["default", "ci"])
def profile(request: pytest.FixtureRequest) -> Iterator[str]:
    """Hypothesis loads its ``ci`` profile (derandomize=True) by itself where CI is set, as on
    the project's CI machine; the seed must decide the cases under both."""
    before = settings.get_current_profile_name()
    settings.load_profile(request.param)
    yield request.param
    settings.load_profile(before)


@pytest.mark.usefixtures("profile")
def test_the_seed_decides_the_requests(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = sent(server)
    assert first and first == sent(server)  # reproducible
    monkeypatch.setattr(fuzz, "SEED", fuzz.SEED + 1)
    assert sent(server) != first
