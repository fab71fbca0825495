"""The form of a region's scheme."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

ACCOUNT_NUMBER = r"^[0-9][0-9 .-]{4,28}[0-9]$"


class SchemeForm(FlaskForm):
    regulation = StringField(
        _l("Regulation (legal basis)"), validators=[DataRequired(), Length(max=200)]
    )
    bank_name = StringField(_l("Bank"), validators=[Optional(), Length(max=80)])
    bank_account_number = StringField(
        _l("Account number"),
        validators=[
            Optional(),
            Length(max=40),
            Regexp(ACCOUNT_NUMBER, message=_l("Digits, with spaces, dots or dashes between.")),
        ],
    )
    bank_account_name = StringField(_l("Account name"), validators=[Optional(), Length(max=120)])
    mail_sender = StringField(
        _l("Sender of e-mails (name and address)"), validators=[Optional(), Length(max=200)]
    )

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        """The three bank fields go together: all set, or all empty."""
        valid = super().validate(extra_validators)
        bank = [self.bank_name, self.bank_account_number, self.bank_account_name]
        filled = [bool((f.data or "").strip()) for f in bank]
        if any(filled) and not all(filled):
            for f, is_filled in zip(bank, filled, strict=True):
                if not is_filled:
                    f.errors = [*f.errors, str(_l("Give the bank, the number and the name."))]
            return False
        return valid
