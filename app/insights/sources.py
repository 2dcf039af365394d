"""Observation sources the cycle insight averages: here the scan scores (kind "scan").

Another domain adds its own (the skin log's "self_rated" readings) by implementing
`app.cycles.position.ObservationSource` and appending it in `app/bootstrap.py`.
"""

import math
from collections.abc import Sequence
from datetime import date

from app.cycles.position import Observation
from app.providers.vision.noise import band
from app.scans.progress import on_current_scale
from app.scans.repository import ScansRepository

# BANDS are the 95th percentile of |Δ| between two photos of unchanged skin. With
# independent noise s on each photo, the difference has spread s * sqrt(2), so s = band / (1.96 * sqrt(2)).
_BAND_TO_ONE_READING = 1.96 * math.sqrt(2)


def scan_noise(metric: str, readings: Sequence[float] = ()) -> float:
    """One photo's score noise (one standard deviation) for a metric, from its repeatability band
    at the level of these readings (oiliness is noisier on a face that shines)."""
    return band(metric, *readings) / _BAND_TO_ONE_READING


class ScanObservations:
    """Every completed, quality-passed scan's scores, dated by the scan's (UTC) date."""

    kind = "scan"

    def __init__(self, *, scans: ScansRepository) -> None:
        self._scans = scans

    def observations(self, *, user_id: str) -> list[Observation]:
        """One observation per scan and metric (overall included), each metric only since the
        analyser last recalibrated it: an older score is on another scale."""
        scans = self._scans.completed_scores(user_id=user_id)
        metrics = {metric for scan in scans for metric in scan.scores}
        return [
            Observation(on=date.fromisoformat(scan.scan_date[:10]), metric=metric, value=scan.scores[metric])
            for metric in sorted(metrics)
            for scan in on_current_scale(scans, metric)
        ]

    def noise(self, *, metric: str, readings: Sequence[float] = ()) -> float:
        """Photo-to-photo noise of one scan score (points) in a series of these readings."""
        return scan_noise(metric, readings)
