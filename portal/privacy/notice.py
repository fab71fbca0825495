"""The breach notice as text: Markdown in Indonesian with English, or plain JSON values."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from portal.privacy.breach import DATA, LOCAL, SIGNALS, BreachNotice, Group, controller


def local(moment: datetime) -> str:
    return f"{moment.astimezone(LOCAL):%Y-%m-%d %H:%M} WIB"


def _data(keys: Iterable[str], language: int) -> str:
    return ", ".join(DATA[key][language] for key in keys)


def notice_json(notice: BreachNotice) -> dict[str, Any]:
    """The notice as plain values; times ISO 8601 in WIB."""

    def iso(moment: datetime) -> str:
        return moment.astimezone(LOCAL).isoformat()

    def group(g: Group) -> dict[str, Any]:
        return {
            "action": g.action,
            "user": g.actor,
            "ip": g.ip,
            "events": g.events,
            "first": iso(g.first),
            "last": iso(g.last),
        }

    held = notice.held
    return {
        "law": "UU 27/2022 Pasal 46",
        "controller": controller(),
        "generated_at": iso(notice.generated_at),
        "window": {"since": iso(notice.since), "until": iso(notice.until)},
        "discovered_at": iso(notice.discovered),
        "notice_due_by": iso(notice.deadline),
        "accesses": [
            {
                "action": a.action,
                "description_id": a.kind.id,
                "description_en": a.kind.en,
                "data": list(a.kind.data),
                "events": a.events,
                "workers": len(a.workers),
                "file_rows": a.rows,
            }
            for a in notice.accesses
        ],
        "data_subjects": {
            "workers_opened_one_by_one": notice.workers_opened,
            "worker_rows_in_files": notice.file_rows,
            "workers_at_most": notice.at_most,
        },
        "held": {
            "workers": held.workers,
            "workers_erased": held.erased,
            "companies": held.companies,
            "sponsor_users": held.sponsor_users,
            "city_users": held.city_users,
        },
        "accesses_by_user": [group(g) for g in notice.by_user],
        "signals": [group(g) for g in notice.signals],
        "handling": None,  # for the controller to fill in
        "contact": None,
    }


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Iterable[Iterable[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def notice_markdown(notice: BreachNotice) -> str:
    lines = [
        "# Draf pemberitahuan kegagalan pelindungan data pribadi",
        "",
        "*Draft notice of a personal data protection failure · UU 27/2022 Pasal 46*",
        "",
        *_table(
            ["", ""],
            [
                ("Pengendali / Controller", controller()),
                ("Disusun / Drafted", local(notice.generated_at)),
                (
                    "Jendela yang diperiksa / Window examined",
                    f"{local(notice.since)} s.d./to {local(notice.until)}",
                ),
                ("Kegagalan diketahui / Failure discovered", local(notice.discovered)),
                ("Batas pemberitahuan (3 x 24 jam) / Notice due by", local(notice.deadline)),
                (
                    "Kepada / To",
                    "subjek data pribadi yang terdampak dan lembaga PDP / "
                    "the data subjects affected and the PDP authority",
                ),
            ],
        ),
        "",
        *_revealed(notice),
        "",
        *_when_and_how(notice),
        "",
        *_handling(),
    ]
    return "\n".join(lines) + "\n"


def _revealed(notice: BreachNotice) -> list[str]:
    lines = ["## 1. Data pribadi yang terungkap / Personal data revealed", ""]
    if not notice.accesses:
        lines.append(
            "Tidak ada akses data pribadi yang tercatat dalam jendela ini. / "
            "No access to personal data is recorded in this window."
        )
    else:
        lines += _table(
            ["Akses / Access", "Data", "Kejadian / Events", "Pekerja / Workers", "Baris / Rows"],
            (
                (
                    f"{a.kind.id} / {a.kind.en} (`{a.action}`)",
                    f"{_data(a.kind.data, 0)} / {_data(a.kind.data, 1)}",
                    a.events,
                    len(a.workers) if not a.kind.bulk else "–",
                    a.rows if a.kind.bulk else "–",
                )
                for a in notice.accesses
            ),
        )
    held = notice.held
    lines += [
        "",
        "**Subjek data terdampak (jumlah saja) / Data subjects affected (counts only)**",
        "",
        f"- Pekerja yang datanya dibuka satu per satu / Workers opened one by one: "
        f"{notice.workers_opened}",
        f"- Baris pekerja dalam berkas yang diunduh / Worker rows in downloaded files: "
        f"{notice.file_rows} (seorang pekerja dapat muncul di lebih dari satu berkas / "
        "a worker may be in more than one file)",
        f"- Paling banyak / At most: {notice.at_most} dari/of {held.workers} "
        "pekerja terdaftar / registered workers",
        "",
        "**Bila basis data sendiri terungkap / If the database itself was exposed**",
        "",
        f"- Pekerja / Workers: {held.workers} ({held.erased} sudah dihapus / erased); "
        "NIK dan telepon terenkripsi / NIK and phone encrypted",
        f"- Perusahaan sponsor (kontak: nama, telepon) / Sponsor companies (contact: name, "
        f"phone): {held.companies}",
        f"- Pengguna sponsor (nama, e-mail) / Sponsor users (name, e-mail): {held.sponsor_users}",
        f"- Akun staf, admin, auditor (nama, e-mail) / Staff, admin and auditor accounts "
        f"(name, e-mail): {held.city_users}",
    ]
    return lines


def _when_and_how(notice: BreachNotice) -> list[str]:
    lines = ["## 2. Kapan dan bagaimana / When and how", ""]
    if notice.by_user:
        first = min(g.first for g in notice.by_user)
        last = max(g.last for g in notice.by_user)
        lines += [
            f"Akses pertama dan terakhir yang tercatat / First and last recorded access: "
            f"{local(first)}, {local(last)}",
            "",
        ]
    header = ["Tindakan / Action", "Pengguna / User", "IP", "Kejadian / Events"]
    header += ["Pertama / First", "Terakhir / Last"]
    lines += ["### Akses menurut pengguna dan alamat IP / Accesses by user and IP address", ""]
    lines += _groups_table(header, notice.by_user)
    lines += ["", "### Tanda lain / Other signals", ""]
    lines += _groups_table(header, notice.signals, signals=True)
    return lines


def _groups_table(header: list[str], groups: tuple[Group, ...], signals: bool = False) -> list[str]:
    if not groups:
        return ["Tidak ada. / None."]

    def name(action: str) -> str:
        if signals:
            return " / ".join(SIGNALS[action])
        return f"`{action}`"

    return _table(
        header,
        (
            (name(g.action), g.actor or "–", g.ip or "–", g.events, local(g.first), local(g.last))
            for g in groups
        ),
    )


def _handling() -> list[str]:
    todo = "_[diisi pengendali / to be filled in by the controller]_"
    return [
        "## 3. Upaya penanganan dan pemulihan / Handling and recovery",
        "",
        f"- Penahanan / Containment: {todo}",
        f"- Akun dan kata sandi yang diganti / Accounts and passwords reset: {todo}",
        "- Kunci enkripsi NIK diganti (`flask --app portal workers rotate-keys`) / "
        f"NIK encryption keys rotated: {todo}",
        f"- Pemberitahuan kepada subjek data dan lembaga / Notice to data subjects and the "
        f"authority: {todo}",
        f"- Pencegahan agar tidak terulang / Prevention: {todo}",
        "",
        "## 4. Narahubung / Contact",
        "",
        f"- {todo}",
    ]
