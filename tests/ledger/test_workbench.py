"""The auditor's ledger workbench: balances at a date, trial balances, reconciliation,
the evidence pack, and read-only access to transfers."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import date

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.coverage.closing import close_month
from portal.coverage.models import Funder
from portal.coverage.remittance import remittance_file
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import Account, EntryKind
from portal.ledger.queries import (
    account_balances,
    balances_at,
    sponsor_balance,
    trial_balance,
    trial_balance_by_company,
    trial_balance_by_funder,
)
from portal.ledger.services import Line, post_entry, record_coverage_consumed
from portal.payments.booking import book_payment, book_refund
from portal.payments.models import Payment, PaymentStatus
from portal.payments.statement import record_statement_import
from portal.workers.services import worker_nik
from tests import factories
from tests.conftest import csrf_token
from tests.coverage import helpers
from tests.ledger import builders

CASH, PREPAID, PAYABLE = Account.CASH, Account.SPONSOR_PREPAID, Account.PAYABLE_BPJS
CITY = Account.CITY_FUNDING
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
THIS_MONTH = date.today().replace(day=1)


def _move(key: str, on: date, amount: int):  # type: ignore[no-untyped-def]
    """City money for an open month: an entry the ledger's checks leave alone."""
    return post_entry(
        EntryKind.COVERAGE_CONSUMED,
        f"city:dbhcht:{key}",
        [Line(CITY, amount), Line(PAYABLE, -amount)],
        booked_on=on,
    )


@pytest.fixture
def sound_ledger(actors):  # type: ignore[no-untyped-def]
    """Two sponsors paid, one used some and had a refund; the city funded a month."""
    a, b = factories.company(legal_name="PT Alfa"), factories.company(legal_name="PT Beta")
    paid_a = builders.payment(a, amount=1_000_000)
    book_payment(paid_a)
    book_payment(builders.payment(b, amount=300_000))
    record_coverage_consumed(a.id, paid_a.pledge_id, THIS_MONTH, 200_000)
    book_refund(builders.refund(paid_a, 50_000))
    post_entry(
        EntryKind.COVERAGE_CONSUMED,
        f"city:apbd:{THIS_MONTH:%Y-%m}",
        [Line(Account.CITY_FUNDING, 84_000), Line(PAYABLE, -84_000)],
    )
    return a, b


def test_trial_balance_sums_to_zero_and_equals_the_ledger_checks_figures(sound_ledger):
    a, b = sound_ledger
    assert check_ledger() == []
    rows = trial_balance(THIS_MONTH)
    assert [row.account for row in rows] == list(Account)
    assert (
        sum(r.debit for r in rows)
        == -sum(r.credit for r in rows)
        == 1_000_000 + 300_000 + 200_000 + 50_000 + 84_000
    )
    assert sum(r.closing for r in rows) == 0
    assert {r.account: r.closing for r in rows} == account_balances()
    by_company = {(r.key, r.account): r for r in trial_balance_by_company(THIS_MONTH)}
    assert -by_company[(str(a.id), PREPAID)].closing == sponsor_balance(a.id) == 750_000
    assert -by_company[(str(b.id), PREPAID)].closing == sponsor_balance(b.id) == 300_000
    for company in (a, b):
        mine = [r for r in by_company.values() if r.key == str(company.id)]
        assert sum(r.debit + r.credit for r in mine) == 0
    funders = trial_balance_by_funder(THIS_MONTH)
    assert {r.key for r in funders} == {"apbd", "pledge"}
    for key in ("apbd", "pledge"):
        assert sum(r.debit + r.credit for r in funders if r.key == key) == 0
    apbd = {r.account: r.debit + r.credit for r in funders if r.key == "apbd"}
    assert apbd == {Account.CITY_FUNDING: 84_000, PAYABLE: -84_000}


def test_balances_at_a_date_exclude_later_entries(app):
    _move("jan", date(2026, 1, 10), 100_000)
    _move("feb", date(2026, 2, 10), 40_000)
    assert balances_at(date(2026, 1, 9))[CITY] == 0
    assert balances_at(date(2026, 1, 31))[CITY] == 100_000
    assert balances_at(date(2026, 2, 10))[CITY] == 140_000
    assert balances_at(date(2026, 1, 31))[PAYABLE] == -100_000


def test_trial_balance_opens_with_the_months_before_and_leaves_later_ones_out(app):
    _move("jan", date(2026, 1, 31), 100_000)
    _move("feb", date(2026, 2, 1), 40_000)
    _move("mar", date(2026, 3, 1), 7_000)
    city = {r.account: r for r in trial_balance(FEB)}[CITY]
    assert (city.opening, city.debit, city.credit, city.closing) == (100_000, 40_000, 0, 140_000)
    january = {r.account: r for r in trial_balance(JAN)}[CITY]
    assert (january.opening, january.debit, january.closing) == (0, 100_000, 100_000)


def test_pages_answer_where_the_rupiah_went(actors, logged_in, sound_ledger):
    a, _ = sound_ledger
    client = logged_in(actors.auditor)
    index = client.get("/ledger/").get_data(as_text=True)
    assert 'id="ledger-ok"' in index and f'data-amount="{account_balances()[CASH]}"' in index
    unbooked = builders.payment(a, amount=5_000)  # paid but never booked: a difference
    page = client.get(f"/ledger/entries?company={a.id}&kind=refund").get_data(as_text=True)
    assert page.count("data-entry=") == 1 and "Refund: unused months" in page
    # the sponsor by name and the kind in words, not ids and codes
    assert ">PT Alfa</a>" in page and f">company {a.id}</a>" not in page
    assert '<span data-kind="refund">Refund</span>' in page
    month = f"{THIS_MONTH:%Y-%m}"
    trial = client.get(f"/ledger/months/{month}")
    assert trial.status_code == 200 and "PT Alfa" in trial.get_data(as_text=True)
    report = client.get(f"/ledger/months/{month}/reconciliation").get_data(as_text=True)
    assert f'data-payment="{unbooked.id}" data-matches="no"' in report
    assert report.count('data-matches="yes"') == 2
    assert 'id="ledger-problems"' in client.get("/ledger/").get_data(as_text=True)
    db.session.delete(unbooked)  # the suite checks the ledger after every test
    assert client.get("/ledger/months/2026-13").status_code == 404


def test_staff_and_sponsors_cannot_open_the_ledger(actors, logged_in):
    for user in (actors.staff, actors.owner, actors.member):
        assert logged_in(user).get("/ledger/").status_code == 403


def test_auditor_reads_transfers_but_cannot_confirm_one(actors, logged_in):
    payment = builders.payment(actors.owner.company, status=PaymentStatus.PENDING)
    payment_id = payment.id
    client = logged_in(actors.auditor)
    page = client.get("/staff/transfers").get_data(as_text=True)
    assert payment.reference in page
    assert (
        f"/staff/transfers/{payment.id}/confirm" not in page
        and "/staff/transfers/statement" not in page
    )
    token = csrf_token(client, "/auth/forgot")
    response = client.post(
        f"/staff/transfers/{payment.id}/confirm",
        data={"amount": payment.amount, "csrf_token": token},
    )
    assert response.status_code == 403
    status = db.session.scalar(select(Payment.status).where(Payment.id == payment_id))
    assert status == PaymentStatus.PENDING
    kept = record_statement_import([], "mutasi.csv", actors.staff)
    result = client.get(f"/staff/transfers/statements/{kept.id}")
    assert result.status_code == 200 and "mutasi.csv" in result.get_data(as_text=True)
    assert "/dismiss" not in result.get_data(as_text=True)
    dismiss = client.post(
        f"/staff/transfers/statements/{kept.id}/dismiss", data={"csrf_token": token}
    )
    assert dismiss.status_code == 403
    staff_page = logged_in(actors.staff).get("/staff/transfers").get_data(as_text=True)
    assert f"/staff/transfers/{payment.id}/confirm" in staff_page


@pytest.fixture
def closed(actors):  # type: ignore[no-untyped-def]
    """This month closed, with a pledge's two workers and one APBD worker covered."""
    pledge, people = helpers.covered_pledge(2, 2, THIS_MONTH, names=("Ani Lestari", "Budi Santoso"))
    people += helpers.city_workers(Funder.APBD, THIS_MONTH, 1)
    close_month(THIS_MONTH, actors.staff)
    return people


def test_evidence_pack_holds_a_manifest_whose_hashes_match_and_no_nik(actors, logged_in, closed):
    response = logged_in(actors.auditor).get(f"/ledger/months/{THIS_MONTH:%Y-%m}/evidence.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    pack = zipfile.ZipFile(io.BytesIO(response.data))
    manifest = json.loads(pack.read("manifest.json"))
    names = {item["name"] for item in manifest["files"]}
    assert names == set(pack.namelist()) - {"manifest.json"}
    assert {"ledger_extract.csv", "audit_extract.csv", "certificates.csv"} <= names
    for item in manifest["files"]:
        assert hashlib.sha256(pack.read(item["name"])).hexdigest() == item["sha256"]
    everything = b"".join(pack.read(name) for name in pack.namelist()).decode("utf-8")
    # a NIK is 16 digits on its own (hex hashes may hold digit runs, and are not NIKs)
    assert not re.search(r"(?<![0-9a-f])\d{16}(?![0-9a-f])", everything)
    for person in closed:
        assert worker_nik(person) not in everything and person.full_name not in everything
    files = {
        row["funder"]: row
        for row in csv.DictReader(
            io.StringIO(pack.read("remittance_files.csv").decode("utf-8-sig"))
        )
    }
    staff_file, _ = remittance_file(THIS_MONTH, "csr", "csv")
    assert files["csr"]["sha256"] == hashlib.sha256(staff_file).hexdigest()
    assert (files["csr"]["rows"], files["apbd"]["rows"], files["dbhcht"]["rows"]) == ("2", "1", "0")
    assert files["apbd"]["amount"] == "16800" and files["dbhcht"]["amount"] == "0"
    ledger = pack.read("ledger_extract.csv").decode("utf-8-sig")
    assert f"city:apbd:{THIS_MONTH:%Y-%m}" in ledger
    taken = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "ledger.evidence_pack"))
    assert taken is not None and taken.actor_id == actors.auditor.id
    assert (
        taken.after["files"]["ledger_extract.csv"]
        == hashlib.sha256(pack.read("ledger_extract.csv")).hexdigest()
    )


def test_evidence_pack_needs_a_closed_month_and_an_auditor_or_admin(actors, logged_in):
    month = f"{THIS_MONTH:%Y-%m}"
    assert logged_in(actors.auditor).get(f"/ledger/months/{month}/evidence.zip").status_code == 404
    for user in (actors.staff, actors.owner):
        assert logged_in(user).get(f"/ledger/months/{month}/evidence.zip").status_code == 403
