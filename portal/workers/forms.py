"""Register forms: roster upload, worker details, status change."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from portal.labels import LABELS
from portal.workers.models import InactiveReason, WorkerStatus

STATUS_CHOICES = [SelectChoice(s.value, LABELS[s.value]) for s in WorkerStatus]
REASON_CHOICES = [SelectChoice("", "–")] + [
    SelectChoice(r.value, LABELS[r.value])
    for r in InactiveReason
    if r != InactiveReason.ERASED  # only an erasure (portal/privacy) sets it
]


class RosterUploadForm(FlaskForm):
    roster = FileField(
        _l("Roster file (CSV or XLSX)"),
        validators=[
            FileRequired(),
            FileAllowed(["csv", "xlsx", "txt"], _l("Upload a CSV or XLSX file.")),
        ],
    )
    update_existing = BooleanField(_l("Update workers whose NIK is already registered"))


class WorkerForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    birth_date = DateField(_l("Birth date"), validators=[DataRequired()])
    sex = SelectField(
        _l("Sex"), choices=[SelectChoice("L", _l("Male (L)")), SelectChoice("P", _l("Female (P)"))]
    )
    category_id = SelectField(_l("Category"), coerce=int)
    kelurahan_code = SelectField(_l("Kelurahan"))
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=500)])
    phone = StringField(
        _l("Phone"),
        validators=[
            Optional(),
            Regexp(r"^08[0-9]{7,12}$", message=_l("Write the phone as 08…, digits only.")),
        ],
    )
    kpj = StringField(
        _l("BPJS TK membership number (KPJ)"),
        validators=[Optional(), Regexp(r"^[0-9]{8,13}$", message=_l("KPJ is 8 to 13 digits."))],
    )
    dtsen_decile = IntegerField(
        _l("DTSEN decile"), validators=[Optional(), NumberRange(min=1, max=10)]
    )
    domicile_flag = BooleanField(_l("Lives in Kota Semarang (NIK from elsewhere)"))
    other_membership = BooleanField(_l("Already covered by another BPJS TK membership"))


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=STATUS_CHOICES)
    reason = SelectField(
        _l("Reason (when inactive)"), choices=REASON_CHOICES, validators=[Optional()]
    )
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(min=3, max=500)])
