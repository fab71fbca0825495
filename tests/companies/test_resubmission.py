"""A rejected company corrects its details and goes back to the review queue."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.companies.exceptions import IllegalTransition, NothingToResubmit
from portal.companies.models import Company, CompanyStatus
from portal.companies.services import CompanyDetails, reject_company, resubmit_company
from portal.extensions import db
from portal.regions.scope import all_regions
from tests import factories
from tests.conftest import Actors, csrf_token

REASON = "NPWP tidak cocok dengan data DJP."


@pytest.fixture
def rejected(actors: Actors):  # type: ignore[no-untyped-def]
    """A company with valid details, rejected by staff, and its owner and member."""
    company = factories.company(legal_name="PT Kopi Tugu Jaya")
    company.npwp = "012345674901000"
    company.contact_phone = "+62248445566"
    owner = factories.user(Role.SPONSOR_OWNER, company=company)
    member = factories.user(Role.SPONSOR_MEMBER, company=company)
    reject_company(company, actor=actors.staff, reason=REASON)
    db.session.flush()
    return company, owner, member


def _form(company: Company, **changes: str) -> dict[str, str]:
    fields = ("legal_name", "nib", "npwp", "address", "sector", "contact_name", "contact_phone")
    return {name: getattr(company, name) for name in fields} | changes


def _post(client, company: Company, **changes: str):  # type: ignore[no-untyped-def]
    url = f"/company/{company.id}/resubmit"
    data = _form(company, **changes) | {"csrf_token": csrf_token(client, "/company/members")}
    return client.post(url, data=data)


def test_owner_sees_the_reason_and_a_form_with_the_current_details(rejected, logged_in):
    company, owner, _member = rejected
    client = logged_in(owner)
    page = client.get("/company").get_data(as_text=True)
    assert REASON in page and f"/company/{company.id}/resubmit" in page
    form = client.get(f"/company/{company.id}/resubmit")
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    assert REASON in html
    assert 'value="012345674901000"' in html and 'value="PT Kopi Tugu Jaya"' in html


def test_resubmission_goes_back_to_the_queue_and_staff_see_what_changed(
    rejected, actors, logged_in, outbox
):
    company, owner, _member = rejected
    client = logged_in(owner)
    outbox.clear()  # the rejection went to the owner
    response = _post(
        client,
        company,
        npwp="02.345.678.3-901.000",
        contact_phone="0812-2555-0199",
        note="NPWP diperbaiki sesuai kartu.",
    )
    assert response.status_code == 302
    company = db.session.get(Company, company.id)
    assert company.status == CompanyStatus.PENDING and company.rejection_reason is None
    assert company.npwp == "023456783901000" and company.contact_phone == "+6281225550199"
    assert company.reviewed_by_id == actors.staff.id  # the owner is not a reviewer

    with all_regions():  # a company's own act is national: it has no region
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "company.resubmit"))
    assert event.region_code is None
    assert event.actor_id == owner.id and event.company_id == company.id
    assert event.before == {
        "rejection_reason": REASON,
        "npwp": "012345674901000",
        "contact_phone": "+62248445566",
    }
    assert event.after == {
        "note": "NPWP diperbaiki sesuai kartu.",
        "npwp": "023456783901000",
        "contact_phone": "+6281225550199",
    }
    with all_regions():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "company.pending"))

    staff_mail = {m.to[0]: m for m in outbox}
    assert set(staff_mail) == {actors.staff.email, actors.staff2.email, actors.admin.email}
    body = staff_mail[actors.staff.email].body
    assert "012345674901000 -> 023456783901000" in body
    assert f"/staff/companies/{company.id}" in body

    staff = logged_in(actors.staff)
    queue = staff.get("/staff/companies").get_data(as_text=True)
    assert "data-resubmitted" in queue
    detail = staff.get(f"/staff/companies/{company.id}").get_data(as_text=True)
    diff = re.search(r'<table[^>]*id="diff".*?</table>', detail, re.S).group(0)
    assert 'data-field="npwp"' in diff and 'data-field="contact_phone"' in diff
    assert "012345674901000" in diff and "023456783901000" in diff
    assert 'data-field="legal_name"' not in diff  # unchanged details are not listed
    assert REASON in detail and "NPWP diperbaiki sesuai kartu." in detail
    assert 'id="verify"' in detail  # and staff can review it again


def test_staff_can_reject_again_and_the_owner_resubmits_again(rejected, actors, logged_in):
    company, owner, _member = rejected
    resubmit_company(company, _details(company, legal_name="PT Kopi Tugu Jaya Abadi"), owner)
    reject_company(company, actor=actors.staff, reason="Alamat belum lengkap.")
    resubmit_company(company, _details(company, address="Jl. Gajahmada 10, Semarang 50134"), owner)
    detail = logged_in(actors.staff).get(f"/staff/companies/{company.id}").get_data(as_text=True)
    assert 'data-field="address"' in detail and 'data-field="legal_name"' not in detail
    assert "Alamat belum lengkap." in detail


def test_a_member_cannot_resubmit(rejected, logged_in):
    company, _owner, member = rejected
    client = logged_in(member)
    page = client.get("/company").get_data(as_text=True)
    assert REASON in page and "/resubmit" not in page
    assert client.get(f"/company/{company.id}/resubmit").status_code == 403
    assert _post(client, company, legal_name="PT Lain").status_code == 403
    assert db.session.get(Company, company.id).status == CompanyStatus.REJECTED


def test_another_companys_resubmission_url_is_404(rejected, actors, logged_in):
    company, _owner, _member = rejected
    client = logged_in(actors.owner)  # the owner of a different company
    assert client.get(f"/company/{company.id}/resubmit").status_code == 404
    assert _post(client, company, legal_name="PT Diambil Alih").status_code == 404
    assert db.session.get(Company, company.id).legal_name == "PT Kopi Tugu Jaya"


def test_a_verified_company_has_nothing_to_resubmit(actors, logged_in):
    company = db.session.get(Company, actors.owner.company_id)
    client = logged_in(actors.owner)
    response = client.get(f"/company/{company.id}/resubmit")
    assert response.status_code == 302 and response.headers["Location"].endswith("/company")
    with pytest.raises(IllegalTransition):
        resubmit_company(company, _details(company), actors.owner, note="x")


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("npwp", "01.234.567.8-901.000", "This NPWP does not add up"),
        ("nib", "12345", "NIB must be 13 digits."),
        ("contact_phone", "0241", "not a valid Indonesian phone number"),
    ],
)
def test_bad_correction_is_explained_and_keeps_what_was_typed(
    rejected, logged_in, field, value, message
):
    company, owner, _member = rejected
    response = _post(logged_in(owner), company, legal_name="PT Kopi Tugu Baru", **{field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert 'value="PT Kopi Tugu Baru"' in html and value in html
    company = db.session.get(Company, company.id)
    assert company.status == CompanyStatus.REJECTED and company.legal_name == "PT Kopi Tugu Jaya"


def test_resubmitting_nothing_asks_for_a_change_or_a_note(rejected, logged_in):
    company, owner, _member = rejected
    response = _post(logged_in(owner), company)
    assert response.status_code == 400
    assert "Nothing was changed" in response.get_data(as_text=True)
    with pytest.raises(NothingToResubmit):
        resubmit_company(company, _details(company), owner)
    assert db.session.get(Company, company.id).status == CompanyStatus.REJECTED


def test_a_note_alone_is_enough_and_the_diff_says_nothing_changed(rejected, actors, logged_in):
    company, owner, _member = rejected
    response = _post(logged_in(owner), company, note="Kartu NPWP asli sudah dikirim.")
    assert response.status_code == 302
    detail = logged_in(actors.staff).get(f"/staff/companies/{company.id}").get_data(as_text=True)
    assert 'id="no-changes"' in detail and "Kartu NPWP asli sudah dikirim." in detail


def test_a_stored_phone_in_the_old_form_is_not_a_change(rejected, logged_in):
    company, owner, _member = rejected
    company.contact_phone = "024 8445566"  # stored before phones were kept in E.164
    response = _post(logged_in(owner), company, legal_name="PT Kopi Tugu Jaya Abadi")
    assert response.status_code == 302
    with all_regions():  # a company's own act is national: it has no region
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "company.resubmit"))
    assert event.region_code is None
    assert set(event.after) == {"note", "legal_name"}
    assert db.session.get(Company, company.id).contact_phone == "+62248445566"


def test_the_npwp_of_another_company_is_refused(rejected, logged_in):
    company, owner, _member = rejected
    other = factories.company()
    other.npwp = "023456783901000"
    response = _post(logged_in(owner), company, npwp="0023456783901000")  # its 16-digit form
    assert response.status_code == 400
    assert "This number is registered already." in response.get_data(as_text=True)
    assert db.session.get(Company, company.id).status == CompanyStatus.REJECTED


def _details(company: Company, **changes: str) -> CompanyDetails:
    return CompanyDetails(**_form(company, **changes))
