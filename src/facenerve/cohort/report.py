"""The cohort's HTML report: counts, failures with their reasons, distributions per group,
and per-subject trends when the manifest has a visit or date column.

Shape contract
    in:  the cohort summary table (``batch``) and its events table
    out: str, one self-contained HTML page (``reporting.page``)
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..reporting import fig_to_img, page, plt_agg, table


def _frame(df: pd.DataFrame) -> str:
    """A DataFrame as an HTML table with column headers."""
    return df.to_html(index=False, border=0, na_rep="-", escape=True)


def _rate(df: pd.DataFrame) -> pd.Series:
    cols = [c for c in ("twitches_per_min_left", "twitches_per_min_right") if c in df]
    return df[cols].apply(pd.to_numeric, errors="coerce").max(axis=1) if cols else pd.Series(np.nan, df.index)


def _per_group(ok: pd.DataFrame) -> str:
    if "group" not in ok or ok.empty:
        return ""
    rows = []
    for group, g in ok.groupby("group", dropna=False):
        rate = _rate(g)
        rows.append({
            "group": group, "videos": len(g),
            "spasm findings": int((g.get("finding") == "spasm").sum()) if "finding" in g else 0,
            "not enough footage": int((g.get("finding") == "not_enough_footage").sum()) if "finding" in g else 0,
            "median twitches/min (judged videos)": round(float(rate.median()), 2) if rate.notna().any() else None,
            "median House-Brackmann": (float(pd.to_numeric(g["house_brackmann"], errors="coerce").median())
                                       if "house_brackmann" in g and g["house_brackmann"].notna().any() else None),
        })
    return "<h2>Per group</h2>" + _frame(pd.DataFrame(rows))


def _trends(ok: pd.DataFrame) -> str:
    order = "visit" if "visit" in ok else "date" if "date" in ok else None
    if "subject" not in ok or order is None or ok.empty:
        return ""
    plt = plt_agg()
    measure, label = ("house_brackmann", "House-Brackmann") if "house_brackmann" in ok and \
        ok["house_brackmann"].notna().any() else ("_rate", "twitches per minute (more affected side)")
    data = ok.assign(_rate=_rate(ok))
    key = pd.to_numeric(data[order], errors="coerce") if order == "visit" else pd.to_datetime(data[order], errors="coerce")
    data = data.assign(_order=key).dropna(subset=["_order"])
    if data.empty:
        return ""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for subject, s in data.sort_values("_order").groupby("subject"):
        y = pd.to_numeric(s[measure], errors="coerce")
        ax.plot(s["_order"], y, "o-", lw=1, label=str(subject))
    ax.set_xlabel(order)
    ax.set_ylabel(label, fontsize=8)
    if data["subject"].nunique() <= 12:
        ax.legend(fontsize=7, ncol=2)
    return f"<h2>Per subject, by {html.escape(order)}</h2>" + fig_to_img(fig)


def cohort_report(summary: pd.DataFrame, events: pd.DataFrame) -> str:
    ok = summary[summary["status"] == "ok"]
    failed = summary[summary["status"] != "ok"]
    counts = {"videos": len(summary), "analysed": len(ok), "failed": len(failed),
              "events": len(events)}
    if "finding" in ok:
        for status, n in ok["finding"].value_counts().items():
            counts[f"twitch finding: {status.replace('_', ' ')}"] = int(n)
    if "exam_status" in ok:
        for status, n in ok["exam_status"].value_counts().items():
            counts[f"exam: {status.replace('_', ' ')}"] = int(n)
    parts = ["<h2>Counts</h2>", table(counts)]
    if len(failed):
        parts += ["<h2>Failures and their reasons</h2>", _frame(failed[["id", "video", "error"]])]
    parts += [_per_group(ok), _trends(ok)]
    shown = [c for c in ("id", "subject", "visit", "group", "kind", "duration_s", "assessable_s", "finding",
                         "affected_sides", "twitches_per_min_left", "twitches_per_min_right", "exam_status",
                         "house_brackmann", "sunnybrook") if c in summary]
    parts += ["<h2>Every video</h2>", _frame(summary[shown])]
    return page("facenerve cohort", "".join(parts))
