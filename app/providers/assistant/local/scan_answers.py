"""Answers about scans: scores (by metric, best/worst, face area), the last scan, progress, when to rescan."""

from app.core.vocabulary import METRICS
from app.providers.assistant.base import ChatContext
from app.providers.assistant.local import phrases
from app.providers.assistant.local.common import days_since, label_of
from app.providers.assistant.understanding import Request


def scan_scores(request: Request, context: ChatContext) -> str:
    """The latest scan's scores: asked metrics, best or lowest three, and a face area."""
    scan = context.latest_scan
    if not scan or not scan.get("scores"):
        return phrases.NO_SCAN_FOR_SCORES
    scores = scan["scores"]
    ranked = sorted((m for m in METRICS if m in scores), key=lambda m: scores[m])
    lines = [
        f"From your scan on {scan['scan_date'][:10]} (0-100, higher is healthier), overall {scores.get('overall', 0):.0f}:"
    ]
    if request.metrics:
        lines += [f"- {label_of(m)}: {scores[m]:.0f}" for m in request.metrics if m in scores]
    elif request.superlative == "best":
        lines += [f"- {label_of(m)}: {scores[m]:.0f}" for m in reversed(ranked[-3:])]
        lines.append(f"Your strongest area is {label_of(ranked[-1])}; keep doing what you're doing there.")
    else:
        lines += [f"- {label_of(m)}: {scores[m]:.0f}" for m in ranked[:3]]
        lines.append(phrases.LOWEST_SCORES_NOTE)
    regions = scan.get("regions") or {}
    if regions:
        asked = [r for r in regions if any(r.startswith(a) or a in r for a in request.areas)]
        if asked:
            lines += [f"- {label_of(r)} (all metrics): {regions[r]:.0f}" for r in asked]
        else:
            order = sorted(regions, key=lambda r: regions[r])
            pick = order[-1] if request.superlative == "best" else order[0]
            word = "is doing best" if request.superlative == "best" else "needs the most care"
            lines.append(f"By face area, your {label_of(pick)} {word} ({regions[pick]:.0f}).")
    return "\n".join(lines)


def last_scan(request: Request, context: ChatContext) -> str:
    """When the latest completed scan was, and how long ago."""
    scan = context.latest_scan
    if not scan:
        return phrases.NO_SCAN_YET
    when = scan["scan_date"][:10]
    ago = days_since(when, context)
    age = f" ({ago} day(s) ago)" if ago is not None else ""
    overall = (scan.get("scores") or {}).get("overall")
    score = f", overall score {overall:.0f}" if overall is not None else ""
    return (
        f"Your latest completed scan was on {when}{age}{score}. "
        "Scanning about once a week, in the same light, gives the clearest trend."
    )


def progress(request: Request, context: ChatContext) -> str:
    """Changes since the plan's baseline (or the previous) scan."""
    scan = context.latest_scan
    deltas = (scan or {}).get("deltas") or {}
    reference = deltas.get("baseline") or deltas.get("previous")
    if not scan or not reference:
        return phrases.NEED_TWO_SCANS
    label = "your plan's baseline scan" if deltas.get("baseline") else "your previous scan"
    changes = reference["changes"]
    # Per metric, from the vision provider's repeatability bands: a change no larger than two
    # photos of the same face differ by is not reported as better or worse.
    noise = reference.get("within_noise") or {}
    ordered = request.metrics or sorted(changes, key=lambda m: -abs(changes[m]))[:4]
    lines = [f"Compared with {label} ({reference['scan_date'][:10]}):"]
    shown = [metric for metric in ordered if metric in changes]
    for metric in shown:
        change = changes[metric]
        if noise.get(metric):
            word = phrases.WITHIN_NOISE
        else:
            word = "better" if change > 0 else "worse" if change < 0 else "unchanged"
        lines.append(f"- {label_of(metric)}: {change:+.0f} points ({word})")
    # Asked about a metric the delta leaves out (recalibrated between the two scans' versions).
    lines += [f"- {label_of(m)}: {phrases.NOT_COMPARABLE}" for m in request.metrics if m not in changes]
    if shown and all(noise.get(metric) for metric in shown):
        lines.append(phrases.NO_REAL_CHANGE_YET)
    lines.append(phrases.JUDGE_THE_TREND)
    return "\n".join(lines)


def rescan(request: Request, context: ChatContext) -> str:
    """How often and how to scan again."""
    scan = context.latest_scan
    last = f" Your last completed scan was on {scan['scan_date'][:10]}." if scan else ""
    return phrases.HOW_TO_RESCAN + last
