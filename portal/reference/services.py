"""A region's categories and rate schedule as its admins set them; every change is audited.

A category's risk weight orders the waiting list through the matching rules, which are
versioned (each coverage row records its version): a weight set here is written to a new rules
version as well, so the next run uses it and the old runs keep theirs. A rate is never edited
once it applies: a new one starts in the current month or later and ends the open one the day
before.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update

from portal.audit.services import record_event
from portal.auth.models import User
from portal.extensions import db
from portal.matching.rules import change_rules, current_rules
from portal.messages import _m
from portal.reference.exceptions import DuplicateCategory, RateRefused
from portal.reference.models import Category, RateSchedule
from portal.reference.queries import latest_general_rate
from portal.workers.models import Worker


@dataclass(frozen=True)
class CategoryValues:
    name_id: str
    name_en: str
    source: str
    risk_weight: int


@dataclass(frozen=True)
class RateValues:
    effective_from: date
    declared_income: int
    jkk_amount: int
    jkm_amount: int
    legal_basis: str


def create_category(code: str, values: CategoryValues, actor: User) -> Category:
    """A new active category of the region in scope. Raises DuplicateCategory."""
    code = code.strip().lower()
    if db.session.scalar(select(Category.id).where(Category.code == code)) is not None:
        raise DuplicateCategory(_m("The category %(code)s exists already.", code=code))
    category = Category(code=code, **asdict(values))
    db.session.add(category)
    db.session.flush()
    record_event("category.create", category, actor=actor, after={"code": code, **asdict(values)})
    _keep_weight_in_rules(category, actor)
    return category


def update_category(category: Category, values: CategoryValues, actor: User) -> dict[str, Any]:
    """Set the names, source and risk weight; returns {field: (before, after)} of what
    changed. Nothing changed writes nothing."""
    changes = {
        name: (getattr(category, name), value)
        for name, value in asdict(values).items()
        if value != getattr(category, name)
    }
    if not changes:
        return {}
    for name, (_before, after) in changes.items():
        setattr(category, name, after)
    db.session.flush()
    record_event(
        "category.update",
        category,
        actor=actor,
        before={"code": category.code, **{n: before for n, (before, _a) in changes.items()}},
        after={"code": category.code, **{n: after for n, (_b, after) in changes.items()}},
    )
    if "risk_weight" in changes:
        _keep_weight_in_rules(category, actor)
    return changes


def set_category_active(category: Category, active: bool, actor: User) -> bool:
    """Retire a category (its workers are no longer eligible and sponsors can no longer
    target it) or bring it back; nothing is deleted. Returns whether anything changed."""
    if category.active == active:
        return False
    category.active = active
    db.session.flush()
    record_event(
        "category.reactivate" if active else "category.retire",
        category,
        actor=actor,
        before={"code": category.code, "active": not active},
        after={"code": category.code, "active": active},
    )
    return True


def workers_by_category() -> dict[int, int]:
    """Registered workers of each category of the region in scope (what retiring one touches)."""
    rows = db.session.execute(
        select(Worker.category_id, func.count(Worker.id)).group_by(Worker.category_id)
    ).tuples()
    return dict(rows.all())


def _keep_weight_in_rules(category: Category, actor: User) -> None:
    rules = current_rules()
    if rules.category_weights.get(category.code) == category.risk_weight:
        return
    weights = {**rules.category_weights, category.code: category.risk_weight}
    change_rules(
        {**rules.parameters(), "category_weights": weights},
        actor,
        f"Risk weight of {category.code} set to {category.risk_weight} on the categories page",
    )


def create_rate(values: RateValues, actor: User, today: date | None = None) -> RateSchedule:
    """A rate for all sectors and funders of the region in scope from the first day of a month
    (the current one or later) after every other such rate's start; the open one ends the day
    before. Raises RateRefused."""
    start = values.effective_from.replace(day=1)
    this_month = (today or date.today()).replace(day=1)
    if start < this_month:
        raise RateRefused(
            _m("A new rate starts in the current month or later; past months keep their rates.")
        )
    latest = latest_general_rate()
    if latest is not None and latest.effective_from >= start:
        raise RateRefused(
            _m(
                "A rate from %(date)s exists; a new rate starts after it.",
                date=latest.effective_from.isoformat(),
            )
        )
    if latest is not None and latest.effective_to is None:
        _end_rate(latest, start - timedelta(days=1), actor)
    rate = RateSchedule(**{**asdict(values), "effective_from": start})
    db.session.add(rate)
    db.session.flush()
    record_event("rate.create", rate, actor=actor, after=_rate_json(rate))
    return rate


ANOTHER_RATE = _m("Another rate was added meanwhile; reload the page and check the rates.")


def _end_rate(rate: RateSchedule, last_day: date, actor: User) -> None:
    """Only while it is still open: two admins adding a rate at once end it once, and the
    second is refused (its page still showed the rate open)."""
    ended = db.session.execute(
        update(RateSchedule)
        .where(RateSchedule.id == rate.id, RateSchedule.effective_to.is_(None))
        .values(effective_to=last_day)
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        raise RateRefused(ANOTHER_RATE)
    db.session.refresh(rate)
    record_event(
        "rate.end",
        rate,
        actor=actor,
        before={"effective_to": None},
        after={"effective_to": last_day.isoformat()},
    )


def _rate_json(rate: RateSchedule) -> dict[str, Any]:
    return {
        "effective_from": rate.effective_from.isoformat(),
        "declared_income": rate.declared_income,
        "jkk_amount": rate.jkk_amount,
        "jkm_amount": rate.jkm_amount,
        "legal_basis": rate.legal_basis,
    }
