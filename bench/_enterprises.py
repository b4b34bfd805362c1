"""The enterprises the registry benches register and import: row ``i`` is always the same
enterprise, so a bench and the tests that reuse its rows agree on what was sent."""

from __future__ import annotations

import csv
from pathlib import Path

REGENCIES = ("3471", "3404", "3273", "1171", "3578", "7371")
KBLIS = ("10710", "14111", "16101", "25920", "29300", "31001")
CSV_COLUMNS = (
    "nib", "name", "legal_form", "owner_name", "owner_nik", "owner_phone", "owner_email",
    "province", "regency", "kbli", "workforce", "investment_rupiah", "products", "campaigns",
    "marketplace_stores",
)  # fmt: skip


def enterprise_row(i: int, prefix: int) -> dict[str, str]:
    regency = REGENCIES[i % len(REGENCIES)]
    return {
        "nib": f"{prefix}{i:012d}",
        "name": f"IKM Bench {i}",
        "legal_form": ("CV", "UD", "PT", "perorangan")[i % 4],
        "owner_name": f"Pemilik {i}",
        "owner_nik": "3471010105900001",
        "owner_phone": f"0812{i % 100_000_000:08d}",
        "owner_email": f"owner{i}@example.id",
        "province": regency[:2],
        "regency": regency,
        "kbli": KBLIS[i % len(KBLIS)],
        "workforce": str(i % 30),
        "investment_rupiah": str((i % 50) * 100_000_000),
        "products": "produk a;produk b",
        "campaigns": "#SemuanyaAdaDisini" if i % 3 == 0 else "",
        "marketplace_stores": f"shopee=https://shopee.co.id/ikm{i}" if i % 10 == 0 else "",
    }


def write_enterprise_csv(path: Path, rows: int, *, prefix: int = 9, bad_every: int = 0) -> None:
    """A CSV of ``rows`` enterprises; every ``bad_every``-th row has a non-manufacturing KBLI."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for i in range(rows):
            row = enterprise_row(i, prefix)
            if bad_every and i % bad_every == bad_every - 1:
                row["kbli"] = "47111"
            writer.writerow(row)


def import_row(row: dict[str, str]) -> dict[str, object]:
    """A CSV row as ``ikm registry import`` sends it: lists split, empty cells left out."""
    cells: dict[str, object] = {k: v for k, v in row.items() if v}
    for name in ("workforce", "investment_rupiah"):
        if name in cells and str(cells[name]).isdigit():
            cells[name] = int(str(cells[name]))
    for name in ("products", "campaigns"):
        if name in cells:
            cells[name] = str(cells[name]).split(";")
    if "marketplace_stores" in cells:
        pairs = (s.partition("=") for s in str(cells["marketplace_stores"]).split(";"))
        cells["marketplace_stores"] = [{"platform": p, "shop_url": u} for p, _, u in pairs]
    return cells


def enterprise_import_rows(
    rows: int, *, prefix: int = 9, bad_every: int = 0
) -> list[dict[str, object]]:
    """The rows of ``write_enterprise_csv(path, rows, ...)``, as the import endpoint takes them."""
    found = []
    for i in range(rows):
        row = enterprise_row(i, prefix)
        if bad_every and i % bad_every == bad_every - 1:
            row["kbli"] = "47111"
        found.append(import_row(row))
    return found


def json_body(i: int, tag: str) -> dict[str, object]:
    row = enterprise_row(i, 0)
    return {
        "nib": f"{tag}{i:09d}",
        **{k: row[k] for k in ("name", "legal_form", "owner_name", "owner_phone")},
        **{k: row[k] for k in ("owner_email", "province", "regency", "kbli")},
        "owner_nik": row["owner_nik"],
        "workforce": int(row["workforce"]),
        "investment_rupiah": int(row["investment_rupiah"]),
        "products": ["produk a"],
    }
