"""Matching forms: propose a run for a month, change the rules' parameters."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.matching.rules import MAX_QUOTA, MAX_WEIGHT
from portal.pledges.forms import CheckboxList

WEIGHT_PREFIX = "weight_"


class ProposeForm(FlaskForm):
    month = SelectField(_l("Month"), validators=[DataRequired()])


def _quota(label: str) -> IntegerField:
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=0, max=MAX_QUOTA)])


class RulesForm(FlaskForm):
    """The editable parameters; one weight field per category is added by rules_form()."""

    # The view puts the year in each label (this year and next).
    apbd_this = _quota(_l("APBD quota"))
    dbhcht_this = _quota(_l("DBHCHT quota"))
    apbd_next = _quota(_l("APBD quota"))
    dbhcht_next = _quota(_l("DBHCHT quota"))
    dbhcht_categories = CheckboxList(_l("Categories DBHCHT may fund"), validators=[Optional()])
    require_second_approver = BooleanField(
        _l("A different staff member must approve a run than the one who proposed it")
    )
    refund_second_approver_above = IntegerField(
        _l("Staff refunds above this amount (Rp) need a second staff member (empty: never)"),
        validators=[Optional(), NumberRange(min=0, max=10**13)],
    )
    renewal_notice_days = IntegerField(
        _l("Renewal notice (days before a pledge ends)"),
        validators=[InputRequired(), NumberRange(min=1, max=120)],
    )
    lapse_window_days = IntegerField(
        _l("Lapse window (days ahead counted as lapsing)"),
        validators=[InputRequired(), NumberRange(min=1, max=365)],
    )
    note = TextAreaField(
        _l("Why the change (kept in the version history)"),
        validators=[DataRequired(), Length(min=5, max=500)],
    )


def rules_form(category_codes: Iterable[str]) -> RulesForm:
    """A RulesForm with a risk weight field (1-9) for each category code."""

    class WithWeights(RulesForm):
        pass

    for code in category_codes:
        setattr(
            WithWeights,
            WEIGHT_PREFIX + code,
            IntegerField(code, validators=[InputRequired(), NumberRange(min=1, max=MAX_WEIGHT)]),
        )
    return WithWeights()
