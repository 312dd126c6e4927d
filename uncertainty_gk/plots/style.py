"""The look of every figure: journal widths, fonts, the Okabe–Ito palette, interval wording.

Matplotlib is imported here and only when a figure is made, so ``import
uncertainty_gk`` (and the ``ugk`` command line) never pays for it.  Figures are
:class:`matplotlib.figure.Figure` objects with an Agg canvas attached: no pyplot,
no global figure state, no display needed.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np

from ..errors import UGKError

__all__ = [
    "WIDTHS", "OKABE_ITO", "SERIES_COLOURS", "MARKERS", "FIT_COLOUR", "BAND_COLOUR", "WINDOW_COLOUR",
    "FAIL_COLOUR", "WARN_COLOUR", "style", "figure_width", "is_narrow", "new_figure", "percent", "interval_label",
    "format_value", "label_text", "display_label", "display_labels", "label_slug", "SYMBOLS", "symbol",
    "axis_label", "mathtext_escape", "robust_limits", "thin", "pointwise_band", "colour", "marker",
    "conductivity_unit", "shorten", "chars_per_line", "note", "panel_label", "figure_legend", "dedupe_legend", "visible_length",
    "NOTE_CORNERS", "place_notes", "emptiest_bounds"
]

#: Journal column widths (inches): single column ~85 mm, double column ~178 mm.
WIDTHS = {"single": 3.35, "double": 7.0}

#: Okabe & Ito (2008) colour-blind-safe palette, black first.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
#: Colours for series (seeds, groups) in order; yellow last (weak on white).
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
#: Neutral colours for fits, bands and shading.
FIT_COLOUR = "#000000"
BAND_COLOUR = "#7f7f7f"
WINDOW_COLOUR = "#56B4E9"
FAIL_COLOUR = "#D55E00"
WARN_COLOUR = "#E69F00"

_RC = {
    "font.size": 7.0, "axes.labelsize": 7.0, "axes.titlesize": 7.0, "figure.titlesize": 7.5,
    "legend.fontsize": 6.0, "xtick.labelsize": 6.5, "ytick.labelsize": 6.5,
    "axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4, "ytick.minor.width": 0.4, "xtick.major.size": 2.5, "ytick.major.size": 2.5,
    "xtick.minor.size": 1.5, "ytick.minor.size": 1.5,
    "lines.linewidth": 1.0, "lines.markersize": 3.5, "errorbar.capsize": 1.5,
    "legend.frameon": False, "legend.handlelength": 1.6, "legend.borderaxespad": 0.3,
    "legend.labelspacing": 0.3, "legend.handletextpad": 0.5, "legend.columnspacing": 1.0,
    "axes.spines.top": True, "axes.spines.right": True, "mathtext.default": "regular",
    "pdf.fonttype": 42, "svg.fonttype": "none", "savefig.dpi": 300,
    "figure.constrained_layout.h_pad": 0.02, "figure.constrained_layout.w_pad": 0.02,
}


def _matplotlib():
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        raise UGKError("figures need matplotlib: pip install matplotlib") from None
    return matplotlib


@contextlib.contextmanager
def style():
    """Context in which figures are created with the package's fonts, sizes and palette."""
    mpl = _matplotlib()
    from cycler import cycler

    with mpl.rc_context({**_RC, "axes.prop_cycle": cycler(color=list(SERIES_COLOURS))}):
        yield


def figure_width(width) -> float:
    """``"single"`` (3.35 in), ``"double"`` (7.0 in) or a number of inches."""
    if isinstance(width, str):
        try:
            return WIDTHS[width]
        except KeyError:
            raise UGKError(f"width {width!r}: choose 'single', 'double' or a width in inches") from None
    w = float(width)
    if not 1.0 <= w <= 20.0:
        raise UGKError(f"width {w:g} in: choose 'single' (3.35 in), 'double' (7.0 in) or 1-20 inches")
    return w


def is_narrow(width) -> bool:
    return figure_width(width) < 5.0


def new_figure(width, height: float):
    """An empty constrained-layout Figure of ``width`` × ``height`` inches with an Agg canvas."""
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(figure_width(width), height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def percent(prob: float) -> str:
    """0.95 -> '95 %' (SI spacing)."""
    return f"{100 * prob:.4g} %"


def interval_label(prob: float, kind: str = "credible interval") -> str:
    """E.g. ``'95 % credible interval'``: how every band and bar is named."""
    return f"{percent(prob)} {kind}"


def format_value(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return f"{v:g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


def label_text(labels: dict, skip=("seed",)) -> str:
    """Group labels as unambiguous plain text, ``model=pedone, structure=lpso, T = 1000 K``.

    For messages and the command line (it names every key); figures use
    :func:`display_labels`.
    """
    parts = []
    for k, v in labels.items():
        if k in skip:
            continue
        if k == "temperature_K":
            parts.append(f"T = {format_value(v)} K")
        else:
            parts.append(f"{k}={format_value(v)}")
    return ", ".join(parts) or "all runs"


#: Label-name endings that are a unit: ``temperature_K = 1000`` is shown as ``1000 K``.
_UNIT_SUFFIXES = {"K": "K", "ps": "ps", "fs": "fs", "ns": "ns", "GPa": "GPa", "MPa": "MPa", "bar": "bar",
                  "eV": "eV", "A": "Å", "angstrom": "Å", "percent": "%"}


def mathtext_escape(text: str) -> str:
    """``text`` safe to draw as literal text: a ``$`` would otherwise start mathtext."""
    return str(text).replace("$", r"\$")


def display_label(key: str, value, *, escape: bool = True) -> str:
    """One label as a reader would write it, for figures.

    A name ending in a unit gives the value with its unit (``temperature_K=1000`` ->
    ``1000 K``, ``pressure_GPa=2`` -> ``2 GPa``); text values stand alone (``model=pedone``
    -> ``pedone``); other numbers keep their name, with spaces for underscores
    (``charge_scale=0.8`` -> ``charge scale 0.8``).  ``escape``: a ``$`` is escaped for
    matplotlib (False for text outside figures, e.g. captions).
    """
    esc = mathtext_escape if escape else str
    head, _, suffix = str(key).rpartition("_")
    text = esc(format_value(value))
    if head and suffix in _UNIT_SUFFIXES:
        return f"{text} {_UNIT_SUFFIXES[suffix]}"
    if isinstance(value, str):
        return text
    return f"{esc(str(key).replace('_', ' '))} {text}"


def display_labels(labels: dict, skip=("seed",), *, escape: bool = True) -> str:
    """Group labels as readable figure text: ``pedone, lpso, 1000 K`` (see :func:`display_label`).

    File names keep :func:`label_slug`; messages keep :func:`label_text`.
    """
    parts = [display_label(k, v, escape=escape) for k, v in labels.items() if k not in skip]
    return ", ".join(parts) or "all runs"


def label_slug(labels: dict, skip=("seed",)) -> str:
    """A file-name fragment from labels: ``model-pedone_structure-lpso_T1000``."""
    parts = []
    for k, v in labels.items():
        if k in skip:
            continue
        if isinstance(v, (dict, list)):
            continue  # structured labels (synthetic model parameters) make no file name
        text = f"T{format_value(v)}" if k == "temperature_K" else f"{k}-{format_value(v)}"
        parts.append("".join(c if c.isalnum() or c in "-._" else "-" for c in text))
    return "_".join(parts) or "all"


#: Mathtext of every quantity symbol drawn in a figure (tables and the CLI keep Unicode ``σ_tr``):
#: the quantity in italic and a descriptive subscript upright (ISO 80000-1), spelled out so that
#: the figure looks the same whatever ``mathtext.default`` is when it is saved.
SYMBOLS = {
    "sigma": r"$\mathit{\sigma}$",
    "sigma_tr": r"$\mathit{\sigma}_\mathrm{tr}$",
    "haven_ratio": r"$\mathit{H}_\mathrm{R}$",
    "D_tr": r"$\mathit{D}^*$",
    "E_a": r"$\mathit{E}_\mathrm{a}$",
    "k_B": r"$\mathit{k}_\mathrm{B}$",
    "t_max": r"$\mathit{t}_\mathrm{max}$",
    "T": r"$\mathit{T}$",
    "t": r"$\mathit{t}$",
}


def symbol(name: str) -> str:
    """The mathtext symbol of a quantity, e.g. ``symbol("sigma_tr")`` -> ``$\\mathit{\\sigma}_\\mathrm{tr}$``."""
    try:
        return SYMBOLS[name]
    except KeyError:
        raise UGKError(f"no figure symbol for {name!r}; known: {', '.join(SYMBOLS)}") from None


#: Axis names of the quantities (figure text, mathtext symbols).
_QUANTITY_NAMES = {"sigma": "conductivity", "sigma_tr": "tracer conductivity", "haven_ratio": "Haven ratio",
                   "D_tr": "tracer diffusion coefficient"}


def axis_label(quantity: str, unit: str = "", *, name: bool = True) -> str:
    """``"tracer conductivity σ_tr (mS/cm)"`` in mathtext; ``name=False`` gives the symbol only."""
    text = f"{_QUANTITY_NAMES[quantity]} {symbol(quantity)}" if name else symbol(quantity)
    return f"{text} ({unit})" if unit else text


def robust_limits(values, lo_q: float = 0.005, hi_q: float = 0.995, pad: float = 0.05) -> tuple[float, float]:
    """Axis limits covering the central part of ``values`` with a small margin."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = np.quantile(v, [lo_q, hi_q])
    span = hi - lo if hi > lo else max(abs(hi), 1e-30)
    return float(lo - pad * span), float(hi + pad * span)


def thin(n: int, max_draws: int) -> np.ndarray:
    """Evenly spaced indices of at most ``max_draws`` of ``n`` posterior draws (deterministic)."""
    if n <= max_draws:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_draws).round().astype(np.int64))


def pointwise_band(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise (lower, median, upper) over the first axis of ``draws`` (draws × points)."""
    from ..estimators.base import central_interval

    return central_interval(draws, prob, axis=0)


def colour(i: int) -> str:
    """The i-th series colour (cycles)."""
    return SERIES_COLOURS[i % len(SERIES_COLOURS)]


def marker(i: int) -> str:
    return MARKERS[i % len(MARKERS)]


def conductivity_unit(values, unit: str = "auto") -> tuple[float, str]:
    """(factor from S/cm, unit text) for plotting conductivities.

    ``"auto"`` picks mS/cm when the typical magnitude of ``values`` (S/cm) is below
    0.1 S/cm, else S/cm; ``"S/cm"`` and ``"mS/cm"`` force one.
    """
    from ..units import S_PER_CM_TO_MS_PER_CM

    if unit == "S/cm":
        return 1.0, "S/cm"
    if unit == "mS/cm":
        return S_PER_CM_TO_MS_PER_CM, "mS/cm"
    if unit != "auto":
        raise UGKError(f"conductivity unit {unit!r}: choose 'auto', 'S/cm' or 'mS/cm'")
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and float(np.median(v)) < 0.1:
        return S_PER_CM_TO_MS_PER_CM, "mS/cm"
    return 1.0, "S/cm"


def shorten(text: str, n: int) -> str:
    """``text`` cut to at most ``n`` characters with an ellipsis."""
    return text if len(text) <= n else text[: max(n - 1, 1)] + "…"


def chars_per_line(width, fraction: float = 1.0) -> int:
    """About how many 6-pt legend characters fit across ``fraction`` of a figure of ``width``."""
    return int(figure_width(width) * fraction * 21)


def note(ax, text: str, *, loc: str = "upper right", colour: str = "#333333", fontsize: float = 5.5):
    """A short boxed note inside an axes (e.g. 'σ not resolved: upper bound only')."""
    x, ha = (0.97, "right") if "right" in loc else (0.03, "left") if "left" in loc else (0.5, "center")
    y, va = (0.96, "top") if "upper" in loc else (0.04, "bottom") if "lower" in loc else (0.5, "center")
    return ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, multialignment="left", fontsize=fontsize,
                   color=colour,
                   bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "#bbbbbb", "lw": 0.4, "alpha": 0.9},
                   zorder=10)


#: Where :func:`place_notes` tries a note, in order of preference.
NOTE_CORNERS = ("lower right", "upper right", "lower left", "upper left", "center right")


def _data_overlap(ax, bbox) -> float:
    """How much of what ``ax`` draws lies inside the display box ``bbox``: points of its lines
    (densified), a 6 × 6 grid of the box inside its filled bands, and its inset axes."""
    from matplotlib.collections import PolyCollection

    score = 0.0
    for ln in ax.lines:
        xy = np.asarray(ln.get_xydata(), dtype=float)
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if len(xy) < 1:
            continue
        if len(xy) > 1:   # densify so a straight line through the box is seen
            u = np.linspace(0, len(xy) - 1, 400)
            xy = np.column_stack([np.interp(u, np.arange(len(xy)), xy[:, k]) for k in (0, 1)])
        d = ln.get_transform().transform(xy)
        score += float(np.sum((d[:, 0] >= bbox.x0) & (d[:, 0] <= bbox.x1) & (d[:, 1] >= bbox.y0) & (d[:, 1] <= bbox.y1)))
    gx, gy = np.meshgrid(np.linspace(bbox.x0, bbox.x1, 6), np.linspace(bbox.y0, bbox.y1, 6))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    for coll in ax.collections:
        if not isinstance(coll, PolyCollection):
            continue
        for path in coll.get_paths():
            score += 5.0 * float(np.sum(path.contains_points(grid, transform=coll.get_transform())))
    for child in ax.child_axes:
        if child.get_window_extent().overlaps(bbox):
            score += 1e6
    return score


def emptiest_bounds(ax, candidates):
    """Of ``candidates`` (``[x0, y0, width, height]`` in axes fractions), the one under which
    ``ax`` draws the least data (first one on ties); the figure must be laid out
    (``fig.draw_without_rendering()``).  Used to put an inset where it hides no curve."""
    from matplotlib.transforms import Bbox

    scores = []
    for x0, y0, w, h in candidates:
        box = Bbox(ax.transAxes.transform([[x0, y0], [x0 + w, y0 + h]]))
        scores.append(_data_overlap(ax, box))
    return candidates[int(np.argmin(scores))]


def place_notes(fig, notes, corners=NOTE_CORNERS):
    """Draw each ``(ax, text, gid)`` note (:func:`note`) in the corner of its axes that hides the
    least data (lines, bands, insets); call once the figure is complete (it lays it out)."""
    if not notes:
        return []
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    placed = []
    for ax, text, gid in notes:
        best = None
        for loc in corners:
            t = note(ax, text, loc=loc)
            score = _data_overlap(ax, t.get_window_extent(renderer).expanded(1.05, 1.1))
            if best is None or score < best[0]:
                if best is not None:
                    best[1].remove()
                best = (score, t)
            else:
                t.remove()
            if score == 0:
                break
        best[1].set_gid(gid)
        placed.append(best[1])
    return placed


def panel_label(ax, letter: str):
    """Bold panel letter '(a)' at the top-left corner, outside the data."""
    ax.set_title(f"({letter})", loc="left", fontweight="bold", fontsize=7.0, pad=2.0)


def visible_length(text: str) -> int:
    """About how many characters ``text`` shows once its mathtext is rendered
    (``$\\sigma_\\mathrm{tr}$`` counts 3), for layout estimates."""
    import re

    def shown(m):
        inner = re.sub(r"\\[A-Za-z]+", lambda c: "x" if c.group(0) not in (r"\mathrm", r"\mathit") else "", m.group(1))
        return re.sub(r"[{}_^\\]", "", inner)

    return len(re.sub(r"(?<!\\)\$(.*?)(?<!\\)\$", shown, str(text)))


def figure_legend(fig, handles, labels, *, width, max_cols: int | None = None):
    """One legend for the whole figure, below the axes (never over data).

    As many columns as fit the figure width for the longest label (at most ``max_cols``).
    """
    n = len(handles)
    if n == 0:
        return None
    longest = max(visible_length(line) for lab in labels for line in str(lab).split("\n"))
    fit = max(1, chars_per_line(width) // (longest + 6))
    cols = min(n, fit, max_cols or 4)
    return fig.legend(handles, labels, loc="outside lower center", ncols=cols, frameon=False)


def dedupe_legend(handles, labels):
    """Drop repeated labels (keeping the first handle of each)."""
    seen, h2, l2 = set(), [], []
    for h, lab in zip(handles, labels):
        if lab in seen or lab.startswith("_"):
            continue
        seen.add(lab)
        h2.append(h)
        l2.append(lab)
    return h2, l2
