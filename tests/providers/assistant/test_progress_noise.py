"""Progress answers never celebrate photo noise (the deltas' `within_noise` flags)."""

import asyncio

from app.providers.assistant.local import LocalChatProvider
from tests.providers.assistant.fixtures import user_context


def _answer(message: str, within_noise: dict[str, bool] | None) -> str:
    context = user_context()
    assert context.latest_scan is not None
    if within_noise is not None:
        context.latest_scan["deltas"]["baseline"]["within_noise"] = within_noise
    return asyncio.run(LocalChatProvider().reply(message=message, context=context)).content


def test_changes_within_photo_noise_are_no_real_change_yet() -> None:
    noise = {"acne": True, "redness": True, "oiliness": True, "hydration": True, "pores": True}
    answer = _answer("am i improving", noise)
    assert "no real change yet" in answer.lower()
    assert "(better)" not in answer
    assert "(worse)" not in answer


def test_a_real_change_is_still_called_better() -> None:
    answer = _answer("has my acne improved", {"acne": False, "redness": True})
    assert "acne: +6 points (better)" in answer.lower()
    assert "no real change yet" not in answer.lower()


def test_without_noise_flags_the_answer_is_unchanged() -> None:
    answer = _answer("am i improving", None)
    assert "(better)" in answer
    assert "no real change yet" not in answer.lower()


def test_a_metric_the_analyser_recalibrated_since_that_scan_is_not_compared() -> None:
    context = user_context()
    assert context.latest_scan is not None
    baseline = context.latest_scan["deltas"]["baseline"]
    # The delta leaves out a metric recalibrated between the two scans' analyser versions.
    baseline["changes"].pop("pores", None)
    baseline.get("within_noise", {}).pop("pores", None)
    answer = asyncio.run(LocalChatProvider().reply(message="have my pores improved", context=context)).content
    assert "no comparison with that scan" in answer.lower()
    assert "(better)" not in answer
    assert "(worse)" not in answer
