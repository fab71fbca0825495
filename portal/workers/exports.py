"""The register as CSV or XLSX for staff (full NIK), formulas escaped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from portal.exports import csv_bytes, xlsx_bytes
from portal.extensions import db
from portal.workers.pii import current_cipher
from portal.workers.queries import RegisterFilters, register_select

HEADER = [
    "nik",
    "nama",
    "tanggal_lahir",
    "jenis_kelamin",
    "kategori",
    "kode_kelurahan",
    "kelurahan",
    "kecamatan",
    "no_hp",
    "no_kpj",
    "alamat",
    "desil",
    "status",
    "layak_bulan_ini",
    "pendana_bulan_ini",
    "terdaftar",
]
# Read as numbers, a NIK loses its last digit and a phone number its leading zero.
TEXT_COLUMNS = ("nik", "kode_kelurahan", "no_hp", "no_kpj")


def export_register(filters: RegisterFilters, month: date, fmt: str) -> tuple[bytes, int]:
    """Every worker matching the filters; returns the file and the number of rows."""
    rows = list(_rows(filters, month))
    if fmt == "csv":
        return csv_bytes(HEADER, rows), len(rows)
    return xlsx_bytes(HEADER, rows, "Register", TEXT_COLUMNS), len(rows)


def _rows(filters: RegisterFilters, month: date) -> Iterator[list[Any]]:
    cipher = current_cipher()
    result = db.session.execute(register_select(filters, month).execution_options(yield_per=2000))
    for worker, kelurahan, kecamatan, category, eligible, funder in result:
        phone = cipher.decrypt(worker.phone_encrypted) if worker.phone_encrypted else ""
        yield [
            cipher.decrypt(worker.nik_encrypted),
            worker.full_name,
            worker.birth_date.isoformat(),
            worker.sex,
            category.code,
            worker.kelurahan_code,
            kelurahan,
            kecamatan,
            phone,
            worker.kpj or "",
            worker.address,
            worker.dtsen_decile or "",
            worker.status,
            "ya" if eligible else "tidak",
            funder or "",
            worker.registered_on.isoformat(),
        ]
