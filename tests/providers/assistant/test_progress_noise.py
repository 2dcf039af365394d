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
