"""The reports a doctor files, for a patient seeded with months of data: the patient and the
data's dates and page numbers on every page, tables with headers, numbered citations from
sources.yaml, a plain-language summary, and no app instructions (text read back with pypdf)."""

from __future__ import annotations

import datetime as dt
import io
import re

from .conftest import Browser
from .seed import seed_patient

APP_WORDS = ("(Settings)", "Enter the day", "clinical_reference", "shared/CLINICAL.md", "Record now")


def _logged_in(app, email: str) -> Browser:
    b = Browser(app)
    assert b.login(email).status_code == 303
    return b


def test_pdf_report_names_the_patient_and_numbers_every_page(app):
    from pypdf import PdfReader

    today = dt.date.today()
    pid = seed_patient(app, "cara@example.org", "Cara Seeded", today=today)
    pdf = _logged_in(app, "cara@example.org").get(f"/p/{pid}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages]
    assert len(pages) >= 2
    span = f"Data {today - dt.timedelta(days=95)} to {today - dt.timedelta(days=1)}"
    for i, text in enumerate(pages, 1):
        assert f"facenerve report: Cara Seeded, facenerve no. {pid}" in text, i
        assert span in text, i
        assert f"Page {i} of {len(pages)}" in text, i
    text = "\n".join(pages)
    for header in (r"Measure\s+Value", r"Date\s+Treatment\s+Dose\s+Muscles", r"Trigger\s+Twitching\s+Link"):
        assert re.search(header, text), header
    # the summary first: the latest twitch recording could not be judged, and it says so
    assert re.search(r"not enough to judge,\s+from 4 s of steady resting\s+video", text)
    assert "House-Brackmann II (provisional)" in text and "Movements not measured" in text
    assert "[1] Baugh RF et al." in text and "[2] Wang A, Jankovic J." in text
    assert re.search(r"3 months\.?\s+\[1\]", text)  # the note cites its source by number
    for words in APP_WORDS:
        assert words not in text, words


def test_html_report_has_the_same_content_and_fits_a_phone(app):
    pid = seed_patient(app, "cara@example.org", "Cara Seeded")
    page = _logged_in(app, "cara@example.org").get(f"/p/{pid}/report.html").text
    assert 'name="viewport"' in page or "name='viewport'" in page
    assert f"Cara Seeded, facenerve no. {pid}" in page and "counter(pages)" in page
    assert page.count("<thead>") == 4 and "<th scope='col'>Measure</th>" in page
    assert "class='summary'" in page and "Baugh RF et al." in page
    for words in APP_WORDS:
        assert words not in page, words
