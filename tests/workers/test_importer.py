"""Roster import into the register: counts, dry run, duplicates, all-or-nothing, CLI."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from portal.workers import importer
from portal.workers.importer import import_roster
from portal.workers.models import Worker, WorkerStatus, WorkerStatusChange
from portal.workers.pii import PiiCipher, current_cipher
from tests import factories

HEADER = "nik;nama;tanggal_lahir;jenis_kelamin;kategori;kelurahan;kecamatan;no_hp\n"
SLAMET = "3374011203850001;Slamet Riyadi;12/03/1985;L;becak;Miroto;Semarang Tengah;081234567890\n"
SRI = "3374045507900002;Sri Wahyuni;15/07/1990;P;pkl;Purwosari;Semarang Utara;\n"
OLD = "3374100101580003;Darmo Sugito;01-01-1958;L;ojek;Mangunharjo;Tembalang;\n"
TODAY = date(2026, 11, 21)


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(rows)).encode()


def _run(data: bytes, name: str = "roster.csv", **options):  # type: ignore[no-untyped-def]
    options.setdefault("dry_run", False)
    options.setdefault("update_existing", False)
    return import_roster(data, name, actor_id=None, today=TODAY, **options)


def _workers() -> int:
    return db.session.scalar(select(func.count(Worker.id)))


def test_import_creates_workers_with_encrypted_nik_and_history():
    report = _run(_csv(SLAMET, SRI))
    assert (report.rows, report.created, report.rejected) == (2, 2, 0)
    sri = db.session.scalar(select(Worker).where(Worker.full_name == "Sri Wahyuni"))
    assert sri.sex == "P" and sri.birth_date == date(1990, 7, 15)
    assert sri.kelurahan_code == "33.74.02.1004"  # Purwosari of Semarang Utara, not of Mijen
    assert "3374045507900002" not in sri.nik_encrypted
    assert current_cipher().decrypt(sri.nik_encrypted) == "3374045507900002"
    assert sri.nik_masked == "3374********0002"
    assert sri.status == WorkerStatus.ELIGIBLE
    history = db.session.scalars(
        select(WorkerStatusChange).where(WorkerStatusChange.worker_id == sri.id)
    ).all()
    assert [h.to_status for h in history] == ["eligible"]
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "worker.import")) == 1


def test_over_age_worker_is_registered_but_not_eligible():
    report = _run(_csv(OLD))
    assert report.created == 1 and report.rejected == 0
    darmo = db.session.scalar(select(Worker).where(Worker.full_name == "Darmo Sugito"))
    assert darmo.status == WorkerStatus.REGISTERED


def test_dry_run_reports_the_same_and_writes_nothing():
    report = _run(_csv(SLAMET, SRI, SRI), dry_run=True)
    assert (report.created, report.rejected) == (2, 1)
    assert _workers() == 0


def test_registered_nik_is_rejected_unless_update_existing():
    _run(_csv(SLAMET))
    again = _run(_csv(SLAMET.replace("Slamet Riyadi", "Slamet R.")))
    assert (again.created, again.updated, again.rejected) == (0, 0, 1)
    [error] = again.errors
    assert error.column == "nik" and "already registered" in error.message.english()
    updated = _run(_csv(SLAMET.replace("Slamet Riyadi", "Slamet R.")), update_existing=True)
    assert (updated.created, updated.updated) == (0, 1)
    assert db.session.scalar(select(Worker.full_name)) == "Slamet R."


def test_every_batch_writes_its_workers_with_one_history_row_each(monkeypatch):
    monkeypatch.setattr(importer, "BATCH", 2)
    staff = factories.user(Role.STAFF)
    report = import_roster(
        _csv(SLAMET, SRI, SRI, OLD),
        "roster.csv",
        dry_run=False,
        update_existing=False,
        actor_id=staff.id,
        today=TODAY,
    )
    assert (report.rows, report.created, report.rejected) == (4, 3, 1)
    workers = db.session.scalars(select(Worker).order_by(Worker.id)).all()
    assert [w.full_name for w in workers] == ["Slamet Riyadi", "Sri Wahyuni", "Darmo Sugito"]
    history = db.session.scalars(select(WorkerStatusChange).order_by(WorkerStatusChange.id)).all()
    assert [(h.worker_id, h.to_status, h.from_status, h.note, h.actor_id) for h in history] == [
        (w.id, w.status, None, "import", staff.id) for w in workers
    ]
    assert [w.status for w in workers] == ["eligible", "eligible", "registered"]
    assert all(
        h.created_at == w.created_at == w.updated_at and w.created_at.tzinfo
        for h, w in zip(history, workers, strict=True)
    )


def test_new_workers_get_the_defaults_and_blank_optional_values_are_null():
    _run(_csv(SRI))
    sri = db.session.scalar(select(Worker))
    assert (sri.phone_encrypted, sri.kpj, sri.dtsen_decile, sri.inactive_reason) == (
        None,
        None,
        None,
        None,
    )
    assert (sri.domicile_flag, sri.other_membership, sri.nik_in_semarang) == (False, False, True)
    assert sri.registered_on == TODAY and sri.address == ""
    _run(_csv(SLAMET))
    slamet = db.session.scalar(select(Worker).where(Worker.full_name == "Slamet Riyadi"))
    assert current_cipher().decrypt(slamet.phone_encrypted) == "081234567890"
    assert slamet.nik_hash == current_cipher().lookup_hash("3374011203850001")


def test_a_failure_half_way_leaves_the_database_unchanged(monkeypatch):
    monkeypatch.setattr(importer, "BATCH", 1)
    calls = {"n": 0}
    original = importer._write

    def failing_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        original(*args, **kwargs)

    monkeypatch.setattr(importer, "_write", failing_write)
    db.session.commit()
    with pytest.raises(RuntimeError):
        _run(_csv(SLAMET, SRI))
    db.session.rollback()
    assert _workers() == 0


def test_rejected_rows_csv_can_be_fixed_and_reimported():
    report = _run(_csv(SLAMET, "3374011203850009;;12/03/1985;L;becak;Miroto;;\n"))
    text = importer.rejected_rows_csv(
        report, ["nik", "name", "birth_date", "sex", "category", "kelurahan", "kecamatan", "phone"]
    )
    lines = text.splitlines()
    assert lines[0].startswith("row,nik,name")
    assert lines[1].startswith("3,3374011203850009,,")
    assert "nama/name" in lines[1] or "name" in lines[1]


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["NIK", "Nama", "Tanggal Lahir", "Jenis Kelamin", "Kategori", "Kode Kelurahan"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_cli_imports_xlsx_with_serial_dates_and_prints_json(app, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(
        _xlsx(
            [
                [
                    "3374014101800005",
                    "Siti Aminah",
                    29221,
                    "P",
                    "Pedagang asongan",
                    "33.74.01.1001",
                ],
                [3.37401e15, "Tukiyem", 29221, "P", "prt", "33.74.01.1001"],
            ]
        )
    )
    result = app.test_cli_runner().invoke(args=["workers", "import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert (payload["rows"], payload["created"], payload["rejected"]) == (2, 1, 1)
    assert payload["errors"][0]["row"] == 3 and payload["errors"][0]["column"] == "nik"
    assert "Excel" in payload["errors"][0]["message"]
    siti = db.session.scalar(select(Worker).where(Worker.full_name == "Siti Aminah"))
    assert siti.birth_date == date(1980, 1, 1)


def test_cli_dry_run_writes_nothing(app, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(_csv(SLAMET))
    result = app.test_cli_runner().invoke(
        args=["workers", "import", str(path), "--dry-run", "--json"]
    )
    assert json.loads(result.stdout.strip().splitlines()[-1])["created"] == 1
    assert _workers() == 0


def test_cli_refuses_a_file_that_is_not_a_roster(app, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"<html><body>not a workbook</body></html>")
    result = app.test_cli_runner().invoke(args=["workers", "import", str(path), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout.strip().splitlines()[-1])["errors"][0]["row"] == 0


def test_rotate_keys_reencrypts_with_the_new_key(app):
    _run(_csv(SLAMET))
    old = app.extensions["pii_cipher"]
    new_key = "2:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
    app.extensions["pii_cipher"] = PiiCipher.from_config(
        f"{new_key},{app.config['NIK_ENCRYPTION_KEYS']}", app.config["NIK_HASH_KEY"]
    )
    try:
        result = app.test_cli_runner().invoke(args=["workers", "rotate-keys"])
        assert result.exit_code == 0, result.output
        worker = db.session.scalar(select(Worker))
        db.session.refresh(worker)
        assert worker.nik_encrypted.startswith("2:")
        assert app.extensions["pii_cipher"].decrypt(worker.nik_encrypted) == "3374011203850001"
    finally:
        app.extensions["pii_cipher"] = old
