"""`--region CODE` on the commands that act in one region (Kota Semarang when omitted), the
national commands that visit every region, and `ledger check` per region and in total."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from portal.audit.services import record_event
from portal.auth.models import Role, User
from portal.claims.models import Claim
from portal.coverage.models import Coverage, Funder, MonthClose, Remittance
from portal.db import utcnow
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import LedgerEntry
from portal.matching.models import MatchRun
from portal.payments.models import IssueKind, Payment, PaymentIssue
from portal.pledges.services import earliest_start
from portal.regions.scope import all_regions, serving
from portal.regions.services import add_region
from portal.workers.models import Worker
from portal.workers.pii import PiiCipher
from portal.workers.services import worker_nik
from tests import factories
from tests.claims.files import claim_csv
from tests.coverage import helpers
from tests.matching import builders

KUDUS = "33.19"
BAKALANKRAPYAK = "33.19.01.2001"  # a desa of Kaliwungu, Kabupaten Kudus
MONTH = date.today().replace(day=1)
KEY = f"{MONTH:%Y-%m}"
ROSTER = "nik;nama;tanggal_lahir;jenis_kelamin;kategori;kelurahan;kecamatan;no_hp\n"
SLAMET = "3374011203850001;Slamet Riyadi;12/03/1985;L;becak;Miroto;Semarang Tengah;\n"
NEW_KEY = "2:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
SUKIRMAN = "3319011203850001;Sukirman;12/03/1985;L;becak;Bakalankrapyak;Kaliwungu;\n"


def _run(app, *args: str):  # type: ignore[no-untyped-def]
    """The data prepared so far is committed first, as it would be before a real command."""
    db.session.commit()
    return app.test_cli_runner().invoke(args=list(args))


def _kudus_workers(count: int) -> list[int]:
    with serving(KUDUS):
        return [factories.worker(kelurahan_code=BAKALANKRAPYAK).id for _ in range(count)]


def _by_region(*columns):  # type: ignore[no-untyped-def]
    """Rows of every region, sorted: what a command wrote, and where."""
    with all_regions():
        return sorted(db.session.execute(select(*columns)).tuples())


@pytest.fixture
def kudus(app) -> str:  # type: ignore[no-untyped-def]
    add_region(KUDUS)
    db.session.flush()
    return KUDUS


@pytest.mark.parametrize(
    "args",
    [
        ("workers", "import", "ROSTER"),
        ("match", "list"),
        ("match", "propose", "--month", KEY),
        ("coverage", "close-month", KEY),
        ("remittance", "mark", KEY, "--funder", "apbd", "--reference", "X"),
        ("claims", "import", "ROSTER"),
        ("payments", "issues"),
        ("privacy", "breach-notice", "--since", "2026-01-01"),
        ("create-admin", "admin.kudus@example.com"),
        ("ledger", "check"),
    ],
)
def test_an_unknown_region_exits_2_and_writes_nothing(app, kudus, tmp_path: Path, args):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER + SUKIRMAN)
    args = tuple(str(roster) if a == "ROSTER" else a for a in args)
    result = _run(app, *args, "--region", "33.99")
    assert result.exit_code == 2, result.output
    assert "no region 33.99" in result.output
    assert _by_region(Worker.id) == [] and _by_region(MonthClose.id) == []
    assert _by_region(MatchRun.id) == []


def test_workers_import_fills_the_register_of_the_region_named(app, kudus, tmp_path: Path):
    kudus_file, semarang_file = tmp_path / "kudus.csv", tmp_path / "semarang.csv"
    kudus_file.write_text(ROSTER + SUKIRMAN)
    semarang_file.write_text(ROSTER + SLAMET)
    assert _run(app, "workers", "import", str(kudus_file), "--region", KUDUS).exit_code == 0
    assert _run(app, "workers", "import", str(semarang_file)).exit_code == 0
    assert _by_region(Worker.full_name, Worker.region_code) == [
        ("Slamet Riyadi", "33.74"),
        ("Sukirman", KUDUS),
    ]
    # Kota Semarang's register knows no Kaliwungu: the Kudus row is refused there.
    refused = _run(app, "workers", "import", str(kudus_file), "--update-existing", "--json")
    assert json.loads(refused.stdout.splitlines()[-1])["rejected"] == 1


def test_match_commands_act_on_the_runs_of_the_region_named(app, kudus, actors, outbox):
    month = earliest_start()
    _kudus_workers(2)
    with serving(KUDUS):
        pledge = builders.paid_pledge(builders.sponsor(), workers=1, months=1, start=month).id
        staff = factories.user(Role.STAFF, email="staf@kudus.example.com").email
    proposed = _run(app, "match", "propose", "--month", f"{month:%Y-%m}", "--region", KUDUS)
    assert proposed.exit_code == 0, proposed.output
    assert f"--region {KUDUS}" in proposed.output  # the approval hint names the region
    [(run_id, region)] = _by_region(MatchRun.id, MatchRun.region_code)
    assert region == KUDUS
    assert "No runs yet." in _run(app, "match", "list").output
    assert f"{run_id:>6}" in _run(app, "match", "list", "--region", KUDUS).output
    assert "does not exist" in _run(app, "match", "approve", str(run_id)).output
    semarang_staff = _run(
        app, "match", "approve", str(run_id), "--region", KUDUS, "--by", actors.staff2.email
    )
    assert semarang_staff.exit_code == 2 and "an account of region 33.74" in semarang_staff.output
    approved = _run(app, "match", "approve", str(run_id), "--region", KUDUS, "--by", staff)
    assert approved.exit_code == 0 and "1 coverage rows written" in approved.output
    assert _by_region(Coverage.pledge_id, Coverage.region_code) == [(pledge, KUDUS)]
    semarang_run = json.loads(
        _run(app, "match", "propose", "--month", f"{month:%Y-%m}", "--json").output
    )["run_id"]
    elsewhere = _run(app, "match", "discard", str(semarang_run), "--region", KUDUS)
    assert elsewhere.exit_code == 1 and "does not exist" in elsewhere.output
    assert _run(app, "match", "discard", str(semarang_run)).exit_code == 0


def test_close_month_closes_the_region_named_only(app, kudus):
    worker = _kudus_workers(1)[0]
    with serving(KUDUS):
        builders.city_coverage(worker, MONTH)
    closed = _run(app, "coverage", "close-month", KEY, "--region", KUDUS)
    assert closed.exit_code == 0, closed.output
    assert "apbd            1 workers  Rp16,800" in closed.output
    assert _by_region(MonthClose.region_code) == [(KUDUS,)]
    semarang = _run(app, "coverage", "close-month", KEY)
    assert semarang.exit_code == 0 and "apbd            0 workers  Rp0" in semarang.output
    assert _by_region(MonthClose.region_code) == [(KUDUS,), ("33.74",)]


def test_import_city_covers_the_workers_of_the_region_named(app, kudus, tmp_path: Path):
    worker = _kudus_workers(1)[0]
    with serving(KUDUS):
        nik = worker_nik(db.session.get_one(Worker, worker))
    path = tmp_path / "kota.csv"
    path.write_text(f"nik\n{nik}\n")
    args = ("coverage", "import-city", str(path), "--funder", "apbd", "--month", KEY)
    refused = _run(app, *args)
    assert refused.exit_code == 1 and "no worker with this NIK" in refused.output
    covered = _run(app, *args, "--region", KUDUS)
    assert covered.exit_code == 0, covered.output
    assert _by_region(Coverage.worker_id, Coverage.region_code) == [(worker, KUDUS)]


def test_remittance_export_and_mark_take_the_region_named(app, kudus, tmp_path, monkeypatch):
    workers = _kudus_workers(2)
    with serving(KUDUS):
        for worker in workers:
            builders.city_coverage(worker, MONTH)
        niks = {worker_nik(db.session.get_one(Worker, w)) for w in workers}
    helpers.city_workers(Funder.APBD, MONTH, 1)  # Semarang's, in a month it has not closed
    assert _run(app, "coverage", "close-month", KEY, "--region", KUDUS).exit_code == 0
    refused = _run(app, "remittance", "export", KEY, "--funder", "apbd")
    assert refused.exit_code == 1 and "not closed" in refused.output
    monkeypatch.chdir(tmp_path)
    written = _run(app, "remittance", "export", KEY, "--funder", "apbd", "--region", KUDUS)
    assert written.exit_code == 0, written.output
    body = (tmp_path / f"remittance-{KUDUS}-{KEY}-apbd.csv").read_text(encoding="utf-8-sig")
    assert {row[0] for row in list(csv.reader(io.StringIO(body)))[1:]} == niks
    args = ("remittance", "mark", KEY, "--funder", "apbd", "--reference", "BPD-KDS-1")
    assert "not closed" in _run(app, *args).output
    assert _run(app, *args, "--region", KUDUS).exit_code == 0
    assert _by_region(Remittance.region_code, Remittance.workers) == [(KUDUS, 2)]


def test_claims_import_records_the_claims_of_the_region_named(app, kudus, tmp_path: Path):
    worker = _kudus_workers(1)[0]
    with serving(KUDUS):
        builders.city_coverage(worker, MONTH)
        nik = worker_nik(db.session.get_one(Worker, worker))
    path = tmp_path / "klaim.csv"
    path.write_bytes(claim_csv((nik, f"{MONTH:%d/%m/%Y}", "jkk", "1500000", "")))
    assert _run(app, "claims", "import", str(path)).exit_code == 1  # no such worker in Semarang
    recorded = _run(app, "claims", "import", str(path), "--region", KUDUS)
    assert recorded.exit_code == 0, recorded.output
    assert _by_region(Claim.worker_id, Claim.region_code) == [(worker, KUDUS)]


def test_payments_issues_lists_the_issues_of_the_region_named(app, kudus):
    semarang = builders.paid_pledge(builders.sponsor("PT Semarang"), 1, 1, earliest_start())
    with serving(KUDUS):
        pledge = builders.paid_pledge(builders.sponsor("PT Kudus"), 1, 1, earliest_start())
        payment = db.session.scalar(select(Payment.id).where(Payment.pledge_id == pledge.id))
        db.session.add(
            PaymentIssue(
                kind=IssueKind.OVERPAYMENT,
                pledge_id=pledge.id,
                company_id=pledge.company_id,
                payment_id=payment,
                amount=5_000,
            )
        )
    db.session.add(
        PaymentIssue(
            kind=IssueKind.UNDERPAYMENT,
            pledge_id=semarang.id,
            company_id=semarang.company_id,
            amount=7_000,
        )
    )
    in_kudus = _run(app, "payments", "issues", "--region", KUDUS).output
    assert "overpayment" in in_kudus and "underpayment" not in in_kudus
    assert "1 open issue(s)" in in_kudus
    in_semarang = _run(app, "payments", "issues").output
    assert "underpayment" in in_semarang and "overpayment" not in in_semarang


def test_breach_notice_reads_the_audit_trail_of_the_region_named(app, kudus, actors):
    worker = _kudus_workers(1)[0]
    with serving(KUDUS):
        record_event("worker.view_pii", db.session.get_one(Worker, worker), actor=None)
    since = (date.today() - timedelta(days=1)).isoformat()
    args = ("privacy", "breach-notice", "--since", since, "--json")

    def opened(*more: str) -> int:
        notice = json.loads(_run(app, *args, *more).output)
        return sum(a["events"] for a in notice["accesses"] if a["action"] == "worker.view_pii")

    assert opened() == 0
    assert opened("--region", KUDUS) == 1


def test_create_admin_makes_an_admin_of_the_region_named(app, kudus):
    result = _run(app, "create-admin", "admin@kudus.example.com", "--region", KUDUS)
    assert result.exit_code == 0, result.output
    assert _run(app, "create-admin", "admin@semarang.example.com").exit_code == 0
    made = db.session.execute(
        select(User.email, User.region_code).where(User.email.like("admin@%.example.com"))
    )
    assert sorted(made.tuples()) == [
        ("admin@kudus.example.com", KUDUS),
        ("admin@semarang.example.com", "33.74"),
    ]


def test_offer_renewals_visits_every_region(app, kudus, outbox):
    semarang, _ = helpers.covered_pledge(1, 1, MONTH)
    with serving(KUDUS):
        kudus_pledge = helpers.covered_pledge(1, 1, MONTH)[0].id
    result = _run(app, "coverage", "offer-renewals")
    assert result.exit_code == 0, result.output
    assert f"{KUDUS} Kabupaten Kudus: renewal offered for 1 pledge(s): #{kudus_pledge}" in (
        result.output
    )
    assert f"33.74 Kota Semarang: renewal offered for 1 pledge(s): #{semarang.id}" in (
        result.output
    )
    assert "Renewal offered for 2 pledge(s)." in result.output


def test_sync_stripe_visits_every_region(app, kudus):
    synced = _run(app, "payments", "sync-stripe")
    assert synced.exit_code == 0, synced.output
    assert f"{KUDUS} Kabupaten Kudus: refunds sent: 0" in synced.output
    assert "33.74 Kota Semarang: refunds sent: 0" in synced.output


def test_rotate_keys_reencrypts_the_workers_of_every_region(app, kudus):
    _kudus_workers(2)
    factories.worker()
    old = app.extensions["pii_cipher"]
    app.extensions["pii_cipher"] = PiiCipher.from_config(
        f"{NEW_KEY},{app.config['NIK_ENCRYPTION_KEYS']}", app.config["NIK_HASH_KEY"]
    )
    try:
        rotated = _run(app, "workers", "rotate-keys")
    finally:
        app.extensions["pii_cipher"] = old
    assert rotated.exit_code == 0, rotated.output
    assert f"{KUDUS} Kabupaten Kudus: 2 workers re-encrypted." in rotated.output
    assert "33.74 Kota Semarang: 1 workers re-encrypted." in rotated.output
    assert "3 workers re-encrypted with key 2." in rotated.output
    db.session.expire_all()
    keys = {nik.split(":")[0] for (nik,) in _by_region(Worker.nik_encrypted)}
    assert keys == {"2"}


# ledger check ------------------------------------------------------------------------------


def _orphan_entry(region: str) -> int:
    """An entry without lines, written with raw SQL into a region's ledger."""
    db.session.execute(
        text(
            "INSERT INTO ledger_entry (region_code, kind, source_key, memo, booked_on, created_at)"
            " VALUES (:region, 'remittance', :key, '', :today, :now)"
        ),
        {"region": region, "key": f"raw:{region}", "today": date.today(), "now": utcnow()},
    )
    with all_regions():
        return db.session.scalar(select(func.max(LedgerEntry.id)))


def test_ledger_check_reports_each_region_and_the_total(app, kudus):
    with serving(KUDUS):
        builders.paid_pledge(builders.sponsor(), 1, 1, earliest_start())
    result = _run(app, "ledger", "check")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{KUDUS} Kabupaten Kudus: ledger OK, 1 entries, 2 lines",
        "33.74 Kota Semarang: ledger OK, 0 entries, 0 lines",
        "All regions: ledger OK, 1 entries, 2 lines",
    ]
    one = _run(app, "ledger", "check", "--region", KUDUS)
    assert one.output.splitlines() == [f"{KUDUS} Kabupaten Kudus: ledger OK, 1 entries, 2 lines"]


def test_ledger_check_fails_when_one_region_is_broken(app, kudus):
    entry = _orphan_entry(KUDUS)
    result = _run(app, "ledger", "check")
    assert result.exit_code == 1, result.output
    assert f"{KUDUS} Kabupaten Kudus: ledger BROKEN, 1 problem(s)" in result.output
    assert f"entry {entry} (remittance raw:{KUDUS}) has no lines" in result.output
    assert "33.74 Kota Semarang: ledger OK" in result.output
    assert "All regions: ledger BROKEN, 1 problem(s)" in result.output
    assert _run(app, "ledger", "check", "--region", "33.74").exit_code == 0
    assert _run(app, "ledger", "check", "--region", KUDUS).exit_code == 1
    assert check_ledger() == []  # Semarang's own ledger is sound


def test_ledger_check_in_total_finds_a_line_naming_another_regions_payment(app, kudus):
    semarang = builders.paid_pledge(builders.sponsor(), 1, 1, earliest_start())
    payment = db.session.scalar(select(Payment.id).where(Payment.pledge_id == semarang.id))
    entry = _orphan_entry(KUDUS)
    for amount in (100, -100):
        db.session.execute(
            text(
                "INSERT INTO ledger_line (entry_id, account, amount, payment_id)"
                " VALUES (:entry, 'cash', :amount, :payment)"
            ),
            {"entry": entry, "amount": amount, "payment": payment},
        )
    result = _run(app, "ledger", "check")
    assert result.exit_code == 1
    assert f"names payment {payment} of region 33.74" in result.output
    assert f"{KUDUS} Kabupaten Kudus: ledger OK" in result.output
    assert "All regions: ledger BROKEN" in result.output
