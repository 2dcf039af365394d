"""The other answers: the menstrual cycle, skin logs, off-topic, greetings, red flags (normally the safety layer's), unknown."""

from collections import Counter
from statistics import fmean
from typing import Any

from app.providers.assistant.base import ChatContext
from app.providers.assistant.local import phrases
from app.providers.assistant.safety import REFERRAL_LINE
from app.providers.assistant.understanding import Request


def cycle(request: Request, context: ChatContext) -> str:
    """Period-related breakouts: from the user's own cycle insight when they log periods."""
    lines = [phrases.CYCLE_WHY, phrases.CYCLE_WHAT_HELPS]
    acne = ((context.latest_scan or {}).get("scores") or {}).get("acne")
    if acne is not None:
        lines.append(f"Your latest acne score is {acne:.0f}/100.")
    if context.cycle is None:
        lines.append(phrases.CYCLE_NO_DATA)
    else:
        lines.extend(_own_cycle(context.cycle))
    lines.append(phrases.CYCLE_SEE_A_DOCTOR)
    return "\n".join(lines)


SKIN_LOG_SLIDERS = ("dryness", "oiliness", "sensitivity", "radiance")


def skin_logs(request: Request, context: ChatContext) -> str:
    """What the user's own recent self-ratings say (kept apart from scan scores)."""
    logs = context.skin_logs or []
    if not logs:
        return phrases.SKIN_LOG_NONE
    lines = [f"Your latest skin log ({logs[0]['date']}): {_describe_log(logs[0])}."]
    if len(logs) > 1:
        span = f"{logs[-1]['date']} to {logs[0]['date']}"
        averages = [
            f"{name} {fmean(values):.0f}/100"
            for name in SKIN_LOG_SLIDERS
            if (values := [float(log[name]) for log in logs if name in log])
        ]
        if averages:
            lines.append(
                f"Across your {len(logs)} logs from {span}, on average: " + ", ".join(averages) + "."
            )
        breakouts = Counter(log["breakouts"] for log in logs if "breakouts" in log)
        if breakouts:
            counts = ", ".join(
                f"{level} on {breakouts[level]}" for level in ("none", "few", "many") if breakouts[level]
            )
            lines.append(f"Breakouts: {counts} of those days.")
    reactions = [log for log in logs if log.get("reaction") in {"mild", "severe"}]
    if reactions:
        lines.append(
            "You logged a reaction on "
            + ", ".join(f"{log['date']} ({log['reaction']})" for log in reactions)
            + "."
        )
        if any(log["reaction"] == "severe" for log in reactions):
            lines.append(phrases.SKIN_LOG_SEVERE)
    lines.append(phrases.SKIN_LOG_SELF_RATED)
    return "\n".join(lines)


def _describe_log(log: dict[str, Any]) -> str:
    parts = [f"breakouts {log['breakouts']}"] if "breakouts" in log else []
    parts += [f"{name} {log[name]}/100" for name in SKIN_LOG_SLIDERS if name in log]
    if log.get("cycle_phase"):
        parts.append(f"cycle day {log['cycle_day']} ({log['cycle_phase']} phase)")
    return ", ".join(parts) or "no ratings"


def _own_cycle(cycle: dict[str, Any]) -> list[str]:
    """What the user's logs and scans say: today's phase, the next period, the insight."""
    lines = []
    today = cycle.get("today")
    if today:
        lines.append(f"Today is day {today['cycle_day']} of your cycle ({today['phase']} phase).")
    upcoming = cycle.get("next_period")
    if upcoming:
        lines.append(
            f"Your next period is most likely around {upcoming['start_date']} "
            f"(between {upcoming['window_start']} and {upcoming['window_end']})."
        )
    insight = cycle.get("insight") or {}
    acne = [m for m in insight.get("meaningful", []) if m["metric"] == "acne" and m["kind"] == "scan"]
    worse = [m for m in acne if m["difference"] < 0]
    if worse:
        m = min(worse, key=lambda x: x["difference"])
        # "Before my period" is the luteal phase; a worsening elsewhere is said as what it is.
        opening = "Yes, in your own scans" if m["phase"] == "luteal" else "In your own scans"
        lines.append(
            f"{opening}: your acne score is {abs(m['difference']):.0f} points lower "
            f"(more breakouts) in your {m['phase']} phase ({m['count']} scans), more than photo noise "
            "and chance explain."
        )
        step = cycle.get("routine_step")
        if step:
            lines.append(f"A targeted step for your plan: {step['instructions']}")
    elif insight.get("findings"):
        lines.append(
            "Your scans show no meaningful acne difference across your cycle, but they do show: "
            + "; ".join(insight["findings"])
            + "."
        )
    else:
        scans = insight.get("scans_positioned", 0)
        lines.append(
            f"From your {scans} scans placed in your cycle so far, I can't see a real link between your "
            "breakouts and your cycle: any differences are within photo noise and chance. Keep scanning "
            "in different phases and I'll tell you if a pattern shows up."
        )
    return lines


def off_topic(request: Request, context: ChatContext) -> str:
    """A polite refusal for questions outside skincare."""
    return phrases.OFF_TOPIC


def greeting(request: Request, context: ChatContext) -> str:
    """A greeting by first name, with what to ask."""
    name = context.profile.get("full_name")
    hello = f"Hi {name.split()[0]}!" if name else "Hi!"
    return f"{hello} Ask me about your scores, today's routine, your progress, or whether two ingredients go together."


def red_flag(request: Request, context: ChatContext) -> str:
    """A see-a-doctor line (the safety layer normally answers first)."""
    # Normally answered by the safety layer before any provider; kept for direct calls.
    return f"{phrases.SEE_A_DOCTOR} {REFERRAL_LINE}"


def unknown(request: Request, context: ChatContext) -> str:
    """An honest 'not sure', with what it can help with."""
    return phrases.NOT_SURE
