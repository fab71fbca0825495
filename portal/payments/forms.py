"""Staff payment forms: confirm a transfer by hand, import a bank statement."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import IntegerField
from wtforms.validators import DataRequired, NumberRange


class ConfirmTransferForm(FlaskForm):
    amount = IntegerField(_l("Amount received (Rp)"),
                          validators=[DataRequired(), NumberRange(min=1)])


class StatementForm(FlaskForm):
    statement = FileField(_l("Bank statement (CSV: date, description, amount)"), validators=[
        FileRequired(), FileAllowed(["csv", "txt"], _l("Upload a CSV file."))])
