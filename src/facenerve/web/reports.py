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

from .models import TREATMENTS, DiaryEntry, Recording, Treatment, TriageRecord, User
from .trends import overview, palsy_figure, twitch_figure

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


def _rows(data: dict[str, Any]) -> list[tuple[str, list[list[str]]]]:
    """The report's tables, shared by the HTML and the PDF."""
    out: list[tuple[str, list[list[str]]]] = []
    tw, ex = data["latest"]["twitch"], data["latest"]["exam"]
    if tw:
        m = tw["metrics"]
        out.append((f"Latest twitch recording ({tw['day']})", [
            ["Finding", str(m.get("finding_reason") or "-")],
            ["Twitches per minute", (f"{m['twitches_per_min']:.1f} ({m.get('twitch_side')} side)"
                                     if m.get("twitches_per_min") is not None else "no rate: too little footage")],
            ["Regions", ", ".join(m.get("regions") or []) or "-"],
            ["Blinks per minute", f"{m['blinks_per_min']:.1f}" if m.get("blinks_per_min") is not None else "-"],
            ["SMC grade (estimate)", str(m.get("smc_grade") or "-")],
            ["Jankovic severity + frequency", str(m.get("jankovic_total") if m.get("jankovic_total") is not None else "-")],
        ]))
    if ex:
        m = ex["metrics"]
        out.append((f"Latest facial exam ({ex['day']})", [
            ["House-Brackmann (estimate)", str(m.get("hb_roman") or "-")],
            ["Sunnybrook composite", str(m.get("sunnybrook") if m.get("sunnybrook") is not None else "-")],
            ["eFACE-like total", str(m.get("eface") if m.get("eface") is not None else "-")],
            ["Weaker side", str(m.get("weaker_side") or "-")],
            ["Synkinesis", "yes" if m.get("synkinesis") else "no"],
            ["Forehead spared (central pattern)", "YES - needs urgent assessment" if m.get("central_pattern") else "no"],
        ]))
    if data["treatments"]:
        out.append(("Treatments", [[str(t["day"]), t["label"], t["dose"], t["muscles"]] for t in data["treatments"]]))
    tr = data["trends"]["triggers"]
    known = [t for t in tr if "rho" in t]
    if known:
        out.append(("Diary triggers and twitching", [[t["label"], t["outcome"].replace("_", "-"), t["text"]] for t in known]))
    return out


def _notes(data: dict[str, Any]) -> list[str]:
    notes = list(data["trends"]["palsy"]["notes"]) if data["trends"]["exam"] else []
    notes += [t["note"] for t in data["trends"]["toxin"] if t.get("note")]
    return notes


def html_report(patient: User, data: dict[str, Any]) -> str:
    from ..reporting import STYLE

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>facenerve report</title>"
             f"<style>{STYLE}</style></head><body>",
             f"<h1>facenerve report: {_e(patient.name)}</h1>",
             f"<p class='note'>Made {data['today']}. Symptoms started: {_e(patient.onset_date or 'not entered')}. "
             f"{_e(DISCLAIMER)}</p>"]
    notes = _notes(data)
    if notes:
        parts.append("<h2>What stands out</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    for title, rows in _rows(data):
        parts.append(f"<h2>{_e(title)}</h2><table>" + "".join(
            "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
    for title, png in _figures(patient, data):
        parts.append(f"<h2>{_e(title)}</h2><img alt='{_e(title)}' src='data:image/png;base64,"
                     f"{base64.b64encode(png).decode()}'>")
    t = data["triage"]
    if t:
        parts.append(f"<h2>Symptom check ({_e(data['triage_at'].date())})</h2>"
                     f"<p><b>{_e(t['urgency_label'])}</b></p><ul>"
                     + "".join(f"<li>{_e(r['text'])} <span class='note'>({_e(r['source'])})</span></li>"
                               for r in t["urgency_reasons"]) + "</ul><ol>"
                     + "".join(f"<li>{_e(d['name'])}: {100 * d['score']:.0f} %</li>" for d in t["differential"][:4])
                     + "</ol>")
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
    from reportlab.platypus import (
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title="facenerve report", leftMargin=2 * cm, rightMargin=2 * cm)
    story: list[Any] = [Paragraph(f"facenerve report: {_e(patient.name)}", styles["Title"]),
                        Paragraph(f"Made {data['today']}. Symptoms started: {_e(patient.onset_date or 'not entered')}.",
                                  styles["Normal"]),
                        Paragraph(_e(DISCLAIMER), styles["Italic"]), Spacer(1, 8)]
    notes = _notes(data)
    if notes:
        story.append(Paragraph("What stands out", styles["Heading2"]))
        story += [Paragraph("&bull; " + _e(n), styles["Normal"]) for n in notes]
    for title, rows in _rows(data):
        story.append(Paragraph(_e(title), styles["Heading2"]))
        table = Table([[Paragraph(_e(c), styles["BodyText"]) for c in r] for r in rows], hAlign="LEFT")
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(table)
    for title, png in _figures(patient, data):
        img = Image(io.BytesIO(png))
        scale = min(1.0, (A4[0] - 4 * cm) / img.drawWidth)
        img.drawWidth, img.drawHeight = img.drawWidth * scale, img.drawHeight * scale
        story.append(KeepTogether([Paragraph(_e(title), styles["Heading2"]), img]))
    t = data["triage"]
    if t:
        story.append(Paragraph(f"Symptom check ({data['triage_at'].date()})", styles["Heading2"]))
        story.append(Paragraph(f"<b>{_e(t['urgency_label'])}</b>", styles["Normal"]))
        story += [Paragraph("&bull; " + _e(r["text"]), styles["Normal"]) for r in t["urgency_reasons"]]
        story += [Paragraph(f"{i}. {_e(d['name'])}: {100 * d['score']:.0f} %", styles["Normal"])
                  for i, d in enumerate(t["differential"][:4], 1)]
    doc.build(story)
    return buf.getvalue()
