"""A closed month's evidence pack for auditors: a ZIP of extracts with a SHA-256 manifest.

Remittance files hold full NIKs, which auditors may not see, so they stay out of the pack:
the pack lists each funder's file with its row count, total and the SHA-256 of the CSV as
staff download it, so an auditor can check a copy held by staff or BPJS TK against it.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from portal.audit.queries import EXPORT_HEADER, AuditFilters, export_rows
from portal.certificates.models import Certificate
from portal.coverage import queries as coverage_queries
from portal.coverage import remittance
from portal.coverage.exceptions import MonthNotClosed
from portal.coverage.models import MonthClose, RemittanceFunder
from portal.exports import csv_bytes
from portal.extensions import db
from portal.ledger.models import LedgerEntry, LedgerLine
from portal.ledger.queries import (
    TrialRow,
    month_end,
    trial_balance,
    trial_balance_by_company,
    trial_balance_by_funder,
)
from portal.messages import _m

MANIFEST = "manifest.json"
AUDIT_LIMIT = 200_000
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same month gives the same bytes


def _ledger_extract(month: date) -> bytes:
    header = [
        "entry_id", "booked_on", "kind", "source_key", "memo", "line_id", "account",
        "amount", "company_id", "pledge_id", "payment_id", "refund_id",
    ]  # fmt: skip
    rows = db.session.execute(
        select(LedgerEntry, LedgerLine)
        .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
        .where(LedgerEntry.booked_on >= month, LedgerEntry.booked_on <= month_end(month))
        .order_by(LedgerEntry.id, LedgerLine.id)
    )
    cells = (
        [
            e.id,
            e.booked_on.isoformat(),
            e.kind,
            e.source_key,
            e.memo,
            line.id,
            line.account,
            line.amount,
            line.company_id,
            line.pledge_id,
            line.payment_id,
            line.refund_id,
        ]  # fmt: skip
        for e, line in rows
    )
    return csv_bytes(header, cells)


def _trial_cells(scope: str, rows: Iterable[TrialRow]) -> Iterable[list[Any]]:
    for r in rows:
        yield [scope, r.key, r.account, r.opening, r.debit, r.credit, r.closing]


def _trial_extract(month: date) -> bytes:
    header = ["scope", "key", "account", "opening", "debit", "credit", "closing"]
    rows = [
        *_trial_cells("total", trial_balance(month)),
        *_trial_cells("funder", trial_balance_by_funder(month)),
        *_trial_cells("company", trial_balance_by_company(month)),
    ]
    return csv_bytes(header, rows)


def _audit_extract(month: date) -> bytes:
    rows = export_rows(AuditFilters(start=month, end=month_end(month)), AUDIT_LIMIT)
    return csv_bytes(EXPORT_HEADER, rows)


def _certificates(month: date) -> bytes:
    """Certificates issued in the month: serials and state, not the signed payloads."""
    header = ["serial", "kind", "pledge_id", "company_id", "issued_at_utc", "revoked_at_utc",
              "superseded_by"]  # fmt: skip
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime.combine(month_end(month), datetime.max.time(), tzinfo=UTC)
    found = db.session.scalars(
        select(Certificate)
        .where(Certificate.issued_at >= start, Certificate.issued_at <= end)
        .order_by(Certificate.id)
    )
    return csv_bytes(
        header,
        (
            [
                c.serial,
                c.kind,
                c.pledge_id,
                c.company_id,
                _when(c.issued_at),
                _when(c.revoked_at),
                c.superseded_by,
            ]  # fmt: skip
            for c in found
        ),
    )


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _remittances(month: date) -> bytes:
    """Per funder: rows, total and the SHA-256 of the staff CSV (which holds full NIKs)."""
    header = ["funder", "file", "rows", "amount", "sha256"]
    totals = coverage_queries.coverage_totals(month)
    cells = []
    for funder in RemittanceFunder:
        body, count = remittance.remittance_file(month, funder, "csv")
        cells.append(
            [
                funder.value,
                remittance.file_name(month, funder, "csv"),
                count,
                totals[remittance.COVERAGE_FUNDER[funder].value].amount,
                hashlib.sha256(body).hexdigest(),
            ]
        )
    return csv_bytes(header, cells)


def closed_months() -> set[date]:
    """The months an evidence pack can be taken for."""
    return set(db.session.scalars(select(MonthClose.month)))


def evidence_files(month: date) -> dict[str, bytes]:
    """The pack's files (without the manifest). Raises MonthNotClosed."""
    if coverage_queries.month_close(month) is None:
        raise MonthNotClosed(_m("%(month)s is not closed", month=f"{month:%Y-%m}"))
    return {
        "ledger_extract.csv": _ledger_extract(month),
        "trial_balance.csv": _trial_extract(month),
        "audit_extract.csv": _audit_extract(month),
        "certificates.csv": _certificates(month),
        "remittance_files.csv": _remittances(month),
    }


def manifest(month: date, files: dict[str, bytes]) -> bytes:
    listed = [
        {"name": name, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        for name, body in sorted(files.items())
    ]
    return json.dumps(
        {
            "month": f"{month:%Y-%m}",
            "files": listed,
            "remittance_files": "left out: they hold full NIKs; see remittance_files.csv "
            "for each file's rows, total and SHA-256",
        },
        indent=2,
    ).encode()


def evidence_pack(month: date) -> tuple[bytes, dict[str, str]]:
    """The ZIP and each file's SHA-256. Raises MonthNotClosed."""
    files = evidence_files(month)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as pack:
        for name, body in [(MANIFEST, manifest(month, files)), *sorted(files.items())]:
            pack.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), body, zipfile.ZIP_DEFLATED)
    hashes = {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}
    return out.getvalue(), hashes
