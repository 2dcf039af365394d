"""The local assistant's cycle answer, from the context's cycle section (no DynamoDB)."""

from app.providers.assistant.base import ChatContext
from app.providers.assistant.local.other_answers import cycle
from app.providers.assistant.understanding import understand

QUESTION = "do I break out before my period?"


def cycle_section(meaningful: list[dict], findings: list[str], step: dict | None = None) -> dict:
    return {
        "today": {"date": "2026-12-01", "cycle_day": 24, "phase": "luteal"},
        "next_period": {"start_date": "2026-12-06", "window_start": "2026-12-04", "window_end": "2026-12-08"},
        "insight": {"findings": findings, "meaningful": meaningful, "scans_positioned": 18},
        "routine_step": step,
    }


def answer(context: ChatContext) -> str:
    request = understand(QUESTION, history=[], profile={})
    assert request.intent == "cycle"
    return cycle(request, context)


def test_a_meaningful_luteal_worsening_is_a_yes_with_its_scan_count_and_the_step() -> None:
    section = cycle_section(
        [{"kind": "scan", "metric": "acne", "phase": "luteal", "difference": -9.2, "count": 6}],
        ["acne score 9 points lower in your luteal phase (6 scans)"],
        step={"instructions": "In the 7 days before your predicted period, use salicylic acid ..."},
    )
    text = answer(ChatContext(cycle=section))
    assert (
        "Yes, in your own scans: your acne score is 9 points lower (more breakouts) in your luteal phase (6 scans)"
        in text
    )
    assert "Today is day 24 of your cycle (luteal phase)." in text
    assert "around 2026-12-06 (between 2026-12-04 and 2026-12-08)" in text
    assert "targeted step" in text
    assert "cycle tracking" not in text


def test_no_meaningful_difference_is_said_plainly() -> None:
    text = answer(ChatContext(cycle=cycle_section([], [])))
    assert "From your 18 scans placed in your cycle so far, I can't see a real link" in text
    assert "Yes" not in text


def test_a_worsening_in_another_phase_is_not_called_before_the_period() -> None:
    section = cycle_section(
        [{"kind": "scan", "metric": "acne", "phase": "follicular", "difference": -7.0, "count": 5}],
        ["acne score 7 points lower in your follicular phase (5 scans)"],
    )
    text = answer(ChatContext(cycle=section))
    assert "Yes" not in text
    assert "in your follicular phase (5 scans)" in text


def test_without_cycle_data_it_explains_what_tracking_would_add() -> None:
    assert "cycle tracking" in answer(ChatContext())
