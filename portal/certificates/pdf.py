"""The certificate as a one-page PDF: the facts, the QR code to /verify/<serial>, and the signed
payload in the document's keywords so it can be checked offline."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from io import BytesIO
from typing import Any

import qrcode
from PIL import Image
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from portal.certificates.exceptions import UnreadableCertificate
from portal.i18n import number, rupiah
from portal.messages import _m
from portal.pdf import BOLD, FONT, ArchivalCanvas

KEYWORD_PREFIX = "pijar-certificate:v1:"
AUTHOR = "Pemerintah Kota Semarang"
QR_SIZE = 130  # points
QR_PIXELS = 2  # image pixels per QR module
_MONTHS = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]


def render_certificate(
    payload: dict[str, Any], payload_text: str, signature: str, verify_url: str
) -> bytes:
    """A landscape A4 page; drawn directly on the canvas (no layout engine) to stay fast."""
    buffer = BytesIO()
    pdf = ArchivalCanvas(buffer, pagesize=landscape(A4))
    width, height = landscape(A4)
    pdf.setTitle(f"Sertifikat PIJAR SEMAR {payload['serial']}")
    pdf.setAuthor(AUTHOR)
    pdf.setCreator("PIJAR SEMAR")
    pdf.setSubject(f"Certificate for pledge #{payload['pledge']} of {payload['company']}")
    pdf.setKeywords(keywords(payload_text, signature))
    pdf.setStrokeColor(colors.HexColor("#0b5d4b"))
    pdf.setLineWidth(3)
    pdf.rect(24, 24, width - 48, height - 48)
    pdf.setFillColor(colors.HexColor("#0b5d4b"))
    pdf.setFont(BOLD, 26)
    pdf.drawCentredString(width / 2, height - 90, "SERTIFIKAT PERLINDUNGAN PEKERJA")
    pdf.setFont(FONT, 14)
    pdf.drawCentredString(width / 2, height - 112, "Certificate of worker protection · PIJAR SEMAR")
    pdf.setFillColor(colors.black)
    pdf.setFont(FONT, 12)
    pdf.drawCentredString(width / 2, height - 150, "Diberikan kepada / Awarded to")
    pdf.setFont(BOLD, 22)
    pdf.drawCentredString(width / 2, height - 180, payload["company"])
    pdf.setFont(FONT, 11)
    y = height - 225
    for label, value in _facts(payload):
        pdf.drawString(80, y, label)
        pdf.drawString(330, y, value)
        y -= 19
    pdf.setFont(FONT, 9)  # a third font would cost a third more subsetting per certificate
    pdf.drawString(
        80,
        60,
        f"Iuran JKK dan JKM BPJS Ketenagakerjaan, {_regulation(payload)}. "
        "Periksa keaslian / verify at:",
    )
    pdf.drawString(80, 47, verify_url)
    _draw_qr(pdf, verify_url, width - 80 - QR_SIZE, 70)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def keywords(payload_text: str, signature: str) -> str:
    encoded = base64.urlsafe_b64encode(payload_text.encode()).decode()
    return f"{KEYWORD_PREFIX}{encoded}:{signature}"


def read_signed_payload(data: bytes) -> tuple[str, str]:
    """The payload text and signature embedded in a certificate PDF.

    Raises UnreadableCertificate.
    """
    try:
        info: Mapping[str, object] = PdfReader(BytesIO(data)).metadata or {}
    except (PdfReadError, ValueError, OSError) as error:
        raise UnreadableCertificate(_m("This is not a readable PDF.")) from error
    found = str(info.get("/Keywords") or "")
    if not found.startswith(KEYWORD_PREFIX) or found.count(":") != 3:
        raise UnreadableCertificate(_m("The PDF carries no PIJAR SEMAR certificate."))
    encoded, signature = found[len(KEYWORD_PREFIX) :].split(":")
    try:
        return base64.urlsafe_b64decode(encoded).decode(), signature
    except (ValueError, UnicodeDecodeError) as error:
        raise UnreadableCertificate(_m("The certificate data is damaged.")) from error


def _facts(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("Nomor sertifikat / Serial", payload["serial"]),
        ("NIB", payload["nib"]),
        ("Komitmen / Pledge", f"#{payload['pledge']}"),
        *([("Wilayah / Region", payload["region"])] if payload.get("region") else []),
        ("Periode / Period", f"{_month(payload['period_from'])} – {_month(payload['period_to'])}"),
        ("Pekerja dilindungi / Workers covered", number(payload["workers"], "id")),
        ("Bulan-pekerja / Worker-months", number(payload["worker_months"], "id")),
        ("Nilai perlindungan / Coverage value", rupiah(payload["amount"], "id")),
        *_money_lines(payload),
        (
            "Jenis / Kind",
            "Selesai / Completed" if payload["kind"] == "completed" else "Aktif / Active",
        ),
        ("Diterbitkan / Issued", payload["issued_at"][:10]),
    ]


def _regulation(payload: dict[str, Any]) -> str:
    """The region's regulation; certificates issued before regions carried none: Semarang's."""
    return str(payload.get("regulation") or "Perwal Semarang 26/2025")


def _money_lines(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """Paid and refunded, on certificates that carry them (issued since they were added)."""
    if "paid" not in payload:
        return []
    lines = [("Dibayar / Paid", rupiah(payload["paid"], "id"))]
    if payload.get("refunded"):
        lines.append(("Dikembalikan / Refunded", rupiah(payload["refunded"], "id")))
    return lines


def _month(value: str) -> str:
    parsed = datetime.strptime(value, "%Y-%m")
    return f"{_MONTHS[parsed.month - 1]} {parsed.year}"


def _draw_qr(pdf: Canvas, url: str, x: float, y: float) -> None:
    """The QR code as a small black-and-white image, each module QR_PIXELS pixels wide so it
    stays sharp however a viewer scales it (an image costs a fraction of a vector path).
    The mask is fixed: every mask is valid QR, and choosing the best costs most of the time."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=2
    )
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    n = len(matrix)
    modules = Image.frombytes(
        "L", (n, n), bytes(0 if dark else 255 for row in matrix for dark in row)
    )
    image = modules.convert("1").resize((n * QR_PIXELS, n * QR_PIXELS), Image.Resampling.NEAREST)
    pdf.drawImage(ImageReader(image), x, y, QR_SIZE, QR_SIZE)
