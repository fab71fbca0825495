"""Certificate speed: 1,000 signed certificate PDFs vs 1,000 minimal one-page PDFs, both made
with reportlab in the same run.

A certificate is what the portal does per certificate: build the payload, sign it with Ed25519,
draw the page with its QR code and embed the signed payload. The lower bound is a page with one
line of text. Every certificate is read back and verified before the result is printed.

Usage: .venv/bin/python -m bench.certificates [--count N]
Last line: ratio=<certificates/minimal> bar=10 ok=<yes|no>
"""

from __future__ import annotations

import argparse
import base64
import time
from io import BytesIO

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from portal.certificates import signing
from portal.certificates.pdf import read_signed_payload, render_certificate

BAR = 10.0
KEY = base64.b64encode(bytes(range(32))).decode()


def minimal_pdf(n: int) -> bytes:
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.drawString(72, 720, f"Minimal page {n}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def certificate_pdf(n: int, key) -> bytes:  # type: ignore[no-untyped-def]
    serial = f"PJS-2026-{n:010X}"
    payload = {
        "v": 1,
        "serial": serial,
        "kind": "active",
        "issuer": "Pemerintah Kota Semarang",
        "company": f"PT Penyandang Dana Nomor {n}",
        "nib": f"{9120000000000 + n}",
        "pledge": n,
        "period_from": "2026-12",
        "period_to": "2027-11",
        "workers": 10 + n % 50,
        "worker_months": (10 + n % 50) * 12,
        "amount": (10 + n % 50) * 12 * 16_800,
        "issued_at": "2026-11-21T08:00:00Z",
        "key_id": signing.key_id(key.public_key()),
    }
    text = signing.canonical(payload)
    return render_certificate(
        payload,
        text,
        signing.sign(key, text),
        f"https://pijarsemar.semarangkota.go.id/verify/{serial}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000)
    args = parser.parse_args()
    key = signing.private_key(KEY)
    minimal_pdf(0), certificate_pdf(0, key)  # warm up imports and font caches
    start = time.perf_counter()
    minimal = [minimal_pdf(n) for n in range(args.count)]
    bound = time.perf_counter() - start
    start = time.perf_counter()
    certificates = [certificate_pdf(n, key) for n in range(args.count)]
    made = time.perf_counter() - start
    public = key.public_key()
    verified = sum(signing.verify(public, *read_signed_payload(data)) for data in certificates)
    ratio = made / bound
    print(
        f"count={args.count} minimal={bound:.3f}s certificates={made:.3f}s "
        f"verified={verified} minimal_bytes={len(minimal[0])} "
        f"certificate_bytes={len(certificates[0])}"
    )
    ok = ratio <= BAR and verified == args.count
    print(f"ratio={ratio:.2f} bar={BAR:g} ok={'yes' if ok else 'no'}")


if __name__ == "__main__":
    main()
