"""The offline assistant: answers the structured request from the user's own data.

What the message asks is worked out by `understanding` (shared with Gemini); red flags and
pregnancy cautions are handled by `safety` before this provider is asked. No canned
paragraphs about the user: every answer is assembled from the context (scores, deltas, areas,
today's routine, the weekly schedule, plan lock, adherence) and from the ingredient database
and conflict rules. When a question is outside what it knows, it says so plainly.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

from app.core.vocabulary import METRICS
from app.providers.assistant.base import ChatContext, ChatReply
from app.providers.assistant.understanding import Request, ingredient_name, understand
from app.routine_engine import catalog
from app.routine_engine.conflicts import check as check_conflicts
from app.routine_engine.models import EngineProfile

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Handler = Callable[[Request, ChatContext], str]


def request_of(message: str, context: ChatContext) -> Request:
    """The request the safety layer already worked out, or a fresh one (direct calls, tests)."""
    if context.request:
        return Request(**context.request)
    return understand(message, history=context.history, profile=context.profile)


class LocalChatProvider:
    """Grounded, deterministic, offline."""

    name = "local"

    async def reply(self, *, message: str, context: ChatContext) -> ChatReply:
        request = request_of(message, context)
        handler = self._handlers().get(request.intent, self._unknown)
        return ChatReply(content=handler(request, context), provider=self.name, intent=request.intent)

    async def stream(self, *, message: str, context: ChatContext) -> AsyncIterator[str]:
        reply = await self.reply(message=message, context=context)
        for piece in re.findall(r"\S+\s*|\s+", reply.content):
            yield piece
            await asyncio.sleep(0)

    def _handlers(self) -> dict[str, Handler]:
        return {
            "interaction": self._interaction,
            "side_effects": self._side_effects,
            "sunscreen": self._sunscreen,
            "rescan": self._rescan,
            "last_scan": self._last_scan,
            "progress": self._progress,
            "routine": self._routine,
            "schedule": self._schedule,
            "plan": self._plan,
            "adherence": self._adherence,
            "scores": self._scores,
            "ingredient_question": self._ingredient,
            "pregnancy_safety": self._pregnancy,
            "cycle": self._cycle,
            "off_topic": self._off_topic,
            "greeting": self._greeting,
            "red_flag": self._red_flag,
        }

    # ---- scan answers ----

    def _scores(self, request: Request, context: ChatContext) -> str:
        scan = context.latest_scan
        if not scan or not scan.get("scores"):
            return "I don't have a completed scan for you yet. Take a scan (good light, face the camera) and I can go through your scores."
        scores = scan["scores"]
        ranked = sorted((m for m in METRICS if m in scores), key=lambda m: scores[m])
        lines = [
            f"From your scan on {scan['scan_date'][:10]} (0-100, higher is healthier), overall {scores.get('overall', 0):.0f}:"
        ]
        if request.metrics:
            lines += [f"- {_label(m)}: {scores[m]:.0f}" for m in request.metrics if m in scores]
        elif request.superlative == "best":
            lines += [f"- {_label(m)}: {scores[m]:.0f}" for m in reversed(ranked[-3:])]
            lines.append(f"Your strongest area is {_label(ranked[-1])}; keep doing what you're doing there.")
        else:
            lines += [f"- {_label(m)}: {scores[m]:.0f}" for m in ranked[:3]]
            lines.append("Those are your lowest scores, so they are what your plan focuses on.")
        regions = scan.get("regions") or {}
        if regions:
            asked = [r for r in regions if any(r.startswith(a) or a in r for a in request.areas)]
            if asked:
                lines += [f"- {_label(r)} (all metrics): {regions[r]:.0f}" for r in asked]
            else:
                order = sorted(regions, key=lambda r: regions[r])
                pick = order[-1] if request.superlative == "best" else order[0]
                word = "is doing best" if request.superlative == "best" else "needs the most care"
                lines.append(f"By face area, your {_label(pick)} {word} ({regions[pick]:.0f}).")
        return "\n".join(lines)

    def _last_scan(self, request: Request, context: ChatContext) -> str:
        scan = context.latest_scan
        if not scan:
            return "You have no completed scan yet. Take one from the Scan tab: good light, no make-up, face the camera."
        when = scan["scan_date"][:10]
        ago = _days_since(when, context)
        age = f" ({ago} day(s) ago)" if ago is not None else ""
        overall = (scan.get("scores") or {}).get("overall")
        score = f", overall score {overall:.0f}" if overall is not None else ""
        return (
            f"Your latest completed scan was on {when}{age}{score}. "
            "Scanning about once a week, in the same light, gives the clearest trend."
        )

    def _progress(self, request: Request, context: ChatContext) -> str:
        scan = context.latest_scan
        deltas = (scan or {}).get("deltas") or {}
        reference = deltas.get("baseline") or deltas.get("previous")
        if not scan or not reference:
            return "I need at least two completed scans to talk about progress. Scan again in about a week, in the same light."
        label = "your plan's baseline scan" if deltas.get("baseline") else "your previous scan"
        changes = reference["changes"]
        ordered = request.metrics or sorted(changes, key=lambda m: -abs(changes[m]))[:4]
        lines = [f"Compared with {label} ({reference['scan_date'][:10]}):"]
        for metric in ordered:
            if metric in changes:
                change = changes[metric]
                word = "better" if change > 0 else "worse" if change < 0 else "unchanged"
                lines.append(f"- {_label(metric)}: {change:+.0f} points ({word})")
        lines.append("Skin changes slowly: judge the trend over several scans, not one.")
        return "\n".join(lines)

    def _rescan(self, request: Request, context: ChatContext) -> str:
        scan = context.latest_scan
        last = f" Your last completed scan was on {scan['scan_date'][:10]}." if scan else ""
        return (
            "Scan about once a week, at the same time of day, in the same soft light, without makeup, facing the camera."
            " Changes from a routine show after 4-6 weeks, so weekly scans give a trend rather than noise."
            + last
        )

    # ---- plan answers ----

    def _routine(self, request: Request, context: ChatContext) -> str:
        plan = context.plan
        if not plan:
            return "You don't have an active plan yet. Create one from your latest completed scan and I'll walk you through each day."
        today = plan.get("today") or {}
        parts = [f"Week {plan.get('current_week')} of your plan."]
        if request.time_of_day in {"am", None}:
            parts.append("Morning:\n" + _steps(today.get("am", [])))
        if request.time_of_day in {"pm", None}:
            night = today.get("night_focus")
            header = f"Evening ({night.replace('_', ' ')} night):" if night else "Evening:"
            parts.append(header + "\n" + _steps(today.get("pm", [])))
        return "\n\n".join(parts)

    def _schedule(self, request: Request, context: ChatContext) -> str:
        plan = context.plan
        subject = request.subject_ingredients
        if not plan:
            return "You don't have an active plan yet, so nothing is scheduled. Create one from your latest scan."
        if not subject:
            return self._night_overview(plan)
        return "\n\n".join(
            _when_used(_plan_member(slug, request, context), plan, request) for slug in subject[:3]
        )

    def _night_overview(self, plan: dict[str, Any]) -> str:
        week = _week(plan)
        today = plan.get("today") or {}
        tonight = today.get("night_focus", "rest")
        lines = [f"This week (week {plan.get('current_week')}): {week.get('summary', '')}".rstrip()]
        lines.append(f"Tonight ({today.get('day', 'today')}) is a {tonight.replace('_', ' ')} night.")
        return "\n".join(lines)

    def _plan(self, request: Request, context: ChatContext) -> str:
        plan = context.plan
        if not plan:
            return "You have no active plan. Once you have a completed scan, you can create one: it runs four weeks."
        lines = [
            f"Your plan started {plan.get('start_date')} and you are in week {plan.get('current_week')} "
            f"(day {plan.get('days_elapsed', 0) + 1})."
        ]
        if plan.get("is_locked"):
            lines.append(
                f"It is locked for {plan.get('days_remaining')} more day(s), so it can't be changed or replaced yet. "
                "Why: skin renews in about 28 days, and a routine needs that full cycle before its effect shows; "
                "switching earlier resets the clock and makes it impossible to tell what worked."
            )
            lines.append(
                "The exception is an adverse reaction: if a product burns, blisters, causes swelling or a rash, "
                "note it in today's check-in and create a new plan giving 'adverse reaction' as the reason: "
                "a gentler plan replaces this one straight away, even while the plan is locked."
            )
        else:
            lines.append("The lock period is over: you can create a new plan from a fresh scan.")
        if plan.get("primary_concerns"):
            lines.append("It focuses on: " + ", ".join(_label(c) for c in plan["primary_concerns"]) + ".")
        return "\n".join(lines)

    def _adherence(self, request: Request, context: ChatContext) -> str:
        stats = context.adherence
        if not stats:
            return "There is no active plan to track yet."
        return (
            f"So far you have done {stats['am_percent']:.0f}% of morning and {stats['pm_percent']:.0f}% of evening routines, "
            f"with a current streak of {stats['streak_days']} day(s). Consistency matters more than perfection: "
            "if you miss a night, just continue the next day; never double up on actives."
        )

    # ---- ingredient answers ----

    def _interaction(self, request: Request, context: ChatContext) -> str:
        slugs = [s for s in request.subject_ingredients if catalog.get(slug=s)]
        if len(slugs) < 2:
            return (
                self._ingredient(request, context)
                if slugs
                else (
                    "Tell me the two ingredients or products you want to combine (for example 'retinol and glycolic acid') "
                    "and I'll check them against the interaction rules."
                )
            )
        report = check_conflicts(ingredients=slugs, profile=_profile(context))
        names = " and ".join(ingredient_name(s) for s in slugs)
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

    def _ingredient(self, request: Request, context: ChatContext) -> str:
        slugs = request.subject_ingredients
        if not slugs:
            return self._unknown(request, context)
        parts = []
        for slug in slugs[:3]:
            ingredient = catalog.get(slug=slug)
            if ingredient is None:
                parts.append(
                    f"{ingredient_name(slug)} is a prescription medicine, not something a skincare routine replaces: "
                    "a dermatologist decides whether it suits you."
                )
                continue
            targets = ", ".join(_label(t) for t in ingredient.targets) or "general skin care"
            functions = (
                ", ".join(f.replace("_", " ") for f in ingredient.functions[:3]) or "skincare ingredient"
            )
            text = f"{ingredient.name} ({functions}): helps with {targets}. {ingredient.usage_notes}"
            reason = _in_plan(slug, context)
            if reason:
                text += f" It is in your plan because: {reason}"
            parts.append(text)
        return "\n\n".join(parts)

    def _pregnancy(self, request: Request, context: ChatContext) -> str:
        """The 'no' lines come from the safety layer; this adds what is safe and what the plan holds."""
        who = "breastfeeding" if request.pregnancy == "breastfeeding" else "pregnancy"
        subject = request.subject_ingredients
        lines: list[str] = []
        for slug in subject:
            ingredient = catalog.get(slug=slug)
            if ingredient is not None and ingredient.pregnancy == "safe":
                lines.append(
                    f"Yes: {ingredient.name} is considered safe in pregnancy and while breastfeeding in our ingredient data."
                )
        unsafe_plan = [s for s in _plan_slugs(context) if _not_safe(s)]
        if unsafe_plan:
            names = ", ".join(ingredient_name(s) for s in unsafe_plan)
            lines.append(
                f"Your current plan includes {names}: stop using it now and treat those nights as rest nights. "
                "Turn on 'pregnant or breastfeeding' in your profile so every new plan leaves retinoids out."
                + _lock_note(context)
            )
        elif context.plan and not subject:
            lines.append(
                "Nothing in your current plan is marked 'avoid' in pregnancy in our ingredient data."
            )
        if any(_not_safe(s) for s in subject) or not subject:
            alternatives = _safe_alternatives(subject)
            if alternatives:
                lines.append(f"Options considered safe during {who}: " + ", ".join(alternatives) + ".")
        lines.append("Check any new product with your doctor or midwife too.")
        return "\n".join(lines)

    def _side_effects(self, request: Request, context: ChatContext) -> str:
        subject = request.subject_ingredients
        retinoids = [s for s in subject if _in_group(s, "retinoid")]
        acids = [s for s in subject if _in_group(s, "exfoliating_acid")]
        in_plan_retinoid = any(_in_group(s, "retinoid") for s in _plan_slugs(context))
        lines = []
        if subject:
            names = " and ".join(ingredient_name(s) for s in subject[:2])
            lines.append(
                f"About {names}: mild dryness, flaking, peeling or tingling in the first weeks is common."
            )
        else:
            lines.append("Mild dryness, flaking or tingling in the first weeks is common when actives start.")
        if retinoids or (not subject and in_plan_retinoid):
            lines.append(
                "With a retinoid you don't need to stop: use it on fewer nights (drop back to the previous week's number), "
                "apply it over moisturiser (buffering), and keep sunscreen every morning. Some 'purging' (small breakouts "
                "where you usually break out) can happen in weeks 2-6."
            )
        elif acids:
            lines.append(
                "With an exfoliating acid, skip it for a few nights, then go back to fewer nights a week."
            )
        lines.append(
            "Stop the active and keep only cleanser, moisturiser and sunscreen if you get burning that lasts, swelling, "
            "blisters or a rash, and record the reaction in today's check-in: an adverse reaction lets you replace the "
            "plan even while it is locked."
        )
        return "\n".join(lines)

    def _sunscreen(self, request: Request, context: ChatContext) -> str:
        plan = context.plan or {}
        step = next((s for s in plan.get("am", []) if s.get("category") == "sunscreen"), None)
        base = "Sunscreen is the last step of every morning routine: broad-spectrum SPF 30 or higher, about two finger-lengths for face and neck, reapplied every two hours outdoors."
        if step:
            base += f" In your plan: {step.get('product_type')} - {step.get('instructions')}"
        if any(_in_group(s, "retinoid") for s in _plan_slugs(context)):
            base += " Your evening retinoid makes skin more sun-sensitive, so it matters even more."
        return base

    # ---- other answers ----

    def _cycle(self, request: Request, context: ChatContext) -> str:
        lines = [
            "Breakouts in the week before a period are common: hormone shifts in the second half of the cycle "
            "raise oil production, usually along the chin and jawline.",
            "What helps: keep your routine steady rather than adding harsh products; a BHA (salicylic acid) or "
            "benzoyl peroxide on the chin and jaw in the days before your period; don't pick; and keep moisturising.",
        ]
        acne = ((context.latest_scan or {}).get("scores") or {}).get("acne")
        if acne is not None:
            lines.append(f"Your latest acne score is {acne:.0f}/100.")
        lines.append(
            "I don't have any cycle data for you yet, so I can't link your breakouts to your cycle. Logging your "
            "period dates (cycle tracking) would let me compare your scans with your cycle phase and tell whether "
            "your flare-ups follow it, and when to expect the next one."
        )
        lines.append(
            "If breakouts are deep and painful, or come with irregular periods or extra hair growth, a doctor can check "
            "for a hormonal cause."
        )
        return "\n".join(lines)

    def _off_topic(self, request: Request, context: ChatContext) -> str:
        return (
            "Sorry, I can't help with that: I'm DermaLens's skincare assistant, so I only know about skin. "
            "Ask me about your scan scores, your routine and plan, ingredients, or side effects."
        )

    def _greeting(self, request: Request, context: ChatContext) -> str:
        name = context.profile.get("full_name")
        hello = f"Hi {name.split()[0]}!" if name else "Hi!"
        return f"{hello} Ask me about your scores, today's routine, your progress, or whether two ingredients go together."

    def _red_flag(self, request: Request, context: ChatContext) -> str:
        # Normally answered by the safety layer before any provider; kept for direct calls.
        return "Please see a dermatologist or a doctor about this; I can't assess it from here."

    def _unknown(self, request: Request, context: ChatContext) -> str:
        return (
            "I'm not sure about that one, and I'd rather say so than guess. I can help with your scan scores, "
            "your progress, today's routine, your plan and its lock, ingredients and whether they can be combined, "
            "side effects, sunscreen and when to scan again."
        )


# ---- helpers --------------------------------------------------------------------------------------


def _label(metric: str) -> str:
    return metric.replace("_", " ")


def _steps(steps: list[dict[str, Any]]) -> str:
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


def _week(plan: dict[str, Any]) -> dict[str, Any]:
    schedule = plan.get("weekly_schedule") or []
    index = min(int(plan.get("current_week") or 1), len(schedule) or 1) - 1
    return schedule[index] if schedule else {}


def _when_used(slug: str, plan: dict[str, Any], request: Request) -> str:
    """Which nights (or mornings) the plan uses an ingredient, and whether tonight is one."""
    name = ingredient_name(slug)
    week = _week(plan)
    nights = [n["day"] for n in week.get("nights", []) if slug in n.get("actives", [])]
    today = plan.get("today") or {}
    if nights:
        focus = next(
            t["focus"] for t in plan.get("night_treatments", []) if slug in t["step"]["key_ingredients"]
        )
        text = (
            f"{name} is used on your {focus.replace('_', ' ')} nights: this week (week {plan.get('current_week')}) "
            f"on {'/'.join(nights)}, after cleansing."
        )
        later = [
            f"week {w['week']}: {'/'.join(n['day'] for n in w['nights'] if slug in n['actives'])}"
            for w in plan.get("weekly_schedule", [])
            if w.get("week", 0) > int(plan.get("current_week") or 1)
        ]
        if later:
            text += " Then " + "; ".join(later) + "."
        if request.time_of_day == "pm":
            yes = slug in (today.get("night_actives") or [])
            focus_tonight = str(today.get("night_focus", "rest")).replace("_", " ")
            text += (
                f" Tonight ({today.get('day')}) is a {focus_tonight} night: "
                f"{'yes, use it' if yes else 'skip it tonight'}."
            )
        text += " Never on the same night as another retinoid or acid."
        return text
    for slot, label in (("am", "morning"), ("pm", "evening")):
        step = next((s for s in plan.get(slot, []) if slug in s.get("key_ingredients", [])), None)
        if step:
            return f"{name} is in your {label} routine (step {step['step']}, {step['product_type']}): {step.get('frequency', 'daily')}."
    return f"{name} is not part of your current plan, so it has no scheduled nights. Ask me before adding it."


def _lock_note(context: ChatContext) -> str:
    """How the plan can be replaced, when it is locked."""
    plan = context.plan or {}
    if not plan.get("is_locked"):
        return " Your plan's lock period is over, so you can create a new plan now."
    return (
        f" Your plan stays locked for {plan.get('days_remaining')} more day(s); a new plan giving "
        "'adverse reaction' as the reason can replace it sooner."
    )


def _plan_member(slug: str, request: Request, context: ChatContext) -> str:
    """'my retinoid' (resolved as retinol) means the plan's own retinoid when it has a different one."""
    plan_slugs = _plan_slugs(context)
    if slug in plan_slugs:
        return slug
    for group in request.groups:
        if _in_group(slug, group):
            same = next((s for s in plan_slugs if _in_group(s, group)), None)
            if same:
                return same
    return slug


def _plan_slugs(context: ChatContext) -> list[str]:
    """Every ingredient the user's plan uses; night actives (retinoid, exfoliant) live apart from `pm`."""
    plan = context.plan or {}
    steps = plan.get("am", []) + plan.get("pm", []) + [t["step"] for t in plan.get("night_treatments", [])]
    return list(dict.fromkeys(slug for step in steps for slug in step.get("key_ingredients", [])))


def _in_group(slug: str, group: str) -> bool:
    if slug == "isotretinoin":
        return group == "retinoid"
    ingredient = catalog.get(slug=slug)
    return bool(ingredient and group in ingredient.groups)


def _not_safe(slug: str) -> bool:
    ingredient = catalog.get(slug=slug)
    return slug == "isotretinoin" or bool(ingredient and ingredient.pregnancy == "avoid")


def _safe_alternatives(subject: list[str]) -> list[str]:
    """Pregnancy-safe actives that target what the unsafe ones do."""
    targets = {t for s in subject if (i := catalog.get(slug=s)) for t in i.targets} or {
        "acne",
        "pigmentation",
    }
    picks = [
        i
        for i in catalog.all_ingredients()
        if i.pregnancy == "safe"
        and i.strength >= 2
        and set(i.targets) & targets
        and "sunscreen_filter" not in i.groups
    ]
    picks.sort(key=lambda i: (-len(set(i.targets) & targets), -i.strength, i.name))
    return [i.name for i in picks[:4]]


def _in_plan(slug: str, context: ChatContext) -> str | None:
    plan = context.plan or {}
    if slug not in _plan_slugs(context):
        return None
    ingredient = catalog.get(slug=slug)
    targets = set(ingredient.targets) if ingredient else set()
    reasons = [r["decision"] for r in plan.get("reasoning", []) if r.get("metric") in targets]
    return reasons[0] if reasons else "it supports your main concerns."


def _days_since(day: str, context: ChatContext) -> int | None:
    today = (context.plan or {}).get("today_date") or context.today
    if not today:
        return None
    return (date.fromisoformat(today[:10]) - date.fromisoformat(day)).days


def _profile(context: ChatContext) -> EngineProfile:
    profile = context.profile
    return EngineProfile(
        skin_type=profile.get("skin_type"),
        concerns=profile.get("concerns") or [],
        sensitivities=profile.get("sensitivities") or [],
        pregnant_or_breastfeeding=bool(profile.get("pregnant_or_breastfeeding")),
        age=profile.get("age"),
    )
