"""How every ``ikm`` command reaches a service: one target rule, one token rule, one error shape.

Target: ``--url``, else ``IKM_<SERVICE>_URL`` (e.g. ``IKM_REGISTRY_URL``), else ``IKM_URL``,
else the running dev stack (``ikm dev up``'s state file). Token: ``--token``, else
``IKM_TOKEN``, else a development ministry token signed with ``IKM_JWT_SECRET``.
A refusal is printed as its status and the problem's rule and detail, each field error of a
422 listed (``403 Forbidden: province [forbidden.other_province]: ...``) and the command exits 1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ikm_cli import state
from ikm_cli.output import fail, stderr
from ikm_cli.tokens import issue_token

if TYPE_CHECKING:
    import httpx

UrlOption = Annotated[
    str | None,
    typer.Option(help="Service URL (else IKM_<SERVICE>_URL, IKM_URL, the dev stack)."),
]
TokenOption = Annotated[
    str | None, typer.Option(help="Bearer token (else IKM_TOKEN, else a dev ministry token).")
]


RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Seconds before each new attempt of a request that went unanswered: ~15 s in all, the
time a service takes to restart or a rolling update to bring up its next instance."""
UNAVAILABLE = {502, 503, 504}


def _waiting(why: str, delay: float, attempt: int) -> None:
    message = f"{why}; sending it again in {delay:g} s (attempt {attempt + 1} of "
    stderr().print(f"{message}{len(RETRY_DELAYS) + 1})", highlight=False, markup=False)
    time.sleep(delay)


class ServiceError(Exception):
    """The service refused (``status``) or could not be reached (``status`` None)."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status


def service_url(service: str | None, url: str | None = None) -> str:
    """The base URL of ``service`` by the rule in the module doc."""
    env = f"IKM_{service.upper()}_URL" if service else None
    for candidate in (url, os.environ.get(env) if env else None, os.environ.get("IKM_URL")):
        if candidate:
            return candidate.rstrip("/")
    found = state.service_url(service) if service else None
    if found:
        return found
    if env is None:
        why = "no --url, no IKM_URL and no --service NAME to look up in the dev stack"
    else:
        why = f"no --url, no {env}, no IKM_URL and no dev stack running"
    raise typer.BadParameter(why, param_hint="--url")


def bearer_token(token: str | None = None) -> str:
    return token or os.environ.get("IKM_TOKEN") or issue_token(subject="ikm-cli", role="ministry")


def error_details(response: httpx.Response) -> str:
    """``STATUS Reason: field [rule]: message; ...`` from the services' RFC 9457 problems,
    every field error of a 422 listed (a pre-problem ``{"detail": ...}`` body reads too)."""
    head = f"{response.status_code} {response.reason_phrase}".strip()
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "detail" not in body:
        return f"{head}: {response.text}" if response.text else head
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        return f"{head}: " + "; ".join(_one_error(e) for e in errors)
    detail = body["detail"]
    if isinstance(detail, list):  # FastAPI's own shape
        return f"{head}: " + "; ".join(_one_error(d) for d in detail)
    rule = body.get("rule")
    return f"{head}: [{rule}]: {detail}" if rule else f"{head}: {detail}"


def _one_error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    loc = error.get("loc")
    if isinstance(loc, list):
        where = ".".join(str(p) for p in loc if p != "body")
    else:
        where = str(error.get("field") or "")
    kind = error.get("rule") or error.get("type", "")
    message = error.get("detail", error.get("msg", ""))
    prefix = " ".join(p for p in (where, f"[{kind}]" if kind else "") if p)
    return f"{prefix}: {message}" if prefix else str(message)


class ServiceClient:
    """An HTTP client of one service; ``call`` returns the JSON body or raises ServiceError."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 60) -> None:
        import httpx  # here, not at the top: `ikm --help` and `ikm token` never need it

        self.base_url = base_url
        self._http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def call(self, method: str, path: str, *, again: bool | None = None, **kwargs: Any) -> Any:
        """The answer's JSON. A request the service did not get, or that a proxy could not
        hand to it (502, 503, 504: a restart), is sent again after each of ``RETRY_DELAYS``;
        one it may have got only if sending it twice does no harm (``again``; a GET by
        default)."""
        import httpx

        repeatable = method == "GET" if again is None else again
        for attempt, delay in enumerate([*RETRY_DELAYS, None], start=1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                error = ServiceError(None, f"cannot reach {self.base_url}{path}: {why}")
                unsent = isinstance(exc, httpx.ConnectError)  # nothing reached the service
                if delay is None or not (repeatable or unsent):
                    raise error from exc
                _waiting(str(error), delay, attempt)
                continue
            if response.status_code in UNAVAILABLE and repeatable and delay is not None:
                _waiting(f"{self.base_url}{path}: {error_details(response)}", delay, attempt)
                continue
            if response.status_code >= 400:
                raise ServiceError(response.status_code, error_details(response))
            return response.json() if response.content else None
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        self._http.close()


@contextmanager
def connect(
    service: str | None, url: str | None = None, token: str | None = None, *, timeout: float = 60
) -> Iterator[ServiceClient]:
    """A client of ``service``; a ServiceError inside is printed and exits 1."""
    client = ServiceClient(service_url(service, url), bearer_token(token), timeout=timeout)
    try:
        yield client
    except ServiceError as exc:
        fail(str(exc))
    finally:
        client.close()
