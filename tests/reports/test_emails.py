"""Sponsors hear when a certificate is issued and when a closed month joins their report."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.certificates.models import Certificate
from portal.coverage.closing import close_month
from portal.extensions import db
from portal.pledges.pricing import add_months
from tests.conftest import run_jobs
from tests.coverage import helpers
from tests.reports.test_reports import placed_pledge

THIS_MONTH = date.today().replace(day=1)


def test_certificate_issued_mail_links_the_pdf_and_the_verify_page(actors, outbox):
    pledge = placed_pledge(actors, men=2, women=0, months=1)
    run_jobs()  # the certificate, then its mail, follow the activation
    certificate = db.session.scalars(
        select(Certificate).where(Certificate.pledge_id == pledge.id)
    ).one()
    mails = [m for m in outbox if certificate.serial in m.subject]
    assert sorted(m.to[0] for m in mails) == sorted([actors.owner.email, actors.member.email])
    body = mails[0].body
    assert f"/certificates/{certificate.id}.pdf" in body
    assert f"/verify/{certificate.serial}" in body


def test_closing_a_month_tells_each_sponsor_its_report_is_ready(actors, outbox):
    month = add_months(THIS_MONTH, -1)
    pledge, _ = helpers.covered_pledge(2, 1, month)
    other, _ = helpers.covered_pledge(1, 1, add_months(month, 1))  # not in the closed month
    close_month(month, actors.staff)
    db.session.commit()
    ready = [m for m in outbox if "laporan dampak" in m.subject]
    assert len(ready) == 1  # the one owner of the pledge's company; not the other sponsor
    assert f"from={month:%Y}-01" in ready[0].body and f"to={month:%Y-%m}" in ready[0].body
    assert other.company_id != pledge.company_id
