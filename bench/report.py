"""The one table (storydesk beside the plain pipeline, as a ratio) and ``bench/results.json``."""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.common import Results, Row

RESULTS = Path(__file__).resolve().parent / "results.json"


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def table(rows: list[Row]) -> str:
    """A fixed-width text table; ratio = storydesk / plain."""
    head = ("part", "metric", "storydesk", "plain", "ratio", "unit", "goal")
    lines = [head]
    for r in rows:
        ratio = r.value / r.plain if r.plain not in (None, 0) and not math.isnan(r.value) else None
        lines.append((r.part, r.metric, _fmt(r.value), _fmt(r.plain),
                      f"{ratio:.2f}x" if ratio is not None else "-", r.unit, r.goal))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(c.rjust(w) if 2 <= i <= 4 else c.ljust(w)
                             for i, (c, w) in enumerate(zip(line, widths, strict=False))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def write_json(results: Results, path: Path = RESULTS) -> None:
    """Write the flat results object (NaN becomes null)."""
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in results.items()}
    path.write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n")
