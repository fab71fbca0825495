"""Refunding a placed pledge returns the months not started and frees those workers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.coverage.models import Coverage
from portal.extensions import db
from portal.matching import services
from portal.matching.exceptions import StaleProposal
from portal.payments.refunds import refund_pledge, refundable
from portal.pledges.models import PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start
from tests import factories
from tests.matching import builders


def _placed_pledge(actors, months: int = 3):  # type: ignore[no-untyped-def]
    builders.rules(city_quotas={})
    month = earliest_start()
    factories.worker()
    pledge = builders.paid_pledge(builders.sponsor(), workers=1, months=months, start=month)
    services.approve_run(services.propose_run(month, actors.staff), actors.staff)
    return month, pledge


def test_refundable_months_follow_the_placed_term(actors):
    month, pledge = _placed_pledge(actors)
    rate = pledge.price_total // 3
    assert refundable(pledge.id) == pledge.price_total
    assert refundable(pledge.id, today=month) == 2 * rate  # the month itself has started
    assert refundable(pledge.id, today=add_months(month, 2)) == 0


def test_refund_of_a_placed_pledge_releases_its_coverage(actors):
    _, pledge = _placed_pledge(actors)
    assert pledge.status == PledgeStatus.ACTIVE
    [refund] = refund_pledge(pledge, actors.staff, "sponsor withdrew")
    assert refund.amount == pledge.price_total
    assert pledge.status == PledgeStatus.REFUNDED
    left = db.session.scalar(select(func.count(Coverage.id)).where(Coverage.pledge_id == pledge.id))
    assert left == 0


def test_a_refunded_pledge_makes_its_open_proposal_stale(actors):
    builders.rules(city_quotas={})
    month = earliest_start()
    factories.worker()
    pledge = builders.paid_pledge(builders.sponsor(), workers=1, months=2, start=month)
    run = services.propose_run(month, actors.staff)
    refund_pledge(pledge, actors.staff, "sponsor withdrew")
    with pytest.raises(StaleProposal, match="is no longer paid or active"):
        services.approve_run(run, actors.staff)
