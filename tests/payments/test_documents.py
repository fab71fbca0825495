"""Invoice and receipt serial numbers, and the PDFs a sponsor downloads."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime
from io import BytesIO
from typing import Any

from pypdf import PdfReader
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.companies.models import Company
from portal.extensions import db
from portal.messages import _m, as_text
from portal.messages import english as english_text
from portal.payments import documents
from portal.payments.bank_statement import make_transfer_reference
from portal.payments.booking import book_payment
from portal.payments.documents import (
    BankDetails,
    format_serial,
    issue_document,
    render_invoice_pdf,
    render_receipt_pdf,
)
from portal.payments.models import Document, DocumentKind, Payment, PaymentMethod, PaymentStatus
from portal.pledges.models import Pledge, PledgeStatus
from tests import factories

BANK = BankDetails("Bank Jateng", "RKUD Pemerintah Kota Semarang - PIJAR SEMAR", "2-123-45678-9")
TOTAL = 3 * 16_800 * 10 + 3 * 8_400 * 10  # Rp756.000


def _breakdown(workers: int = 10) -> list[dict[str, Any]]:
    """Six months from January 2027; the rate halves from April (a change inside the term)."""
    lines = []
    for month in range(1, 7):
        jkk, jkm = (10_080, 6_720) if month <= 3 else (5_040, 3_360)
        rate = jkk + jkm
        lines.append(
            {
                "month": date(2027, month, 1).isoformat(),
                "jkk": jkk,
                "jkm": jkm,
                "rate": rate,
                "workers": workers,
                "subtotal": rate * workers,
            }
        )
    return lines


def _pledge(company: Company, **changes: Any) -> Pledge:
    owner = factories.user(Role.SPONSOR_OWNER, company=company)
    values: dict[str, Any] = {
        "company_id": company.id,
        "created_by_id": owner.id,
        "status": PledgeStatus.AWAITING_PAYMENT,
        "workers": 10,
        "months": 6,
        "start_month": date(2027, 1, 1),
        "price_total": TOTAL,
        "price_breakdown": _breakdown(),
    }
    pledge = Pledge(**(values | changes))
    db.session.add(pledge)
    db.session.flush()
    return pledge


def _payment(
    pledge: Pledge, method: PaymentMethod = PaymentMethod.BANK_TRANSFER, paid: bool = False
) -> Payment:
    payment = Payment(
        pledge_id=pledge.id,
        company_id=pledge.company_id,
        method=method,
        amount=pledge.price_total,
        reference=make_transfer_reference(date(2026, 11, 5), secrets.token_hex(3)),
        idempotency_key=f"test-{secrets.token_hex(8)}",
        status=PaymentStatus.PAID if paid else PaymentStatus.PENDING,
        paid_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC) if paid else None,
    )
    db.session.add(payment)
    db.session.flush()
    if paid:
        book_payment(payment)
    return payment


def _setup(
    legal_name: str = "PT Uji Coba Sejahtera", paid: bool = False, **pledge_changes: Any
) -> tuple[Company, Pledge, Payment]:
    company = factories.company(legal_name=legal_name, verified=True)
    pledge = _pledge(company, **pledge_changes)
    return company, pledge, _payment(pledge, paid=paid)


def _text(pdf: bytes) -> str:
    """The PDF's text with line breaks and runs of spaces folded into single spaces."""
    reader = PdfReader(BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _local_year(document: Document) -> int:
    return document.issued_at.astimezone(documents.LOCAL_TZ).year


def test_serials_carry_kind_year_and_id_and_differ_between_payments():
    _, _, first = _setup()
    _, _, second = _setup()
    invoice_1 = issue_document(DocumentKind.INVOICE, first)
    invoice_2 = issue_document(DocumentKind.INVOICE, second)
    receipt_1 = issue_document(DocumentKind.RECEIPT, first)
    for document, prefix in ((invoice_1, "INV"), (invoice_2, "INV"), (receipt_1, "KWT")):
        assert re.fullmatch(rf"{prefix}/\d{{4}}/\d{{6}}", document.serial)
        assert document.serial == f"{prefix}/{_local_year(document)}/{document.id:06d}"
    assert len({invoice_1.serial, invoice_2.serial, receipt_1.serial}) == 3


def test_document_copies_company_and_amount_from_the_payment():
    company, _, payment = _setup()
    invoice = issue_document(DocumentKind.INVOICE, payment)
    assert (invoice.company_id, invoice.amount, invoice.payment_id) == (
        company.id,
        TOTAL,
        payment.id,
    )


def test_reissue_returns_the_same_document_and_serial():
    _, _, payment = _setup()
    first = issue_document(DocumentKind.INVOICE, payment)
    serial = first.serial
    again = issue_document(DocumentKind.INVOICE, payment)
    assert again.id == first.id and again.serial == serial
    count = db.session.scalar(
        select(func.count(Document.id)).where(
            Document.payment_id == payment.id, Document.kind == DocumentKind.INVOICE
        )
    )
    assert count == 1


def test_issue_that_loses_a_race_returns_the_winners_document(monkeypatch):
    """No look-up first: the second insert hits the unique key and the winner is returned."""
    _, _, payment = _setup()
    winner = issue_document(DocumentKind.INVOICE, payment)
    real_find = documents._find_document
    calls = []

    def counted(kind, payment_id, refund_id):  # type: ignore[no-untyped-def]
        calls.append(kind)
        return real_find(kind, payment_id, refund_id)

    monkeypatch.setattr(documents, "_find_document", counted)
    assert issue_document(DocumentKind.INVOICE, payment).id == winner.id
    assert calls == [DocumentKind.INVOICE]  # only after the insert lost
    assert (
        db.session.scalar(select(func.count(Document.id)).where(Document.payment_id == payment.id))
        == 1
    )


def test_serial_year_is_the_year_in_semarang():
    new_year_in_semarang = datetime(2026, 12, 31, 18, 30, tzinfo=UTC)  # 01:30 WIB
    assert format_serial(DocumentKind.RECEIPT, new_year_in_semarang, 42) == "KWT/2027/000042"


def test_invoice_pdf_shows_serial_company_total_reference_and_rate_periods():
    company, pledge, payment = _setup(
        "PT Sinar & Jaya Abadi", target_categories=["becak"], target_kecamatan=["33.74.01"]
    )
    invoice = issue_document(DocumentKind.INVOICE, payment)
    pdf = render_invoice_pdf(invoice, payment, pledge, company, BANK)
    text = _text(pdf)
    for expected in (
        invoice.serial,
        "PT Sinar & Jaya Abadi",
        company.nib,
        company.npwp,
        "Rp756.000",
        payment.reference,
        "INVOICE / TAGIHAN",
        "Januari 2027",
        "Jan 2027 – Mar 2027: 3 bulan × 10 pekerja × Rp16.800 = Rp504.000",
        "Apr 2027 – Jun 2027: 3 bulan × 10 pekerja × Rp8.400 = Rp252.000",
        "Bank Jateng",
        "2-123-45678-9",
        "becak",
        "33.74.01",
        "Portal Mitra PIJAR SEMAR — Dinas Tenaga Kerja Kota Semarang",
    ):
        assert expected in text, expected
    metadata = PdfReader(BytesIO(pdf)).metadata
    assert metadata.author == "Pemerintah Kota Semarang"
    assert invoice.serial in metadata.title and metadata.subject


def test_invoice_in_english_uses_english_number_format_and_words():
    company, pledge, payment = _setup()
    invoice = issue_document(DocumentKind.INVOICE, payment)
    text = _text(render_invoice_pdf(invoice, payment, pledge, company, BANK, locale="en"))
    assert "Rp756,000" in text
    assert "Jan 2027 – Mar 2027: 3 months × 10 workers × Rp16,800 = Rp504,000" in text
    assert "all eligible workers" in text


def test_single_month_at_a_rate_is_shown_without_a_range():
    company, pledge, payment = _setup(
        months=1, price_total=168_000, price_breakdown=_breakdown()[:1]
    )
    invoice = issue_document(DocumentKind.INVOICE, payment)
    text = _text(render_invoice_pdf(invoice, payment, pledge, company, BANK))
    assert "Jan 2027: 1 bulan × 10 pekerja × Rp16.800 = Rp168.000" in text


def test_receipt_pdf_says_lunas_with_the_paid_date_and_method():
    company, pledge, payment = _setup(paid=True)
    receipt = issue_document(DocumentKind.RECEIPT, payment)
    text = _text(render_receipt_pdf(receipt, payment, pledge, company))
    for expected in (
        receipt.serial,
        "KWITANSI / RECEIPT",
        "LUNAS",
        company.legal_name,
        "Rp756.000",
        payment.reference,
        "Transfer bank",
        "20 November 2026",
        "semua pekerja yang memenuhi syarat",
    ):
        assert expected in text, expected
    assert "Berita transfer" not in text


def test_bank_details_come_from_the_city_account_config(app):
    bank = BankDetails.from_config(app.config)
    assert bank.bank_name == app.config["CITY_BANK_NAME"]
    assert bank.account_number == app.config["CITY_BANK_ACCOUNT_NUMBER"]


def test_a_refund_reason_the_portal_wrote_is_english_for_the_ledger_and_words_on_the_note(app):
    kept = as_text(_m("Rolled over into pledge #%(id)s.", id=7))
    assert english_text(kept) == "Rolled over into pledge #7."
    assert english_text("sent back by the bank") == "sent back by the bank"  # staff's words
    with app.test_request_context():
        # never the stored JSON: Indonesian, then English
        assert documents._both_languages(kept) == (
            "Dialihkan ke komitmen #7. / Rolled over into pledge #7."
        )
        assert documents._both_languages("sent back by the bank") == "sent back by the bank"
