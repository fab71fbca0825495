"""Invoices, receipts and refund notes: serial numbers issued once, and their PDFs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import force_locale
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, StyleSheet1
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.companies.models import Company
from portal.db import utcnow
from portal.extensions import db
from portal.i18n import long_date, month_label, rupiah
from portal.messages import english as english_text
from portal.messages import shown
from portal.payments.models import Document, DocumentKind, Payment, PaymentMethod, Refund
from portal.pdf import ArchivalDocument, ArchivalTable, stylesheet
from portal.pledges.models import Pledge
from portal.pledges.pricing import RatePeriod, group_periods
from portal.regions.models import Region

LOCAL_TZ = ZoneInfo("Asia/Jakarta")  # Semarang is on WIB; the issue year is the local year
ISSUER = "Portal Mitra PIJAR SEMAR — Dinas Tenaga Kerja Kota Semarang"
AUTHOR = "Pemerintah Kota Semarang"
SERIAL_PREFIX = {
    DocumentKind.INVOICE: "INV",
    DocumentKind.RECEIPT: "KWT",
    DocumentKind.REFUND: "RFD",
}

_DOCUMENT = Document.__table__
_INSERT_DOCUMENT = insert(_DOCUMENT).returning(_DOCUMENT.c.id)
_SET_SERIAL = (
    update(_DOCUMENT)
    .where(_DOCUMENT.c.id == bindparam("document_id"))
    .values(serial=bindparam("final_serial"))
)

_WORDS = {
    "id": {
        "months": "bulan",
        "workers": "pekerja",
        "all": "semua pekerja yang memenuhi syarat",
        "stripe": "Stripe",
        "bank_transfer": "Transfer bank",
    },
    "en": {
        "months": "months",
        "workers": "workers",
        "all": "all eligible workers",
        "stripe": "Stripe",
        "bank_transfer": "Bank transfer",
    },
}


@dataclass(frozen=True)
class BankDetails:
    """The account a sponsor transfers to: the region's, as its admins set it, else the
    installation's default (CITY_BANK_*)."""

    bank_name: str
    account_name: str
    account_number: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BankDetails:
        return cls(
            config["CITY_BANK_NAME"],
            config["CITY_BANK_ACCOUNT_NAME"],
            config["CITY_BANK_ACCOUNT_NUMBER"],
        )

    @classmethod
    def of_region(cls, region: Region | None, config: Mapping[str, Any]) -> BankDetails:
        if region is not None and region.bank_account_number:
            return cls(region.bank_name, region.bank_account_name, region.bank_account_number)
        return cls.from_config(config)


# Issuing ---------------------------------------------------------------------------------


def issue_document(kind: DocumentKind, payment: Payment, refund: Refund | None = None) -> Document:
    """The payment's (or refund's) document of this kind, created once; its serial never
    changes.

    A repeated call, or a concurrent one that lost the race on the unique (kind, payment) or
    refund key, returns the existing row (the key answers; a first issue costs no look-up).
    Raises IntegrityError for any other violation.
    """
    try:
        with db.session.begin_nested():
            return _insert_document(kind, payment, refund)
    except IntegrityError:
        winner = _find_document(kind, payment.id, refund.id if refund else None)
        if winner is None:
            raise
        return winner


def format_serial(kind: DocumentKind, issued_at: datetime, document_id: int) -> str:
    """INV/2026/000042 or KWT/2026/000042: the year is the local (WIB) issue year."""
    year = issued_at.astimezone(LOCAL_TZ).year
    return f"{SERIAL_PREFIX[DocumentKind(kind)]}/{year}/{document_id:06d}"


def _find_document(
    kind: DocumentKind, payment_id: int | None, refund_id: int | None
) -> Document | None:
    if refund_id is not None:
        return db.session.scalar(select(Document).where(Document.refund_id == refund_id))
    return db.session.scalar(
        select(Document).where(
            Document.kind == kind, Document.payment_id == payment_id, Document.refund_id.is_(None)
        )
    )


def _insert_document(kind: DocumentKind, payment: Payment, refund: Refund | None) -> Document:
    # The serial embeds the id, known only after the insert: a unique placeholder holds the
    # NOT NULL unique column for the moment between the insert and the update (any database).
    issued_at = utcnow()
    values = {
        "kind": kind,
        "payment_id": payment.id,
        "company_id": payment.company_id,
        "amount": refund.amount if refund else payment.amount,
        "issued_at": issued_at,
        "refund_id": refund.id if refund else None,
        "region_code": payment.region_code,
    }
    document_id = int(
        db.session.execute(
            _INSERT_DOCUMENT, {"serial": f"tmp-{uuid.uuid4().hex}", **values}
        ).scalar_one()
    )
    serial = format_serial(kind, issued_at, document_id)
    db.session.execute(_SET_SERIAL, {"document_id": document_id, "final_serial": serial})
    return Document(id=document_id, serial=serial, **values)


# Rendering -------------------------------------------------------------------------------


def render_invoice_pdf(
    document: Document,
    payment: Payment,
    pledge: Pledge,
    company: Company,
    bank: BankDetails,
    locale: str = "id",
) -> bytes:
    """The invoice a sponsor pays by bank transfer, with the reference to quote."""
    styles = _styles()
    story = _header("INVOICE / TAGIHAN", document, locale, styles)
    story += _company_section("Ditagihkan kepada / Billed to", company, styles)
    story += _pledge_section(pledge, document.amount, locale, styles)
    story += _instructions_section(payment, document.amount, bank, locale, styles)
    return _build(
        story,
        f"Invoice {document.serial}",
        f"Tagihan PIJAR SEMAR / Invoice for pledge #{pledge.id}",
    )


def render_receipt_pdf(
    document: Document, payment: Payment, pledge: Pledge, company: Company, locale: str = "id"
) -> bytes:
    """The receipt (kwitansi) for a paid pledge."""
    styles = _styles()
    story = _header("KWITANSI / RECEIPT", document, locale, styles)
    story += _company_section("Diterima dari / Received from", company, styles)
    story += _pledge_section(pledge, document.amount, locale, styles)
    story += _paid_section(payment, locale, styles)
    return _build(
        story,
        f"Kwitansi {document.serial}",
        f"Kwitansi PIJAR SEMAR / Receipt for pledge #{pledge.id}",
    )


def _both_languages(reason: str) -> str:
    """A reason the portal wrote, in Indonesian / English like the rest of the note; a staff
    member's own words as written."""
    english = english_text(reason)
    if english == reason:
        return reason
    with force_locale("id"):
        indonesian = shown(reason)
    return english if indonesian == english else f"{indonesian} / {english}"


def render_refund_pdf(
    document: Document,
    refund: Refund,
    payment: Payment,
    pledge: Pledge,
    company: Company,
    locale: str = "id",
) -> bytes:
    """The note of money returned to a company: how much, why, and by which way."""
    styles = _styles()
    story = _header("NOTA PENGEMBALIAN DANA / REFUND NOTE", document, locale, styles)
    story += _company_section("Dikembalikan kepada / Returned to", company, styles)
    how = (
        _words(locale)["stripe"]
        if payment.method == PaymentMethod.STRIPE
        else _words(locale)["bank_transfer"]
    )
    story += _section("Pengembalian / Refund", styles) + [
        _pairs(
            [
                ("Komitmen / Pledge", f"#{pledge.id}"),
                ("Pembayaran asal / Original payment", payment.reference),
                ("Jumlah dikembalikan / Amount returned", rupiah(refund.amount, locale)),
                ("Alasan / Reason", _both_languages(refund.reason)),
                (
                    "Melalui / By",
                    how + (f" ({refund.bank_reference})" if refund.bank_reference else ""),
                ),
                ("Tanggal / Date", long_date(_local_date(refund.created_at), locale)),
            ],
            styles,
        )
    ]
    return _build(
        story,
        f"Nota pengembalian {document.serial}",
        f"Pengembalian dana PIJAR SEMAR / Refund for pledge #{pledge.id}",
    )


def breakdown_lines(breakdown: list[dict[str, Any]], locale: str = "id") -> list[str]:
    """One line per run of months at the same rate.

    For example: Jan 2027 – Jun 2027: 6 bulan × 10 pekerja × Rp16.800 = Rp1.008.000
    """
    return [_period_line(period, locale) for period in group_periods(breakdown)]


def _period_line(period: RatePeriod, locale: str) -> str:
    words = _words(locale)
    first = format_date(period.first, "MMM y", locale=locale)
    last = format_date(period.last, "MMM y", locale=locale)
    span = first if period.first == period.last else f"{first} – {last}"
    return (
        f"{span}: {period.months} {words['months']} × {period.workers} {words['workers']}"
        f" × {rupiah(period.rate, locale)} = {rupiah(period.subtotal, locale)}"
    )


def _words(locale: str) -> dict[str, str]:
    return _WORDS.get(locale.split("_")[0], _WORDS["id"])


def _local_date(value: datetime | None) -> date | None:
    return value.astimezone(LOCAL_TZ).date() if value is not None else None


def _styles() -> StyleSheet1:
    styles = stylesheet()
    styles.add(ParagraphStyle("Cell", parent=styles["Normal"], fontSize=9.5, leading=12))
    styles.add(ParagraphStyle("Stamp", parent=styles["Title"], textColor=colors.darkgreen))
    return styles


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _pairs(rows: Sequence[tuple[str, str]], styles: StyleSheet1) -> Table:
    cell = styles["Cell"]
    table = ArchivalTable(
        [[_para(label, cell), _para(value, cell)] for label, value in rows],
        colWidths=[55 * mm, 115 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [("VALIGN", (0, 0), (-1, -1), "TOP"), ("TEXTCOLOR", (0, 0), (0, -1), colors.dimgrey)]
        )
    )
    return table


def _section(title: str, styles: StyleSheet1) -> list[Flowable]:
    return [Spacer(1, 4 * mm), _para(title, styles["Heading3"])]


def _header(title: str, document: Document, locale: str, styles: StyleSheet1) -> list[Flowable]:
    return [
        _para(title, styles["Title"]),
        _para(ISSUER, styles["Normal"]),
        Spacer(1, 4 * mm),
        _pairs(
            [
                ("Nomor / Number", document.serial),
                ("Tanggal terbit / Issue date", long_date(_local_date(document.issued_at), locale)),
            ],
            styles,
        ),
    ]


def _company_section(title: str, company: Company, styles: StyleSheet1) -> list[Flowable]:
    return _section(title, styles) + [
        _pairs(
            [
                ("Nama perusahaan / Company", company.legal_name),
                ("NIB", company.nib),
                ("NPWP", company.npwp),
                ("Alamat / Address", company.address),
            ],
            styles,
        )
    ]


def _targets(pledge: Pledge, locale: str) -> str:
    parts = []
    if pledge.target_categories:
        parts.append("Kategori / Categories: " + ", ".join(pledge.target_categories))
    if pledge.target_kecamatan:
        parts.append("Kecamatan: " + ", ".join(pledge.target_kecamatan))
    return "; ".join(parts) or _words(locale)["all"]


def _pledge_section(pledge: Pledge, total: int, locale: str, styles: StyleSheet1) -> list[Flowable]:
    words = _words(locale)
    details = _pairs(
        [
            ("Komitmen / Pledge", f"#{pledge.id}"),
            ("Jumlah pekerja / Workers", f"{pledge.workers} {words['workers']}"),
            ("Lama / Term", f"{pledge.months} {words['months']}"),
            ("Mulai / Start month", month_label(pledge.start_month, locale)),
            ("Sasaran / Targets", _targets(pledge, locale)),
        ],
        styles,
    )
    return _section("Komitmen / Pledge", styles) + [
        details,
        Spacer(1, 3 * mm),
        _breakdown_table(pledge, total, locale, styles),
    ]


def _breakdown_table(pledge: Pledge, total: int, locale: str, styles: StyleSheet1) -> Table:
    cell = styles["Cell"]
    rows = [[_para("Rincian harga / Price breakdown", styles["Heading4"])]]
    rows += [[_para(line, cell)] for line in breakdown_lines(pledge.price_breakdown, locale)]
    rows.append([_para(f"Total: {rupiah(total, locale)}", styles["Heading4"])])
    table = ArchivalTable(rows, colWidths=[170 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, colors.grey),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.grey),
            ]
        )
    )
    return table


def _instructions_section(
    payment: Payment, total: int, bank: BankDetails, locale: str, styles: StyleSheet1
) -> list[Flowable]:
    amount = rupiah(total, locale)
    note = (
        f"Transfer tepat {amount} dan tulis {payment.reference} pada berita transfer. "
        f"/ Pay the exact amount, {amount}, and put {payment.reference} in the transfer "
        "description."
    )
    return _section("Cara membayar / How to pay", styles) + [
        _pairs(
            [
                ("Bank", bank.bank_name),
                ("Nama rekening / Account name", bank.account_name),
                ("Nomor rekening / Account number", bank.account_number),
                ("Berita transfer / Transfer reference", payment.reference),
                ("Jumlah / Amount", amount),
            ],
            styles,
        ),
        Spacer(1, 2 * mm),
        _para(note, styles["Normal"]),
    ]


def _paid_section(payment: Payment, locale: str, styles: StyleSheet1) -> list[Flowable]:
    method = _words(locale).get(str(payment.method), str(payment.method))
    return _section("Pembayaran / Payment", styles) + [
        _pairs(
            [
                ("Tanggal bayar / Paid on", long_date(_local_date(payment.paid_at), locale)),
                ("Metode / Method", method),
                ("Referensi / Reference", payment.reference),
            ],
            styles,
        ),
        Spacer(1, 6 * mm),
        _para("LUNAS / PAID", styles["Stamp"]),
    ]


def _build(story: list[Flowable], title: str, subject: str) -> bytes:
    buffer = BytesIO()
    pdf = ArchivalDocument(
        buffer,
        pagesize=A4,
        title=title,
        author=AUTHOR,
        subject=subject,
        creator=ISSUER,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    pdf.build(story)
    return buffer.getvalue()
