"""Pure, deterministic AM/PM plan builder: an `EngineProfile` and scan scores in, a `RoutinePlan` out.

Safety rules are enforced by construction (see docs/ROUTINE_ENGINE.md):
- every candidate passes `selection.allowed` (catalog entry exists, not prescription-only, no
  sensitivity match, pregnancy-safe, not comedogenic on acne-prone skin);
- every addition is checked against the conflict rules for each context it will share a routine
  with: the AM steps, the nightly PM steps, and the nightly PM steps plus each night's active;
- the retinoid slot and the exfoliant slot never share a night, and both ramp up over four weeks.
Nothing iterates over a set, so the same input gives byte-identical output in any process.

Modules, in the order a build uses them: `context` (input -> need levels and flags), `selection`
(safety filter, conflict check), `night_actives`, `steps` + `fixed_steps`, `serums`, `schedule`
(weekly nights, one day), `explanation` (reasoning, warnings), `assembly` (`build_plan`).
Wording lives in data/plan_texts.json (`texts`).
"""

from app.routine_engine.builder.assembly import ENGINE_VERSION, build_plan, plan_slugs
from app.routine_engine.builder.context import DAY_NAMES, WEEKS, concern_metric, need_level
from app.routine_engine.builder.schedule import SPREAD, today

__all__ = [
    "DAY_NAMES",
    "ENGINE_VERSION",
    "SPREAD",
    "WEEKS",
    "build_plan",
    "concern_metric",
    "need_level",
    "plan_slugs",
    "today",
]
