"""Runs the labelled evaluation set through the same path the chat service uses (offline).

`python -m tests.providers.assistant.evaluation` prints accuracy per kind for both splits, as
reported in docs/ASSISTANT.md.
"""

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.providers.assistant.base import ChatTurn
from app.providers.assistant.local import LocalChatProvider
from app.providers.assistant.pipeline import respond
from app.providers.assistant.safety import SAFETY_HEADER
from app.providers.assistant.understanding import Request
from tests.providers.assistant.fixtures import user_context

HERE = Path(__file__).parent
SPLITS = {
    "dev": HERE / "eval_dev.jsonl",
    "heldout": HERE / "eval_heldout.jsonl",
    "heldout2": HERE / "eval_heldout2.jsonl",
}


@dataclass
class Outcome:
    case: dict[str, Any]
    request: Request
    answer: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def load(split: str) -> list[dict[str, Any]]:
    """The labelled cases of one split."""
    return [
        json.loads(line) for line in SPLITS[split].read_text(encoding="utf-8").splitlines() if line.strip()
    ]


async def _answer(message: str, history: list[ChatTurn], pregnant: bool) -> tuple[Request, str]:
    context = user_context(pregnant=pregnant)
    context.history = list(history)
    screened, reply = await respond(provider=LocalChatProvider(), message=message, context=context)
    return screened.request, reply.content


async def run_case(case: dict[str, Any]) -> Outcome:
    """Replays the case's earlier turns, then checks intent, entities and the answer text."""
    pregnant = bool(case.get("pregnant"))
    history: list[ChatTurn] = []
    for earlier in case.get("history", []):
        _, answer = await _answer(earlier, history, pregnant)
        history += [ChatTurn(role="user", content=earlier), ChatTurn(role="assistant", content=answer)]
    request, answer = await _answer(case["message"], history, pregnant)
    outcome = Outcome(case=case, request=request, answer=answer)
    expected_intents = case["intent"].split("|")
    if request.intent not in expected_intents:
        outcome.failures.append(f"intent {request.intent!r}, expected {case['intent']!r}")
    outcome.failures += _entity_failures(case.get("entities", {}), request)
    lowered = answer.lower()
    outcome.failures += [f"missing {s!r}" for s in case.get("must", []) if s.lower() not in lowered]
    outcome.failures += [f"must not contain {s!r}" for s in case.get("must_not", []) if s.lower() in lowered]
    if case["kind"] == "red_flag" and not answer.startswith(SAFETY_HEADER):
        outcome.failures.append("red flag answer does not open with the safety advice")
    if case["kind"] == "no_false_alarm" and request.red_flags:
        outcome.failures.append(f"false alarm {request.red_flags}")
    return outcome


def _entity_failures(expected: dict[str, Any], request: Request) -> list[str]:
    failures = []
    for key, value in expected.items():
        if key == "red_flags":
            ok = not request.red_flags if not value else value[0] in request.red_flags
        elif key in {"ingredients", "metrics", "areas"}:
            ok = set(value) <= set(getattr(request, key))
        elif key == "referent":
            ok = value == request.referent or value in request.subject_ingredients
        else:
            ok = getattr(request, key) == value
        if not ok:
            failures.append(f"{key}: got {getattr(request, key)!r}, expected {value!r}")
    return failures


def run_split(split: str) -> list[Outcome]:
    """Every case of a split, in file order."""

    async def run_all() -> list[Outcome]:
        return [await run_case(case) for case in load(split)]

    return asyncio.run(run_all())


def by_kind(outcomes: list[Outcome]) -> dict[str, tuple[int, int]]:
    """kind → (passed, total)."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for outcome in outcomes:
        row = table[outcome.case["kind"]]
        row[0] += outcome.passed
        row[1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(table.items())}


def main() -> None:
    for split in SPLITS:
        outcomes = run_split(split)
        passed = sum(o.passed for o in outcomes)
        print(f"## {split}: {passed}/{len(outcomes)} = {100 * passed / len(outcomes):.1f}%")
        for kind, (ok, total) in by_kind(outcomes).items():
            print(f"| {kind} | {ok}/{total} | {100 * ok / total:.0f}% |")
        for outcome in outcomes:
            if not outcome.passed:
                print(f"  FAIL {outcome.case['id']} {outcome.case['message']!r}: {outcome.failures}")


if __name__ == "__main__":
    main()
