"""The report a patient hands to the doctor, as a self-contained HTML page and as a PDF: latest
measures, trend plots, treatments and the latest triage result."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..exam.protocol import task_label
from .models import TREATMENTS, DiaryEntry, Recording, Treatment, TriageRecord, User
from .trends import TRIGGERS, describe, overview, palsy_figure, twitch_figure

DISCLAIMER = ("facenerve measures a face from ordinary video and reads symptoms; it supports, and "
              "does not replace, a clinician's examination. Grades are estimates.")


def recordings_of(db: Session, patient: User) -> list[dict[str, Any]]:
    recs = db.scalars(select(Recording).where(Recording.owner_id == patient.id)
                      .order_by(Recording.recorded_at)).all()
    return [{"id": r.id, "kind": r.kind, "day": r.recorded_at.date(), "at": r.recorded_at,
             "status": r.status, "metrics": r.metrics} for r in recs]


def treatments_of(db: Session, patient: User) -> list[dict[str, Any]]:
    return [{"day": t.day, "kind": t.kind, "label": TREATMENTS.get(t.kind, t.kind), "dose": t.dose,
             "muscles": t.muscles, "notes": t.notes}
            for t in db.scalars(select(Treatment).where(Treatment.owner_id == patient.id)
                                .order_by(Treatment.day))]


def analysed(recordings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in recordings if r["status"] == "done" and r["metrics"]]


def patient_data(db: Session, patient: User, today: dt.date | None = None) -> dict[str, Any]:
    """Everything the overview, the trends and the report show, as plain dicts."""
    today = today or dt.date.today()
    recordings = recordings_of(db, patient)
    diary = [{"day": d.day, "sleep_hours": d.sleep_hours, "caffeine_drinks": d.caffeine_drinks,
              "alcohol_units": d.alcohol_units, "stress": d.stress, "twitching": d.twitching}
             for d in db.scalars(select(DiaryEntry).where(DiaryEntry.owner_id == patient.id)
                                 .order_by(DiaryEntry.day))]
    treatments = treatments_of(db, patient)
    triage = db.scalar(select(TriageRecord).where(TriageRecord.owner_id == patient.id)
                       .order_by(TriageRecord.created_at.desc()).limit(1))
    done = analysed(recordings)
    latest = {k: next((r for r in reversed(done) if r["kind"] == k), None) for k in ("twitch", "exam")}
    return {"recordings": recordings, "diary": diary, "treatments": treatments,
            "triage": triage.result if triage else None, "triage_at": triage.created_at if triage else None,
            "latest": latest, "trends": overview(done, diary, treatments, patient.onset_date, today),
            "today": today}


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def identifier(patient: User) -> str:
    """How every page of a report names the patient: name and facenerve number."""
    return f"{patient.name}, facenerve no. {patient.id}"


def date_range(data: dict[str, Any]) -> str:
    days = ([r["day"] for r in data["recordings"]] + [d["day"] for d in data["diary"]]
            + [t["day"] for t in data["treatments"]] + ([data["triage_at"].date()] if data["triage_at"] else []))
    return f"{min(days)} to {max(days)}" if days else "no data yet"


DIARY_FIELDS = {**TRIGGERS, "twitching": "self-rated twitching (0-10)"}


def diary_month(diary: list[dict[str, Any]], today: dt.date, days: int = 30) -> dict[str, Any]:
    """The diary's last ``days`` days: how many were entered and each field's mean."""
    recent = [d for d in diary if 0 <= (today - d["day"]).days < days]
    means = {}
    for k, label in DIARY_FIELDS.items():
        vals = [float(d[k]) for d in recent if d[k] is not None]
        means[label] = (num(sum(vals) / len(vals)), len(vals)) if vals else None
    return {"days": len(recent), "of": days, "means": means}


def summary(patient: User, data: dict[str, Any], audience: str = "doctor") -> str:
    """One plain-language paragraph: the latest finding of each kind with the footage it rests
    on, what changed, the latest symptom check. ``audience``: "doctor" or "patient"."""
    you = audience == "patient"
    out: list[str] = []
    tw, ex = data["latest"]["twitch"], data["latest"]["exam"]
    if tw:
        d, m = describe("twitch", tw["metrics"]), tw["metrics"]
        s = f"{'Your latest' if you else 'The latest'} twitch recording ({tw['day']}): {d['headline'].lower()}, {d['footage']}"
        if m.get("smc_grade"):
            s += f"; SMC grade {m['smc_grade']}, Jankovic {m.get('jankovic_total')} (estimates)"
        out.append(s + ".")
        if not d["judged"]:
            out.append("It was too short or too unsteady to judge twitching; "
                       + ("record again sitting still, without talking, for a minute or more." if you
                          else "no rate or grade is given from it."))
    if ex:
        d, m = describe("exam", ex["metrics"]), ex["metrics"]
        s = f"{'Your latest' if you else 'The latest'} facial exam ({ex['day']}): {d['headline']}, {d['footage']}"
        if m.get("hb_roman"):
            s += (f"; Sunnybrook {m.get('sunnybrook')}, weaker side {m.get('weaker_side') or 'neither'}, "
                  f"synkinesis {d['synkinesis']}")
        out.append(s + ".")
        if m.get("central_pattern"):
            out.append("The forehead was spared while the lower face was weak: a central pattern, which needs "
                       "urgent medical assessment.")
    if not tw and not ex:
        out.append("No recording has been analysed yet.")
    t = data["triage"]
    if t:
        out.append(f"{'Your latest' if you else 'The latest'} symptom check ({data['triage_at'].date()}) "
                   f"advised: {t['urgency_label']}.")
    n_tox = sum(1 for x in data["treatments"] if x["kind"] == "botulinum_toxin")
    if n_tox:
        out.append(f"{n_tox} botulinum toxin injection{'s' if n_tox > 1 else ''} recorded in the diary.")
    return " ".join(out)


def _rows(data: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report's tables (title, column headers, rows), shared by the HTML and the PDF."""
    out: list[tuple[str, list[str], list[list[str]]]] = []
    tw, ex = data["latest"]["twitch"], data["latest"]["exam"]
    head = ["Measure", "Value"]
    if tw:
        m, d = tw["metrics"], describe("twitch", tw["metrics"])
        out.append((f"Latest twitch recording ({tw['day']})", head, [
            ["Finding", f"{d['headline']}: {m.get('finding_reason') or '-'}"],
            ["Footage it rests on", f"{d['footage']} ({d['quality_label']})"],
            ["Twitches per minute, left / right",
             (f"{m['twitches_per_min_left']:.1f} / {m['twitches_per_min_right']:.1f}"
              if m.get("twitches_per_min_left") is not None else "no rate: too little footage")],
            ["Regions", ", ".join(m.get("regions") or []) or "-"],
            ["Blinks per minute", f"{m['blinks_per_min']:.1f}" if m.get("blinks_per_min") is not None else "-"],
            ["SMC grade (estimate)", str(m.get("smc_grade") or "not graded")],
            ["Jankovic severity + frequency", str(m.get("jankovic_total") if m.get("jankovic_total") is not None else "not graded")],
        ]))
    if ex:
        m, d = ex["metrics"], describe("exam", ex["metrics"])
        rows = [["Finding", d["headline"]], ["Movements it rests on", f"{d['footage']} ({d['quality_label']})"]]
        if m.get("tasks_missing"):
            rows.append(["Movements not measured", task_label(*m["tasks_missing"])])
        if m.get("hb_roman"):
            rows += [
                ["Sunnybrook composite", _num(m.get("sunnybrook"))],
                ["eFACE-like total", _num(m.get("eface"))],
                ["Weaker side", str(m.get("weaker_side") or "neither")],
                ["Synkinesis", d["synkinesis"]],
                ["Forehead spared (central pattern)", "YES - needs urgent assessment" if m.get("central_pattern") else "no"],
            ]
        out.append((f"Latest facial exam ({ex['day']})", head, rows))
    if data["treatments"]:
        out.append(("Treatments", ["Date", "Treatment", "Dose", "Muscles"],
                    [[str(t["day"]), t["label"], t["dose"], t["muscles"]] for t in data["treatments"]]))
    known = [t for t in data["trends"]["triggers"] if "rho" in t]
    if known:
        out.append(("Diary triggers and twitching", ["Trigger", "Twitching", "Link"],
                    [[t["label"], t["outcome"].replace("_", "-"), t["text"]] for t in known]))
    return out


def num(x: Any, digits: int = 1) -> str:
    """A number as people write it: 2 not 2.0, 2.5, nothing for None."""
    if x is None:
        return ""
    if isinstance(x, float):
        x = round(x, digits)
        return str(int(x)) if x == int(x) else f"{x:.{digits}f}".rstrip("0")
    return str(x)


def _num(x: Any) -> str:
    return num(x) or "-"


class Citations:
    """Numbered references: ``ref(source_id)`` gives "[n]", ``items`` the list, in order of
    first use, each as ``sources.yaml`` gives it (authors, year, title)."""

    def __init__(self) -> None:
        from ..triage.knowledge import load_knowledge

        self._k = load_knowledge()
        self.ids: list[str] = []

    def ref(self, source_id: str | None) -> str:
        if not source_id or source_id not in self._k.sources:
            return ""
        if source_id not in self.ids:
            self.ids.append(source_id)
        return f"[{self.ids.index(source_id) + 1}]"

    @property
    def items(self) -> list[str]:
        return [f"[{i}] {self._k.cite(s)}" for i, s in enumerate(self.ids, 1)]


def _triage_lines(data: dict[str, Any], cites: Citations) -> tuple[str, list[str], list[str]]:
    t = data["triage"]
    reasons = [f"{r['text']} {cites.ref(r.get('source'))}".strip() for r in t["urgency_reasons"]]
    ddx = [f"{d['name']}: {100 * d['score']:.0f} %" for d in t["differential"][:4]]
    return t["urgency_label"], reasons, ddx


def report_notes(data: dict[str, Any]) -> tuple[list[str], Citations]:
    """What stands out (the palsy's course, the toxin's course), each with its citation."""
    cites = Citations()
    notes = []
    if data["trends"]["exam"]:
        notes += [f"{n} {cites.ref('aao_hns_2013')}" for n in data["trends"]["palsy"]["notes"]]
    notes += [f"{t['note']} {cites.ref('wang_jankovic_1998')}" for t in data["trends"]["toxin"] if t.get("note")]
    return notes, cites


REPORT_STYLE = ("@page{size:A4;margin:18mm 15mm}"
                "header.id{display:flex;justify-content:space-between;gap:1em;flex-wrap:wrap;"
                "border-bottom:1px solid #ccc;font-size:.85em;color:#555;padding-bottom:.3em}"
                ".summary{background:#f3f6fa;border:1px solid #d5dde8;padding:.7em 1em;border-radius:6px}"
                "table{width:100%;max-width:100%}td,th{overflow-wrap:anywhere}"
                "@page{@bottom-right{content:'Page ' counter(page) ' of ' counter(pages);font-size:9pt}}"
                "@media print{header.id{position:fixed;top:0;left:0;right:0;background:#fff}"
                "body{margin-top:2.5em}}"
                "@media (max-width:600px){body{margin:1em .8em}}")


def html_report(patient: User, data: dict[str, Any]) -> str:
    from ..reporting import STYLE

    ident, span = identifier(patient), date_range(data)
    notes, cites = report_notes(data)
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             "<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>facenerve report: {_e(ident)}</title><style>{STYLE}{REPORT_STYLE}</style></head><body>",
             f"<header class='id'><span>{_e(ident)}</span><span>Data {_e(span)}</span>"
             f"<span>Made {data['today']}</span></header>",
             f"<h1>facenerve report: {_e(patient.name)}</h1>",
             f"<p class='summary'>{_e(summary(patient, data))}</p>",
             f"<p class='note'>Symptoms started: {_e(patient.onset_date or 'not known')}. {_e(DISCLAIMER)}</p>"]
    if notes:
        parts.append("<h2>What stands out</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    for title, head, rows in _rows(data):
        parts.append(f"<h2>{_e(title)}</h2><table><thead><tr>"
                     + "".join(f"<th scope='col'>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"
                     + "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
                     + "</tbody></table>")
    for title, png in _figures(patient, data):
        parts.append(f"<h2>{_e(title)}</h2><img alt='{_e(title)}' src='data:image/png;base64,"
                     f"{base64.b64encode(png).decode()}'>")
    if data["triage"]:
        label, reasons, ddx = _triage_lines(data, cites)
        parts.append(f"<h2>Symptom check ({_e(data['triage_at'].date())})</h2><p><b>{_e(label)}</b></p><ul>"
                     + "".join(f"<li>{_e(r)}</li>" for r in reasons) + "</ul><p>Most likely explanations:</p><ol>"
                     + "".join(f"<li>{_e(d)}</li>" for d in ddx) + "</ol>")
    if cites.items:
        parts.append("<h2>Sources</h2><ol class='note' style='list-style:none;padding:0'>"
                     + "".join(f"<li>{_e(c)}</li>" for c in cites.items) + "</ol>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _figures(patient: User, data: dict[str, Any]) -> list[tuple[str, bytes]]:
    out = []
    tw = twitch_figure(data["trends"]["twitch"], data["treatments"], fmt="png")
    if tw:
        out.append(("Twitches per minute over time (dashed: treatments)", tw))
    pf = palsy_figure(data["trends"]["exam"], patient.onset_date, fmt="png")
    if pf:
        out.append(("Palsy grades against the expected course", pf))
    return out


def pdf_report(patient: User, data: dict[str, Any]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import (
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    ident, span = identifier(patient), date_range(data)

    class NumberedCanvas(Canvas):
        """Every page: the patient, the data's dates and "page n of N" (known once all are laid out)."""

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont("Helvetica", 8)
                self.setFillColor(colors.grey)
                self.drawString(2 * cm, A4[1] - 1.2 * cm, f"facenerve report: {ident}")
                self.drawRightString(A4[0] - 2 * cm, A4[1] - 1.2 * cm, f"Data {span}")
                self.drawString(2 * cm, 1.2 * cm, f"Made {data['today']} - not a diagnosis")
                self.drawRightString(A4[0] - 2 * cm, 1.2 * cm, f"Page {self._pageNumber} of {len(self._pages)}")
                super().showPage()
            super().save()

    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=f"facenerve report: {ident}", author="facenerve",
                            leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm)
    notes, cites = report_notes(data)
    story: list[Any] = [Paragraph(f"facenerve report: {_e(patient.name)}", styles["Title"]),
                        Paragraph(_e(summary(patient, data)), styles["BodyText"]), Spacer(1, 4),
                        Paragraph(f"Symptoms started: {_e(patient.onset_date or 'not known')}.", styles["Normal"]),
                        Paragraph(_e(DISCLAIMER), styles["Italic"]), Spacer(1, 8)]
    if notes:
        story.append(Paragraph("What stands out", styles["Heading2"]))
        story += [Paragraph("&bull; " + _e(n), styles["Normal"]) for n in notes]
    for title, head, rows in _rows(data):
        story.append(Paragraph(_e(title), styles["Heading2"]))
        cells = [[Paragraph(f"<b>{_e(h)}</b>", styles["BodyText"]) for h in head]]
        cells += [[Paragraph(_e(c), styles["BodyText"]) for c in r] for r in rows]
        table = Table(cells, hAlign="LEFT", repeatRows=1)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ebf2")),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(table)
    for title, png in _figures(patient, data):
        img = Image(io.BytesIO(png))
        scale = min(1.0, (A4[0] - 4 * cm) / img.drawWidth)
        img.drawWidth, img.drawHeight = img.drawWidth * scale, img.drawHeight * scale
        story.append(KeepTogether([Paragraph(_e(title), styles["Heading2"]), img]))
    if data["triage"]:
        label, reasons, ddx = _triage_lines(data, cites)
        story.append(Paragraph(f"Symptom check ({data['triage_at'].date()})", styles["Heading2"]))
        story.append(Paragraph(f"<b>{_e(label)}</b>", styles["Normal"]))
        story += [Paragraph("&bull; " + _e(r), styles["Normal"]) for r in reasons]
        story.append(Paragraph("Most likely explanations:", styles["Normal"]))
        story += [Paragraph(f"{i}. {_e(d)}", styles["Normal"]) for i, d in enumerate(ddx, 1)]
    if cites.items:
        story.append(KeepTogether([Paragraph("Sources", styles["Heading2"])]
                                  + [Paragraph(_e(c), styles["Normal"]) for c in cites.items]))
    doc.build(story, canvasmaker=NumberedCanvas)
    return buf.getvalue()
