"""Markdown tables and an SVG curve for measurements."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from bot.evaluation.metrics import Figures, IntentRow, at_automation
from bot.evaluation.protocol import Measurement


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def three(f: Figures) -> str:
    return f"{pct(f.automation)} | {pct(f.wrong_answer)} | {pct(f.oos_recall)}"


def thresholds_line(m: Measurement) -> str:
    p = m.policy
    if not m.choice:
        return "Rasa's FallbackClassifier (threshold 0.3, ambiguity 0.1) decides; everything else is answered"
    text = f"default threshold {p.confidence_threshold:.2f}, ambiguity margin {p.ambiguity_margin:.2f}"
    if p.intent_thresholds:
        text += ", per intent: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(p.intent_thresholds.items()))
    c = m.choice
    text += (f" (cross-validated: global {pct(c.crossval_global.automation)} automation at "
             f"{pct(c.crossval_global.wrong_answer)} wrong; per-intent {pct(c.crossval_per_intent.automation)} at "
             f"{pct(c.crossval_per_intent.wrong_answer)} — per-intent {'kept' if c.per_intent_kept else 'not kept'})")
    return text


def overall_table(rows: Sequence[Tuple[str, Figures]]) -> str:
    lines = ["| system | automation | wrong answers | out-of-scope recall |", "|---|---|---|---|"]
    lines += [f"| {name} | {three(f)} |" for name, f in rows]
    return "\n".join(lines)


def intent_table(baton: List[IntentRow], baseline: Optional[List[IntentRow]] = None) -> str:
    other = {r.intent: r for r in baseline or []}
    head = "| intent | messages | Baton right | Baton wrong | answered wrongly as it |"
    sep = "|---|---|---|---|---|"
    if baseline is not None:
        head += " baseline right | baseline wrong | baseline answered wrongly as it |"
        sep += "---|---|---|"
    lines = [head, sep]
    for r in baton:
        if not r.messages and not r.answered_wrongly_as:
            continue
        line = f"| {r.intent} | {r.messages} | {r.right} | {r.wrong} | {r.answered_wrongly_as} |"
        if baseline is not None:
            b = other.get(r.intent)
            line += f" {b.right} | {b.wrong} | {b.answered_wrongly_as} |" if b else " – | – | – |"
        lines.append(line)
    return "\n".join(lines)


def curve_table(measurements: Sequence[Measurement]) -> str:
    head = "| threshold | " + " | ".join(f"{m.system}: automation / wrong / oos recall" for m in measurements) + " |"
    lines = [head, "|---|" + "---|" * len(measurements)]
    for i, (t, _) in enumerate(measurements[0].curve):
        cells = [f"{pct(m.curve[i][1].automation)} / {pct(m.curve[i][1].wrong_answer)} / "
                 f"{pct(m.curve[i][1].oos_recall)}" for m in measurements]
        lines.append(f"| {t:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def at_baseline_automation(baton: Measurement, baseline: Measurement) -> Optional[Figures]:
    return at_automation(baton.curve, baseline.overall.automation)


def svg(measurements: Sequence[Measurement], title: str) -> str:
    """Wrong-answer rate against automation, one line per system, each operating point marked."""
    w, h, pad = 600, 360, 50
    colours = ["#2563eb", "#dc2626", "#16a34a", "#9333ea"]
    max_wrong = max([0.05] + [f.wrong_answer for m in measurements for _, f in m.curve]) * 1.05
    x = lambda a: pad + a * (w - 2 * pad)
    y = lambda v: h - pad - (v / max_wrong) * (h - 2 * pad)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{w / 2}" y="18" font-size="13" text-anchor="middle">{title}</text>']
    for v in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{pad}" y2="{h - pad}" stroke="#eee"/>'
                     f'<text x="{x(v):.1f}" y="{h - pad + 16}" font-size="11" text-anchor="middle">{v:.0%}</text>')
    step = 0.01 if max_wrong < 0.08 else 0.05
    v = 0.0
    while v <= max_wrong:
        parts.append(f'<line x1="{pad}" x2="{w - pad}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
                     f'<text x="{pad - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{v:.0%}</text>')
        v = round(v + step, 4)
    parts.append(f'<text x="{w / 2}" y="{h - 12}" font-size="12" text-anchor="middle">automation rate</text>')
    parts.append(f'<text x="14" y="{h / 2}" font-size="12" text-anchor="middle" '
                 f'transform="rotate(-90 14 {h / 2})">wrong-answer rate</text>')
    for i, m in enumerate(measurements):
        colour = colours[i % len(colours)]
        points = " ".join(f"{x(f.automation):.1f},{y(f.wrong_answer):.1f}" for _, f in m.curve)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        o = m.overall
        parts.append(f'<circle cx="{x(o.automation):.1f}" cy="{y(o.wrong_answer):.1f}" r="5" fill="{colour}"/>')
        parts.append(f'<text x="{pad + 8}" y="{pad + 14 + 16 * i}" font-size="12" fill="{colour}">{m.system} '
                     f'(dot: live policy, {pct(o.automation)} / {pct(o.wrong_answer)} wrong)</text>')
    parts.append("</svg>")
    return "\n".join(parts)
