"""Roster import: validate every row, then write all valid rows in the caller's transaction."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

from sqlalchemy import insert, select, update

from portal.audit.services import record_event
from portal.auth.models import User
from portal.exports import safe_cell
from portal.extensions import db
from portal.reference.models import Category, Kecamatan, Kelurahan
from portal.workers.eligibility import EligibilityFacts, ineligibility_reasons
from portal.workers.models import Worker, WorkerStatus, WorkerStatusChange
from portal.workers.pii import PiiCipher, current_cipher, mask_nik
from portal.workers.roster import COLUMN_LABELS, read_roster
from portal.workers.rows import Lookups, RowError, SeenNiks, ValidRow, validate_row

BATCH = 2_000
MAX_ERRORS_KEPT = 100_000
Progress = Callable[[int], None]


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejected_rows: list[tuple[int, dict[str, object], str]] = field(default_factory=list)
    duplicates_existing: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "created": self.created, "updated": self.updated,
            "rejected": self.rejected,
            "errors": [{"row": e.row, "column": e.column, "message": e.message}
                       for e in self.errors],
        }


def load_lookups() -> Lookups:
    """Reference data for validation, in two queries."""
    kelurahan = db.session.execute(
        select(Kelurahan.code, Kelurahan.name, Kecamatan.name).join(Kecamatan)
    ).all()
    categories = db.session.execute(
        select(Category.id, Category.code, Category.name_id, Category.name_en)
    ).all()
    return Lookups.build(kelurahan, categories)


def import_roster(data: bytes, filename: str, *, dry_run: bool, update_existing: bool,
                  actor_id: int | None, progress: Progress | None = None,
                  today: date | None = None) -> ImportReport:
    """Check every row and, unless dry_run, write the valid ones (the caller commits once).

    Raises RosterFormatError when the file as a whole cannot be read.
    """
    run = _Run(current_cipher(), today or date.today(), _active_categories(), dry_run,
               update_existing, actor_id)
    report = ImportReport()
    lookups, seen = load_lookups(), SeenNiks()
    with read_roster(data, filename) as roster:
        report.warnings = roster.warnings
        for batch in _batches(iter(roster), BATCH):
            valid = _validate_batch(batch, lookups, run.today, seen, report)
            _apply_batch(valid, run, report)
            if progress:
                progress(report.rows)
    if not dry_run:
        actor = db.session.get(User, actor_id) if actor_id is not None else None
        record_event("worker.import", actor=actor,
                     after={"file": filename[:200], **_counts(report)})
    return report


def _counts(report: ImportReport) -> dict[str, int]:
    return {"rows": report.rows, "created": report.created, "updated": report.updated,
            "rejected": report.rejected}


@dataclass(frozen=True)
class _Run:
    """The settings one import runs with."""

    cipher: PiiCipher
    today: date
    active: frozenset[int]
    dry_run: bool
    update_existing: bool
    actor_id: int | None


def _active_categories() -> frozenset[int]:
    return frozenset(db.session.scalars(select(Category.id).where(Category.active.is_(True))))


def _batches(rows: Iterator[tuple[int, dict[str, object]]], size: int
             ) -> Iterator[list[tuple[int, dict[str, object]]]]:
    while batch := list(islice(rows, size)):
        yield batch


Checked = tuple[int, dict[str, object], ValidRow]
ALREADY_REGISTERED = ("This NIK is already registered. Tick 'update existing workers' "
                      "(--update-existing) to update the worker instead.")


def _validate_batch(batch: list[tuple[int, dict[str, object]]], lookups: Lookups, today: date,
                    seen: SeenNiks, report: ImportReport) -> list[Checked]:
    valid: list[Checked] = []
    for number, raw in batch:
        report.rows += 1
        result = validate_row(number, raw, lookups, today)
        if isinstance(result, ValidRow):
            duplicate = seen.check(number, result.nik)
            if duplicate is None:
                valid.append((number, raw, result))
                continue
            result = [duplicate]
        _reject(report, number, raw, result)
    return valid


def _reject(report: ImportReport, number: int, raw: dict[str, object],
            errors: list[RowError]) -> None:
    report.rejected += 1
    if len(report.errors) < MAX_ERRORS_KEPT:
        report.errors.extend(errors)
    summary = "; ".join(f"{COLUMN_LABELS.get(e.column, e.column)}: {e.message}" for e in errors)
    report.rejected_rows.append((number, raw, summary))


def _apply_batch(valid: list[Checked], run: _Run, report: ImportReport) -> None:
    cipher = run.cipher
    hashes = {row.nik: cipher.lookup_hash(row.nik) for _, _, row in valid}
    existing = dict(db.session.execute(
        select(Worker.nik_hash, Worker.id).where(Worker.nik_hash.in_(hashes.values()))
    ).all()) if hashes else {}
    new_rows, changed = [], []
    for number, raw, row in valid:
        worker_id = existing.get(hashes[row.nik])
        if worker_id is None:
            new_rows.append(_new_worker(row, hashes[row.nik], run))
        elif run.update_existing:
            changed.append(_changed_worker(worker_id, row, cipher))
        else:
            _reject(report, number, raw, [RowError(number, "nik", ALREADY_REGISTERED)])
    report.created += len(new_rows)
    report.updated += len(changed)
    if not run.dry_run:
        _write(new_rows, changed, run.actor_id)


def _new_worker(row: ValidRow, nik_hash: str, run: _Run) -> dict[str, object]:
    """New workers are eligible at once when R2 holds this month; else registered."""
    cipher = run.cipher
    facts = EligibilityFacts(
        status=WorkerStatus.ELIGIBLE, nik_in_semarang=row.in_semarang, domicile_flag=False,
        category_active=row.category_id in run.active, birth_date=row.birth_date,
        other_membership=False,
    )
    eligible = not ineligibility_reasons(facts, run.today.replace(day=1))
    return {
        "nik_hash": nik_hash, "nik_encrypted": cipher.encrypt(row.nik),
        "nik_masked": mask_nik(row.nik), "full_name": row.name, "birth_date": row.birth_date,
        "sex": row.sex, "category_id": row.category_id, "kelurahan_code": row.kelurahan_code,
        "address": row.address, "phone_encrypted": cipher.encrypt(row.phone) if row.phone else None,
        "kpj": row.kpj, "dtsen_decile": row.dtsen_decile, "nik_in_semarang": row.in_semarang,
        "registered_on": run.today,
        "status": WorkerStatus.ELIGIBLE if eligible else WorkerStatus.REGISTERED,
    }


def _changed_worker(worker_id: int, row: ValidRow, cipher: PiiCipher) -> dict[str, object]:
    return {
        "id": worker_id, "full_name": row.name, "birth_date": row.birth_date, "sex": row.sex,
        "category_id": row.category_id, "kelurahan_code": row.kelurahan_code,
        "address": row.address, "phone_encrypted": cipher.encrypt(row.phone) if row.phone else None,
        "kpj": row.kpj, "dtsen_decile": row.dtsen_decile, "nik_in_semarang": row.in_semarang,
    }


def _write(new_rows: list[dict[str, object]], changed: list[dict[str, object]],
           actor_id: int | None) -> None:
    if new_rows:
        ids = db.session.scalars(
            insert(Worker).returning(Worker.id, sort_by_parameter_order=True), new_rows
        ).all()
        db.session.execute(insert(WorkerStatusChange), [
            {"worker_id": worker_id, "from_status": None, "to_status": row["status"],
             "note": "import", "actor_id": actor_id}
            for worker_id, row in zip(ids, new_rows, strict=True)
        ])
    if changed:
        db.session.execute(update(Worker), changed)


def rejected_rows_csv(report: ImportReport, columns: Iterable[str]) -> str:
    """The rejected rows as a CSV to fix and re-import, with the row number and the reasons."""
    columns = list(columns)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", *columns, "errors"])
    for number, raw, summary in report.rejected_rows:
        writer.writerow([number, *(safe_cell(raw.get(c)) for c in columns), safe_cell(summary)])
    return out.getvalue()
