"""The score sheet's HTML summary: how the totals are spread, and the mean of every item.

Items whose mean is under half their points are marked, so a question most students missed stands
out. Means count only the students graded on that item; totals only completely graded students.
Late submissions are listed with their time, how late, the penalty, and the total before and after it.
"""

import html
from pathlib import Path

from autograder.course.scoresheet import (
    LATE_COLUMNS,
    ScoreSheet,
    cell,
    graded_so_far,
    late_cells,
    time_cell,
    total,
    total_after_penalty,
)

LOW = 0.5  # an item whose mean is under this fraction of its points is marked
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
td, th { padding: 2px 8px; text-align: left; font-size: 14px; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.bar { background: #4a78b5; height: 14px; }
tr.low .bar { background: #c0392b; }
tr.low td { font-weight: bold; }
.note { color: #666; font-size: 13px; }
"""


def histogram(values: list[float], top: float, step: int) -> str:
    """Rows of a histogram table with bins of ``step`` points from 0 to ``top`` (the last bin holds ``top``)."""
    lows = list(range(0, int(top) + 1, step))
    counts = [sum(low <= v < low + step for v in values) for low in lows]
    most = max(counts + [1])
    rows = []
    for low, count in zip(lows, counts):
        label = f"{low}" if step == 1 else f"{low}–{min(low + step - 1, top):g}"
        rows.append(
            f'<tr><td class="n">{label}</td><td class="n">{count}</td>'
            f'<td style="width:300px"><div class="bar" style="width:{300 * count // most}px"></div></td></tr>'
        )
    return "\n".join(rows)


def item_means(sheet: ScoreSheet) -> str:
    """Rows of the per-item table: mean points, as a share of the item's points, and how many graded."""
    rows = []
    for item in sheet.items:
        scores = [row.points[item.item] for row in sheet.rows if row.points.get(item.item) is not None]
        by = "nbgrader" if item.kind == "auto" else "hand"
        head = f"<td>{item.item}</td><td>{by}</td><td class='n'>{item.max_points:g}</td>"
        if not scores:
            rows.append(f"<tr>{head}<td class='n'>–</td><td class='n'>0</td><td class='note'>not graded yet</td></tr>")
            continue
        share = sum(scores) / len(scores) / item.max_points
        low = ' class="low"' if share < LOW else ""
        rows.append(
            f"<tr{low}>{head}<td class='n'>{share * item.max_points:.2f}</td><td class='n'>{len(scores)}</td>"
            f'<td style="width:300px"><div class="bar" style="width:{max(0, min(300, int(300 * share)))}px">'
            "</div></td></tr>"
        )
    return "\n".join(rows)


def late_rows(sheet: ScoreSheet) -> str:
    """Rows of the late-submissions table: one per student who submitted after their due date."""
    rows = []
    for row in sheet.rows:
        if row.submitted and row.seconds_late > 0:
            cells = (
                [row.student]
                + late_cells(sheet, row)
                + [cell(total(sheet, row)), cell(total_after_penalty(sheet, row))]
            )
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return "\n".join(rows) or '<tr><td colspan="7" class="note">none</td></tr>'


def render(sheet: ScoreSheet, title: str = "Assignment 12: score sheet summary") -> str:
    submitted = [row for row in sheet.rows if row.submitted]
    complete = [total(sheet, row) for row in submitted if total(sheet, row) is not None]
    auto_max = sum(i.max_points for i in sheet.items if i.kind == "auto")
    auto = [sum(row.points.get(i.item) or 0 for i in sheet.items if i.kind == "auto") for row in submitted]
    missed = [
        i.item
        for i in sheet.items
        if (s := [r.points[i.item] for r in sheet.rows if r.points.get(i.item) is not None])
        and sum(s) / len(s) < LOW * i.max_points
    ]
    so_far = sorted(graded_so_far(row) for row in submitted if total(sheet, row) is None)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{len(sheet.rows)} students, {len(submitted)} submissions, {len(complete)} completely graded
({len(submitted) - len(complete)} with items still to grade).</p>
<p>Due date: {time_cell(sheet.duedate) or "none set"}{" (UTC)" if sheet.duedate else ""}.</p>
<p><b>Items most students missed</b> (mean under {LOW:.0%} of the points):
{", ".join(missed) if missed else "none"}.</p>
<h2>Totals (of {sheet.max_points:g}), completely graded submissions</h2>
<table><tr><th>points</th><th>students</th><th></th></tr>
{histogram(complete, sheet.max_points, 5)}</table>
<p class="note">Not yet completely graded: {len(so_far)} (points so far: {", ".join(f"{p:g}" for p in so_far) or "–"}).</p>
<h2>Auto-graded points (of {auto_max:g}), all submissions</h2>
<table><tr><th>points</th><th>students</th><th></th></tr>
{histogram(auto, auto_max, 1)}</table>
<h2>Mean per item</h2>
<table><tr><th>item</th><th>graded by</th><th>points</th><th>mean</th><th>students</th><th>share of the points</th></tr>
{item_means(sheet)}</table>
<p class="note">Red: mean under {LOW:.0%} of the item's points. Means count the students graded on that item.</p>
<h2>Late submissions</h2>
<table><tr>{"".join(f"<th>{c}</th>" for c in ["student", *LATE_COLUMNS])}<th>total (of {sheet.max_points:g})</th><th>after the penalty</th></tr>
{late_rows(sheet)}</table>
<p class="note">Times in UTC; the due date includes the student's extension; "ungraded": the total is not known yet.</p>
</body></html>
"""


def write_html(sheet: ScoreSheet, path: Path) -> Path:
    path.write_text(render(sheet), encoding="utf-8")
    return path
