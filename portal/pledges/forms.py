"""Pledge wizard and refund forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PledgeForm(FlaskForm):
    workers = IntegerField(
        _l("Number of workers"), validators=[InputRequired(), NumberRange(min=1, max=100_000)]
    )
    months = IntegerField(
        _l("Months (3, 6, 12 or any number from 1 to 24)"),
        validators=[InputRequired(), NumberRange(min=1, max=24)],
    )
    start_month = SelectField(_l("Start month"), validators=[DataRequired()])
    categories = CheckboxList(_l("Categories of work (none chosen: any)"), validators=[Optional()])
    kecamatan = CheckboxList(
        _l("Kecamatan (none chosen: all of the region)"), validators=[Optional()]
    )


class RefundForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=5, max=500)])
    bank_reference = StringField(
        _l("Bank refund reference (transfer payments)"), validators=[Optional(), Length(max=80)]
    )


class TargetForm(FlaskForm):
    """Widen (or change) whom a paid pledge may fund."""

    categories = CheckboxList(_l("Categories of work (none chosen: any)"), validators=[Optional()])
    kecamatan = CheckboxList(
        _l("Kecamatan (none chosen: all of the region)"), validators=[Optional()]
    )


class RolloverForm(FlaskForm):
    """A new pledge paid with a pledge's unused money."""

    workers = IntegerField(
        _l("Number of workers"), validators=[InputRequired(), NumberRange(min=1, max=100_000)]
    )
    months = IntegerField(_l("Months"), validators=[InputRequired(), NumberRange(min=1, max=24)])
    start_month = SelectField(_l("Start month"), validators=[DataRequired()])


class ApprovalPolicyForm(FlaskForm):
    approval_required = BooleanField(_l("Pledges need an owner's approval before they commit"))
    second_approval_above = IntegerField(
        _l("Above this amount (rupiah), a second owner must approve too (empty: never)"),
        validators=[Optional(), NumberRange(min=0, max=10**13)],
    )


class SendBackForm(FlaskForm):
    note = StringField(_l("Why (shown on the pledge)"), validators=[Optional(), Length(max=200)])
