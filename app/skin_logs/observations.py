"""Self-rated skin logs as an `ObservationSource` for the cycle insight (kind "self_rated").

Kept apart from scan scores: a self-rating says how the skin felt, in the user's own
scale, where higher means MORE of the thing (more breakouts, more dryness), unlike scan
scores where higher means healthier. The insight never mixes the two kinds.
"""

from collections.abc import Sequence
from datetime import date

from app.cycles.position import Observation
from app.skin_logs.models import SLIDERS
from app.skin_logs.repository import SkinLogsRepository

SELF_RATED = "self_rated"
BREAKOUT_VALUES = {"none": 0.0, "few": 50.0, "many": 100.0}
"""breakouts → 0-100: one step of the three-step scale is 50 points."""

# Repeat-to-repeat spread of one self-rating, in points. A 0-100 slider rated twice for the
# same unchanged skin typically differs by 10-15 points (visual-analogue scales); breakouts
# have three steps, so a one-step wobble (50 points) happens, and half a step is the
# typical spread. These are stated assumptions, not measured on DermaLens users.
RATING_NOISE = {"breakouts": 25.0, **dict.fromkeys(SLIDERS, 12.0)}
METRICS = ("breakouts", *SLIDERS)


class SkinLogObservations:
    """Every self-rated value of a user's logs, one `Observation` per metric and log."""

    kind = SELF_RATED

    def __init__(self, *, logs: SkinLogsRepository) -> None:
        self._logs = logs

    def observations(self, *, user_id: str) -> list[Observation]:
        """Rated metrics only: a slider the user left out is not a zero."""
        found: list[Observation] = []
        for log in self._logs.all_for_user(user_id=user_id):
            on = date.fromisoformat(log.log_date)
            if log.breakouts is not None:
                found.append(Observation(on=on, metric="breakouts", value=BREAKOUT_VALUES[log.breakouts]))
            for metric in SLIDERS:
                value = getattr(log, metric)
                if value is not None:
                    found.append(Observation(on=on, metric=metric, value=float(value)))
        return found

    def noise(self, *, metric: str, readings: Sequence[float] = ()) -> float:  # noqa: ARG002
        """The stated rating noise of `metric` (KeyError for a metric logs never carry); a
        self-rating is as noisy at every level, so the readings do not matter."""
        return RATING_NOISE[metric]
