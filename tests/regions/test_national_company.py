"""A national company pledges in two regions and pays each: the pledge, its payment, its ledger,
its matching, its month close and its remittance belong to the pledge's region, and each
region's staff see only their own money; the ledger holds per region and in total."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.certificates.models import CertificateKind
from portal.certificates.services import issue_certificate
from portal.coverage.closing import close_month
from portal.coverage.models import Coverage
from portal.coverage.remittance import mark_remitted
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import LedgerEntry
from portal.matching import services as matching
from portal.payments.models import Payment, PaymentStatus
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.services import earliest_start
from portal.privacy.breach import CONTROLLER, controller
from portal.reference.models import Kecamatan, Kelurahan
from portal.regions.scope import all_regions, region_scope
from portal.regions.services import add_region
from portal.workers.models import Worker
from tests import factories
from tests.conftest import csrf_token
from tests.matching import builders
from tests.payments.test_payment_flow import _customer

KUDUS, SEMARANG = "33.19", "33.74"


@pytest.fixture
def regions(app, actors):  # type: ignore[no-untyped-def]
    """Kota Semarang and Kabupaten Kudus, each with 3 waiting workers, its rules without city
    quotas and its own staff member."""
    add_region(KUDUS)
    builders.rules(city_quotas={})
    semarang_workers = [factories.worker(full_name=f"Warga Semarang {n}") for n in range(3)]
    with region_scope(KUDUS):
        builders.rules(city_quotas={}, require_second_approver=False)
        desa = db.session.scalar(
            select(Kelurahan.code)
            .join(Kecamatan, Kecamatan.code == Kelurahan.kecamatan_code)
            .where(Kecamatan.region_code == KUDUS)
            .order_by(Kelurahan.code)
        )
        kudus_workers = [
            factories.worker(kelurahan_code=desa, full_name=f"Warga Kudus {n}") for n in range(3)
        ]
        kudus_staff = factories.user(Role.STAFF, email="staf@kudus.example")
    db.session.expunge_all()
    return {
        SEMARANG: {w.id for w in semarang_workers},
        KUDUS: {w.id for w in kudus_workers},
        "kudus_staff": kudus_staff,
    }


def _new_pledge(client, region: str, workers: int = 2, months: int = 1) -> int:  # type: ignore[no-untyped-def]
    path = f"/pledges/new?region={region}"
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "workers": workers,
            "months": months,
            "start_month": earliest_start().isoformat(),
            "save": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    pledge_id = int(response.headers["Location"].rsplit("/", 1)[1])
    submitted = client.post(
        f"/pledges/{pledge_id}/submit",
        data={"csrf_token": csrf_token(client, f"/pledges/{pledge_id}")},
    )
    assert submitted.status_code == 302
    return pledge_id


def _pledge(pledge_id: int) -> Pledge:
    with all_regions():
        return db.session.get_one(Pledge, pledge_id)


def test_a_company_chooses_the_region_of_a_new_pledge(regions, actors, logged_in):
    client = logged_in(actors.owner)
    choice = client.get("/pledges/new").get_data(as_text=True)
    assert "Kabupaten Kudus" in choice and "Kota Semarang" in choice
    form = client.get(f"/pledges/new?region={KUDUS}").get_data(as_text=True)
    assert "Kabupaten Kudus" in form
    assert "Jati" in form and "Tugu" not in form  # Kudus's kecamatan, not Semarang's
    assert client.get("/pledges/new?region=99.99").status_code == 404


def test_a_company_sponsors_in_two_regions_and_each_keeps_its_own_money(
    regions, actors, logged_in, stripe_sandbox, outbox
):
    owner = logged_in(actors.owner)
    in_kudus = _new_pledge(owner, KUDUS)
    in_semarang = _new_pledge(owner, SEMARANG, workers=3)
    assert _pledge(in_kudus).region_code == KUDUS
    assert _pledge(in_semarang).region_code == SEMARANG

    # Kudus's pledge is paid by card: Stripe's event is applied in Kudus.
    response = owner.post(
        f"/pledges/{in_kudus}/pay/stripe",
        data={"csrf_token": csrf_token(owner, f"/pledges/{in_kudus}")},
    )
    assert response.status_code == 303 and "/checkout/cs_test_" in response.headers["Location"]
    with all_regions():
        payment = db.session.scalar(select(Payment).where(Payment.pledge_id == in_kudus))
    _customer(stripe_sandbox, payment, "pay")
    stripe_sandbox.flush()
    db.session.expunge_all()
    with all_regions():
        paid = db.session.get_one(Payment, payment.id)
        assert (paid.status, paid.region_code) == (PaymentStatus.PAID, KUDUS)
        assert db.session.get_one(Pledge, in_kudus).status == PledgeStatus.PAID

    # Semarang's pledge is paid by transfer, confirmed by Semarang's staff.
    assert (
        owner.post(
            f"/pledges/{in_semarang}/pay/transfer",
            data={"csrf_token": csrf_token(owner, f"/pledges/{in_semarang}")},
        ).status_code
        == 302
    )
    transfer = db.session.scalar(select(Payment).where(Payment.pledge_id == in_semarang))
    assert transfer is not None and transfer.region_code == SEMARANG
    kudus_staff = logged_in(regions["kudus_staff"])
    assert kudus_staff.get(f"/staff/pledges/{in_semarang}").status_code == 404
    assert (
        kudus_staff.post(
            f"/staff/transfers/{transfer.id}/confirm",
            data={"csrf_token": csrf_token(kudus_staff, "/staff/transfers"), "amount": 1},
        ).status_code
        == 404
    )
    staff = logged_in(actors.staff)
    assert (
        staff.post(
            f"/staff/transfers/{transfer.id}/confirm",
            data={
                "csrf_token": csrf_token(staff, "/staff/transfers"),
                "amount": transfer.amount,
            },
        ).status_code
        == 302
    )
    db.session.expunge_all()

    # Each region's matching fills its own pledge with its own workers.
    month = earliest_start()
    for region, pledge_id, actor in (
        (KUDUS, in_kudus, regions["kudus_staff"]),
        (SEMARANG, in_semarang, actors.staff),
    ):
        with region_scope(region):
            run = matching.propose_run(month, actor)
            matching.approve_run(run, actor)
            covered = set(db.session.scalars(select(Coverage.worker_id)))
            assert covered <= regions[region] and len(covered) == _pledge(pledge_id).workers
            assert {c.pledge_id for c in db.session.scalars(select(Coverage))} == {pledge_id}
            close = close_month(month, actor)
            assert close.totals["pledge"]["workers"] == len(covered)
            mark_remitted(month, "csr", f"REF-{region}", actor)
            assert check_ledger() == []
        db.session.expunge_all()

    # The ledger holds per region and in total; no entry of one region names the other's pledge.
    with region_scope(KUDUS):
        kudus_entries = db.session.scalar(select(func.count(LedgerEntry.id)))
        assert set(db.session.scalars(select(Pledge.id))) == {in_kudus}
    db.session.expunge_all()
    with all_regions():
        assert check_ledger() == []
        total = db.session.scalar(select(func.count(LedgerEntry.id)))
        assert db.session.scalar(select(func.count(Worker.id))) == 6
    assert 0 < kudus_entries < total

    # The company sees both pledges; each region's staff see only their own.
    listing = owner.get("/pledges").get_data(as_text=True)
    assert f"/pledges/{in_kudus}" in listing and f"/pledges/{in_semarang}" in listing
    assert owner.get(f"/pledges/{in_kudus}").status_code == 200
    staff_list = staff.get("/staff/pledges").get_data(as_text=True)
    assert f"/staff/pledges/{in_semarang}" in staff_list
    assert f"/staff/pledges/{in_kudus}" not in staff_list


def test_a_certificate_names_its_region_and_is_verified_from_anywhere(regions, actors, client):
    with region_scope(KUDUS):
        company = db.session.get_one(factories.Company, actors.owner.company_id)
        pledge = builders.paid_pledge(company, workers=1, months=1, start=earliest_start())
        matching.approve_run(matching.propose_run(earliest_start(), None), None)
        certificate = issue_certificate(pledge, CertificateKind.ACTIVE, None)
        serial = certificate.serial
    db.session.expunge_all()
    page = client.get(f"/verify/{serial}")  # anonymous, served in Kota Semarang
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Kabupaten Kudus" in text


def test_the_controller_of_personal_data_is_the_government_of_the_region_served(app):
    add_region(KUDUS)
    assert controller() == CONTROLLER
    with region_scope(KUDUS):
        assert controller() == "Pemerintah Kabupaten Kudus · PIJAR SEMAR"
