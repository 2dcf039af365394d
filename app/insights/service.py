"""The cycle insight: each source's readings averaged by cycle phase, kinds kept apart."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from app.auth.models import UserRecord
from app.core.security import utc_now
from app.cycles.position import CyclePhase, CyclePosition, Observation, ObservationSource
from app.cycles.prediction import CycleHistory
from app.cycles.service import CycleService
from app.insights.analysis import PHASES, MetricFigures, figures, finding
from app.plans.service import PlanService, engine_profile
from app.plans.timeline import plan_timeline
from app.routine_engine.cycle_step import CycleStep, cycle_targeted_step

PositionOf = Callable[[date], CyclePosition | None]
UNITS = {"scan": "scans", "self_rated": "skin logs"}


@dataclass(frozen=True)
class SourceInsight:
    kind: str
    readings: int
    positioned: int
    metrics: list[MetricFigures]
    findings: list[str]


@dataclass(frozen=True)
class CycleInsight:
    tracking: bool
    reason: str | None
    sources: list[SourceInsight] = field(default_factory=list)
    # A routine-engine step for the late luteal phase: only on a meaningful acne worsening.
    routine_step: CycleStep | None = None

    @property
    def findings(self) -> list[str]:
        """Every meaningful sentence, all sources."""
        return [f for s in self.sources for f in s.findings]

    def meaningful(self, *, metric: str, phase: CyclePhase, kind: str = "scan") -> float | None:
        """The meaningful difference of a metric in a phase (None when there is none)."""
        for source in self.sources:
            if source.kind != kind:
                continue
            for figures_ in source.metrics:
                if figures_.metric != metric:
                    continue
                for figure in figures_.phases:
                    if figure.phase == phase and figure.meaningful:
                        return figure.difference
        return None


class CycleInsightService:
    """Averages every registered `ObservationSource` by the phase each reading's date fell in."""

    def __init__(
        self, *, cycles: CycleService, sources: Sequence[ObservationSource], plans: PlanService | None = None
    ) -> None:
        self._cycles = cycles
        self.sources = list(sources)
        self._plans = plans

    def for_user(self, *, user: UserRecord, history: CycleHistory | None = None) -> CycleInsight:
        """The insight plus, when it is meaningful and the active plan allows, a targeted step."""
        insight = self.cycle(user_id=user.user_id, history=history)
        difference = insight.meaningful(metric="acne", phase=CyclePhase.LUTEAL)
        plan = self._plans.find_active(user_id=user.user_id) if self._plans and difference else None
        if plan is None or plan.status != "active":
            return insight
        now = utc_now()
        step = cycle_targeted_step(
            plan=plan.routine,
            week=int(plan_timeline(plan, user, now)["current_week"]),
            profile=engine_profile(user, now),
            acne_luteal_difference=difference,
        )
        return replace(insight, routine_step=step)

    def cycle(self, *, user_id: str, history: CycleHistory | None = None) -> CycleInsight:
        """The insight; users who log no periods get `tracking: false` and a reason, never an error.

        `history`: the user's logs when the caller has read them already.
        """
        history = history or self._cycles.history(user_id=user_id)
        if history is None:
            return CycleInsight(tracking=False, reason="no_periods_logged")
        results = []
        for source in self.sources:
            observations = source.observations(user_id=user_id)
            readings = self._positioned(observations, history.position)
            metrics = {o.metric for o, _ in readings}
            table = figures(readings, noise=_noise_of(source), comparisons=len(metrics) * len(PHASES))
            unit = UNITS.get(source.kind, "readings")
            found = [finding(m.metric, f, unit) for m in table for f in m.phases if f.meaningful]
            results.append(
                SourceInsight(
                    kind=source.kind,
                    readings=len(observations),
                    positioned=len(readings),
                    metrics=table,
                    findings=found,
                )
            )
        return CycleInsight(tracking=True, reason=None, sources=results)

    @staticmethod
    def _positioned(
        observations: list[Observation], position: PositionOf
    ) -> list[tuple[Observation, CyclePhase]]:
        cache: dict[date, CyclePhase | None] = {}
        readings = []
        for observation in observations:
            if observation.on not in cache:
                found = position(observation.on)
                cache[observation.on] = found.phase if found else None
            phase = cache[observation.on]
            if phase is not None:
                readings.append((observation, phase))
        return readings


def _noise_of(source: ObservationSource) -> Callable[[str, Sequence[float]], float]:
    return lambda metric, readings: source.noise(metric=metric, readings=readings)
