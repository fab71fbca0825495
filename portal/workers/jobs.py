"""Roster import jobs: the upload is kept on disk, checked first, imported on request.

Creating a job writes a RosterImportRequested event in the same transaction; a job worker
runs it after the commit (portal/jobs.py). A worker killed in the middle leaves nothing half
imported (the import is one transaction) and the job runs again. Live progress is kept in the
job engine's key-value store, which every process shares (the portal database is locked by
the import's own transaction meanwhile); the final result is stored on the job row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from flask import current_app

from portal.db import utcnow
from portal.events import Event, emit, handles
from portal.extensions import db
from portal.jobs import huey
from portal.workers.importer import ImportReport, import_roster, rejected_rows_csv
from portal.workers.models import ImportJob, ImportState
from portal.workers.roster import COLUMN_LABELS, RosterFormatError

MAX_ERRORS_SHOWN = 1_000


@dataclass(frozen=True)
class RosterImportRequested(Event):
    kind: ClassVar[str] = "roster.import"
    job_id: int


def create_import_job(
    data: bytes,
    filename: str,
    update_existing: bool,
    actor_id: int,
    dry_run: bool = True,
    stored_path: str | None = None,
) -> ImportJob:
    """Keep the upload and queue a job for it; it runs once the caller commits."""
    token = secrets.token_hex(16)
    if stored_path is None:
        folder = Path(current_app.config["UPLOAD_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{token}.upload"
        path.write_bytes(data)
        path.chmod(0o600)  # it holds plaintext NIKs until the scheduled clean-up removes it
        stored_path = str(path)
    job = ImportJob(
        token=token,
        filename=filename[:255],
        stored_path=stored_path,
        update_existing=update_existing,
        dry_run=dry_run,
        created_by_id=actor_id,
    )
    db.session.add(job)
    db.session.flush()
    emit(db.session, RosterImportRequested(job_id=job.id))
    return job


@handles(RosterImportRequested.kind)
def _run(payload: dict[str, Any]) -> None:
    run_import_job(int(payload["job_id"]))


def _progress_key(token: str) -> str:
    return f"import-progress:{token}"


def run_import_job(job_id: int, today: date | None = None) -> None:
    """Check (dry run) or import the stored file; commits its own unit of work."""
    job = db.session.get(ImportJob, job_id)
    assert job is not None, f"no import job {job_id}"
    job.state = ImportState.RUNNING
    db.session.commit()
    key = _progress_key(job.token)
    huey.put(key, 0)
    try:
        report = import_roster(
            Path(job.stored_path).read_bytes(),
            job.filename,
            dry_run=job.dry_run,
            update_existing=job.update_existing,
            actor_id=job.created_by_id,
            progress=lambda rows: huey.put(key, rows),
            today=today,
        )
    except RosterFormatError as error:
        db.session.rollback()
        _finish(job_id, ImportState.FAILED, None, str(error))
        return
    except Exception:
        db.session.rollback()
        _finish(job_id, ImportState.FAILED, None, "unexpected error; nothing was imported")
        raise
    if job.dry_run:
        db.session.rollback()
    _store_rejected(job, report)
    _finish(job_id, ImportState.DONE, report, "")


def _store_rejected(job: ImportJob, report: ImportReport) -> None:
    if report.rejected_rows:
        Path(rejected_path(job)).write_text(
            rejected_rows_csv(report, COLUMN_LABELS), encoding="utf-8-sig"
        )


def rejected_path(job: ImportJob) -> str:
    return f"{job.stored_path}.{'check' if job.dry_run else 'run'}.rejected.csv"


def _finish(job_id: int, state: ImportState, report: ImportReport | None, message: str) -> None:
    job = db.session.get(ImportJob, job_id)
    assert job is not None, f"no import job {job_id}"
    job.state = state
    job.message = message
    job.finished_at = utcnow()
    if report is not None:
        job.rows_done = report.rows
        job.summary = _summary(report)
    db.session.commit()
    huey.get(_progress_key(job.token))  # read once: the key goes


def _summary(report: ImportReport) -> dict[str, Any]:
    data = report.as_json()
    data["errors"] = data["errors"][:MAX_ERRORS_SHOWN]
    data["errors_total"] = len(report.errors)
    data["warnings"] = report.warnings
    return data


def job_progress(job: ImportJob) -> dict[str, Any]:
    """State for the polling page: live row count while running, the summary when done."""
    live = (
        huey.get(_progress_key(job.token), peek=True) if job.state == ImportState.RUNNING else None
    )
    rows = live if live is not None else job.rows_done
    return {
        "state": job.state,
        "rows": rows,
        "done": job.state in (ImportState.DONE, ImportState.FAILED),
    }
