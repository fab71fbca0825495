"""Roster uploads as jobs: the request only stores the file, sealed and private; the check
and the import run on workers, commit batch by batch, resume after a crash, and their files
go when the job ends (or after a day)."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import re
import stat
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from flask_babel import get_locale
from sqlalchemy import func, select

from bench.uploads import tiny_lines_csv
from portal import messages
from portal.db import utcnow
from portal.extensions import db
from portal.schedule import delete_roster_files
from portal.workers import importer, jobs
from portal.workers.models import ImportJob, ImportState, Worker, WorkerStatusChange
from portal.workers.pii import current_cipher
from portal.workers.sealed import MAGIC, SealedFileError, SealedWriter, open_sealed, seal_file
from tests.conftest import csrf_token, english, login, run_jobs

NIK = "3374011203850001"
ROSTER = (
    "nik;nama;tanggal_lahir;jenis_kelamin;kategori;kode_kelurahan;no_hp\n"
    f"{NIK};Slamet Riyadi;12/03/1985;L;becak;33.74.01.1001;081234567890\n"
    "3374011203850002;Tanpa Tanggal;;L;becak;33.74.01.1001;\n"
)


def _upload(client: FlaskClient, data: bytes, name: str = "roster.csv") -> str:
    token = csrf_token(client, "/staff/workers/import")
    response = client.post(
        "/staff/workers/import",
        data={"csrf_token": token, "roster": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return str(response.headers["Location"])


class NoWorkerClient(FlaskClient):
    """A browser with no job worker at hand: what a request queues waits (each request in
    its own app context, as in production and as tests/conftest.py's client does)."""

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _job(location: str) -> ImportJob:
    token = location.rstrip("/").rsplit("/", 1)[1]
    job = db.session.scalar(select(ImportJob).where(ImportJob.token == token))
    assert job is not None
    return _fresh(job.id)


def _fresh(job_id: int) -> ImportJob:
    db.session.expire_all()
    return db.session.get_one(ImportJob, job_id)


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_upload_and_its_rejected_rows_are_sealed_private_and_read_back_on_download(
    actors, logged_in
):
    client = logged_in(actors.staff)
    location = _upload(client, ROSTER.encode())
    job = _job(location)
    assert job.state == ImportState.DONE
    upload, rejected = Path(job.stored_path), Path(str(jobs.rejected_path(job)))
    for path in (upload, rejected):
        content = path.read_bytes()
        assert content.startswith(MAGIC) and _private(path)
        for secret in (NIK, "Slamet Riyadi", "Tanpa Tanggal", "081234567890", "3374011203850002"):
            assert secret.encode() not in content, (path, secret)
    assert b"".join(open_sealed(current_cipher(), upload)) == ROSTER.encode()
    page = client.get(location).get_data(as_text=True)
    download = re.search(r'id="rejected-download-csv" href="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    text = client.get(download).get_data(as_text=True)
    assert (
        text.startswith("\ufeffnik;nama;tanggal_lahir;")
        and "Tanpa Tanggal" in text
        and "Slamet" not in text
    )


def test_the_import_deletes_the_upload_and_the_clean_up_its_rejected_rows(actors, logged_in):
    client = logged_in(actors.staff)
    location = _upload(client, ROSTER.encode())
    check = _job(location)
    page = client.get(location).get_data(as_text=True)
    run_url = re.search(r'action="([^"]+/run)"', page).group(1)  # type: ignore[union-attr]
    done = client.post(run_url, data={"csrf_token": csrf_token(client, location)})
    imported = _job(done.headers["Location"])
    assert imported.state == ImportState.DONE and not imported.dry_run
    upload = Path(check.stored_path)
    assert not upload.exists()  # the import ran: the roster is gone at once
    rejected = [Path(str(jobs.rejected_path(job))) for job in (check, imported)]
    assert all(path.exists() for path in rejected)
    assert delete_roster_files(utcnow()) == 2
    assert not any(path.exists() for path in rejected)
    assert db.session.get_one(ImportJob, check.id).stored_path == ""
    assert client.get(done.headers["Location"] + "/rejected.csv").status_code == 404


def test_a_second_confirmation_does_not_start_a_second_import(actors, logged_in):
    client = logged_in(actors.staff)
    location = _upload(client, ROSTER.encode())
    run_url = location + "/run"
    first = client.post(run_url, data={"csrf_token": csrf_token(client, location)})
    again = client.post(run_url, data={"csrf_token": csrf_token(client, location)})
    assert first.headers["Location"] == again.headers["Location"]
    assert db.session.scalar(select(func.count()).where(ImportJob.dry_run.is_(False))) == 1
    assert db.session.scalar(select(func.count(Worker.id))) == 1


def test_the_request_only_stores_the_file_and_the_portal_answers_while_the_check_waits(app, actors):
    """A plain client: nothing runs the queued job until a worker does."""
    db.session.commit()
    client = english(NoWorkerClient(app, app.response_class, use_cookies=True))
    login(client, actors.staff.email)
    started = time.perf_counter()
    location = _upload(client, tiny_lines_csv(200_000))  # under the test client's spooling
    assert time.perf_counter() - started < 5
    job = _job(location)
    assert job.state == ImportState.QUEUED  # the web process did not read the file
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    waiting = client.get(location).get_data(as_text=True)
    assert 'id="progress"' in waiting and 'id="import-failed"' not in waiting
    assert client.get(location + "/status.json").get_json()["done"] is False
    run_jobs()  # a worker
    job = _fresh(job.id)
    assert job.state == ImportState.FAILED and "More than half of the first" in job.message
    assert not Path(job.stored_path).exists()  # a failed check leaves nothing to import
    assert 'id="import-failed"' in client.get(location).get_data(as_text=True)


def test_a_job_that_dies_after_a_batch_resumes_and_writes_each_row_once(app, actors, monkeypatch):
    monkeypatch.setattr(importer, "BATCH", 2)
    rows = ROSTER.splitlines(keepends=True)
    good = [rows[1].replace(NIK[-4:], f"{n:04d}").replace("Slamet", f"P{n}") for n in (1, 3, 4, 6)]
    bad = [rows[2].replace("0002", f"{n:04d}").replace("Tanpa", f"T{n}") for n in (2, 5)]
    data = rows[0] + good[0] + bad[0] + good[1] + good[2] + bad[1] + good[3]
    job = jobs.create_import_job(data.encode(), "r.csv", False, actors.staff.id, dry_run=False)
    db.session.commit()
    checkpoint = jobs._checkpoint

    def dies_on_the_second_batch(job_id, report, sink, started):  # type: ignore[no-untyped-def]
        if report.rows == 4:
            raise RuntimeError("the worker died")  # batch 2 written, not committed
        checkpoint(job_id, report, sink, started)

    monkeypatch.setattr(jobs, "_checkpoint", dies_on_the_second_batch)
    with pytest.raises(RuntimeError):
        jobs.run_import_job(job.id)
    job = _fresh(job.id)
    assert (job.state, job.rows_done) == (ImportState.RUNNING, 2)
    assert "retried from its last checkpoint" in job.message
    assert db.session.scalar(select(func.count(Worker.id))) == 1  # batch 1 only
    monkeypatch.setattr(jobs, "_checkpoint", checkpoint)
    jobs.run_import_job(job.id)
    job = _fresh(job.id)
    assert (job.state, job.message) == (ImportState.DONE, "")
    summary = job.summary or {}
    assert (summary["rows"], summary["created"], summary["rejected"]) == (6, 4, 2)
    assert [e["row"] for e in summary["errors"]] == [3, 6]
    assert db.session.scalar(select(func.count(Worker.id))) == 4
    assert db.session.scalar(select(func.count(WorkerStatusChange.id))) == 4
    text = b"".join(open_sealed(current_cipher(), Path(str(jobs.rejected_path(job))))).decode()
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["3", "6"]


def test_a_job_another_worker_holds_is_left_to_it_and_a_finished_one_alone(actors):
    job = jobs.create_import_job(ROSTER.encode(), "r.csv", False, actors.staff.id)
    db.session.commit()
    with open(job.stored_path, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(jobs.ImportBusy):
            jobs.run_import_job(job.id)
    job = _fresh(job.id)
    assert job.state == ImportState.QUEUED
    jobs.run_import_job(job.id)
    job = _fresh(job.id)
    finished = (job.state, job.finished_at, dict(job.summary or {}))
    jobs.run_import_job(job.id)  # the event delivered again
    job = _fresh(job.id)
    assert (job.state, job.finished_at, job.summary) == finished


def test_the_page_shows_the_first_problems_and_says_how_many_there_are(actors, logged_in):
    client = logged_in(actors.staff)
    location = _upload(client, tiny_lines_csv(1_500))
    page = client.get(location).get_data(as_text=True)
    assert page.count("<tr><td>") == 1_000
    assert "Showing the first 1,000 of 9,000 problems." in page
    assert len(page) < 400_000
    assert 'id="rejected-capped"' not in page


def test_rejected_rows_past_the_file_limit_are_counted_not_written(actors, logged_in, monkeypatch):
    monkeypatch.setattr(jobs, "REJECTED_FILE_BYTES", 2_000)
    client = logged_in(actors.staff)
    location = _upload(client, tiny_lines_csv(100))
    job = _job(location)
    summary = job.summary or {}
    assert summary["rejected"] == 100 and 0 < summary["rejected_in_file"] < 100
    page = client.get(location).get_data(as_text=True)
    assert "The file holds the first" in page
    text = b"".join(open_sealed(current_cipher(), Path(str(jobs.rejected_path(job)))))
    assert len(text) <= 2_000 and text.decode().count("\n") == summary["rejected_in_file"] + 1


def test_the_clean_up_gives_up_a_job_stalled_for_a_day(actors):
    job = jobs.create_import_job(ROSTER.encode(), "r.csv", False, actors.staff.id)
    job.state = ImportState.RUNNING
    job.created_at = utcnow() - timedelta(hours=25)
    db.session.flush()
    upload = Path(job.stored_path)
    assert delete_roster_files(utcnow()) == 1
    job = _fresh(job.id)
    assert (job.state, job.stored_path) == (ImportState.FAILED, "")
    assert not upload.exists()


def test_a_sealed_file_changed_or_cut_short_does_not_open(tmp_path):
    cipher = current_cipher()
    path = tmp_path / "f.upload"
    seal_file(cipher, [b"x" * 200_000], path)
    data = path.read_bytes()
    assert b"".join(open_sealed(cipher, path)) == b"x" * 200_000
    for broken in (data[:-1], data[:-40], data[:100] + bytes([data[100] ^ 1]) + data[101:]):
        path.write_bytes(broken)
        with pytest.raises(SealedFileError):
            b"".join(open_sealed(cipher, path))


def test_a_sealed_writer_carries_on_from_its_checkpoint(tmp_path):
    cipher = current_cipher()
    path = tmp_path / "r.rejected"
    writer = SealedWriter(cipher, path)
    writer.write(b"first\n")
    mark = writer.checkpoint()
    writer.write(b"lost\n")
    writer.checkpoint()
    writer.abort()
    assert _private(path)
    resumed = SealedWriter(cipher, path, resume=mark)
    resumed.write(b"second\n")
    resumed.close()
    assert b"".join(open_sealed(cipher, path)) == b"first\nsecond\n"


def test_a_row_error_is_kept_as_message_data_and_shown_in_the_readers_language(
    actors, logged_in, monkeypatch
):
    client = logged_in(actors.staff)
    location = _upload(client, ROSTER.encode())
    job = _job(location)
    # the job (no request, no language) keeps the message as data, not as English text
    assert (job.summary or {})["errors"] == [
        {
            "row": 3,
            "column": "birth_date",
            "message": {"msgid": "Birth date is required.", "params": {}},
        }
    ]
    # the page and the rejected rows' file show it through the catalogue, in the reader's
    # language (a catalogue with this message translated stands in for the real one)
    indonesian = {
        "Birth date is required.": "Tanggal lahir wajib diisi.",
        "row %(row)s: %(reasons)s": "baris %(row)s: %(reasons)s",
    }
    gettext = messages.flask_babel.gettext

    def translated(msgid: str, **params: object) -> str:
        if msgid in indonesian and str(get_locale()) == "id":
            return indonesian[msgid] % params
        return gettext(msgid, **params)

    monkeypatch.setattr(messages.flask_babel, "gettext", translated)
    client.set_cookie("lang", "id")
    page = client.get(location).get_data(as_text=True)
    table = page[page.index('id="errors"') :]
    assert "Tanggal lahir wajib diisi." in table and "Birth date is required." not in table
    download = re.search(r'id="rejected-download-csv" href="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    [row] = list(
        csv.DictReader(io.StringIO(client.get(download).get_data(as_text=True)[1:]), delimiter=";")
    )
    assert row["alasan"] == "baris 3: tanggal_lahir/birth_date: Tanggal lahir wajib diisi."
    # English readers read English
    page = english(client).get(location).get_data(as_text=True)
    assert "Birth date is required." in page[page.index('id="errors"') :]


def test_a_failed_check_keeps_its_reason_as_data_and_the_page_shows_it(actors, logged_in):
    client = logged_in(actors.staff)
    location = _upload(client, b"nik;nama\n1;2\n")
    job = _job(location)
    assert job.state == ImportState.FAILED
    stored = json.loads(job.message)
    assert stored["msgid"].startswith("The file is missing required columns: %(missing)s")
    assert stored["params"]["found"] == "nik, nama"
    page = english(client).get(location).get_data(as_text=True)
    failed = page[page.index('id="import-failed"') :]
    assert "The file is missing required columns: tanggal_lahir/birth_date" in failed
    assert "msgid" not in failed
