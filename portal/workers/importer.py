"""Roster import: check every row and write the valid ones, a batch at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any, Protocol

from sqlalchemy import Column, Dialect, Table, bindparam, insert, literal, select, update
from sqlalchemy.sql.compiler import Compiled, SQLCompiler

from portal.audit.services import record_event
from portal.auth.models import User
from portal.csvtext import (
    CONTROL_CHARACTERS,
    MAX_CELL_CHARS,
    MAX_DETAIL,
    Source,
    UploadError,
    Usefulness,
)
from portal.db import utcnow
from portal.exports import safe_cell
from portal.extensions import db
from portal.messages import Message, _m
from portal.reference.models import Category, Kecamatan, Kelurahan
from portal.regions.scope import current_region, kecamatan_in_region
from portal.workers.eligibility import EligibilityFacts, ineligibility_reasons
from portal.workers.elsewhere import active_elsewhere, registered_elsewhere
from portal.workers.models import Worker, WorkerStatus, WorkerStatusChange
from portal.workers.pii import PiiCipher, current_cipher, mask_nik
from portal.workers.rejected import reasons_text, shown_reasons
from portal.workers.roster import RosterFormatError, read_roster
from portal.workers.rows import Lookups, RowError, RowValidator, SeenNiks, ValidRow

BATCH = 2_000
Progress = Callable[[int], None]


class RejectedSink(Protocol):
    """Where the rejected rows go in full (the report keeps only the first MAX_DETAIL); the
    reasons come as `reasons_text` stores them."""

    def add(self, number: int, raw: dict[str, object], reasons: str) -> None: ...


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do). `errors` and `rejected_rows` hold
    the first MAX_DETAIL; `errors_total` and `rejected` count them all."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    warnings: list[Message] = field(default_factory=list)
    rejected_rows: list[tuple[int, dict[str, object], str]] = field(default_factory=list)
    usefulness: Usefulness = field(default_factory=Usefulness)

    def as_json(self, data: bool = False) -> dict[str, Any]:
        """The counts and the first errors; the messages in English (the command line's
        --json), or with `data` as message data, to store and show in the reader's language
        (`|message`)."""
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "rejected": self.rejected,
            "errors": [
                {
                    "row": e.row,
                    "column": e.column,
                    "message": e.message.as_data() if data else e.message.english(),
                }
                for e in self.errors
            ],
            "errors_total": self.errors_total,
        }

    def checkpoint(self) -> dict[str, Any]:
        """What a resumed import needs to carry on (JSON)."""
        return {
            **self.as_json(data=True),
            "warnings": [warning.as_data() for warning in self.warnings],
            "sampled": [self.usefulness.rows, self.usefulness.invalid],
        }

    @classmethod
    def resumed(cls, saved: dict[str, Any]) -> ImportReport:
        return cls(
            rows=saved["rows"],
            created=saved["created"],
            updated=saved["updated"],
            rejected=saved["rejected"],
            errors=[
                RowError(e["row"], e["column"], message_of(e["message"])) for e in saved["errors"]
            ],
            errors_total=saved["errors_total"],
            warnings=[message_of(warning) for warning in saved["warnings"]],
            usefulness=Usefulness(*saved["sampled"]),
        )


def message_of(value: dict[str, Any] | str) -> Message:
    """A message kept as data (or, from before messages were data, as its text) again."""
    if isinstance(value, dict):
        return Message(str(value["msgid"]), **dict(value.get("params") or {}))
    return Message(value)


def load_lookups() -> Lookups:
    """Reference data for validation, in two queries."""
    kelurahan = (
        db.session.execute(
            select(Kelurahan.code, Kelurahan.name, Kecamatan.name)
            .join(Kecamatan)
            .where(kecamatan_in_region())
        )
        .tuples()
        .all()
    )
    categories = (
        db.session.execute(select(Category.id, Category.code, Category.name_id, Category.name_en))
        .tuples()
        .all()
    )
    return Lookups.build(kelurahan, categories)


@dataclass(frozen=True)
class Hooks:
    """What a caller hears of an import as it goes: `after_batch` gets the report after each
    batch's writes (a job commits there, so that the database is not locked for the whole
    file), `rejected` every rejected row."""

    after_batch: Callable[[ImportReport], None] | None = None
    rejected: RejectedSink | None = None


def import_roster(
    source: Source,
    filename: str,
    *,
    dry_run: bool,
    update_existing: bool,
    actor_id: int | None,
    progress: Progress | None = None,
    today: date | None = None,
    now: datetime | None = None,
    resume: ImportReport | None = None,
    hooks: Hooks | None = None,
) -> ImportReport:
    """Check every row and, unless dry_run, write the valid ones in the caller's transaction
    (one transaction, unless hooks.after_batch commits after each batch). With `resume`, the
    report of the batches already done, those rows are read again only to know their NIKs.

    Raises RosterFormatError when the file as a whole cannot be read, is over a limit, or
    more than half of its first rows are invalid.
    """
    hooks = hooks or Hooks()
    run = _Run(
        current_cipher(),
        today or date.today(),
        now or utcnow(),
        _active_categories(),
        dry_run,
        update_existing,
        actor_id,
        hooks.rejected,
    )
    report = resume or ImportReport()
    validate, seen = RowValidator(load_lookups(), run.today), SeenNiks()
    if hooks.after_batch:
        hooks.after_batch(report)  # the reference data is read: a job ends its transaction
    with read_roster(source, filename) as roster:
        report.warnings = roster.warnings
        rows = iter(roster)
        _replay(rows, report.rows, validate, seen)
        for batch in _batches(rows, BATCH):
            valid = _validate_batch(batch, validate, seen, report, run)
            _apply_batch(valid, run, report)
            if hooks.after_batch:
                hooks.after_batch(report)
            if progress:
                progress(report.rows)
    if not dry_run:
        actor = db.session.get(User, actor_id) if actor_id is not None else None
        record_event(
            "worker.import", actor=actor, after={"file": filename[:200], **_counts(report)}
        )
    return report


def _replay(
    rows: Iterator[tuple[int, dict[str, object]]], done: int, validate: RowValidator, seen: SeenNiks
) -> None:
    """Read again the rows a resumed import did before, to know which NIKs came first."""
    for number, raw in islice(rows, done):
        result = validate(number, raw)
        if isinstance(result, ValidRow):
            seen.check(number, result.nik)


def _counts(report: ImportReport) -> dict[str, int]:
    return {
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "rejected": report.rejected,
    }


@dataclass(frozen=True)
class _Run:
    """The settings one import runs with; `now` stamps every row it writes."""

    cipher: PiiCipher
    today: date
    now: datetime
    active: frozenset[int]
    dry_run: bool
    update_existing: bool
    actor_id: int | None
    rejected: RejectedSink | None
    statuses: dict[tuple[bool, bool, date], str] = field(default_factory=dict)  # see _status


def _active_categories() -> frozenset[int]:
    return frozenset(db.session.scalars(select(Category.id).where(Category.active.is_(True))))


def _batches(
    rows: Iterator[tuple[int, dict[str, object]]], size: int
) -> Iterator[list[tuple[int, dict[str, object]]]]:
    while batch := list(islice(rows, size)):
        yield batch


Checked = tuple[int, dict[str, object], ValidRow]
NewWorker = tuple[str, ValidRow]  # (nik_hash, row)
ALREADY_REGISTERED = _m(
    "This NIK is already registered. Tick 'update existing workers' "
    "(--update-existing) to update the worker instead."
)


def _validate_batch(
    batch: list[tuple[int, dict[str, object]]],
    validate: RowValidator,
    seen: SeenNiks,
    report: ImportReport,
    run: _Run,
) -> list[Checked]:
    """The batch's valid rows; the others rejected. Raises RosterFormatError when the file
    turns out useless (see Usefulness)."""
    valid: list[Checked] = []
    for number, raw in batch:
        result = validate(number, raw)
        if isinstance(result, ValidRow):
            duplicate = seen.check(number, result.nik)
            if duplicate is None:
                valid.append((number, raw, result))
                _count(report, invalid=False)
                continue
            result = [duplicate]
        _reject(report, number, raw, result, run)
        _count(report, invalid=True)
    report.rows += len(batch)
    return valid


def _count(report: ImportReport, invalid: bool) -> None:
    try:
        report.usefulness.count(invalid)
    except UploadError as error:
        raise RosterFormatError(error.message) from None


def _reject(
    report: ImportReport, number: int, raw: dict[str, object], errors: list[RowError], run: _Run
) -> None:
    report.rejected += 1
    report.errors_total += len(errors)
    if len(report.errors) < MAX_DETAIL:
        report.errors.extend(errors[: MAX_DETAIL - len(report.errors)])
    reasons = reasons_text(errors)
    if len(report.rejected_rows) < MAX_DETAIL:
        report.rejected_rows.append((number, raw, reasons))
    if run.rejected is not None:
        run.rejected.add(number, raw, reasons)


def _apply_batch(valid: list[Checked], run: _Run, report: ImportReport) -> None:
    hashes = [run.cipher.lookup_hash(row.nik) for _, _, row in valid]
    existing = _registered(hashes)
    # A NIK new to this region is refused while another region has it active: one query a
    # batch, for the batch's new NIKs.
    elsewhere = active_elsewhere([h for h in hashes if h not in existing])
    new: list[NewWorker] = []
    changed: list[tuple[int, ValidRow]] = []
    for (number, raw, row), nik_hash in zip(valid, hashes, strict=True):
        worker_id = existing.get(nik_hash)
        if worker_id is None and nik_hash in elsewhere:
            refused = registered_elsewhere(elsewhere[nik_hash])
            _reject(report, number, raw, [RowError(number, "nik", refused)], run)
        elif worker_id is None:
            new.append((nik_hash, row))
        elif run.update_existing:
            changed.append((worker_id, row))
        else:
            _reject(report, number, raw, [RowError(number, "nik", ALREADY_REGISTERED)], run)
    report.created += len(new)
    report.updated += len(changed)
    if not run.dry_run:
        _write(new, changed, run)


def _registered(hashes: list[str]) -> dict[str, int]:
    """Worker ids by NIK hash, for the hashes already in the register."""
    if not hashes:
        return {}
    found = db.session.execute(
        select(Worker.nik_hash, Worker.id).where(Worker.nik_hash.in_(hashes))
    )
    return {nik_hash: worker_id for nik_hash, worker_id in found}


def _write(new: list[NewWorker], changed: list[tuple[int, ValidRow]], run: _Run) -> None:
    if new:
        hashes = [nik_hash for nik_hash, _ in new]
        _insert_rows(
            Worker.__table__,
            _new_workers(hashes, [row for _, row in new], run),
            {
                "registered_on": run.today,
                "region_code": current_region(),
                "domicile_flag": False,
                "other_membership": False,
                "created_at": run.now,
                "updated_at": run.now,
            },
        )
        _record_history(hashes, run)
    if changed:
        db.session.execute(update(Worker), _changed_workers(changed, run.cipher))


def _new_workers(hashes: list[str], rows: list[ValidRow], run: _Run) -> dict[str, Sequence[Any]]:
    """The new workers' values column by column, one value per worker in each."""
    (
        niks,
        names,
        births,
        sexes,
        categories,
        phones,
        kpjs,
        deciles,
        addresses,
        areas,
        in_region,
    ) = zip(*rows, strict=True)
    return {
        "nik_hash": hashes,
        "nik_encrypted": run.cipher.encrypt_many(niks),
        "nik_masked": [mask_nik(nik) for nik in niks],
        "full_name": names,
        "birth_date": births,
        "sex": sexes,
        "category_id": categories,
        "kelurahan_code": areas,
        "address": addresses,
        "phone_encrypted": run.cipher.encrypt_many(phones),
        "kpj": kpjs,
        "dtsen_decile": deciles,
        "nik_in_semarang": in_region,
        "status": [_status(row, run) for row in rows],
    }


def _status(row: ValidRow, run: _Run) -> str:
    """New workers are eligible at once when R2 holds this month; else registered."""
    active = row.category_id in run.active
    key = (row.in_region, active, row.birth_date)  # all that R2 reads of a new worker
    status = run.statuses.get(key)
    if status is None:
        facts = EligibilityFacts(
            status=WorkerStatus.ELIGIBLE,
            nik_in_semarang=row.in_region,
            domicile_flag=False,
            category_active=active,
            birth_date=row.birth_date,
            other_membership=False,
        )
        eligible = not ineligibility_reasons(facts, run.today.replace(day=1))
        status = run.statuses[key] = (
            WorkerStatus.ELIGIBLE if eligible else WorkerStatus.REGISTERED
        ).value
    return status


def _record_history(hashes: list[str], run: _Run) -> None:
    """The first status history row of each new worker, copied in SQL from the worker rows."""
    worker, history = Worker.__table__, WorkerStatusChange.__table__
    firsts = (
        select(
            worker.c.id,
            worker.c.status,
            literal("import"),
            literal(run.actor_id, history.c.actor_id.type),
            literal(run.now, history.c.created_at.type),
        )
        # A Core select is not given the region's criteria, and a NIK may be registered in
        # other regions too.
        .where(worker.c.nik_hash.in_(hashes), worker.c.region_code == current_region())
        .order_by(worker.c.id)
    )
    db.session.execute(
        insert(history).from_select(
            ["worker_id", "to_status", "note", "actor_id", "created_at"], firsts
        )
    )


def _changed_workers(
    changed: list[tuple[int, ValidRow]], cipher: PiiCipher
) -> list[dict[str, object]]:
    phones = cipher.encrypt_many([row.phone for _, row in changed])
    return [
        {
            "id": worker_id,
            "full_name": row.name,
            "birth_date": row.birth_date,
            "sex": row.sex,
            "category_id": row.category_id,
            "kelurahan_code": row.kelurahan_code,
            "address": row.address,
            "phone_encrypted": phone,
            "kpj": row.kpj,
            "dtsen_decile": row.dtsen_decile,
            "nik_in_semarang": row.in_region,
        }
        for (worker_id, row), phone in zip(changed, phones, strict=True)
    ]


def _insert_rows(table: Table, values: dict[str, Sequence[Any]], same: dict[str, Any]) -> None:
    """INSERT one row per position in `values` (column -> a value per row), each row also
    taking the `same` values, with one executemany handed straight to the database driver.

    This skips SQLAlchemy's per-row parameter work, which would cost more than the rest of the
    import. Each column's type still converts values for the database (once per distinct
    value), but no defaults are applied: the columns given must be every column to fill.
    """
    connection = db.session.connection()
    dialect = connection.dialect
    count = len(next(iter(values.values())))
    columns = {name: _for_driver(table.c[name], cells, dialect) for name, cells in values.items()}
    for name, value in same.items():
        [converted] = _for_driver(table.c[name], [value], dialect)
        columns[name] = [converted] * count
    compiled = (
        insert(table)
        .values({name: bindparam(name) for name in columns})
        .inline()
        .compile(dialect=dialect)
    )
    connection.exec_driver_sql(compiled.string, _driver_params(compiled, columns))


def _driver_params(compiled: Compiled, columns: dict[str, Sequence[Any]]) -> list[Any]:
    """Rows of parameters as the driver takes them: tuples in the statement's order, or dicts.

    A KeyError means the statement has a parameter (say, a column default) left unfilled.
    """
    if isinstance(compiled, SQLCompiler) and compiled.positional:
        return list(zip(*(columns[name] for name in compiled.positiontup or ()), strict=True))
    names = list(compiled.params)
    rows = zip(*(columns[name] for name in names), strict=True)
    return [dict(zip(names, row, strict=True)) for row in rows]


def _for_driver(column: Column[Any], cells: Sequence[Any], dialect: Dialect) -> Sequence[Any]:
    """The values as the column's type binds them (equal values convert alike)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return cells if process is None else list(map(_Converted(process).__getitem__, cells))


class _Converted(dict[Any, Any]):
    """A bind processor's results by value, each worked out once."""

    def __init__(self, process: Callable[[Any], Any]) -> None:
        super().__init__()
        self._process = process

    def __missing__(self, value: Any) -> Any:
        converted = self[value] = self._process(value)
        return converted


def rejected_rows_csv(report: ImportReport, columns: Iterable[str]) -> str:
    """The rejected rows the report kept (the first MAX_DETAIL) as a CSV to fix and import
    again, with the row number and the reasons (in the current language)."""
    columns = list(columns)
    out = io.StringIO()
    out.write(rejected_line(["row", *columns, "errors"]))
    for number, raw, reasons in report.rejected_rows:
        out.write(rejected_line(rejected_cells(number, raw, shown_reasons(reasons), columns)))
    return out.getvalue()


def rejected_cells(
    number: int, raw: dict[str, object], reasons: str, columns: Sequence[str]
) -> list[object]:
    """A rejected row as the rejected-rows CSV writes it (formulas defused)."""
    return [number, *(safe_cell(_shown(raw.get(c))) for c in columns), safe_cell(reasons)]


def _shown(value: object) -> object:
    """A cell as the file shows it: cut at MAX_CELL_CHARS, control characters as U+FFFD."""
    if type(value) is not str:
        return value
    return CONTROL_CHARACTERS.sub("\ufffd", value[:MAX_CELL_CHARS])


def rejected_line(cells: Sequence[object]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()
