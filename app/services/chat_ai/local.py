"""The offline assistant: recognises what is asked and answers from the user's own data.

No canned paragraphs: every answer is assembled from the context (scores, deltas, today's
routine, plan lock, adherence) and from the ingredient database and conflict rules. When a
question is outside what it knows, it says so plainly.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from app.core.vocabulary import METRICS
from app.services.chat_ai.base import ChatContext, ChatReply
from app.services.routine_engine import catalog
from app.services.routine_engine.conflicts import check as check_conflicts
from app.services.routine_engine.models import EngineProfile, Ingredient

METRIC_WORDS: dict[str, tuple[str, ...]] = {
    "acne": ("acne", "breakout", "breakouts", "pimple", "pimples", "spots", "zits", "blemish"),
    "redness": ("redness", "red", "flushing", "rosacea"),
    "oiliness": ("oily", "oiliness", "shine", "shiny", "greasy", "sebum"),
    "hydration": ("hydration", "dry", "dryness", "dehydrated", "tight", "flaky"),
    "pores": ("pores", "pore", "blackheads"),
    "wrinkles": ("wrinkles", "wrinkle", "fine lines", "lines", "aging", "ageing"),
    "pigmentation": ("pigmentation", "dark spots", "hyperpigmentation", "melasma", "sun spots", "marks"),
    "dark_circles": ("dark circles", "under eye", "under-eye", "eye bags"),
    "texture": ("texture", "rough", "bumpy", "uneven texture"),
    "evenness": ("evenness", "uneven", "tone", "dull"),
}
GROUP_WORDS: dict[str, str] = {
    "retinoid": "retinoid",
    "retinoids": "retinoid",
    "aha": "aha",
    "ahas": "aha",
    "bha": "bha",
    "acid": "exfoliating_acid",
    "acids": "exfoliating_acid",
    "exfoliant": "exfoliating_acid",
    "vitamin c": "vitamin_c_l_ascorbic",
    "vit c": "vitamin_c_l_ascorbic",
    "sunscreen": "sunscreen_filter",
    "spf": "sunscreen_filter",
}


@dataclass(frozen=True)
class Intent:
    name: str
    patterns: tuple[str, ...]


# Order matters: the first match wins, most specific first.
INTENTS: tuple[Intent, ...] = (
    Intent(
        "interaction",
        (
            r"\b(with|together|combine|combining|mix|mixing|layer|layering|same time)\b.*\?",
            r"\bcan i (use|put|apply|mix|combine)\b.*\b(with|and|together|after|before)\b",
            r"\b(mix|combine|layer)\b",
        ),
    ),
    Intent(
        "side_effects",
        (
            r"\b(purg\w*|irritat\w*|sting\w*|burn\w*|peel\w*|flak\w*|itch\w*|rash|reaction|"
            r"side effects?|breaking out|broke out|redder|sensitive now)\b",
        ),
    ),
    Intent("sunscreen", (r"\b(sunscreen|spf|sun cream|sunblock|uv)\b",)),
    Intent(
        "rescan",
        (
            r"\b(rescan|re-scan|next scan|another scan|new scan|when should i scan|how often.*scan|scan again)\b",
        ),
    ),
    Intent("progress", (r"\b(progress|improv\w*|better|worse|getting|changed?|trend|compared?|since)\b",)),
    Intent(
        "routine",
        (
            r"\b(today|tonight|this morning|this evening|morning|night|evening|am|pm|routine|"
            r"what (should|do) i (use|apply|do)|steps?)\b",
        ),
    ),
    Intent("plan", (r"\b(plan|locked?|lock|week|weeks|how long|days? left|change my plan|new plan)\b",)),
    Intent("adherence", (r"\b(streak|adherence|missed|skipp\w*|check-?ins?|how am i doing)\b",)),
    Intent(
        "scores", (r"\b(score|scores|result|results|analysis|how is my skin|my skin|worst|best|rating)\b",)
    ),
    Intent("ingredient_question", (r"\b(what is|what's|what does|why|how does|tell me about|explain)\b",)),
    Intent("greeting", (r"^\s*(hi|hello|hey|good (morning|evening|afternoon))\b",)),
)


def classify(message: str) -> str:
    text = message.lower()
    for intent in INTENTS:
        if any(re.search(p, text) for p in intent.patterns):
            return intent.name
    return "unknown"


def mentioned_ingredients(message: str) -> list[Ingredient]:
    """Ingredients named in free text: every 1-4 word window looked up in the catalog."""
    words = re.findall(r"[a-z0-9][a-z0-9\-]*", message.lower())
    found: dict[str, Ingredient] = {}
    taken: set[int] = set()
    for size in (4, 3, 2, 1):
        for start in range(len(words) - size + 1):
            if any(i in taken for i in range(start, start + size)):
                continue
            phrase = " ".join(words[start : start + size])
            if size == 1 and (len(phrase) < 3 or phrase in _STOPWORDS):
                continue
            ingredient = catalog.resolve(name=phrase) or _group_representative(phrase)
            if ingredient and ingredient.slug not in found:
                found[ingredient.slug] = ingredient
                taken.update(range(start, start + size))
    return list(found.values())


_STOPWORDS = {
    "and",
    "the",
    "with",
    "can",
    "use",
    "for",
    "what",
    "why",
    "how",
    "my",
    "you",
    "are",
    "acid",
    "oil",
    "water",
}


def _group_representative(phrase: str) -> Ingredient | None:
    group = GROUP_WORDS.get(phrase)
    if not group:
        return None
    members = catalog.in_group(group=group)
    preferred = {
        "retinoid": "retinol",
        "aha": "glycolic_acid",
        "bha": "salicylic_acid",
        "exfoliating_acid": "glycolic_acid",
    }
    slug = preferred.get(group)
    return next((m for m in members if m.slug == slug), members[0] if members else None)


def _metric_label(metric: str) -> str:
    return metric.replace("_", " ")


def _mentioned_metrics(message: str) -> list[str]:
    text = message.lower()
    return [
        m for m, words in METRIC_WORDS.items() if any(re.search(rf"\b{re.escape(w)}\b", text) for w in words)
    ]


class LocalChatProvider:
    """Grounded, deterministic, offline."""

    name = "local"

    async def reply(self, *, message: str, context: ChatContext) -> ChatReply:
        intent = classify(message)
        if intent == "unknown":
            intent = self._follow_up_intent(message, context)
        handler = self._handlers().get(intent, self._unknown)
        return ChatReply(content=handler(message, context), provider=self.name, intent=intent)

    async def stream(self, *, message: str, context: ChatContext) -> AsyncIterator[str]:
        reply = await self.reply(message=message, context=context)
        for piece in re.findall(r"\S+\s*|\s+", reply.content):
            yield piece
            await asyncio.sleep(0)

    @staticmethod
    def _follow_up_intent(message: str, context: ChatContext) -> str:
        """'And pores?' after a question about scores: carry the earlier topic over."""
        if not (_mentioned_metrics(message) or mentioned_ingredients(message)):
            return "unknown"
        for turn in reversed(context.history):
            if turn.role == "user":
                earlier = classify(turn.content)
                if earlier in {"scores", "progress", "interaction", "ingredient_question"}:
                    return earlier
        return "ingredient_question" if mentioned_ingredients(message) else "scores"

    def _handlers(self) -> dict[str, Callable[[str, ChatContext], str]]:
        return {
            "interaction": self._interaction,
            "side_effects": self._side_effects,
            "sunscreen": self._sunscreen,
            "rescan": self._rescan,
            "progress": self._progress,
            "routine": self._routine,
            "plan": self._plan,
            "adherence": self._adherence,
            "scores": self._scores,
            "ingredient_question": self._ingredient,
            "greeting": self._greeting,
        }

    # ---- answers ----

    def _scores(self, message: str, context: ChatContext) -> str:
        scan = context.latest_scan
        if not scan or not scan.get("scores"):
            return "I don't have a completed scan for you yet. Take a scan (good light, face the camera) and I can go through your scores."
        scores = scan["scores"]
        asked = _mentioned_metrics(message)
        metrics = asked or sorted((m for m in METRICS if m in scores), key=lambda m: scores[m])[:3]
        lines = [
            f"From your scan on {scan['scan_date'][:10]} (0-100, higher is healthier), overall {scores.get('overall', 0):.0f}:"
        ]
        lines += [f"- {_metric_label(m)}: {scores[m]:.0f}" for m in metrics if m in scores]
        if not asked:
            lines.append("Those are your lowest scores, so they are what your plan focuses on.")
        return "\n".join(lines)

    def _progress(self, message: str, context: ChatContext) -> str:
        scan = context.latest_scan
        deltas = (scan or {}).get("deltas") or {}
        reference = deltas.get("baseline") or deltas.get("previous")
        if not scan or not reference:
            return "I need at least two completed scans to talk about progress. Scan again in about a week, in the same light."
        label = "your plan's baseline scan" if deltas.get("baseline") else "your previous scan"
        changes = reference["changes"]
        asked = _mentioned_metrics(message)
        ordered = asked or sorted(changes, key=lambda m: -abs(changes[m]))[:4]
        lines = [f"Compared with {label} ({reference['scan_date'][:10]}):"]
        for metric in ordered:
            if metric in changes:
                change = changes[metric]
                word = "better" if change > 0 else "worse" if change < 0 else "unchanged"
                lines.append(f"- {_metric_label(metric)}: {change:+.0f} points ({word})")
        lines.append("Skin changes slowly: judge the trend over several scans, not one.")
        return "\n".join(lines)

    def _routine(self, message: str, context: ChatContext) -> str:
        plan = context.plan
        if not plan:
            return "You don't have an active plan yet. Create one from your latest completed scan and I'll walk you through each day."
        today = plan.get("today") or {}
        text = message.lower()
        want_pm = any(w in text for w in ("tonight", "night", "evening", "pm"))
        want_am = any(w in text for w in ("morning", "am "))
        parts = [f"Week {plan.get('current_week')} of your plan."]
        if want_am or not want_pm:
            parts.append("Morning:\n" + _steps(today.get("am", [])))
        if want_pm or not want_am:
            night = today.get("night_focus") or today.get("focus")
            header = f"Evening ({night} night):" if night else "Evening:"
            parts.append(header + "\n" + _steps(today.get("pm", [])))
        return "\n\n".join(parts)

    def _plan(self, message: str, context: ChatContext) -> str:
        plan = context.plan
        if not plan:
            return "You have no active plan. Once you have a completed scan, you can create one: it runs four weeks."
        lines = [
            f"Your plan started {plan.get('start_date')} and you are in week {plan.get('current_week')} "
            f"(day {plan.get('days_elapsed', 0) + 1})."
        ]
        if plan.get("is_locked"):
            lines.append(
                f"It stays locked for {plan.get('days_remaining')} more day(s): a routine needs a full skin cycle "
                "(about 28 days) before you can judge it. If your skin reacts badly, report an adverse reaction and a gentler plan can replace it."
            )
        else:
            lines.append("The lock period is over: you can create a new plan from a fresh scan.")
        if plan.get("primary_concerns"):
            lines.append(
                "It focuses on: " + ", ".join(_metric_label(c) for c in plan["primary_concerns"]) + "."
            )
        return "\n".join(lines)

    def _adherence(self, message: str, context: ChatContext) -> str:
        stats = context.adherence
        if not stats:
            return "There is no active plan to track yet."
        return (
            f"So far you have done {stats['am_percent']:.0f}% of morning and {stats['pm_percent']:.0f}% of evening routines, "
            f"with a current streak of {stats['streak_days']} day(s). Consistency matters more than perfection: "
            "if you miss a night, just continue the next day; never double up on actives."
        )

    def _interaction(self, message: str, context: ChatContext) -> str:
        ingredients = mentioned_ingredients(message)
        if len(ingredients) < 2:
            return (
                self._ingredient(message, context)
                if ingredients
                else (
                    "Tell me the two ingredients or products you want to combine (for example 'retinol and glycolic acid') "
                    "and I'll check them against the interaction rules."
                )
            )
        report = check_conflicts(ingredients=[i.slug for i in ingredients], profile=_profile(context))
        names = " and ".join(i.name for i in ingredients)
        if not report.conflicts and not report.cautions:
            return f"I know of no conflict between {names}; you can use them in the same routine. Patch-test anything new."
        lines = [f"About {names}:"]
        for finding in report.conflicts:
            lines.append(
                f"- {finding.severity.upper()}: {finding.a.name} + {finding.b.name}. {finding.reason} Fix: {finding.fix_text}"
            )
        for caution in report.cautions:
            lines.append(f"- For you: {caution.name}: {caution.reason}")
        return "\n".join(lines)

    def _ingredient(self, message: str, context: ChatContext) -> str:
        ingredients = mentioned_ingredients(message)
        if not ingredients:
            return self._unknown(message, context)
        parts = []
        for ingredient in ingredients[:3]:
            targets = ", ".join(_metric_label(t) for t in ingredient.targets) or "general skin care"
            text = f"{ingredient.name} ({', '.join(ingredient.functions[:3]) or 'skincare ingredient'}): helps with {targets}. {ingredient.usage_notes}"
            in_plan = _in_plan(ingredient.slug, context)
            if in_plan:
                text += f" It is in your plan because: {in_plan}"
            if context.profile.get("pregnant_or_breastfeeding") and ingredient.pregnancy != "safe":
                text += (
                    f" Pregnancy: {ingredient.pregnancy} - {ingredient.pregnancy_note or 'ask your doctor'}."
                )
            parts.append(text)
        return "\n\n".join(parts)

    def _side_effects(self, message: str, context: ChatContext) -> str:
        has_retinoid = _any_in_group(_plan_slugs(context), "retinoid")
        lines = ["Mild dryness, flaking or tingling in the first weeks is common when actives start."]
        if has_retinoid:
            lines.append(
                "Your plan includes a retinoid: some 'purging' (small breakouts where you usually break out) can happen in weeks 2-6. "
                "Use it on fewer nights, apply it over moisturiser (buffering), and keep sunscreen every morning."
            )
        lines.append(
            "Stop the active and keep only cleanser, moisturiser and sunscreen if you get burning that lasts, swelling or blisters, "
            "and record the reaction in today's check-in so your plan can be adjusted."
        )
        return "\n".join(lines)

    def _sunscreen(self, message: str, context: ChatContext) -> str:
        plan = context.plan or {}
        step = next((s for s in plan.get("am", []) if s.get("category") == "sunscreen"), None)
        base = "Sunscreen is the last step of every morning routine: broad-spectrum SPF 30 or higher, about two finger-lengths for face and neck, reapplied every two hours outdoors."
        if step:
            base += f" In your plan: {step.get('product_type')} - {step.get('instructions')}"
        if _any_in_group(_plan_slugs(context), "retinoid"):
            base += " Your evening retinoid makes skin more sun-sensitive, so it matters even more."
        return base

    def _rescan(self, message: str, context: ChatContext) -> str:
        scan = context.latest_scan
        last = f" Your last completed scan was on {scan['scan_date'][:10]}." if scan else ""
        return (
            "Scan about once a week, at the same time of day, in the same soft light, without makeup, facing the camera."
            " Changes from a routine show after 4-6 weeks, so weekly scans give a trend rather than noise."
            + last
        )

    def _greeting(self, message: str, context: ChatContext) -> str:
        name = context.profile.get("full_name")
        hello = f"Hi {name.split()[0]}!" if name else "Hi!"
        return f"{hello} Ask me about your scores, today's routine, your progress, or whether two ingredients go together."

    def _unknown(self, message: str, context: ChatContext) -> str:
        return (
            "I'm not sure about that one, and I'd rather say so than guess. I can help with your scan scores, "
            "your progress, today's routine, your plan and its lock, ingredients and whether they can be combined, "
            "side effects, sunscreen and when to scan again."
        )


def _steps(steps: list[dict]) -> str:
    if not steps:
        return "- nothing scheduled"
    lines = []
    for step in steps:
        keys = ", ".join(step.get("key_ingredients", []))
        lines.append(
            f"{step.get('step', '-')}. {step.get('product_type', step.get('category', 'step'))}"
            + (f" ({keys})" if keys else "")
        )
    return "\n".join(lines)


def _plan_slugs(context: ChatContext) -> set[str]:
    """Every ingredient the user's plan uses; night actives (retinoid, exfoliant) live apart from `pm`."""
    plan = context.plan or {}
    steps = plan.get("am", []) + plan.get("pm", []) + [t["step"] for t in plan.get("night_treatments", [])]
    return {slug for step in steps for slug in step.get("key_ingredients", [])}


def _any_in_group(slugs: set[str], group: str) -> bool:
    return any((ingredient := catalog.get(slug=slug)) and group in ingredient.groups for slug in slugs)


def _in_plan(slug: str, context: ChatContext) -> str | None:
    plan = context.plan or {}
    if slug not in _plan_slugs(context):
        return None
    ingredient = catalog.get(slug=slug)
    targets = set(ingredient.targets) if ingredient else set()
    reasons = [r["decision"] for r in plan.get("reasoning", []) if r.get("metric") in targets]
    return reasons[0] if reasons else "it supports your main concerns."


def _profile(context: ChatContext) -> EngineProfile:
    profile = context.profile
    return EngineProfile(
        skin_type=profile.get("skin_type"),
        concerns=profile.get("concerns") or [],
        sensitivities=profile.get("sensitivities") or [],
        pregnant_or_breastfeeding=bool(profile.get("pregnant_or_breastfeeding")),
        age=profile.get("age"),
    )
