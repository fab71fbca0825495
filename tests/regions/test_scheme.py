"""A region's admins set its scheme; a changed bank account is audited, e-mailed to every admin
and printed on the next invoice."""

from __future__ import annotations

from io import BytesIO

from pypdf import PdfReader
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.companies.models import Company
from portal.extensions import db
from portal.payments.models import Document
from portal.pledges import services as pledge_services
from portal.regions.models import SEMARANG, Region
from tests import factories
from tests.conftest import csrf_token, run_jobs

ACCOUNT = {
    "regulation": "Peraturan Wali Kota Semarang Nomor 26 Tahun 2025",
    "bank_name": "Bank Jateng Syariah",
    "bank_account_number": "5-123-45678-9",
    "bank_account_name": "RKUD Kota Semarang - Rekening PIJAR",
    "mail_sender": "PIJAR SEMAR <pijar@semarangkota.go.id>",
}


def _save(client, **values):  # type: ignore[no-untyped-def]
    data = {**ACCOUNT, **values}
    return client.post(
        "/admin/region", data={"csrf_token": csrf_token(client, "/admin/region"), **data}
    )


def test_an_admin_changes_the_account_everyone_is_told_and_the_invoice_shows_it(
    actors, logged_in, outbox
):
    second_admin = factories.user(Role.ADMIN)
    client = logged_in(actors.admin)
    page = client.get("/admin/region").get_data(as_text=True)
    assert "Kota Semarang" in page and 'id="scheme-form"' in page
    response = _save(client)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/region"
    region = db.session.get_one(Region, SEMARANG)
    assert region.bank_account_number == "5-123-45678-9"
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "region.update")).one()
    assert audit.object_id == SEMARANG and audit.actor_id == actors.admin.id
    assert audit.before["bank_account_number"] == ""
    assert audit.after["bank_account_number"] == "5-123-45678-9"
    run_jobs()
    told = sorted(mail.to[0] for mail in outbox)
    assert told == sorted([actors.admin.email, second_admin.email])
    body = outbox[0].body
    assert "5-123-45678-9" in body and "Kota Semarang" in body

    company = db.session.get_one(Company, actors.owner.company_id)
    terms = pledge_services.PledgeTerms(2, 1, pledge_services.earliest_start())
    pledge = pledge_services.create_pledge(company, actors.owner, terms)
    pledge_services.submit_pledge(pledge, company, actors.owner)
    sponsor = logged_in(actors.owner)
    sponsor.post(
        f"/pledges/{pledge.id}/pay/transfer",
        data={"csrf_token": csrf_token(sponsor, f"/pledges/{pledge.id}")},
    )
    invoice = db.session.scalars(select(Document).where(Document.kind == "invoice")).one()
    pdf = sponsor.get(f"/documents/{invoice.id}.pdf")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf.data)).pages)
    assert "5-123-45678-9" in text and "Bank Jateng Syariah" in text


def test_saving_the_same_scheme_again_changes_and_tells_nothing(actors, logged_in, outbox):
    client = logged_in(actors.admin)
    _save(client)
    run_jobs()
    outbox.clear()
    again = _save(client)
    assert again.status_code == 302
    run_jobs()
    assert len(outbox) == 0
    changes = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "region.update"))
    assert len(changes.all()) == 1


def test_a_bad_or_half_account_is_refused_with_the_fields_named(actors, logged_in):
    client = logged_in(actors.admin)
    bad = _save(client, bank_account_number="12ab")
    assert bad.status_code == 400
    assert "Digits, with spaces, dots or dashes between." in bad.get_data(as_text=True)
    half = _save(client, bank_account_name="")
    assert half.status_code == 400
    assert "Give the bank, the number and the name." in half.get_data(as_text=True)
    nameless = _save(client, regulation=" ")
    assert nameless.status_code == 400
    assert db.session.get_one(Region, SEMARANG).regulation.endswith("Nomor 26 Tahun 2025")
    assert db.session.get_one(Region, SEMARANG).bank_account_number == ""


def test_only_admins_set_the_scheme(actors, logged_in):
    for user in (actors.staff, actors.auditor, actors.owner):
        assert logged_in(user).get("/admin/region").status_code == 403
