"""Hostile roster uploads: time, peak memory and rejected-rows file of each, run as the portal
runs them (sealed on upload, checked by a job), one fresh process per file.

Each file is checked in its own process (the testing configuration: SQLite in memory, the
job engine in memory), which reports the seconds of the upload and its check, and the peak
resident memory of that work: Linux's high-water mark (VmHWM), reset just before the upload
(ru_maxrss where that cannot be done), against the memory the process held then ("growth").
With --lock, a 100,000-row roster is imported into a SQLite file while this process commits
a small write every 20 ms, once by the import job and once in one transaction (as the
command line does), and the longest wait for the write lock is printed.

Usage: .venv/bin/python -m bench.uploads [--small] [--lock]
       (--small: the sizes the tests use; default: files as large as the 20 MiB limit allows)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from portal.messages import english
from portal.workers.nik import build_nik

ROOT = Path(__file__).resolve().parents[1]
HEADER = b"nik,nama,tanggal_lahir,jenis_kelamin,kategori,kode_kelurahan\r\n"
HEADER_CELLS = HEADER.decode().strip().split(",")
GOOD_ROW = "3374011203850001,Slamet Riyadi,12/03/1985,L,becak,33.74.01.1001\r\n"


# --- the hostile files -------------------------------------------------------------------


def tiny_lines_csv(lines: int) -> bytes:
    """A roster header, then one-character lines: each a row whose NIK is 'x'."""
    return HEADER + b"x\n" * lines


def blank_lines_csv(lines: int) -> bytes:
    """A roster header, then lines of commas only: rows with nothing in them."""
    return HEADER + b",\n" * lines


def nul_after_8k_csv(rows: int = 300, at: int = 250) -> bytes:
    """Valid rows with a NUL inside the name of row `at` (well past the first 8 KB)."""
    lines = [_valid_row(n) for n in range(rows)]
    nik, name, *rest = lines[at - 2].split(",")
    lines[at - 2] = ",".join([nik, name[:3] + "\x00" + name[3:], *rest])
    return HEADER + "".join(lines).encode()


def mixed_encoding_csv(rows: int = 50, at: int = 30) -> bytes:
    """A UTF-8 roster (with "José") in which the line of row `at` is Windows-1252."""
    lines = [_valid_row(n).encode() for n in range(rows)]
    lines[0] = lines[0].replace(b"Pekerja 0", "José".encode())
    lines[at - 2] = _valid_row(at - 2).replace("Pekerja", "Désirée").encode("cp1252")
    return HEADER + b"".join(lines)


def _valid_row(n: int) -> str:
    """Row n of a roster whose NIKs agree with birth date and sex (one kelurahan)."""
    day, month, year = 1 + n % 28, 1 + n % 12, 1960 + n % 40
    nik = build_nik("337401", date(year, month, day), False, n % 9999 + 1)
    return f"{nik},Pekerja {n},{day:02d}/{month:02d}/{year},L,becak,33.74.01.1001\r\n"


def sparse_wide_xlsx(rows: int, gap: int = 3, filled: bool = True) -> bytes:
    """A header, then rows `gap` apart, each with a cell in the last Excel column (XFD) and,
    when `filled`, a bad NIK in column A: what made openpyxl build 16,384-wide rows."""
    strings = [*HEADER_CELLS, "x", "y"]

    def sheet(out: io.BufferedIOBase) -> None:
        out.write(b"<row r='1'>")
        for column, _ in enumerate(HEADER_CELLS):
            out.write(f"<c r='{chr(65 + column)}1' t='s'><v>{column}</v></c>".encode())
        out.write(b"</row>")
        for n in range(rows):
            r = 2 + n * gap
            first = f"<c r='A{r}' t='s'><v>6</v></c>" if filled else ""
            out.write(f"<row r='{r}'>{first}<c r='XFD{r}' t='s'><v>7</v></c></row>".encode())

    return workbook(sheet, strings)


def shared_strings_bomb(strings: int, huge: int = 0, rows: int = 0) -> bytes:
    """Many distinct short shared strings (random digits, so the zip ratio stays low) and
    `huge` strings of a million letters each, named by `rows` rows in the name column."""
    rng = random.Random(5)  # noqa: S311 - test data
    letters = "abcdefghijklmnopqrstuvwxyz"
    table = [str(rng.randrange(10**6, 10**7)) for _ in range(strings)]
    table += ["".join(rng.choices(letters, k=1_000_000)) for _ in range(huge)]
    table += HEADER_CELLS
    first = len(table) - len(HEADER_CELLS)

    def sheet(out: io.BufferedIOBase) -> None:
        out.write(b"<row r='1'>")
        for column, _ in enumerate(HEADER_CELLS):
            out.write(f"<c r='{chr(65 + column)}1' t='s'><v>{first + column}</v></c>".encode())
        out.write(b"</row>")
        for n in range(rows):
            r = n + 2
            big = strings + n % max(huge, 1)
            out.write(f"<row r='{r}'><c r='B{r}' t='s'><v>{big}</v></c></row>".encode())

    return workbook(sheet, table)


def workbook(sheet: Callable[[io.BufferedIOBase], None], strings: list[str]) -> bytes:
    """A minimal XLSX: the sheet's rows written by `sheet`, the shared strings given."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _content_types())
        archive.writestr(
            "_rels/.rels",
            f"<Relationships xmlns='{pkg}'><Relationship Id='r1' Type='{rel}/officeDocument' "
            "Target='xl/workbook.xml'/></Relationships>",
        )
        archive.writestr(
            "xl/workbook.xml",
            f"<workbook xmlns='{ns}' xmlns:r='{rel}'><sheets><sheet name='S' sheetId='1' "
            "r:id='r1'/></sheets></workbook>",
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f"<Relationships xmlns='{pkg}'><Relationship Id='r1' Type='{rel}/worksheet' "
            f"Target='worksheets/sheet1.xml'/><Relationship Id='r2' Type='{rel}/sharedStrings' "
            "Target='sharedStrings.xml'/></Relationships>",
        )
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            out.write(f"<sst xmlns='{ns}'>".encode())
            for text in strings:
                out.write(f"<si><t>{text}</t></si>".encode())
            out.write(b"</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(f"<worksheet xmlns='{ns}'><sheetData>".encode())
            sheet(out)  # type: ignore[arg-type]
            out.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def _content_types() -> str:
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return (
        "<Types xmlns='http://schemas.openxmlformats.org/package/2006/content-types'>"
        "<Default Extension='rels' ContentType='application/vnd.openxmlformats-package."
        "relationships+xml'/><Default Extension='xml' ContentType='application/xml'/>"
        f"<Override PartName='/xl/workbook.xml' ContentType='{ct}.sheet.main+xml'/>"
        f"<Override PartName='/xl/worksheets/sheet1.xml' ContentType='{ct}.worksheet+xml'/>"
        f"<Override PartName='/xl/sharedStrings.xml' ContentType='{ct}.sharedStrings+xml'/>"
        "</Types>"
    )


def valid_roster_csv(rows: int) -> bytes:
    """A realistic roster (bench/import_roster.py's), for scale: no row is refused."""
    from bench.import_roster import write_roster

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.csv"
        write_roster(path, rows)
        return path.read_bytes()


def hostile_files(small: bool) -> dict[str, tuple[str, Callable[[], bytes]]]:
    """name -> (file name, builder): the sizes of the tests, or as large as 20 MiB allows;
    first a valid roster, for scale."""
    scale = 1 if small else 10
    return {
        "valid roster (CSV), for scale": (
            "roster.csv",
            lambda: valid_roster_csv(10_000 if small else 200_000),
        ),
        "1M tiny lines (CSV)": ("tiny.csv", lambda: tiny_lines_csv(1_000_000)),
        "10M tiny lines (CSV, 20 MB)": ("tiny.csv", lambda: tiny_lines_csv(10_000_000))
        if not small
        else ("tiny.csv", lambda: tiny_lines_csv(1_000_000)),
        "blank lines (CSV)": ("blank.csv", lambda: blank_lines_csv(450_000)),
        "sparse wide, bad rows (XLSX)": (
            "sparse.xlsx",
            lambda: sparse_wide_xlsx(100_000 * scale, gap=3, filled=True),
        ),
        "sparse wide, blank rows (XLSX)": (
            "sparse.xlsx",
            lambda: sparse_wide_xlsx(300_000 if small else 2_500_000, gap=2, filled=False),
        ),
        "shared-strings bomb: many (XLSX)": (
            "bomb.xlsx",
            lambda: shared_strings_bomb(250_000 if small else 2_500_000),
        ),
        "shared-strings bomb: huge (XLSX)": (
            "bomb.xlsx",
            lambda: shared_strings_bomb(10, huge=3 if small else 12, rows=20_000 * scale),
        ),
        "NUL after 8 KB (CSV)": ("nul.csv", lambda: nul_after_8k_csv()),
        "mixed encodings (CSV)": ("mixed.csv", lambda: mixed_encoding_csv()),
    }


# --- one check in its own process --------------------------------------------------------


def check_in_subprocess(
    files: list[tuple[Path, str]], parallel: bool = False, timeout: float = 300
) -> list[dict[str, object]]:
    """Upload and check each file as the portal does, each in a fresh process (all at once
    when `parallel`); their figures, in order."""
    # Each measuring process has its own in-memory SQLite database and job queue: never the
    # test suite's database (TEST_DATABASE_URL in CI) nor its broker.
    env = {**os.environ, "PORTAL_ENV": "testing", "JOBS_BROKER": "memory"}
    env.pop("TEST_DATABASE_URL", None)
    started: list[subprocess.Popen[str]] = []
    found = []
    for path, name in files:
        started.append(
            subprocess.Popen(  # noqa: S603 - this interpreter, this module
                [sys.executable, "-m", "bench.uploads", "--check", str(path), name],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        if not parallel:
            found.append(_result(started[-1], timeout))
    if parallel:
        found = [_result(process, timeout) for process in started]
    return found


def _result(process: subprocess.Popen[str], timeout: float) -> dict[str, object]:
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(err[-3000:])
    return dict(json.loads(out.strip().splitlines()[-1]))


def _check(pairs: list[str]) -> None:
    from portal import create_app  # the app only in the measuring process
    from portal.auth.models import Role, User
    from portal.extensions import db
    from portal.reference.seed import seed_reference

    app = create_app("testing")
    with app.app_context():
        db.create_all()
        seed_reference()
        staff = User(email="bench@example.com", full_name="Bench", role=Role.STAFF)
        db.session.add(staff)
        db.session.commit()
        for at in range(0, len(pairs), 2):
            print(json.dumps(_check_one(Path(pairs[at]), pairs[at + 1], staff.id)), flush=True)


def _check_one(path: Path, filename: str, actor_id: int) -> dict[str, object]:
    from portal.extensions import db
    from portal.workers import jobs
    from portal.workers.models import ImportJob

    base = _reset_peak()
    start = time.perf_counter()
    with path.open("rb") as upload:
        job = jobs.create_import_job(upload, filename, False, actor_id)
    db.session.commit()
    stored = time.perf_counter() - start
    jobs.run_import_job(job.id)
    seconds = time.perf_counter() - start
    peak = _peak()
    job = db.session.get_one(ImportJob, job.id)
    summary = job.summary or {}
    return {
        "state": str(job.state),
        "message": job.message,
        "rows": job.rows_done,
        "rejected": summary.get("rejected", 0),
        "rejected_in_file": summary.get("rejected_in_file", 0),
        "errors": summary.get("errors", []),
        "errors_total": summary.get("errors_total", 0),
        "store_seconds": round(stored, 3),
        "seconds": round(seconds, 3),
        "base_mib": round(base / 1024, 1),
        "peak_mib": round(peak / 1024, 1),
        "growth_mib": round((peak - base) / 1024, 1),
        "rejected_file_bytes": _size(jobs.rejected_path(job)),
    }


def _reset_peak() -> int:
    """Reset this process's peak resident memory to what it holds now (Linux: clear_refs),
    so that the peak read afterwards is the work's own; returns the resident KiB now."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kib("VmRSS")
    except OSError:  # not Linux: the peak so far stands in
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak() -> int:
    try:
        return _status_kib("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(field)


def _size(path: str | None) -> int:
    return Path(path).stat().st_size if path and Path(path).exists() else 0


# --- the write lock during an import -----------------------------------------------------


def lock_waits(rows: int, workdir: Path, how: str = "job") -> dict[str, float]:
    """Import `rows` rows into a SQLite file in another process (`how`: "job", the import
    job committing batch by batch, or "one", the whole file in one transaction as the
    command line does) while this process commits a small write every 20 ms; the longest
    and the median wait for the write lock."""
    from bench.import_roster import write_roster

    roster = workdir / "roster.csv"
    write_roster(roster, rows)
    database = workdir / f"lock-{how}.db"
    # Each measuring process has its own in-memory SQLite database and job queue: never the
    # test suite's database (TEST_DATABASE_URL in CI) nor its broker.
    env = {**os.environ, "PORTAL_ENV": "testing", "JOBS_BROKER": "memory"}
    env.pop("TEST_DATABASE_URL", None)
    importer = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "bench.uploads", "--import", str(roster), str(database), how],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert importer.stdout is not None
    assert importer.stdout.readline().strip() == "ready"
    waits = []
    with sqlite3.connect(database, timeout=60, isolation_level=None) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS bench_ping (at REAL)")
        while importer.poll() is None:
            start = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO bench_ping VALUES (?)", (start,))
            connection.execute("COMMIT")
            waits.append(time.perf_counter() - start)
            time.sleep(0.02)
    result = json.loads(importer.stdout.read().strip().splitlines()[-1])
    waits.sort()
    return {
        "import_seconds": result["seconds"],
        "writes": len(waits),
        "max_wait_ms": round(1000 * waits[-1], 1) if waits else 0.0,
        "median_wait_ms": round(1000 * waits[len(waits) // 2], 1) if waits else 0.0,
    }


def _import(roster: Path, database: Path, how: str) -> None:
    from config import TestingConfig
    from portal import create_app
    from portal.auth.models import Role, User
    from portal.extensions import db
    from portal.reference.seed import seed_reference
    from portal.workers import jobs
    from portal.workers.importer import import_roster

    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = f"sqlite:///{database}"
    app = create_app(settings)
    with app.app_context():
        db.create_all()
        seed_reference()
        staff = User(email="bench@example.com", full_name="Bench", role=Role.STAFF)
        db.session.add(staff)
        db.session.flush()
        with roster.open("rb") as upload:
            job = jobs.create_import_job(upload, roster.name, False, staff.id, dry_run=False)
        db.session.commit()
        print("ready", flush=True)
        start = time.perf_counter()
        if how == "job":
            jobs.run_import_job(job.id)
        else:
            import_roster(
                roster.read_bytes(),
                roster.name,
                dry_run=False,
                update_existing=False,
                actor_id=None,
            )
            db.session.commit()
        print(json.dumps({"seconds": round(time.perf_counter() - start, 3)}), flush=True)
        db.session.remove()
        db.engine.dispose()


# --- the report --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="the sizes the tests use")
    parser.add_argument("--lock", action="store_true", help="also measure the write lock")
    parser.add_argument("--check", nargs="+", metavar="PATH NAME", help=argparse.SUPPRESS)
    parser.add_argument("--import", nargs=3, dest="import_", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.check:
        _check(args.check)
        return
    if args.import_:
        _import(Path(args.import_[0]), Path(args.import_[1]), args.import_[2])
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(
            f"{'file':34} {'MB':>6} {'s':>6} {'peak MiB':>9} {'growth':>7} {'rej. file':>10}",
            "result",
        )
        for name, (filename, build) in hostile_files(args.small).items():
            path = workdir / filename
            path.write_bytes(build())
            size = path.stat().st_size / 2**20
            [found] = check_in_subprocess([(path, filename)])
            outcome = f"{found['state']}: {english(found['message'] or '')}".rstrip(": ")
            print(
                f"{name:34} {size:6.1f} {found['seconds']:6.2f} {found['peak_mib']:9.1f} "
                f"{found['growth_mib']:7.1f} {found['rejected_file_bytes']:>10,}  "
                f"{str(outcome)[:90]}"
            )
        if args.lock:
            for how in ("job", "one"):
                waits = lock_waits(100_000, workdir, how)
                print(f"write lock during a 100,000-row import ({how}):", waits)


if __name__ == "__main__":
    main()
