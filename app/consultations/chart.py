"""The scores-over-time chart of the report: matplotlib's object API on an Agg canvas → PNG.

No pyplot (its global figure state is not for servers); one lock around drawing, because
matplotlib does not promise thread safety and routes run in a thread pool. matplotlib is
imported on the first chart, so processes that never render a report do not pay for it.
"""

import io
import threading
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

from app.core.vocabulary import OVERALL

_draw_lock = threading.Lock()

# One distinct colour per metric (matplotlib's tab10), overall in bold black on top; past ten
# metrics the colours repeat dashed.
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
MAX_LABELLED_TICKS = 8

Series = dict[str, list[tuple[datetime, float]]]


def scores_chart_png(
    series: Series,
    *,
    highlight: list[datetime],
    width_in: float = 7.2,
    height_in: float = 4.0,
    dpi: int = 200,
) -> bytes:
    """A line chart of every metric (0-100, higher = healthier), overall in bold, shared scans marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _draw_lock:
        figure = Figure(figsize=(width_in, height_in), dpi=dpi)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot(1, 1, 1)
        others = [m for m in sorted(series) if m != OVERALL and series[m]]
        for index, metric in enumerate(others):
            times, values = zip(*series[metric], strict=True)
            axes.plot(
                times,
                values,
                marker="o",
                markersize=3,
                linewidth=1.2,
                color=_PALETTE[index % len(_PALETTE)],
                linestyle="-" if index < len(_PALETTE) else "--",
                label=metric.replace("_", " "),
            )
        if series.get(OVERALL):
            times, values = zip(*series[OVERALL], strict=True)
            axes.plot(
                times, values, marker="o", markersize=5, linewidth=2.8, color="#000000", label="overall"
            )
        for moment in highlight:
            # matplotlib converts datetimes through its unit registry; the stubs only say float.
            axes.axvline(moment, color="#777777", linestyle=":", linewidth=1)  # type: ignore[arg-type]
        axes.set_ylim(0, 100)
        axes.set_ylabel("score (0-100, higher = healthier)")
        axes.grid(True, axis="y", color="#DDDDDD", linewidth=0.6)
        _date_axis(axes, sorted({t for points in series.values() for t, _ in points}))
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
        return buffer.getvalue()


def _date_axis(axes: "Axes", times: list[datetime]) -> None:
    """A few scans: a tick at each (with the time when two share a day); many: matplotlib's dates."""
    from matplotlib.dates import AutoDateLocator, DateFormatter

    if 0 < len(times) <= MAX_LABELLED_TICKS:
        same_day = len({t.date() for t in times}) < len(times)
        axes.set_xticks(times)  # type: ignore[arg-type]  # datetimes go through matplotlib's units
        axes.set_xticklabels(
            [t.strftime("%d %b\n%H:%M" if same_day else "%d %b\n%Y") for t in times], fontsize=7
        )
        return
    # matplotlib's date helpers carry no annotations.
    axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=MAX_LABELLED_TICKS))  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(DateFormatter("%d %b\n%Y"))  # type: ignore[no-untyped-call]
