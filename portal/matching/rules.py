"""The rules of Perwal 26/2025 as the portal applies them (R1-R7), with versioned parameters.

The regulation's text is not public, so what it leaves to the city is a parameter here:
quotas, DBHCHT's categories, category risk weights, renewal notice, the approval rule. A
change adds a RuleVersion; match runs and coverage rows record the version they used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from portal.audit.services import record_event
from portal.auth.models import User
from portal.extensions import db
from portal.matching.exceptions import InvalidRules
from portal.matching.models import RuleVersion
from portal.messages import _m
from portal.reference.models import Category
from portal.workers.eligibility import MAX_AGE_MONTHS

CITY_FUNDERS = ("apbd", "dbhcht")
DEFAULT_QUOTAS = {"2025": {"apbd": 6_717, "dbhcht": 500}, "2026": {"apbd": 7_500, "dbhcht": 1_000}}
DEFAULT_DBHCHT_CATEGORIES = ("petani", "bhl", "serabutan", "kebersihan")
MAX_QUOTA = 1_000_000
MAX_WEIGHT = 9
DEFAULT_REFUND_SECOND_APPROVER_ABOVE = 10_000_000  # rupiah


@dataclass(frozen=True)
class Rules:
    """One version's parameters, read-only."""

    version: int
    city_quotas: dict[str, dict[str, int]]
    dbhcht_categories: tuple[str, ...]
    category_weights: dict[str, int]
    require_second_approver: bool = False
    # A staff refund above this many rupiah waits for a second staff member (None: never).
    refund_second_approver_above: int | None = None
    renewal_notice_days: int = 30
    lapse_window_days: int = 60
    max_age_months: int = field(default=MAX_AGE_MONTHS)

    def quota(self, funder: str, month: date) -> int:
        """Workers the funder may cover in `month`: the quota of the month's year, or of the
        latest earlier year that has one (a year's quota holds until the next is set)."""
        years = sorted((int(y) for y in self.city_quotas if int(y) <= month.year), reverse=True)
        return int(self.city_quotas[str(years[0])].get(funder, 0)) if years else 0

    def weight(self, category_code: str) -> int:
        return int(self.category_weights.get(category_code, 1))

    def parameters(self) -> dict[str, Any]:
        return {
            "city_quotas": self.city_quotas,
            "dbhcht_categories": list(self.dbhcht_categories),
            "category_weights": self.category_weights,
            "require_second_approver": self.require_second_approver,
            "refund_second_approver_above": self.refund_second_approver_above,
            "renewal_notice_days": self.renewal_notice_days,
            "lapse_window_days": self.lapse_window_days,
        }


def rules_from(version: RuleVersion) -> Rules:
    params = version.parameters
    return Rules(
        version=version.id,
        city_quotas={
            str(y): {f: int(n) for f, n in q.items()} for y, q in params["city_quotas"].items()
        },
        dbhcht_categories=tuple(params["dbhcht_categories"]),
        category_weights={str(c): int(w) for c, w in params["category_weights"].items()},
        require_second_approver=bool(params.get("require_second_approver", False)),
        refund_second_approver_above=(
            None
            if params.get("refund_second_approver_above") is None
            else int(params["refund_second_approver_above"])
        ),
        renewal_notice_days=int(params.get("renewal_notice_days", 30)),
        lapse_window_days=int(params.get("lapse_window_days", 60)),
    )


def current_rules() -> Rules:
    """The newest version. Raises InvalidRules when none is seeded."""
    version = db.session.scalar(select(RuleVersion).order_by(RuleVersion.id.desc()).limit(1))
    if version is None:
        raise InvalidRules("no rule version: run `flask --app portal seed-reference`")
    return rules_from(version)


def current_version() -> int | None:
    return db.session.scalar(select(RuleVersion.id).order_by(RuleVersion.id.desc()).limit(1))


def rule_history() -> list[RuleVersion]:
    return list(db.session.scalars(select(RuleVersion).order_by(RuleVersion.id.desc())))


def seed_rules(city_quotas: dict[str, dict[str, int]] | None = None, note: str = "") -> int:
    """Version 1 of the region in scope, from the programme's figures (Kota Semarang's quotas
    unless others are given) and the categories' risk weights; once."""
    if current_version() is not None:
        return 0
    weights = {c.code: c.risk_weight for c in db.session.scalars(select(Category))}
    categories = [c for c in DEFAULT_DBHCHT_CATEGORIES if c in weights]
    db.session.add(
        RuleVersion(
            parameters={
                "city_quotas": DEFAULT_QUOTAS if city_quotas is None else city_quotas,
                "dbhcht_categories": categories,
                "category_weights": weights,
                "require_second_approver": True,  # two people for every approval
                "refund_second_approver_above": DEFAULT_REFUND_SECOND_APPROVER_ABOVE,
                "renewal_notice_days": 30,
                "lapse_window_days": 60,
            },
            note=note or "Perwal 26/2025; 2026 targets 7,500 APBD + 1,000 DBHCHT",
        )
    )
    db.session.flush()
    return 1


def change_rules(parameters: dict[str, Any], actor: User, note: str) -> RuleVersion:
    """Add a version with new parameters. Raises InvalidRules with what is wrong."""
    check_parameters(parameters)
    before = current_rules()
    version = RuleVersion(parameters=parameters, note=note.strip()[:500], created_by_id=actor.id)
    db.session.add(version)
    db.session.flush()
    record_event(
        "rules.change",
        version,
        actor=actor,
        before={"version": before.version, **before.parameters()},
        after={"version": version.id, **parameters},
    )
    return version


def check_parameters(parameters: dict[str, Any]) -> None:
    """Raises InvalidRules."""
    known = set(db.session.scalars(select(Category.code)))
    quotas = parameters.get("city_quotas") or {}
    for year, per_funder in quotas.items():
        if not str(year).isdigit() or not 2000 <= int(year) <= 2100:
            raise InvalidRules(_m("year %(year)s is not a year", year=repr(year)))
        for funder, count in per_funder.items():
            if funder not in CITY_FUNDERS:
                raise InvalidRules(_m("%(funder)s is not a city funder", funder=repr(funder)))
            if type(count) is not int or not 0 <= count <= MAX_QUOTA:
                raise InvalidRules(
                    _m(
                        "quota %(count)s must be a whole number 0-%(max)s",
                        count=repr(count),
                        max=MAX_QUOTA,
                    )
                )
    unknown = set(parameters.get("dbhcht_categories", [])) - known
    if unknown:
        raise InvalidRules(_m("unknown categories: %(codes)s", codes=", ".join(sorted(unknown))))
    for code, weight in (parameters.get("category_weights") or {}).items():
        if code not in known:
            raise InvalidRules(_m("unknown category %(code)s", code=repr(code)))
        if type(weight) is not int or not 1 <= weight <= MAX_WEIGHT:
            raise InvalidRules(
                _m("weight of %(code)s must be 1-%(max)s", code=code, max=MAX_WEIGHT)
            )
    above = parameters.get("refund_second_approver_above")
    if above is not None and (type(above) is not int or above < 0):
        raise InvalidRules(
            _m("the refund amount for a second approver must be a whole number >= 0")
        )
    for name, low, high in (("renewal_notice_days", 1, 120), ("lapse_window_days", 1, 365)):
        value = parameters.get(name)
        if type(value) is not int or not low <= value <= high:
            raise InvalidRules(
                _m(
                    "%(name)s must be a whole number %(low)s-%(high)s",
                    name=name,
                    low=low,
                    high=high,
                )
            )
