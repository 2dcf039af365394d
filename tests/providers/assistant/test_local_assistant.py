"""The offline assistant on hand-made contexts (no database)."""

import asyncio

from app.providers.assistant.base import ChatContext
from app.providers.assistant.local import LocalChatProvider


def plan_with_night_retinoid() -> dict:
    step = {
        "step": 2,
        "category": "night_treatment",
        "product_type": "retinol serum",
        "key_ingredients": ["retinol"],
    }
    return {
        "am": [
            {
                "step": 1,
                "category": "sunscreen",
                "product_type": "SPF 50",
                "instructions": "last step",
                "key_ingredients": [],
            }
        ],
        "pm": [
            {
                "step": 1,
                "category": "cleanser",
                "product_type": "gel cleanser",
                "key_ingredients": ["glycerin"],
            }
        ],
        "night_treatments": [{"focus": "retinoid", "step": step}],
        "reasoning": [],
    }


def ask(message: str, context: ChatContext) -> str:
    return asyncio.run(LocalChatProvider().reply(message=message, context=context)).content


def test_night_retinoid_counts_as_part_of_the_plan() -> None:
    context = ChatContext(plan=plan_with_night_retinoid())
    assert "retinoid" in ask("My skin is peeling and irritated", context)
    assert "retinoid makes skin more sun-sensitive" in ask("Do I need sunscreen?", context)


def test_without_a_retinoid_no_purging_talk() -> None:
    plan = plan_with_night_retinoid()
    plan["night_treatments"] = []
    assert "purging" not in ask("My skin is peeling and irritated", ChatContext(plan=plan))
