"""Roster import jobs: the upload is kept sealed on disk, checked first, imported on request.

Creating a job writes a RosterImportRequested event in the same transaction; a job worker
runs it after the commit (portal/jobs.py), so the web process only stores the file. The
upload and the rejected-rows files hold NIKs, names and phone numbers: they are sealed with
the NIK keys (portal/workers/sealed.py), readable by their owner only (0600), and deleted
when the import ends or, for a check never imported, by the scheduled clean-up after a day.

A job commits after every batch of rows, with its checkpoint (rows done, counts, the first
errors, how far the rejected-rows file got), so the embedded SQLite database is never locked
for the whole file. A worker killed in the middle leaves the batches before the checkpoint
done; the next delivery of the event carries on from it, each row written once. Two workers
never run one job together: the first holds a lock on the upload (flock; the kernel drops it
when its process dies), the second is told to try again later. Live progress is kept in the
job engine's key-value store; the final result is stored on the job row.
"""

from __future__ import annotations

import contextlib
import fcntl
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

from flask import current_app
from sqlalchemy import select, update

from portal.csvtext import chunks_of
from portal.db import utcnow
from portal.events import Event, emit, handles
from portal.extensions import db
from portal.jobs import huey
from portal.messages import Message, _m, as_text
from portal.workers.importer import (
    Hooks,
    ImportReport,
    import_roster,
    rejected_cells,
    rejected_line,
)
from portal.workers.models import ImportJob, ImportState
from portal.workers.pii import KeyConfigError, current_cipher
from portal.workers.rejected import rejected_file
from portal.workers.roster import COLUMN_LABELS, RosterFormatError
from portal.workers.sealed import SealedFileError, SealedWriter, open_sealed, seal_file

MAX_ERRORS_SHOWN = 1_000
REJECTED_FILE_BYTES = 32 * 1024 * 1024  # rejected rows past this are counted, not written
GONE = _m("The uploaded file is no longer kept (files go a day after upload); upload it again.")


class ImportBusy(RuntimeError):
    """Another worker is running this job now; the delivery is retried later."""


@dataclass(frozen=True)
class RosterImportRequested(Event):
    kind: ClassVar[str] = "roster.import"
    job_id: int


def create_import_job(
    upload: IO[bytes] | bytes,
    filename: str,
    update_existing: bool,
    actor_id: int,
    dry_run: bool = True,
    stored_path: str | None = None,
) -> ImportJob:
    """Seal the upload to disk and queue a job for it; it runs once the caller commits.
    An import of a checked file passes the check's stored_path instead of an upload."""
    token = secrets.token_hex(16)
    if stored_path is None:
        stored_path = str(_store(upload, token))
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


def _store(upload: IO[bytes] | bytes, token: str) -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)  # the files are sealed; their names and sizes are nobody's business
    path = folder / f"{token}.upload"
    seal_file(current_cipher(), chunks_of(upload)(), path)
    return path


def import_of(checked: ImportJob) -> ImportJob | None:
    """The import already asked for the checked file, if any."""
    return db.session.scalar(
        select(ImportJob)
        .where(ImportJob.stored_path == checked.stored_path, ImportJob.dry_run.is_(False))
        .order_by(ImportJob.id)
        .limit(1)
    )


@handles(RosterImportRequested.kind)
def _run(payload: dict[str, Any]) -> None:
    run_import_job(int(payload["job_id"]))


def _progress_key(token: str) -> str:
    return f"import-progress:{token}"


def run_import_job(job_id: int, today: date | None = None) -> None:
    """Check (dry run) or import the stored file, or carry on from the job's checkpoint;
    commits its own units of work. A job that has finished is left alone.

    Raises ImportBusy when another worker runs it now.
    """
    job = db.session.get(ImportJob, job_id)
    assert job is not None, f"no import job {job_id}"
    if job.state in (ImportState.DONE, ImportState.FAILED):
        return
    stored = job.stored_path
    with _held(stored) as held:
        if held is None:
            db.session.rollback()
            if not stored or not Path(stored).exists():
                _finish(job_id, ImportState.FAILED, None, GONE)
                return
            raise ImportBusy(f"import job {job_id} is running on another worker")
        _run_held(job, today)


@contextlib.contextmanager
def _held(stored_path: str) -> Iterator[IO[bytes] | None]:
    """The upload, locked for this process (None when missing or locked by another)."""
    if not stored_path:
        yield None
        return
    try:
        upload = open(stored_path, "rb")  # noqa: SIM115 - closed below
    except (FileNotFoundError, IsADirectoryError):
        yield None
        return
    try:
        fcntl.flock(upload.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        upload.close()
        yield None
        return
    try:
        yield upload
    finally:
        upload.close()  # and so unlocked


def _run_held(job: ImportJob, today: date | None) -> None:
    saved = (job.summary or {}).get("checkpoint") if job.state == ImportState.RUNNING else None
    started = _Started.of(saved, today)
    job.state, job.message = ImportState.RUNNING, ""
    job_id, dry_run, stored, key = job.id, job.dry_run, job.stored_path, _progress_key(job.token)
    filename, update_existing, actor_id = job.filename, job.update_existing, job.created_by_id
    huey.put(key, job.rows_done)
    sink = RejectedFile(Path(f"{stored}.{job.token}.rejected"), saved["file"] if saved else None)
    db.session.commit()
    try:
        report = import_roster(
            lambda: open_sealed(current_cipher(), Path(stored)),
            filename,
            dry_run=dry_run,
            update_existing=update_existing,
            actor_id=actor_id,
            progress=lambda rows: huey.put(key, rows),
            today=started.today,
            now=started.now,
            resume=ImportReport.resumed(saved["report"]) if saved else None,
            hooks=Hooks(lambda report: _checkpoint(job_id, report, sink, started), sink),
        )
    except (RosterFormatError, SealedFileError, KeyConfigError) as error:
        db.session.rollback()
        sink.discard()
        _failed(job_id, error)
        return
    except BaseException as error:
        db.session.rollback()
        sink.abort()  # the checkpoint stays: the next delivery carries on from it
        if isinstance(error, Exception):
            _interrupted(job_id)
        raise
    sink.close()
    _finish(job_id, ImportState.DONE, report, "", sink)
    if not dry_run:
        Path(stored).unlink(missing_ok=True)  # imported: the upload has done its work


@dataclass(frozen=True)
class _Started:
    """The day and time one job runs with, the same after a resumption."""

    today: date
    now: datetime

    @classmethod
    def of(cls, saved: dict[str, Any] | None, today: date | None) -> _Started:
        if saved:
            return cls(date.fromisoformat(saved["today"]), datetime.fromisoformat(saved["now"]))
        return cls(today or date.today(), utcnow())


def _checkpoint(job_id: int, report: ImportReport, sink: RejectedFile, started: _Started) -> None:
    """Commit the batch just written together with how far the job got."""
    saved = {
        "report": report.checkpoint(),
        "file": sink.checkpoint(),
        "today": started.today.isoformat(),
        "now": started.now.isoformat(),
    }
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(rows_done=report.rows, summary={"checkpoint": saved})
    )
    db.session.commit()


def _interrupted(job_id: int) -> None:
    """Say on the page that the job stopped and is retried (the job engine retries it)."""
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(
            message=as_text(
                _m("interrupted by an unexpected error; retried from its last checkpoint")
            )
        )
    )
    db.session.commit()


def _failed(job_id: int, error: Exception) -> None:
    """The job failed for its file. The page adds how many rows an import wrote before (its
    rows_done), in the reader's language."""
    job = db.session.get_one(ImportJob, job_id)
    message: Message | str
    if isinstance(error, RosterFormatError):
        message = error.message
    else:
        message = _m("The stored upload could not be opened; upload the file again.")
    Path(job.stored_path).unlink(missing_ok=True)  # nothing more can be done with it
    _finish(job_id, ImportState.FAILED, None, message)


def _finish(
    job_id: int,
    state: ImportState,
    report: ImportReport | None,
    message: Message | str,
    sink: RejectedFile | None = None,
) -> None:
    """End the job; `message` is kept as data (`as_text`) for the page's `|message`."""
    job = db.session.get_one(ImportJob, job_id)
    job.state = state
    job.message = as_text(message)
    job.finished_at = utcnow()
    if report is not None:
        job.rows_done = report.rows
        job.summary = _summary(report, sink)
    else:
        job.summary = None
    db.session.commit()
    huey.get(_progress_key(job.token))  # read once: the key goes


def _summary(report: ImportReport, sink: RejectedFile | None) -> dict[str, Any]:
    data = report.as_json(data=True)
    data["errors"] = data["errors"][:MAX_ERRORS_SHOWN]
    data["warnings"] = [warning.as_data() for warning in report.warnings]
    data["rejected_in_file"] = sink.rows if sink else 0
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


# --- the rejected rows -------------------------------------------------------------------


def rejected_path(job: ImportJob) -> str | None:
    """Where the job's rejected rows are kept (next to its upload, so that they go with it),
    or None once the clean-up has removed them."""
    return f"{job.stored_path}.{job.token}.rejected" if job.stored_path else None


def rejected_rows(job: ImportJob) -> Iterator[bytes] | None:
    """The job's rejected-rows CSV, opened on the fly, or None when there is none (left).
    Raises SealedFileError while reading a damaged file."""
    path = rejected_path(job)
    if path is None or not Path(path).exists():
        return None
    return open_sealed(current_cipher(), Path(path))


def rejected_download(job: ImportJob, fmt: str) -> bytes | None:
    """The job's rejected rows as an XLSX (for spreadsheets) or CSV (for machines) file with
    the upload's column names, or None when there are none (left). Raises SealedFileError for
    a damaged file, ValueError for another format."""
    stored = rejected_rows(job)
    return None if stored is None else rejected_file(stored, fmt)


class RejectedFile:
    """The rejected rows as a sealed CSV (row number, the columns, the reasons), written as
    they come, up to REJECTED_FILE_BYTES; later ones are only counted. Resumable from its
    checkpoint."""

    def __init__(self, path: Path, saved: dict[str, Any] | None) -> None:
        self.path = path
        self.columns = list(COLUMN_LABELS)
        self.rows = saved["rows"] if saved else 0
        self.size = saved["bytes"] if saved else 0
        self.writer: SealedWriter | None = None
        if saved and saved["sealed"]:
            size, segments = saved["sealed"]
            self.writer = SealedWriter(current_cipher(), path, resume=(size, segments))
        else:
            path.unlink(missing_ok=True)  # rows a killed run wrote after its checkpoint

    def add(self, number: int, raw: dict[str, object], reasons: str) -> None:
        line = rejected_line(rejected_cells(number, raw, reasons, self.columns)).encode()
        if self.size + len(line) > REJECTED_FILE_BYTES:
            return
        if self.writer is None:
            self.writer = SealedWriter(current_cipher(), self.path)
            header = ("\ufeff" + rejected_line(["row", *self.columns, "errors"])).encode()
            self.writer.write(header)
            self.size += len(header)
        self.writer.write(line)
        self.rows += 1
        self.size += len(line)

    def checkpoint(self) -> dict[str, Any]:
        sealed = list(self.writer.checkpoint()) if self.writer else None
        return {"rows": self.rows, "bytes": self.size, "sealed": sealed}

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()

    def discard(self) -> None:
        self.abort()
        self.path.unlink(missing_ok=True)
