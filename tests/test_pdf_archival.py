"""Every PDF the portal makes is fit for an archive: `qpdf --check` (Debian's qpdf) finds its
structure sound, its fonts are embedded, it declares PDF/A-2b in its XMP metadata with an sRGB
output intent, and names beyond ASCII survive as text."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from io import BytesIO

import pytest
from defusedxml import ElementTree
from flask import Flask
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from sqlalchemy import select

from portal.auth.models import Role
from portal.certificates.pdf import read_signed_payload, render_certificate
from portal.companies.models import Company
from portal.extensions import db
from portal.payments.documents import (
    BankDetails,
    issue_document,
    render_invoice_pdf,
    render_receipt_pdf,
    render_refund_pdf,
)
from portal.payments.models import Document, DocumentKind, Payment, Refund
from portal.reports import documents
from portal.reports.models import TjslStatement
from tests import factories
from tests.conftest import csrf_token
from tests.matching import builders
from tests.reports.test_documents import build_report
from tests.reports.test_tjsl import YEAR, filed  # noqa: F401  (the TJSL year as a fixture)

NAME = "PT Nguyễn Thị Ánh Ağaoğlu Şükrü"
WORKER = "Nguyễn Thị Ánh Şükrü Ağaoğlu"
EMBEDDED = ("/FontFile", "/FontFile2", "/FontFile3")
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
PDFAID = "{http://www.aiim.org/pdfa/ns/id/}"
DC = "{http://purl.org/dc/elements/1.1/}"
PAYLOAD = {
    "serial": "PJS-2026-0000000001",
    "pledge": 7,
    "company": NAME,
    "nib": "9100000000001",
    "period_from": "2026-01",
    "period_to": "2026-06",
    "workers": 10,
    "worker_months": 60,
    "amount": 1_008_000,
    "paid": 1_008_000,
    "kind": "active",
    "issued_at": "2026-01-05T03:00:00+00:00",
}


def _fonts(reader: PdfReader) -> Iterator[DictionaryObject]:
    """Every font a page uses, the descendants of a composite font included."""
    for page in reader.pages:
        resources = page["/Resources"].get_object()
        for font in resources.get("/Font", DictionaryObject()).get_object().values():
            font = font.get_object()
            yield font
            for descendant in font.get("/DescendantFonts", []):
                yield descendant.get_object()


def qpdf_check(data: bytes) -> str:
    """What `qpdf --check` reports as wrong with a PDF (empty when nothing is)."""
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        message = "qpdf not found: `apt-get install qpdf` (.ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        result = subprocess.run(
            [qpdf, "--check", handle.name], capture_output=True, text=True, check=False
        )
    return "" if result.returncode == 0 else result.stdout + result.stderr


def test_qpdf_finds_a_damaged_pdf() -> None:
    data = render_certificate(dict(PAYLOAD), '{"serial": 1}', "c2ln", "https://x.test/verify/1")
    assert qpdf_check(data) == ""
    damaged = data.replace(b"/Type /Page\n", b"/Type /Pgae\n", 1)
    assert damaged != data
    assert "should be /Page" in qpdf_check(damaged)


def assert_archival(data: bytes, *names: str) -> None:
    assert qpdf_check(data) == "", "qpdf finds the PDF damaged"
    reader = PdfReader(BytesIO(data))
    fonts = list(_fonts(reader))
    assert fonts, "the document draws no text"
    for font in fonts:
        if font["/Subtype"] == "/Type0":
            continue  # its glyphs live in its descendant, checked on its own
        descriptor = font.get("/FontDescriptor")
        assert descriptor is not None, f"{font['/BaseFont']} is a standard font, not embedded"
        assert any(key in descriptor.get_object() for key in EMBEDDED), font["/BaseFont"]
    root = reader.trailer["/Root"]
    xmp = ElementTree.fromstring(root["/Metadata"].get_object().get_data())
    pdfa = [d.attrib for d in xmp.iter(f"{RDF}Description") if f"{PDFAID}part" in d.attrib]
    assert pdfa == [{f"{RDF}about": "", f"{PDFAID}part": "2", f"{PDFAID}conformance": "B"}]
    title = xmp.find(f".//{DC}title/{RDF}Alt/{RDF}li")
    assert title is not None and title.text == (reader.metadata or {})["/Title"]
    (intent,) = root["/OutputIntents"]
    intent = intent.get_object()
    assert intent["/S"] == "/GTS_PDFA1"
    assert intent["/DestOutputProfile"].get_object().get_data()[36:40] == b"acsp"  # an ICC
    assert root["/Lang"]
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for name in names:
        assert name in text


@pytest.fixture
def english(app: Flask) -> Iterator[None]:
    with app.app_context(), app.test_request_context(headers={"Cookie": "lang=en"}):
        yield


def test_the_certificate_is_archival_and_keeps_its_signed_payload() -> None:
    data = render_certificate(dict(PAYLOAD), '{"serial": 1}', "c2ln", "https://x.test/verify/1")
    assert_archival(data, NAME)
    assert read_signed_payload(data) == ('{"serial": 1}', "c2ln")


def test_invoice_receipt_and_refund_note_are_archival(app: Flask) -> None:
    company = factories.company(legal_name=NAME, verified=True)
    factories.user(Role.SPONSOR_OWNER, company=company)
    pledge = builders.paid_pledge(company, workers=2, months=3, start=date(2027, 1, 1))
    payment = db.session.scalars(select(Payment).where(Payment.pledge_id == pledge.id)).one()
    bank = BankDetails("Bank Jateng", "RKUD Kota Semarang", "2-123-45678-9")
    invoice = issue_document(DocumentKind.INVOICE, payment)
    receipt = issue_document(DocumentKind.RECEIPT, payment)
    when = datetime(2027, 2, 1, 3, 0, tzinfo=UTC)
    refund = Refund(amount=16_800, reason="Pekerja pindah ke Şırnak", created_at=when)
    note = Document(serial="NPD/2027/000001", issued_at=when, amount=refund.amount)
    assert_archival(render_invoice_pdf(invoice, payment, pledge, company, bank), NAME)
    assert_archival(render_receipt_pdf(receipt, payment, pledge, company, "en"), NAME)
    assert_archival(render_refund_pdf(note, refund, payment, pledge, company), NAME, "Şırnak")


def test_pledge_and_period_reports_are_archival(english: None) -> None:
    report = build_report(company=NAME)
    assert_archival(documents.report_pdf(report), NAME)
    period = replace(report, scope="period", pledge_id=None, pseudonyms=())
    assert_archival(documents.report_pdf(period), NAME, "All pledges in the period")


@pytest.mark.usefixtures("filed")
def test_the_tjsl_report_and_statement_are_archival(logged_in, actors):  # type: ignore[no-untyped-def]
    db.session.get_one(Company, actors.owner.company_id).legal_name = NAME
    db.session.commit()
    client = logged_in(actors.owner)
    assert_archival(client.get(f"/reports/tjsl/{YEAR}.pdf").data, NAME)
    token = csrf_token(client, "/reports")
    client.post(f"/reports/tjsl/{YEAR}/statement", data={"csrf_token": token})
    statement = db.session.scalars(select(TjslStatement)).one()
    assert_archival(client.get(f"/reports/tjsl/statements/{statement.id}.pdf").data, NAME)


def test_the_privacy_export_is_archival(logged_in, actors):  # type: ignore[no-untyped-def]
    worker = factories.worker(full_name=WORKER)
    response = logged_in(actors.staff).get(f"/staff/workers/{worker.id}/privacy/export.pdf")
    assert response.status_code == 200
    assert_archival(response.data, WORKER)
