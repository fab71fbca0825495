"""Certificates: signed facts anyone can verify; tampering, revocation and other companies."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
import zxingcpp
from PIL import ImageOps
from pypdf import PdfReader
from sqlalchemy import update

from portal.certificates import services, signing
from portal.certificates.exceptions import NotCertifiable, UnreadableCertificate
from portal.certificates.models import Certificate, CertificateKind
from portal.certificates.pdf import keywords, read_signed_payload, render_certificate
from portal.companies.models import Company
from portal.extensions import db
from portal.matching import services as matching
from portal.payments.refunds import refund_pledge
from portal.pledges.services import earliest_start
from tests import factories
from tests.conftest import run_jobs
from tests.matching import builders


@pytest.fixture
def active_pledge(actors):  # type: ignore[no-untyped-def]
    """A pledge of the actors' company with two workers placed for three months."""
    builders.rules(city_quotas={})
    month = earliest_start()
    for _ in range(2):
        factories.worker()
    company = db.session.get(Company, actors.owner.company_id)
    pledge = builders.paid_pledge(company, workers=2, months=3, start=month)
    matching.approve_run(matching.propose_run(month, actors.staff), actors.staff)
    return pledge


def _pdf_of(certificate: Certificate) -> bytes:
    return render_certificate(
        services.json_payload(certificate),
        certificate.payload,
        certificate.signature,
        f"http://x/verify/{certificate.serial}",
    )


def test_issued_certificate_is_valid_and_states_the_facts(actors, active_pledge):
    certificate = services.issue_certificate(active_pledge, CertificateKind.ACTIVE, actors.staff)
    verdict = services.verdict_for(certificate.serial)
    assert verdict.status == "valid"
    assert verdict.facts["pledge"] == active_pledge.id
    assert (verdict.facts["workers"], verdict.facts["worker_months"]) == (2, 6)
    assert verdict.facts["amount"] == active_pledge.price_total
    assert verdict.facts["period_from"] == f"{earliest_start():%Y-%m}"


def test_a_pledge_without_coverage_is_not_certifiable(actors):
    pledge = builders.paid_pledge(builders.sponsor(), workers=1, months=1, start=earliest_start())
    with pytest.raises(NotCertifiable):
        services.issue_certificate(pledge, CertificateKind.ACTIVE, actors.staff)


def test_tampered_payload_fails_verification(actors, active_pledge):
    certificate = services.issue_certificate(active_pledge, CertificateKind.ACTIVE, actors.staff)
    facts = json.loads(certificate.payload)
    facts["workers"] = 2000
    db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate.id)
        .values(payload=signing.canonical(facts))
    )
    db.session.expire_all()
    assert services.verdict_for(certificate.serial).status == "invalid"
    key = services.public_key()
    assert (
        services.verdict_offline(signing.canonical(facts), certificate.signature, key).status
        == "invalid"
    )


def test_refund_revokes_the_certificate_with_when_and_why(actors, active_pledge, client):
    certificate = services.issue_certificate(active_pledge, CertificateKind.ACTIVE, actors.staff)
    refund_pledge(active_pledge, actors.staff, "sponsor withdrew")
    run_jobs()  # the certificates follow the refund's event
    verdict = services.verdict_for(certificate.serial)
    assert verdict.status == "revoked"
    assert "sponsor withdrew" in verdict.certificate.revoke_reason
    db.session.commit()
    page = client.get(f"/verify/{certificate.serial}").get_data(as_text=True)
    assert "Revoked" in page and "money was returned" in page
    assert "sponsor withdrew" not in page  # staff's note stays with staff


def test_completion_certificate_supersedes_the_first(actors, active_pledge):
    first = services.issue_certificate(active_pledge, CertificateKind.ACTIVE, actors.staff)
    final = services.issue_certificate(active_pledge, CertificateKind.COMPLETED, actors.staff)
    db.session.expire_all()
    assert services.verdict_for(first.serial).status == "superseded"
    assert services.verdict_for(first.serial).certificate.superseded_by == final.serial
    assert services.verdict_for(final.serial).status == "valid"


def test_pdf_opens_holds_the_facts_and_verifies_offline(actors, active_pledge, client):
    certificate = services.issue_certificate(active_pledge, CertificateKind.ACTIVE, actors.staff)
    data = _pdf_of(certificate)
    reader = PdfReader(BytesIO(data))
    text = reader.pages[0].extract_text()
    assert certificate.serial in text and "SERTIFIKAT" in text
    assert services.json_payload(certificate)["company"] in text
    payload, signature = read_signed_payload(data)
    db.session.commit()
    pem = client.get("/verify/public-key").get_data()
    key = signing.load_public_pem(pem)
    assert services.verdict_offline(payload, signature, key).status == "valid"
    other_key = signing.private_key("A" * 43 + "=").public_key()
    assert services.verdict_offline(payload, signature, other_key).status == "invalid"


def test_the_qr_code_scans_to_the_verify_page(actors, active_pledge):
    certificate = services.issue_certificate(active_pledge, CertificateKind.ACTIVE, actors.staff)
    [image] = PdfReader(BytesIO(_pdf_of(certificate))).pages[0].images
    quiet = ImageOps.expand(image.image.convert("L"), border=16, fill=255)  # a scanner's margin
    assert [code.text for code in zxingcpp.read_barcodes(quiet)] == [
        f"http://x/verify/{certificate.serial}"
    ]


def test_a_pdf_without_our_data_is_unreadable():
    with pytest.raises(UnreadableCertificate):
        read_signed_payload(b"%PDF-1.4 not really")
    assert keywords("{}", "sig").startswith("pijar-certificate:v1:")


def test_verify_page_says_valid_and_unknown(actors, active_pledge, client):
    certificate = services.issue_certificate(active_pledge, CertificateKind.ACTIVE, actors.staff)
    db.session.commit()
    page = client.get(f"/verify/{certificate.serial}")
    assert page.status_code == 200 and "Valid" in page.get_data(as_text=True)
    missing = client.get("/verify/PJS-2026-0000000000")
    assert missing.status_code == 404 and "Unknown" in missing.get_data(as_text=True)


def test_company_downloads_its_certificate_and_another_company_gets_404(
    actors, active_pledge, logged_in
):
    certificate = services.issue_certificate(active_pledge, CertificateKind.ACTIVE, actors.staff)
    db.session.commit()
    own = logged_in(actors.owner).get(f"/certificates/{certificate.id}.pdf")
    assert own.status_code == 200 and own.data.startswith(b"%PDF")
    other = logged_in(actors.other_owner).get(f"/certificates/{certificate.id}.pdf")
    assert other.status_code == 404
    assert logged_in(actors.staff).get(f"/certificates/{certificate.id}.pdf").status_code == 200


def test_cli_verifies_a_pdf_offline_and_a_serial(app, actors, active_pledge, tmp_path):
    certificate = services.issue_certificate(active_pledge, CertificateKind.ACTIVE, actors.staff)
    db.session.commit()
    pdf = tmp_path / "sertifikat.pdf"
    pdf.write_bytes(_pdf_of(certificate))
    key = tmp_path / "key.pem"
    key.write_text(signing.public_pem(services.public_key()))
    runner = app.test_cli_runner()
    offline = runner.invoke(args=["certificates", "verify", str(pdf), "--public-key", str(key)])
    assert offline.exit_code == 0 and "status: valid" in offline.output
    by_serial = runner.invoke(args=["certificates", "verify", certificate.serial])
    assert by_serial.exit_code == 0 and certificate.serial in by_serial.output
    unknown = runner.invoke(args=["certificates", "verify", "PJS-2026-FFFFFFFFFF"])
    assert unknown.exit_code == 1 and "status: unknown" in unknown.output
