"""Company registration, correction, review and member invitation forms."""

from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    Field,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from portal.companies.exceptions import InvalidIdentifier
from portal.companies.identifiers import normalise_nib, normalise_npwp, normalise_phone
from portal.labels import SECTOR_LABELS

SECTORS = [SelectChoice(code, label) for code, label in SECTOR_LABELS.items()]

IDENTIFIER_MESSAGES = {
    "nib_format": _l("NIB must be 13 digits."),
    "npwp_format": _l("NPWP must be 15 or 16 digits."),
    "npwp_check_digit": _l(
        "This NPWP does not add up: its 9th digit is a check digit over the 8 before it. "
        "Please check for a typing error."
    ),
    "npwp_nik": _l(
        "A 16-digit NPWP is either a NIK or 0 followed by the 15-digit NPWP; "
        "this number is neither."
    ),
    "phone_format": _l("Enter a phone number, for example 0812 2555 0199 or 024 8445566."),
    "phone_not_indonesian": _l("Enter an Indonesian phone number (08…, 024…, +62…)."),
    "phone_invalid": _l("This is not a valid Indonesian phone number; please check the digits."),
}


def _identifier(normalise: Callable[[str | None], str]) -> Callable[[FlaskForm, Field], None]:
    """Check a number with its domain rule; the field keeps what was typed."""

    def check(form: FlaskForm, field: Field) -> None:
        try:
            normalise(field.data)
        except InvalidIdentifier as error:
            raise ValidationError(str(IDENTIFIER_MESSAGES[error.problem])) from None

    return check


class CompanyDetailsForm(FlaskForm):
    """The company's own details, shared by registration and correction."""

    legal_name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=200)])
    nib = StringField(
        _l("NIB (Business Identification Number)"),
        validators=[DataRequired(), Length(max=40), _identifier(normalise_nib)],
    )
    npwp = StringField(
        _l("NPWP (Tax ID)"),
        validators=[DataRequired(), Length(max=40), _identifier(normalise_npwp)],
    )
    address = TextAreaField(_l("Address"), validators=[DataRequired(), Length(max=500)])
    sector = SelectField(_l("Sector"), choices=SECTORS, validators=[DataRequired()])
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=120)])
    contact_phone = StringField(
        _l("Contact phone"),
        validators=[DataRequired(), Length(max=32), _identifier(normalise_phone)],
    )


class CompanyRegistrationForm(CompanyDetailsForm):
    owner_email = EmailField(
        _l("Your e-mail (login)"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ResubmitCompanyForm(CompanyDetailsForm):
    note = TextAreaField(
        _l("What did you correct? (for the reviewer, optional)"),
        validators=[Optional(), Length(max=1000)],
    )


class RejectCompanyForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (sent to the company)"), validators=[DataRequired(), Length(min=5, max=1000)]
    )


class InviteMemberForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
