"""Which scores two scans analysed by different analyser versions can be compared on.

A version that recalibrates a metric changes the numbers it gives the same face: a delta across
it measures the analyser, not the skin. The CHANGELOG names each such change.
"""

from collections.abc import Iterable

# The local analyser's versions, oldest first, each with the metrics whose scale it changed from
# the one before (None: every metric).
LOCAL_VERSIONS: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("local-cv-1", None),
    ("local-mesh-2", None),
    ("local-mesh-3", None),  # recalibrated measurements
    ("local-mesh-4", None),  # lightness from a fixed mix of log channels: every metric reads it
    ("local-mesh-5", frozenset({"acne", "pigmentation", "overall"})),
    ("local-mesh-6", frozenset({"pores", "texture", "overall"})),
    # The skin's white point found from the brighter side: on a bearded face every metric moves.
    ("local-mesh-7", None),
)
_ORDER = {version: index for index, (version, _) in enumerate(LOCAL_VERSIONS)}


def rescaled_between(one: str | None, other: str | None) -> frozenset[str] | None:
    """The metrics whose scale changed between two versions (None: all of them).

    The same version, or one this table does not know (another provider, a scan stored before
    versions were kept), changes nothing: those are compared as they always were."""
    if one == other or one not in _ORDER or other not in _ORDER:
        return frozenset()
    low, high = sorted((_ORDER[one], _ORDER[other]))
    changed: set[str] = set()
    for _, metrics in LOCAL_VERSIONS[low + 1 : high + 1]:
        if metrics is None:
            return None
        changed |= metrics
    return frozenset(changed)


def comparable(metrics: Iterable[str], one: str | None, other: str | None) -> set[str]:
    """Those of `metrics` whose scores mean the same under both versions."""
    rescaled = rescaled_between(one, other)
    return set() if rescaled is None else {m for m in metrics if m not in rescaled}
