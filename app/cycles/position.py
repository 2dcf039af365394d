"""Where a user is in their cycle on a day: the one question other domains ask of `cycles`.

Journal entries, skin logs and scans carry the cycle day and phase at their date when the
user tracks cycles; they depend on this protocol, not on the cycles domain's internals, so a
user who does not track cycles (or a process built without the domain) gets `None` and no
cycle fields at all.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol


class CyclePhase(StrEnum):
    """The four phases of a menstrual cycle, as the app names them."""

    MENSTRUAL = "menstrual"
    FOLLICULAR = "follicular"
    OVULATION = "ovulation"
    LUTEAL = "luteal"


@dataclass(frozen=True)
class CyclePosition:
    """Day 1 is the first day of the period that started the cycle."""

    cycle_day: int
    phase: CyclePhase


class CyclePositionLookup(Protocol):
    """Answers the cycle day and phase of a date for a user, or None when unknown."""

    def position_on(self, *, user_id: str, on: date) -> CyclePosition | None:
        """None when the user logs no periods or the date is outside what their logs cover."""
        ...


class NoCycleTracking:
    """The lookup for a process without the cycles domain: nobody is ever in a cycle."""

    def position_on(self, *, user_id: str, on: date) -> CyclePosition | None:  # noqa: ARG002
        """Always None."""
        return None


@dataclass(frozen=True)
class Observation:
    """One dated reading of one metric for a user: a scan score or a self-rated value (0-100)."""

    on: date
    metric: str
    value: float


class ObservationSource(Protocol):
    """A series the cycle insight averages by phase: scans, and later self-rated skin logs.

    `kind` keeps the series apart in the answer ("scan" scores are never mixed with
    "self_rated" ones); `noise` is the metric's repeat-to-repeat spread in points, which
    decides whether a difference between phases is meaningful.
    """

    kind: str

    def observations(self, *, user_id: str) -> list[Observation]:
        """Every reading of the user's that the insight may use, any order."""
        ...

    def noise(self, *, metric: str, readings: Sequence[float] = ()) -> float:
        """Typical spread of one reading of `metric` in points (e.g. photo-to-photo noise), for
        a series of these readings (a source whose noise depends on the level may use them)."""
        ...
