"""The erasure confirmation: field validation only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from portal.privacy.services import MAX_REASON, MIN_REASON


class EraseForm(FlaskForm):
    reason = StringField(
        _l("Request being answered"),
        validators=[DataRequired(), Length(min=MIN_REASON, max=MAX_REASON)],
    )
    confirm = BooleanField(
        _l("I understand that the erasure cannot be undone."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
