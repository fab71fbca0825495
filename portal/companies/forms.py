"""Company registration, review and member invitation forms."""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from portal.companies.services import digits_only
from portal.labels import SECTOR_LABELS

SECTORS = [SelectChoice(code, label) for code, label in SECTOR_LABELS.items()]


def _digits(length_ok, message):  # type: ignore[no-untyped-def]
    def check(form, field):  # type: ignore[no-untyped-def]
        value = digits_only(field.data)
        if not re.fullmatch(r"\d+", value or "") or not length_ok(len(value)):
            raise ValidationError(message)
        field.data = value

    return check


class CompanyRegistrationForm(FlaskForm):
    legal_name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=200)])
    nib = StringField(
        _l("NIB (Business Identification Number)"),
        validators=[DataRequired(), _digits(lambda n: n == 13, _l("NIB must be 13 digits."))],
    )
    npwp = StringField(
        _l("NPWP (Tax ID)"),
        validators=[
            DataRequired(),
            _digits(lambda n: n in (15, 16), _l("NPWP must be 15 or 16 digits.")),
        ],
    )
    address = TextAreaField(_l("Address"), validators=[DataRequired(), Length(max=500)])
    sector = SelectField(_l("Sector"), choices=SECTORS, validators=[DataRequired()])
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=120)])
    contact_phone = StringField(
        _l("Contact phone"), validators=[DataRequired(), Length(min=6, max=32)]
    )
    owner_email = EmailField(
        _l("Your e-mail (login)"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class RejectCompanyForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (sent to the company)"), validators=[DataRequired(), Length(min=5, max=1000)]
    )


class InviteMemberForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
