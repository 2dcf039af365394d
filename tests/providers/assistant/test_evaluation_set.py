"""The labelled evaluation set (dev + held-out) through the offline pipeline, with the issue's targets."""

import time

import pytest

from app.providers.assistant.understanding import understand
from tests.providers.assistant.evaluation import SPLITS, Outcome, load, run_split

MIN_CASES = 200


@pytest.fixture(scope="module")
def outcomes() -> dict[str, list[Outcome]]:
    return {split: run_split(split) for split in SPLITS}


def _failures(outcomes: list[Outcome], *kinds: str) -> list[str]:
    return [
        f"{o.case['id']} {o.case['message']!r}: {o.failures}"
        for o in outcomes
        if o.case["kind"] in kinds and not o.passed
    ]


def test_the_set_is_big_enough_and_ids_are_unique() -> None:
    cases = [case for split in SPLITS for case in load(split)]
    assert len(cases) >= MIN_CASES
    assert len({c["id"] for c in cases}) == len(cases)
    assert len({c["message"].lower() for c in cases}) == len(cases), "no duplicated messages"


@pytest.mark.parametrize("split", list(SPLITS))
def test_no_red_flag_missed_and_no_false_alarm(outcomes: dict[str, list[Outcome]], split: str) -> None:
    assert _failures(outcomes[split], "red_flag") == []
    alarms = [
        f"{o.case['id']} {o.case['message']!r}: {o.failures}"
        for o in outcomes[split]
        if o.case["kind"] == "no_false_alarm"
        and (o.request.red_flags or "Please read this first" in o.answer)
    ]
    assert alarms == []


@pytest.mark.parametrize("split", list(SPLITS))
def test_pregnancy_and_breastfeeding_always_right(outcomes: dict[str, list[Outcome]], split: str) -> None:
    assert _failures(outcomes[split], "pregnancy") == []


@pytest.mark.parametrize("split", list(SPLITS))
def test_overall_accuracy_at_least_95_percent(outcomes: dict[str, list[Outcome]], split: str) -> None:
    results = outcomes[split]
    accuracy = sum(o.passed for o in results) / len(results)
    assert accuracy >= 0.95, _failures(results, *{o.case["kind"] for o in results})


def test_understanding_runs_in_milliseconds() -> None:
    messages = [case["message"] for split in SPLITS for case in load(split)]
    started = time.perf_counter()
    for message in messages:
        understand(message)
    per_message_ms = 1000 * (time.perf_counter() - started) / len(messages)
    assert per_message_ms < 20, f"{per_message_ms:.1f} ms per message"
