"""The form of a region's scheme."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from portal.matching.rules import MAX_WEIGHT

ACCOUNT_NUMBER = r"^[0-9][0-9 .-]{4,28}[0-9]$"
CATEGORY_CODE = r"^[a-z0-9][a-z0-9-]*$"
MAX_CONTRIBUTION = 10_000_000  # rupiah a worker and month; far above any BPJS TK rate
MAX_INCOME = 1_000_000_000
WHOLE_RUPIAH = _l("Give an amount in whole rupiah, e.g. 10.000.")
RUPIAH_NOISE = re.compile(r"^\s*rp\.?|[\s.]", re.IGNORECASE)


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


class CategoryForm(FlaskForm):
    """A category's names, source and risk weight; the code only when it is made."""

    name_id = StringField(
        _l("Name (Bahasa Indonesia)"), validators=[DataRequired(), Length(max=120)]
    )
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=120)])
    source = StringField(_l("Source"), validators=[Optional(), Length(max=200)])
    risk_weight = IntegerField(
        _l("Risk weight (1-9, 9 highest)"),
        validators=[
            InputRequired(message=_l("Give a whole number from 1 to 9.")),
            NumberRange(min=1, max=MAX_WEIGHT, message=_l("Give a whole number from 1 to 9.")),
        ],
    )


class NewCategoryForm(CategoryForm):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(),
            Length(max=32),
            Regexp(
                CATEGORY_CODE, message=_l("Small letters, digits and dashes, e.g. ojek-online.")
            ),
        ],
        filters=[lambda value: (value or "").strip().lower()],
    )


class RupiahField(IntegerField):
    """Whole rupiah, written as 16800, 16.800 or Rp16.800 (dots group thousands)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist:
            valuelist = [RUPIAH_NOISE.sub("", valuelist[0])]
        super().process_formdata(valuelist)


class RateForm(FlaskForm):
    effective_from = SelectField(_l("In force from"), validators=[DataRequired()])
    jkk_amount = RupiahField(
        _l("JKK per worker and month (Rp)"),
        validators=[
            InputRequired(message=WHOLE_RUPIAH),
            NumberRange(min=0, max=MAX_CONTRIBUTION, message=WHOLE_RUPIAH),
        ],
    )
    jkm_amount = RupiahField(
        _l("JKM per worker and month (Rp)"),
        validators=[
            InputRequired(message=WHOLE_RUPIAH),
            NumberRange(min=0, max=MAX_CONTRIBUTION, message=WHOLE_RUPIAH),
        ],
    )
    declared_income = RupiahField(
        _l("Declared monthly income (Rp)"),
        validators=[
            InputRequired(message=WHOLE_RUPIAH),
            NumberRange(
                min=1,
                max=MAX_INCOME,
                message=_l("Give an amount above Rp0, in whole rupiah."),
            ),
        ],
    )
    legal_basis = StringField(_l("Legal basis"), validators=[DataRequired(), Length(max=200)])

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        """A rate of nothing would make free pledges: JKK and JKM together are above Rp0."""
        valid = super().validate(extra_validators)
        if valid and (self.jkk_amount.data or 0) + (self.jkm_amount.data or 0) <= 0:
            self.jkm_amount.errors = [
                *self.jkm_amount.errors,
                str(_l("JKK and JKM together must be more than Rp0.")),
            ]
            return False
        return valid
