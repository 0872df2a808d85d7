"""Self-contained HTML pages with embedded plots (nothing fetched), shared by every report, and
how figures are written in the text shown to people."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

COLORS = {"left": "#1f77b4", "right": "#d62728", "both": "#7f7f7f"}
STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.note{color:#555;font-size:.9em}img{max-width:100%}pre{white-space:pre-wrap;overflow-wrap:anywhere}.wide{overflow-x:auto}"""


def shown_against(value: float, limit: float, decimals: int = 0) -> str:
    """``value`` with ``decimals`` decimals, or with up to two more where it would otherwise
    read as ``limit``: a measure just past a limit must not be shown equal to it ("open 10 mm
    ... at most 10 mm")."""
    for d in range(decimals, decimals + 3):
        if round(value, d) != round(limit, d):
            return f"{value:.{d}f}"
    return f"{value:.{decimals + 2}f}"


def fig_to_img(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def plt_agg():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def table(rows: dict[str, Any]) -> str:
    return "<table>" + "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items()
    ) + "</table>"


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}"
            "<p class='note'>Made by facenerve on this computer; nothing was sent anywhere. "
            "Measurements support, and do not replace, a clinician's examination.</p></body></html>")
