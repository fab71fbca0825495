"""Validate one raw roster row into a clean worker record, reporting every problem in it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, NamedTuple

from portal.csvtext import MAX_CELL_CHARS, cell_message, control_character
from portal.messages import Message, _m
from portal.workers.nik import (
    NikError,
    NikFacts,
    check_nik_matches,
    parse_nik,
    region_prefix,
)
from portal.workers.roster import UNDECODABLE

MAX_NAME = 120
MAX_ADDRESS = 500
MAX_AGE = 120
EXACT_FLOAT_LIMIT = 2**53  # integers below this survive Excel's float storage exactly
EXCEL_NIK_MESSAGE = _m(
    "Excel converted the NIK to a number, so digits may be lost. Format the NIK column as Text "
    "(or start each NIK with an apostrophe) and export the file again."
)
DATE_FORMAT_MESSAGE = _m(
    "Birth date is not a date; write it as DD/MM/YYYY, DD-MM-YYYY or YYYY-MM-DD."
)
UNDECODABLE_MESSAGE = _m(
    "This row is not written in the same text encoding as the rest of the file, so its "
    "letters cannot be read for certain. Retype it, or save the whole file again as "
    "\u201cCSV UTF-8\u201d."
)

_NIK = re.compile(r"[0-9]{16}")
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE]\+?[0-9]+")
_DAY_FIRST = re.compile(r"([0-9]{1,2})([/-])([0-9]{1,2})\2([0-9]{4})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T][0-9:.]+)?")
_PHONE_JUNK = str.maketrans("", "", " .-\t\u00a0")
_PHONE = re.compile(r"08[0-9]{7,12}")
_KPJ = re.compile(r"[0-9]{8,13}")
_DECILE = re.compile(r"([0-9]{1,2})(?:\.0*)?")
_KELURAHAN_CODE = re.compile(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}")
_TEN_DIGITS = re.compile(r"[0-9]{10}")
_AREA_PREFIX = re.compile(r"^(?:kelurahan\s+|kecamatan\s+|kel\.\s*|kec\.\s*)")

_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_LEAP_BUG = 60  # Excel's 29 February 1900, a day that never was
_EXCEL_LAST_SERIAL = 2958465  # 31 December 9999
_DECILES = {str(decile): decile for decile in range(1, 11)}
_SEXES = {
    "l": "L",
    "p": "P",
    "m": "L",
    "f": "P",
    "laki-laki": "L",
    "laki laki": "L",
    "lk": "L",
    "perempuan": "P",
    "pr": "P",
    "male": "L",
    "female": "P",
}


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one column of one row; row is the file's row number. The message is
    shown in the reader's language (`str()`), kept as its data (`as_data()`)."""

    row: int
    column: str
    message: Message


class ValidRow(NamedTuple):
    """A roster row that passed every check, ready to become a Worker.

    A named tuple because one is made per row: it builds several times faster than a frozen
    dataclass, and the importer can turn a batch of them into columns with zip().
    """

    nik: str
    name: str
    birth_date: date
    sex: Literal["L", "P"]
    category_id: int
    phone: str | None
    kpj: str | None
    dtsen_decile: int | None
    address: str
    kelurahan_code: str
    in_region: bool


def fold(text: str) -> str:
    """Case-insensitive form of a name with runs of spaces collapsed."""
    return " ".join(text.casefold().split())


def normalise_area_name(text: str) -> str:
    """Fold a kelurahan or kecamatan name and drop a leading 'Kelurahan'/'Kel.'/'Kec.' etc."""
    return _AREA_PREFIX.sub("", fold(text), count=1)


@dataclass(frozen=True)
class Lookups:
    """Reference data as plain dicts, built once per import from two queries."""

    kelurahan_codes: frozenset[str]
    kelurahan_by_names: dict[tuple[str, str], str]  # (kecamatan, kelurahan) normalised -> code
    kelurahan_places: dict[str, tuple[tuple[str, str], ...]]  # kelurahan -> (kecamatan, code)
    category_by_code: dict[str, int]  # folded code -> id
    category_by_name: dict[str, int]  # folded Indonesian or English name -> id

    @classmethod
    def build(
        cls,
        kelurahan: Iterable[tuple[str, str, str]],
        categories: Iterable[tuple[int, str, str, str]],
    ) -> Lookups:
        """From (code, kelurahan name, kecamatan name) and (id, code, name_id, name_en) rows."""
        codes: set[str] = set()
        by_names: dict[tuple[str, str], str] = {}
        places: dict[str, tuple[tuple[str, str], ...]] = {}
        for code, kelurahan_name, kecamatan_name in kelurahan:
            codes.add(code)
            key = normalise_area_name(kelurahan_name)
            by_names[(normalise_area_name(kecamatan_name), key)] = code
            places[key] = (*places.get(key, ()), (kecamatan_name, code))
        by_code: dict[str, int] = {}
        by_name: dict[str, int] = {}
        for category_id, code, name_id, name_en in categories:
            by_code[fold(code)] = category_id
            by_name[fold(name_id)] = by_name[fold(name_en)] = category_id
        return cls(frozenset(codes), by_names, places, by_code, by_name)


class SeenNiks:
    """NIKs already met in one file: the first row with a NIK counts, later ones are errors.

    Call check() for each row that validated, in file order.
    """

    def __init__(self) -> None:
        self._first_row: dict[str, int] = {}

    def check(self, row_number: int, nik: str) -> RowError | None:
        first = self._first_row.setdefault(nik, row_number)
        if first == row_number:
            return None
        return RowError(
            row_number,
            "nik",
            _m("This NIK already appears in row %(row)s of this file.", row=first),
        )


class _Invalid(ValueError):
    """A cell's value is unusable; column overrides the field being checked."""

    def __init__(self, message: Message, column: str = "") -> None:
        super().__init__(message)
        self.message, self.column = message, column


def validate_row(
    row_number: int, raw: Mapping[str, object], lookups: Lookups, today: date
) -> ValidRow | list[RowError]:
    """Check one raw row (canonical keys, as read_roster yields) and return it clean or all
    of its problems, one RowError per column."""
    if raw.get(UNDECODABLE):
        return [RowError(row_number, "", UNDECODABLE_MESSAGE)]
    errors = _cell_problems(row_number, raw)
    refused = {error.column for error in errors}
    values: list[Any] = []
    for column, check in _CELL_CHECKS:
        if column in refused:
            values.append(None)
            continue
        try:
            values.append(check(raw.get(column), lookups, today))
        except _Invalid as problem:
            values.append(None)
            errors.append(RowError(row_number, column, problem.message))
    if refused.isdisjoint(_AREA_COLUMNS):
        try:
            values.append(_kelurahan_code(raw, lookups))
        except _Invalid as problem:
            errors.append(RowError(row_number, problem.column, problem.message))
    facts = _check_nik_agrees(row_number, values[0], values[2], values[3], today, errors)
    if errors or facts is None:
        return errors
    return ValidRow(*values, facts.in_region)  # type: ignore[call-arg]  # field order


def _cell_problems(row_number: int, raw: Mapping[str, object]) -> list[RowError]:
    """Text cells that are no plain text (control characters) or far too long."""
    errors = []
    for column, value in raw.items():
        if type(value) is str and (problem := cell_message(value)):
            errors.append(RowError(row_number, column, problem))
    return errors


def _plain(raw: Mapping[str, object]) -> bool:
    """No cell of the row has a problem _cell_problems would report (a quick look)."""
    texts = [value for value in raw.values() if type(value) is str]
    return (
        UNDECODABLE not in raw
        and control_character("".join(texts)) is None
        and max(map(len, texts), default=0) <= MAX_CELL_CHARS
    )


# --- cells -------------------------------------------------------------------------------


def _text(value: object) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if type(value) is float and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


def _nik(value: object, lookups: Lookups, today: date) -> str:
    if type(value) is str:
        if _NIK.fullmatch(value):
            return value
        value = value.strip()
        if _NIK.fullmatch(value):
            return value
        if not value:
            raise _Invalid(_m("NIK is required."))
        if _SCIENTIFIC.fullmatch(value):
            raise _Invalid(EXCEL_NIK_MESSAGE)
        raise _Invalid(_m("NIK must be exactly 16 digits."))
    if type(value) is int and 10**15 <= value < EXACT_FLOAT_LIMIT and value % 10:
        # A numeric cell holding all 16 digits exactly. Excel itself keeps only 15 significant
        # digits and zeroes the 16th, so a final 0 may be a lost digit: refuse those too.
        return str(value)
    if _is_number(value):
        raise _Invalid(EXCEL_NIK_MESSAGE)
    if value is None:
        raise _Invalid(_m("NIK is required."))
    raise _Invalid(_m("NIK must be exactly 16 digits."))


def _name(value: object, lookups: Lookups, today: date) -> str:
    name = " ".join(_text(value).split())
    if not name:
        raise _Invalid(_m("Name is required."))
    if len(name) > MAX_NAME:
        raise _Invalid(_m("Name is longer than %(max)s characters.", max=MAX_NAME))
    return name


def _birth_date(value: object, lookups: Lookups, today: date) -> date:
    born = _to_date(value)
    if born > today:
        raise _Invalid(_m("Birth date is in the future."))
    if (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) > MAX_AGE:
        raise _Invalid(_m("Birth date makes the worker older than %(max)s years.", max=MAX_AGE))
    return born


def _to_date(value: object) -> date:
    if type(value) is str:
        if match := _DAY_FIRST.fullmatch(value):
            return _real_date(match[4], match[3], match[1])
        if match := _ISO_DATE.fullmatch(value):
            return _real_date(match[1], match[2], match[3])
        raise _Invalid(DATE_FORMAT_MESSAGE if value else _m("Birth date is required."))
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if _is_number(value):
        return _from_excel_serial(value)  # type: ignore[arg-type]
    raise _Invalid(_m("Birth date is required.") if value is None else DATE_FORMAT_MESSAGE)


def _real_date(year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise _Invalid(_m("Birth date does not exist (check the day and month).")) from None


def _from_excel_serial(serial: float) -> date:
    """Excel's 1900 date system, which wrongly counts 29 February 1900 as serial 60."""
    if not 1 <= serial <= _EXCEL_LAST_SERIAL or int(serial) == _EXCEL_LEAP_BUG:
        raise _Invalid(_m("Birth date is a number that is not a valid Excel date."))
    days = int(serial)
    return _EXCEL_EPOCH + timedelta(days=days + 1 if days < _EXCEL_LEAP_BUG else days)


def _sex(value: object, lookups: Lookups, today: date) -> str:
    if value == "L" or value == "P":
        return value
    text = _text(value)
    sex = _SEXES.get(text.lower())
    if sex is None:
        raise _Invalid(
            _m("Sex must be L or P (laki-laki/perempuan, male/female).")
            if text
            else _m("Sex is required.")
        )
    return sex


def _category(value: object, lookups: Lookups, today: date) -> int:
    text = _text(value)
    if not text:
        raise _Invalid(_m("Category is required."))
    key = text if text in lookups.category_by_code else fold(text)
    category_id = lookups.category_by_code.get(key)
    if category_id is None:
        category_id = lookups.category_by_name.get(key)
    if category_id is None:
        raise _Invalid(
            _m("Category '%(category)s' is not a known category code or name.", category=text)
        )
    return category_id


def _phone(value: object, lookups: Lookups, today: date) -> str | None:
    if type(value) is str and _PHONE.fullmatch(value):
        return value
    digits = _text(value).translate(_PHONE_JUNK)
    if not digits:
        return None
    if digits.startswith("+62"):
        digits = "0" + digits[3:]
    elif digits.startswith("62"):
        digits = "0" + digits[2:]
    elif digits.startswith("8") and _is_number(value):
        digits = "0" + digits  # Excel drops the leading zero of a phone stored as a number
    if not _PHONE.fullmatch(digits):
        raise _Invalid(_m("Phone number must be 9 to 14 digits starting with 08 (or +62)."))
    return digits


def _kpj(value: object, lookups: Lookups, today: date) -> str | None:
    text = _text(value)
    if not text:
        return None
    if not _KPJ.fullmatch(text):
        raise _Invalid(_m("KPJ number must be 8 to 13 digits."))
    return text


def _decile(value: object, lookups: Lookups, today: date) -> int | None:
    if type(value) is str and value in _DECILES:
        return _DECILES[value]
    if type(value) is int or (type(value) is float and value.is_integer()):
        decile = int(value)
    else:
        text = _text(value)
        if not text:
            return None
        match = _DECILE.fullmatch(text)
        decile = int(match[1]) if match else 0
    if not 1 <= decile <= 10:
        raise _Invalid(_m("DTSEN decile must be a whole number from 1 to 10."))
    return decile


def _address(value: object, lookups: Lookups, today: date) -> str:
    address = _text(value)
    if len(address) > MAX_ADDRESS:
        raise _Invalid(_m("Address is longer than %(max)s characters.", max=MAX_ADDRESS))
    return address


# (raw column, check) in ValidRow field order; each returns the clean value or raises _Invalid.
_CELL_CHECKS: tuple[tuple[str, Callable[[object, Lookups, date], object]], ...] = (
    ("nik", _nik),
    ("name", _name),
    ("birth_date", _birth_date),
    ("sex", _sex),
    ("category", _category),
    ("phone", _phone),
    ("kpj", _kpj),
    ("dtsen_decile", _decile),
    ("address", _address),
)


# --- checks across columns ---------------------------------------------------------------


def _kelurahan_code(raw: Mapping[str, object], lookups: Lookups) -> str:
    code = _text(raw.get("kelurahan_code"))
    if code:
        return _known_code(code, lookups)
    name = _text(raw.get("kelurahan"))
    if name:
        return _code_from_names(name, _text(raw.get("kecamatan")), lookups)
    column = "kelurahan_code" if "kelurahan_code" in raw else "kelurahan"
    raise _Invalid(
        _m("Kelurahan is required: fill in kode_kelurahan, or kelurahan and kecamatan."), column
    )


def _known_code(code: str, lookups: Lookups) -> str:
    if code in lookups.kelurahan_codes:
        return code
    if _TEN_DIGITS.fullmatch(code):
        code = f"{code[:2]}.{code[2:4]}.{code[4:6]}.{code[6:]}"
    elif not _KELURAHAN_CODE.fullmatch(code):
        raise _Invalid(_m("Kelurahan code must look like 33.74.01.1001."), "kelurahan_code")
    if code not in lookups.kelurahan_codes:
        raise _Invalid(
            _m("Kelurahan code %(code)s is not a kelurahan of Kota Semarang.", code=code),
            "kelurahan_code",
        )
    return code


def _code_from_names(kelurahan: str, kecamatan: str, lookups: Lookups) -> str:
    key = normalise_area_name(kelurahan)
    places = lookups.kelurahan_places.get(key)
    if not places:
        raise _Invalid(
            _m(
                "Kelurahan '%(kelurahan)s' is not a kelurahan of Kota Semarang.",
                kelurahan=kelurahan,
            ),
            "kelurahan",
        )
    if kecamatan:
        code = lookups.kelurahan_by_names.get((normalise_area_name(kecamatan), key))
        if code is not None:
            return code
    elif len(places) == 1:
        return places[0][1]
    candidates = " / ".join(f"Kecamatan {name}" for name, _ in places)
    if kecamatan:
        raise _Invalid(
            _m(
                "Kelurahan '%(kelurahan)s' is not in Kecamatan '%(kecamatan)s'; it is in "
                "%(candidates)s.",
                kelurahan=kelurahan,
                kecamatan=kecamatan,
                candidates=candidates,
            ),
            "kecamatan",
        )
    raise _Invalid(
        _m(
            "There is a Kelurahan '%(kelurahan)s' in %(candidates)s; fill in the kecamatan.",
            kelurahan=kelurahan,
            candidates=candidates,
        ),
        "kecamatan",
    )


def _check_nik_agrees(
    row_number: int,
    nik: str | None,
    born: date | None,
    sex: str | None,
    today: date,
    errors: list[RowError],
) -> NikFacts | None:
    """Parse the NIK once when all is well; on trouble, report NIK, sex and date separately."""
    if nik is None:
        return None
    if born is not None and sex is not None:
        try:
            return check_nik_matches(nik, born, sex == "P", today)
        except NikError:
            pass  # find out which of the columns disagree below
    try:
        facts = parse_nik(nik, today)
    except NikError as problem:
        errors.append(RowError(row_number, "nik", problem.message))
        return None
    if sex is not None and facts.female != (sex == "P"):
        message = _mismatch(nik, facts.birth_date, sex == "P", today)
        if message is not None:
            errors.append(RowError(row_number, "sex", message))
    if born is not None and (message := _mismatch(nik, born, facts.female, today)):
        errors.append(RowError(row_number, "birth_date", message))
    return facts


def _mismatch(nik: str, born: date, female: bool, today: date) -> Message | None:
    try:
        check_nik_matches(nik, born, female, today)
    except NikError as problem:
        return problem.message
    return None


# --- a whole file: repeated cells checked once --------------------------------------------

_REFUSED = object()  # a memo's answer where the check refuses the value
MEMO_SIZE = 50_000  # answers a memo keeps
_TEXT = {str}
_TEXT_OR_BLANK = {str, type(None)}
_AREA_COLUMNS = ("kelurahan_code", "kelurahan", "kecamatan")


class _Memo(dict[Any, Any]):
    """A check's answers by value, worked out on first sight; _REFUSED where it refuses."""

    def __init__(self, check: Callable[[Any], object]) -> None:
        super().__init__()
        self._check = check

    def __missing__(self, value: Any) -> object:
        if len(self) >= MEMO_SIZE:
            self.clear()  # a file of ever new values: memory stays bounded, speed is lost
        try:
            answer = self._check(value)
        except _Invalid:
            answer = _REFUSED
        self[value] = answer
        return answer


class RowValidator:
    """validate_row for the rows of one file, giving the same answers faster.

    Text cells that repeat down a roster (birth date, sex, category, decile, area, the NIK's
    date digits) are checked once per distinct value. A row with anything wrong, or with
    non-text cells in those columns, goes through validate_row for its exact errors.
    """

    def __init__(self, lookups: Lookups, today: date) -> None:
        self.lookups, self.today = lookups, today
        self._dates, self._sexes = self._memo(_birth_date), self._memo(_sex)
        self._categories, self._deciles = self._memo(_category), self._memo(_decile)
        self._areas = _Memo(
            lambda cells: _kelurahan_code(dict(zip(_AREA_COLUMNS, cells, strict=True)), lookups)
        )
        self._agreements: dict[tuple[str, date, str], bool] = {}

    def __call__(self, row_number: int, raw: Mapping[str, object]) -> ValidRow | list[RowError]:
        row = self._quick(raw) if _plain(raw) else None
        return validate_row(row_number, raw, self.lookups, self.today) if row is None else row

    def _memo(self, check: Callable[[object, Lookups, date], object]) -> _Memo:
        return _Memo(lambda text: check(text, self.lookups, self.today))

    def _quick(self, raw: Mapping[str, object]) -> ValidRow | None:
        """The row as validate_row would return it, or None when it needs a closer look."""
        get = raw.get
        cells = (get("birth_date"), get("sex"), get("category"), get("dtsen_decile", ""))
        if set(map(type, cells)) != _TEXT:
            return None
        born, sex = self._dates[cells[0]], self._sexes[cells[1]]
        category, decile = self._categories[cells[2]], self._deciles[cells[3]]
        area = self._area(raw)
        row = self._other_cells(raw)
        if _REFUSED in (born, sex, category, decile, area) or row is None:
            return None
        nik, name, phone, kpj, address = row
        if not self._nik_agrees(nik, born, sex):
            return None
        return ValidRow(
            nik,
            name,
            born,
            sex,
            category,
            phone,
            kpj,
            decile,
            address,
            area,
            nik.startswith(region_prefix()),
        )

    def _area(self, raw: Mapping[str, object]) -> Any:
        code = raw.get("kelurahan_code")
        if type(code) is str and code in self.lookups.kelurahan_codes:
            return code
        names = tuple(map(raw.get, _AREA_COLUMNS))
        return self._areas[names] if set(map(type, names)) <= _TEXT_OR_BLANK else _REFUSED

    def _other_cells(self, raw: Mapping[str, object]) -> tuple[Any, ...] | None:
        """The cells that differ from row to row, checked as validate_row checks them."""
        get, lookups, today = raw.get, self.lookups, self.today
        try:
            return (
                _nik(get("nik"), lookups, today),
                _name(get("name"), lookups, today),
                _phone(get("phone"), lookups, today),
                _kpj(get("kpj"), lookups, today),
                _address(get("address"), lookups, today),
            )
        except _Invalid:
            return None

    def _nik_agrees(self, nik: str, born: date, sex: str) -> bool:
        """check_nik_matches, remembered by the NIK's date digits: the NIK is 16 digits by now,
        so apart from a 0000 sequence those digits decide the answer."""
        if nik.endswith("0000"):
            return False
        key = (nik[6:12], born, sex)
        agrees = self._agreements.get(key)
        if agrees is None:
            if len(self._agreements) >= MEMO_SIZE:
                self._agreements.clear()
            agrees = self._agreements[key] = _agrees(nik, born, sex == "P", self.today)
        return agrees


def _agrees(nik: str, born: date, female: bool, today: date) -> bool:
    try:
        check_nik_matches(nik, born, female, today)
    except NikError:
        return False
    return True
