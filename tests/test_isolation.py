"""Per-test isolation: what one test commits is gone in the next."""

from sqlalchemy import func, select

from portal.companies.models import Company
from portal.extensions import db
from tests import factories

MARKER = "PT Penanda Isolasi Tes"


def _count() -> int:
    return db.session.scalar(select(func.count()).where(Company.legal_name == MARKER))


def test_a_commits_a_company():
    factories.company(legal_name=MARKER)
    db.session.commit()
    assert _count() == 1


def test_b_does_not_see_the_company_committed_by_a():
    assert _count() == 0
