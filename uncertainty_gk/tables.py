r"""Publication tables: values with intervals rounded by the PDG rule, as CSV, Markdown or LaTeX.

Rounding (Particle Data Group, *Review of Particle Physics*, Introduction, §5.3
"Rounding"): take the three leading digits of the uncertainty; if they lie in
100-354 keep two significant digits, in 355-949 keep one, in 950-999 round the
uncertainty up to 1000 and keep two.  The value is rounded to the same decimal
place.  For an asymmetric interval the rule is applied to the *smaller* half-width
and both half-widths are rounded to that place::

    >>> round_uncertainty(0.8273, 0.8273 - 0.0127, 0.8273 + 0.0127).text()
    '0.827 ± 0.013'
    >>> round_uncertainty(0.27, 0.15, 0.47).text()
    '0.27 (+0.20/−0.12)'
    >>> round_uncertainty(1.15e-5, 1.09e-5, 1.20e-5).latex()
    '$1.15^{+0.05}_{-0.06} \\times 10^{-5}$'

A :class:`Table` keeps the numbers and renders them: CSV keeps every number at full
precision (a value with an interval becomes three columns: value, lower, upper), while
Markdown, LaTeX (booktabs) and HTML show the rounded ``value (+up/−down)`` form.  The
builders turn results into tables: :func:`results_table`, :func:`seeds_table`,
:func:`comparison_table`, :func:`arrhenius_table`, :func:`diagnostics_table`.
``ugk table KIND SOURCE -o FILE`` writes one of them (format from the suffix).
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .errors import UGKError

__all__ = ["RoundedValue", "round_uncertainty", "round_significant", "rounded_estimate", "labels_text",
           "unicode_units", "html_symbols", "Column", "Table", "TABLE_KINDS",
           "results_table", "seeds_table", "comparison_table", "arrhenius_table", "diagnostics_table",
           "latex_escape", "csv_text", "markdown_cell"]

#: Powers of ten at or beyond which numbers are written with a common ``× 10^k``.
SCI_LOW, SCI_HIGH = -3, 4
#: When one half-width exceeds the other by more than this factor (a skewed posterior, e.g.
#: an extrapolated σ), the interval is shown as bounds ``value [lower, upper]``, each bound
#: to 2 significant digits, instead of ``value (+up/−down)`` with a long ``up``.
MAX_ASYMMETRY = 10.0

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
MINUS = "−"


# --------------------------------------------------------------------------- rounding
def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _pdg_place(u: float) -> int:
    """Decimal place (power of ten) to which an uncertainty ``u > 0`` is rounded."""
    mantissa, exp = f"{u:.6e}".split("e")
    e = int(exp)
    lead = int(mantissa.replace(".", "")[:3])        # three leading digits, truncated
    return e - 1 if lead <= 354 else e                # 100-354: 2 digits; 355-999: 1 (950+ -> 1.0 × 10^(e+1))


def _quantize(x: float, place: int) -> Decimal:
    # 12 significant digits first: a half-width of 0.0950 computed as 0.09499999999999997
    # from its bounds must still round up
    return Decimal(f"{float(x):.12g}").quantize(Decimal(1).scaleb(place), rounding=ROUND_HALF_UP)


def _fixed(d: Decimal, decimals: int) -> str:
    s = f"{d:.{max(decimals, 0)}f}"
    if s.startswith("-") and float(d) == 0:
        s = s[1:]
    return s.replace("-", MINUS)


def _exponent_for(x: float) -> int:
    k = math.floor(math.log10(abs(x)))
    # floating error at exact powers of ten (log10(1e-5) may be -5.000000000000001)
    if abs(x) >= 10.0 ** (k + 1):
        k += 1
    return k


@dataclass(frozen=True)
class RoundedValue:
    """A value and interval rounded for display; render with :meth:`text`, :meth:`latex`, ...

    ``kind`` is ``"interval"`` (value with ``plus``/``minus``), ``"upper"`` (only an
    upper bound: ``< bound``), ``"lower"`` (``> bound``), ``"point"`` (no interval),
    ``"range"`` (``value [lower, upper]``: a very skewed interval, or a value outside its
    interval; ``minus``/``plus`` then hold the bounds) or ``"missing"``.
    Strings are the mantissas; ``exponent`` is the common power of ten (0: none); in a
    ``range`` the bounds have their own ``bound_exponents``.
    """

    kind: str
    value: str = ""
    plus: str = ""
    minus: str = ""
    exponent: int = 0
    bound_exponents: tuple = (0, 0)

    @property
    def symmetric(self) -> bool:
        return self.kind == "interval" and self.plus == self.minus

    def _core(self, pm: str, fmt_asym, bound_fmt, range_fmt) -> str:
        if self.kind == "missing":
            return "–"
        if self.kind == "point":
            return self.value
        if self.kind in ("upper", "lower"):
            return bound_fmt("<" if self.kind == "upper" else ">", self.value)
        if self.kind == "range":
            return range_fmt(self.value, self.minus, self.plus)
        if self.symmetric:
            return f"{self.value} {pm} {self.plus}"
        return fmt_asym(self.value, self.plus, self.minus)

    def text(self) -> str:
        """Plain Unicode text, e.g. ``0.27 (+0.20/−0.12)`` or ``1.15 (+0.05/−0.06) × 10⁻⁵``."""
        def num(m, e):
            return f"{m} × 10{str(e).translate(_SUPERSCRIPT)}" if e else m
        if self.kind == "range":
            (elo, ehi) = self.bound_exponents
            return f"{num(self.value, self.exponent)} [{num(self.minus, elo)}, {num(self.plus, ehi)}]"
        core = self._core("±", lambda v, p, m: f"{v} (+{p}/{MINUS}{m})", lambda s, v: f"{s} {v}", None)
        if self.exponent:
            core = num(f"({core})" if self.symmetric else core, self.exponent)
        return core

    __str__ = text

    def markdown(self) -> str:
        """Markdown table cell text (the plain text, escaped by :func:`markdown_cell`)."""
        return markdown_cell(self.text())

    def html(self) -> str:
        """HTML fragment with ``<sup>``/``<sub>`` for the asymmetric interval."""
        def asym(v, p, m):
            return (f'{html.escape(v)}<span class="pm"><sup>+{html.escape(p)}</sup>'
                    f'<sub>{MINUS}{html.escape(m)}</sub></span>')
        def num(m, e):
            m = html.escape(m)
            return f"{m}&#8201;×&#8201;10<sup>{html.escape(str(e).replace('-', MINUS))}</sup>" if e else m
        if self.kind == "range":
            (elo, ehi) = self.bound_exponents
            return f"{num(self.value, self.exponent)} [{num(self.minus, elo)}, {num(self.plus, ehi)}]"
        core = self._core("±", asym, lambda s, v: f"{html.escape(s)}&#8201;{html.escape(v)}", None)
        if self.kind == "point" or self.kind == "missing":
            core = html.escape(core)
        if self.exponent:
            exp = html.escape(str(self.exponent).replace("-", MINUS))
            if self.symmetric:
                core = f"({core})"
            core = f"{core}&#8201;×&#8201;10<sup>{exp}</sup>"
        return core

    def latex(self, math_mode: bool = True) -> str:
        """LaTeX, e.g. ``$0.27^{+0.20}_{-0.12}$`` or ``$(0.827 \\pm 0.013) \\times 10^{-3}$``."""
        def m(s):
            return s.replace(MINUS, "-").replace("∞", r"\infty")

        def num(s, e):
            return f"{m(s)} \\times 10^{{{e}}}" if e else m(s)
        if self.kind == "missing":
            return "--"
        if self.kind == "point":
            core = m(self.value)
        elif self.kind in ("upper", "lower"):
            core = ("<" if self.kind == "upper" else ">") + " " + m(self.value)
        elif self.kind == "range":
            elo, ehi = self.bound_exponents
            core = f"{num(self.value, self.exponent)}\\ [{num(self.minus, elo)}, {num(self.plus, ehi)}]"
            return f"${core}$" if math_mode else core
        elif self.symmetric:
            core = f"{m(self.value)} \\pm {m(self.plus)}"
        else:
            core = f"{m(self.value)}^{{+{m(self.plus)}}}_{{-{m(self.minus)}}}"
        if self.exponent:
            core = num(f"({core})" if self.symmetric else core, self.exponent)
        return f"${core}$" if math_mode else core


def round_significant(x: float, digits: int = 2, exponent: int | None = None) -> RoundedValue:
    """A single number to ``digits`` significant digits (``kind="point"``)."""
    if not _finite(x):
        return RoundedValue("missing")
    x = float(x)
    if x == 0:
        return RoundedValue("point", "0")
    e = _exponent_for(x)
    place = e - digits + 1
    k = _choose_exponent(abs(x)) if exponent is None else exponent
    d = _quantize(x / 10.0**k, place - k) if k else _quantize(x, place)
    return RoundedValue("point", _fixed(d, k - place), exponent=k)


def _choose_exponent(scale: float) -> int:
    if scale == 0 or not math.isfinite(scale):
        return 0
    k = _exponent_for(scale)
    return k if (k <= SCI_LOW or k >= SCI_HIGH) else 0


def round_uncertainty(value, lower, upper, *, exponent: int | None = None) -> RoundedValue:
    """Round ``value`` with its interval ``[lower, upper]`` by the PDG rule.

    Parameters
    ----------
    value : float or None
        Point estimate (e.g. posterior median).  ``None``/NaN with a finite ``upper``
        gives an upper bound only (``< upper``, an unresolved σ), with a finite
        ``lower`` and no upper a lower bound (``> lower``, e.g. H_R when σ is not resolved).
    lower, upper : float or None
        Interval bounds; ``None``, NaN or ±inf mean "no bound".
    exponent : int, optional
        Common power of ten; default ``floor(log10(|value|))`` when that is ≤ −3 or ≥ 4,
        else none.

    Returns
    -------
    RoundedValue
        The rule is applied to the smaller positive half-width; both half-widths and the
        value are rounded to its decimal place.  Bounds alone are given to 2 significant
        digits; a value without any interval (or with zero width) to 3.
    """
    has_v, has_lo, has_hi = _finite(value), _finite(lower), _finite(upper)
    if not has_v:
        if has_hi:
            return _bound("upper", float(upper), exponent)
        if has_lo:
            return _bound("lower", float(lower), exponent)
        return RoundedValue("missing")
    v = float(value)
    lo = float(lower) if has_lo else None
    hi = float(upper) if has_hi else None
    if (lo is not None and lo > v) or (hi is not None and hi < v):
        return _outside(v, lo, hi, exponent)
    widths = [w for w in ((v - lo) if lo is not None else None, (hi - v) if hi is not None else None)
              if w is not None and w > 0]
    if not widths:
        r = round_significant(v, 3, exponent)
        if lo is None and hi is None:
            return r
        return RoundedValue("interval", r.value, "0", "0", r.exponent)
    u = min(widths)
    place = _pdg_place(u)
    scale = max(abs(v), u)
    k = _choose_exponent(scale) if exponent is None else exponent
    f = 10.0**k

    def q(x):
        return _quantize(x / f, place - k) if k else _quantize(x, place)

    decimals = k - place
    val = _fixed(q(v), decimals)
    if len(widths) == 2 and max(widths) > MAX_ASYMMETRY * u:
        b_lo, b_hi = round_significant(lo, 2), round_significant(hi, 2)
        return RoundedValue("range", val, plus=b_hi.value, minus=b_lo.value, exponent=k,
                            bound_exponents=(b_lo.exponent, b_hi.exponent))
    plus = _fixed(q(hi - v), decimals) if hi is not None else "∞"
    minus = _fixed(q(v - lo), decimals) if lo is not None else "∞"
    return RoundedValue("interval", val, plus, minus, k)


def _bound(kind: str, b: float, exponent) -> RoundedValue:
    r = round_significant(b, 2, exponent)
    return RoundedValue(kind, r.value, exponent=r.exponent)


def _outside(v, lo, hi, exponent) -> RoundedValue:
    """The point lies outside its interval: show ``value [lo, hi]`` at 3 significant digits."""
    k = _choose_exponent(abs(v)) if exponent is None else exponent
    parts = [round_significant(x, 3, k).value if x is not None else "?" for x in (v, lo, hi)]
    return RoundedValue("range", parts[0], plus=parts[2], minus=parts[1], exponent=k, bound_exponents=(k, k))


def rounded_estimate(est) -> RoundedValue:
    """:func:`round_uncertainty` of an :class:`~uncertainty_gk.results.Estimate` (or a dict form)."""
    if est is None:
        return RoundedValue("missing")
    if isinstance(est, dict):
        return round_uncertainty(est.get("median"), est.get("lower"), est.get("upper"))
    return round_uncertainty(est.median, est.lower, est.upper)


# --------------------------------------------------------------------------- escaping
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}
_LATEX_UNICODE = {"σ": r"$\sigma$", "τ": r"$\tau$", "κ": r"$\kappa$", "χ": r"$\chi$", "μ": r"$\mu$",
                  "Δ": r"$\Delta$", "ρ": r"$\rho$", "α": r"$\alpha$", "β": r"$\beta$", "η": r"$\eta$",
                  "∫": r"$\int$", "±": r"$\pm$", "≤": r"$\le$", "≥": r"$\ge$", "×": r"$\times$",
                  "−": "-", "–": "--", "—": "---", "→": r"$\to$", "²": r"$^2$", "³": r"$^3$",
                  "Å": r"\AA{}", "°": r"$^\circ$", "…": r"\ldots{}", "√": r"$\surd$", "∞": r"$\infty$",
                  "⁻": r"$^-$", "·": r"$\cdot$", "≈": r"$\approx$"}


def latex_escape(text) -> str:
    """Text safe inside a LaTeX table: special characters escaped, common Unicode symbols mapped."""
    out = []
    for ch in str(text):
        out.append(_LATEX_SPECIAL.get(ch) or _LATEX_UNICODE.get(ch) or ch)
    return "".join(out)


def _latex_units(units: str) -> str:
    """``cm^2/s`` -> ``cm$^{2}$/s``; other characters escaped."""
    parts = re.split(r"\^(-?\d+)", units)
    out = []
    for i, p in enumerate(parts):
        out.append(f"$^{{{p}}}$" if i % 2 else latex_escape(p))
    return "".join(out)


#: Symbols written with a subscript in HTML (σ_tr -> σ<sub>tr</sub>).
_HTML_SUBSCRIPTS = ("σ_tr", "H_R", "E_a", "T_target", "k_B")


def html_symbols(text: str) -> str:
    """Escaped HTML of ``text`` with the known symbols' subscripts as ``<sub>``."""
    out = html.escape(str(text))
    for sym in _HTML_SUBSCRIPTS:
        base, sub = sym.split("_", 1)
        out = re.sub(rf"(?<![A-Za-z_]){re.escape(base)}_{sub}(?![A-Za-z_])", f"{base}<sub>{sub}</sub>", out)
    return out


def unicode_units(units: str) -> str:
    """``cm^2/s`` -> ``cm²/s``."""
    return re.sub(r"\^(-?\d+)", lambda m: m.group(1).translate(_SUPERSCRIPT), units)


# --------------------------------------------------------------------------- table
@dataclass
class Column:
    """One table column.

    ``kind``: ``"text"``, ``"int"``, ``"number"`` (rendered with ``fmt``),
    ``"interval"`` (cells are Estimates or ``(value, lower, upper)``; CSV gets three
    columns) or ``"range"`` (cells are ``(start, end)``; CSV gets two columns).
    ``shown=False`` keeps a column in the CSV only (e.g. run names implied by other columns).
    """

    key: str
    title: str = ""
    units: str = ""
    kind: str = "text"
    fmt: str = ".4g"
    latex: str = ""
    shown: bool = True

    def header(self) -> str:
        t = self.title or self.key
        return f"{t} ({unicode_units(self.units)})" if self.units and self.units != "1" else t

    def latex_header(self) -> str:
        t = self.latex or latex_escape(self.title or self.key)
        return f"{t} ({_latex_units(self.units)})" if self.units and self.units != "1" else t

    def csv_headers(self) -> list[str]:
        u = f" ({self.units})" if self.units and self.units != "1" else ""
        if self.kind == "interval":
            return [f"{self.key}{u}", f"{self.key}_lower{u}", f"{self.key}_upper{u}"]
        if self.kind == "range":
            return [f"{self.key}_start{u}", f"{self.key}_end{u}"]
        return [f"{self.key}{u}"]


def _triple(cell):
    if cell is None:
        return (None, None, None)
    if isinstance(cell, (tuple, list)):
        return tuple(cell)
    if isinstance(cell, dict):
        return cell.get("median"), cell.get("lower"), cell.get("upper")
    return cell.median, cell.lower, cell.upper


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.IGNORECASE)


def csv_text(value) -> str:
    """A text cell safe to open in a spreadsheet: a leading ``= + - @`` (or tab, CR) that
    would start a formula gets a ``'`` in front; plain numbers such as ``-1.5`` stay numbers."""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _PLAIN_NUMBER.fullmatch(text.strip()):
        return "'" + text
    return text


def markdown_cell(value) -> str:
    """Text for a Markdown table cell: ``&`` and ``<`` (what can start HTML) as entities,
    ``|`` backslash-escaped, line breaks as spaces."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace("|", r"\|")
    return re.sub(r"[\r\n]+", " ", text)


def _csv_number(x) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return str(x)
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    return repr(xf) if math.isfinite(xf) else ("" if math.isnan(xf) else ("inf" if xf > 0 else "-inf"))


@dataclass
class Table:
    """Columns (with units), rows (one value per column), a caption and notes.

    Rendered by :meth:`to_csv`, :meth:`to_markdown`, :meth:`to_latex`, :meth:`to_html`;
    :meth:`write` picks the format from the file suffix.
    """

    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    name: str = "table"

    # -- cells
    def _display(self, col: Column, cell) -> RoundedValue | str:
        if col.kind == "interval":
            if isinstance(cell, RoundedValue):
                return cell
            return round_uncertainty(*_triple(cell))
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            return "–"
        if col.kind == "range":
            a, b = cell
            fa = "–" if not _finite(a) else format(float(a), col.fmt)
            fb = "–" if not _finite(b) else format(float(b), col.fmt)
            return f"{fa}–{fb}"
        if col.kind == "number" and _finite(cell):
            return format(float(cell), col.fmt).replace("-", MINUS)
        if isinstance(cell, bool):
            return "yes" if cell else "no"
        return str(cell)

    def _csv_cells(self, col: Column, cell) -> list[str]:
        if col.kind == "interval":
            return [_csv_number(x) for x in _triple(cell)]
        if col.kind == "range":
            a, b = cell if cell is not None else (None, None)
            return [_csv_number(a), _csv_number(b)]
        if col.kind in ("number", "int"):
            return [_csv_number(cell)]
        if isinstance(cell, bool):
            return [str(cell).lower()]
        return ["" if cell is None else csv_text(cell)]

    def _shown(self) -> list[tuple[Column, int]]:
        return [(c, i) for i, c in enumerate(self.columns) if c.shown]

    # -- formats
    def to_csv(self) -> str:
        """CSV with full-precision numbers (``repr``); empty cells for missing values."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([csv_text(h) for c in self.columns for h in c.csv_headers()])
        for row in self.rows:
            w.writerow([x for c, cell in zip(self.columns, row) for x in self._csv_cells(c, cell)])
        return buf.getvalue()

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table with the caption above and the notes below."""
        esc = markdown_cell

        lines = []
        if self.caption:
            lines += [f"**{esc(self.caption)}**", ""]
        shown = self._shown()
        lines.append("| " + " | ".join(esc(c.header()) for c, _ in shown) + " |")
        lines.append("|" + "|".join("---:" if c.kind in ("number", "int", "interval") else "---"
                                    for c, _ in shown) + "|")
        for row in self.rows:
            cells = []
            for c, i in shown:
                cell = row[i]
                d = self._display(c, cell)
                cells.append(d.markdown() if isinstance(d, RoundedValue) else esc(d))
            lines.append("| " + " | ".join(cells) + " |")
        if self.notes:
            lines.append("")
            lines += [f"- {esc(n)}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``; no siunitx)."""
        shown = self._shown()
        align = "".join("r" if c.kind in ("number", "int") else ("c" if c.kind == "interval" else "l")
                        for c, _ in shown)
        lines = [r"\begin{table}[htbp]", r"  \centering"]
        if self.caption:
            lines.append(f"  \\caption{{{latex_escape(self.caption)}}}")
        lines.append(f"  \\label{{tab:{re.sub(r'[^A-Za-z0-9:-]', '-', self.name)}}}")
        lines += [f"  \\begin{{tabular}}{{{align}}}", r"    \toprule",
                  "    " + " & ".join(c.latex_header() for c, _ in shown) + r" \\", r"    \midrule"]
        for row in self.rows:
            cells = []
            for c, i in shown:
                cell = row[i]
                d = self._display(c, cell)
                cells.append(d.latex() if isinstance(d, RoundedValue) else latex_escape(d))
            lines.append("    " + " & ".join(cells) + r" \\")
        lines += [r"    \bottomrule", r"  \end{tabular}"]
        if self.notes:
            lines.append(r"  \par\smallskip")
            lines.append(r"  \begin{minipage}{0.95\linewidth}\footnotesize")
            lines += [f"  {latex_escape(n)}\\par" for n in self.notes]
            lines.append(r"  \end{minipage}")
        lines.append(r"\end{table}")
        return "\n".join(lines) + "\n"

    def to_html(self, *, table_id: str | None = None) -> str:
        """An HTML ``<table>`` (escaped), wrapped in a scrolling ``<div>``, caption and notes."""
        ident = f' id="{html.escape(table_id)}"' if table_id else ""
        shown = self._shown()
        out = [f'<div class="table-wrap"{ident}><table>']
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        out.append("<thead><tr>" + "".join(
            f'<th class="{"num" if c.kind in ("number", "int", "interval") else "txt"}">'
            f"{html_symbols(c.header())}</th>" for c, _ in shown) + "</tr></thead><tbody>")
        for row in self.rows:
            cells = []
            for c, i in shown:
                cell = row[i]
                d = self._display(c, cell)
                cls = ("num" if c.kind in ("number", "int", "interval") else "txt") + f" col-{_css_name(c.key)}"
                if c.key == "status" and str(cell) in ("ok", "warning", "failed"):
                    cls += f" status-{cell}"
                if isinstance(d, RoundedValue):
                    # full-precision numbers on hover (and for machine checks of the page)
                    title = "" if isinstance(cell, RoundedValue) else \
                        f' title="{html.escape(_full_title(*_triple(cell)))}"'
                    cells.append(f'<td class="{cls}"{title}>{d.html()}</td>')
                else:
                    cells.append(f'<td class="{cls}">{html.escape(d)}</td>')
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
        if self.notes:
            out.append('<ul class="table-notes">' + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
                       + "</ul>")
        out.append("</div>")
        return "\n".join(out)

    def write(self, path, *, overwrite: bool = False) -> Path:
        """Write atomically in the format of the suffix (.csv, .md, .tex); refuse to replace a file."""
        from .fileio import atomic_write_text

        path = Path(path)
        render = {".csv": self.to_csv, ".md": self.to_markdown, ".markdown": self.to_markdown,
                  ".tex": self.to_latex, ".html": self.to_html}.get(path.suffix.lower())
        if render is None:
            raise UGKError(f"{path}: unknown table format {path.suffix!r}; use .csv, .md, .tex or .html")
        if path.exists() and not overwrite:
            raise UGKError(f"{path} already exists; use --overwrite (overwrite=True) to replace it")
        return atomic_write_text(path, render())


def _css_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", str(key))


def _full_title(v, lo, hi) -> str:
    def f(x):
        return "–" if not _finite(x) else repr(float(x))
    return f"{f(v)} [{f(lo)}, {f(hi)}]"


# --------------------------------------------------------------------------- builders
_QUANTITY_COLUMNS = {
    "sigma": Column("sigma", "σ", "S/cm", "interval", latex=r"$\sigma$"),
    "sigma_tr": Column("sigma_tr", "σ_tr", "S/cm", "interval", latex=r"$\sigma_\mathrm{tr}$"),
    "haven_ratio": Column("haven_ratio", "H_R", "", "interval", latex=r"$H_R$"),
    "D_tr": Column("D_tr", "D*", "cm^2/s", "interval", latex=r"$D^*$"),
}
_LABEL_TITLES = {"temperature_K": ("T", "K", r"$T$")}
_LABEL_ORDER = ("structure", "model", "temperature_K", "seed")


def labels_text(labels: dict) -> str:
    """``{"model": "small", "temperature_K": 600.0}`` -> ``model=small, T = 600 K``."""
    parts = []
    for k, v in labels.items():
        parts.append(f"T = {v:g} K" if k == "temperature_K" and isinstance(v, (int, float)) else f"{k}={v}")
    return ", ".join(parts) or "all runs"


def label_keys(label_dicts, exclude=()) -> list[str]:
    keys = {k for d in label_dicts for k in d if k not in exclude}
    return sorted(keys, key=lambda k: (_LABEL_ORDER.index(k) if k in _LABEL_ORDER else len(_LABEL_ORDER), k))


def label_columns(keys) -> list[Column]:
    cols = []
    for k in keys:
        title, units, tex = _LABEL_TITLES.get(k, (k, "", ""))
        cols.append(Column(k, title, units, "number" if k == "temperature_K" else "text", fmt="g", latex=tex))
    return cols


def _ci_note(prob) -> str:
    p = f"{prob:.0%}" if _finite(prob) else "central"
    return (f"Values: posterior median with the central {p} interval as (+upper/−lower); rounded by the "
            "Particle Data Group rule (2 significant digits of the smaller half-width, 1 when its leading "
            "digits are 355-949). '< x': upper bound only (not resolved); '> x': lower bound only.")


def _matches(run_labels: dict, group_labels: dict) -> bool:
    return all(run_labels.get(k) == v for k, v in group_labels.items()) and \
        set(run_labels) - {"seed"} == set(group_labels)


def results_table(result) -> Table:
    """One row per group: labels, seeds, window, σ, σ_tr, H_R, D* with intervals, run actions."""
    keys = label_keys([g.labels for g in result.groups])
    quants = [q for q in _QUANTITY_COLUMNS if any(q in g.quantities for g in result.groups)]
    cols = label_columns(keys) + [Column("n_seeds", "seeds", kind="int"),
                                   Column("window", "window", "ps", "range", fmt=".3g")]
    cols += [_QUANTITY_COLUMNS[q] for q in quants]
    cols += [Column("regime", "regime", kind="text"), Column("runs_flagged", "flagged", kind="int"),
             Column("runs_truncated", "truncated", kind="int"), Column("runs_dropped", "dropped", kind="int")]
    records = result.provenance.get("diagnostics", [])
    rows, notes, probs, unconverged = [], [], set(), []
    for g in result.groups:
        status = g.run_status or []
        flagged = sum(1 for r in status if r.get("status") in ("warning", "failed"))
        truncated = sum(1 for r in status if r.get("action") == "truncated")
        dropped = sum(1 for r in records if r.get("action") == "dropped" and _matches(r.get("labels", {}), g.labels))
        win = tuple(g.window_ps) if g.diffusion_detected else (None, g.window_ps[-1] if g.window_ps else None)
        spectral = g.method == "spectral" and g.diffusion_detected
        regime = "PROVISIONAL" if g.provisional else ("diffusive" if g.diffusion_detected else "not diffusive")
        rows.append([g.labels.get(k) for k in keys] + [g.n_seeds, None if spectral else win]
                    + [g.quantities.get(q) for q in quants] + [regime, flagged, truncated, dropped])
        if g.provisional and spectral:
            why = g.diagnostics.get("regime_reason", {}).get("spectral", "see the notes")
            notes.append(f"{labels_text(g.labels)}: PROVISIONAL - the low-frequency spectrum is not flat where it is "
                         f"used ({why}); the values may be biased: run longer.")
        elif g.provisional:
            notes.append(f"{labels_text(g.labels)}: PROVISIONAL - the MSD is not clearly linear in the fit window "
                         f"({g.window_reason}); the values may be biased: run longer.")
        probs |= {e.ci_prob for e in g.quantities.values()}
        if not g.diffusion_detected:
            notes.append(f"{labels_text(g.labels)}: no long-range diffusion detected; upper bounds only.")
        if g.diagnostics.get("converged") is False:
            unconverged.append(labels_text(g.labels))
    if unconverged:
        notes.append(f"MCMC did not converge (R-hat/ESS thresholds) for {len(unconverged)} of {len(result.groups)} "
                     f"groups ({'; '.join(unconverged)}); increase n_steps.")
    notes.insert(0, _ci_note(next(iter(probs)) if len(probs) == 1 else float("nan")))
    notes.append("flagged: runs with diagnostics warnings or failures; truncated: failed runs of which only "
                 "the trusted segment is used; dropped: failed runs with no usable trusted segment.")
    if any(g.method == "spectral" for g in result.groups):
        notes.append("window '–' with the spectral estimator: no MSD fit window, every frame is used "
                     "(the low-frequency band is chosen per group).")
    method = ", ".join(sorted({g.method for g in result.groups}))
    return Table(cols, rows, caption=f"Conductivity, tracer conductivity, Haven ratio and tracer diffusion "
                 f"coefficient per group ({method}).", notes=notes, name="results")


def seeds_table(result) -> Table:
    """One row per seed: group labels, seed, σ_tr, σ, D*, heterogeneity z-scores, flagged."""
    keys = label_keys([g.labels for g in result.groups])
    z_keys = sorted({k for g in result.groups for s in g.seeds for k in s.z_scores})
    cols = label_columns(keys) + [Column("seed", "seed"), Column("run", "run", shown=False)]
    cols += [_QUANTITY_COLUMNS["sigma_tr"], _QUANTITY_COLUMNS["sigma"], _QUANTITY_COLUMNS["D_tr"]]
    cols += [Column(f"z_{k}", f"z ({k})", kind="number", fmt="+.2f", latex=f"$z$ ({latex_escape(k)})")
             for k in z_keys]
    cols.append(Column("flagged_inconsistent", "inconsistent"))
    rows = []
    for g in result.groups:
        for s in g.seeds:
            rows.append([g.labels.get(k) for k in keys] + [s.labels.get("seed", ""), s.name]
                        + [s.quantities.get(q) for q in ("sigma_tr", "sigma", "D_tr")]
                        + [s.z_scores.get(k) for k in z_keys] + [bool(s.flagged)])
    probs = {e.ci_prob for g in result.groups for s in g.seeds for e in s.quantities.values()}
    notes = [_ci_note(next(iter(probs)) if len(probs) == 1 else float("nan")),
             "z: leave-one-out z-score of the seed's slope against its siblings (tracer: σ_tr, polarisation: σ); "
             "inconsistent: two-sided p below the Bonferroni-corrected level."]
    return Table(cols, rows, caption="Per-seed estimates (each seed analysed on its own) and heterogeneity.",
                 notes=notes, name="seeds")


_SYMBOL = {"sigma": "σ", "sigma_tr": "σ_tr", "haven_ratio": "H_R", "D_tr": "D*"}


def comparison_table(comparison) -> Table:
    """One row per (other labels, value of ``by``, quantity) with P(q > q[other value])."""
    keys = label_keys([r.labels for r in comparison.rows], exclude=(comparison.by,))
    values = []
    for r in comparison.rows:
        for e in r.entries:
            if e.value not in values:
                values.append(e.value)
    cols = label_columns(keys) + [Column(comparison.by, comparison.by), Column("quantity", "quantity"),
                                   Column("estimate", "estimate", kind="interval"), Column("units", "units"),
                                   Column("n_seeds", "seeds", kind="int")]
    cols += [Column(f"P_greater_{v}", f"P(> {v})", kind="number", fmt=".3f") for v in values]
    cols.append(Column("runs_flagged", "runs flagged/truncated/dropped"))
    rows = []
    for r in comparison.rows:
        for e in r.entries:
            issues = [f"{k}: {', '.join(map(str, v))}" for k, v in
                      (("flagged", e.runs_flagged), ("truncated", e.runs_truncated), ("dropped", e.runs_dropped),
                       ("inconsistent seeds", e.seeds_inconsistent)) if v]
            for q, est in e.estimates.items():
                probs = [None if v == e.value else r.p(q, e.value, v) for v in values]
                rows.append([r.labels.get(k) for k in keys] + [e.value, _SYMBOL.get(q, q), est, est.units,
                                                               e.n_seeds] + probs + ["; ".join(issues)])
    notes = [_ci_note(comparison.ci_prob),
             f"P(> v): posterior probability that the quantity exceeds that of {comparison.by} = v, over all "
             "pairs of independent posterior samples."]
    return Table(cols, rows, caption=f"Comparison across {comparison.by}.", notes=notes, name="comparison")


def arrhenius_table(fits, refused=()) -> Table:
    """One row per Arrhenius fit: E_a (eV), ln A, σ at the target temperature, curvature verdict.

    ``refused`` lists ``(labels, message)`` of series that could not be fitted (e.g. credible
    curvature with an extrapolated target); they appear as rows with the message.
    """
    keys = label_keys([f.labels for f in fits] + [dict(lab) for lab, _ in refused])
    cols = label_columns(keys) + [
        Column("quantity", "quantity"), Column("n_temperatures", "temperatures", kind="int"),
        Column("T_range", "T range", "K", "range", fmt="g", latex=r"$T$ range"),
        Column("E_a", "E_a", "eV", "interval", latex=r"$E_a$"),
        Column("ln_A", "ln A", "ln(S K/cm)", "interval", latex=r"$\ln A$"),
        Column("T_target", "T_target", "K", "number", fmt="g", latex=r"$T_\mathrm{target}$"),
        Column("sigma_target", "σ(T_target)", "S/cm", "interval", latex=r"$\sigma(T_\mathrm{target})$"),
        Column("extrapolated", "extrapolated"), Column("curvature", "curvature")]
    rows = []
    for f in fits:
        temps = [p["temperature_K"] for p in f.points]
        c = f.curvature
        verdict = ("credible (non-Arrhenius)" if c.get("credible") else "not credible") if c.get("checked") \
            else "not checked (< 3 T)"
        rows.append([f.labels.get(k) for k in keys] + [_SYMBOL.get(f.quantity, f.quantity), len(temps),
                                                       (min(temps), max(temps)), f.E_a, f.ln_A, f.T_target,
                                                       f.sigma_target, bool(f.extrapolated), verdict])
    for labels, msg in refused:
        rows.append([dict(labels).get(k) for k in keys] + [None, None, None, None, None, None, None, None,
                                                           f"refused: {msg}"])
    ci = next((f.ci_prob for f in fits), float("nan"))
    notes = [_ci_note(ci), "ln(σT) = ln A − E_a/(k_B T), fitted to joint posterior draws (slope-intercept "
             "covariance carried to σ(T_target)); curvature: quadratic term credible at 99 %."]
    return Table(cols, rows, caption="Arrhenius fits.", notes=notes, name="arrhenius")


def _as_records(items) -> list[dict]:
    """Diagnostics records from screen_runs records, {name: RunDiagnosis}, or [(name, RunDiagnosis)]."""
    if isinstance(items, dict):
        items = list(items.items())
    out = []
    for it in items:
        if isinstance(it, tuple):
            name, d = it
            rec = dict(d.to_dict() if hasattr(d, "to_dict") else d)
            rec.setdefault("run", name)
        elif hasattr(it, "to_dict"):
            rec = dict(it.to_dict())
            rec.setdefault("run", ", ".join(f"{k}={v}" for k, v in rec.get("labels", {}).items()))
        else:
            rec = dict(it)
        out.append(rec)
    return out


def diagnostics_table(records) -> Table:
    """One row per run: labels, status, action, first flag, trusted until, checks that fired.

    ``records``: the ``provenance["diagnostics"]`` list of an analysis, a mapping
    ``name -> RunDiagnosis``, or a list of ``(name, RunDiagnosis)`` pairs.
    """
    recs = _as_records(records)
    keys = label_keys([r.get("labels", {}) for r in recs])
    has_action = any("action" in r for r in recs)
    cols = [Column("run", "run")] + label_columns(keys) + [Column("status", "status")]
    if has_action:
        cols.append(Column("action", "action"))
    cols += [Column("first_flag", "first flag"),
             Column("first_flag_time_ps", "first failure", "ps", "number", fmt=".4g"),
             Column("trusted_until_ps", "trusted until", "ps", "number", fmt=".4g"),
             Column("checks", "checks flagged")]
    rows = []
    for r in recs:
        flags = r.get("flags", [])
        first = ""
        if flags:
            f = flags[0]
            subj = f" [{f['subject']}]" if f.get("subject") else ""
            t = f.get("time_ps")
            on = f.get("onset_ps")
            first = (f"{f['check']}{subj} ({f['severity']})" + (f" at {t:.4g} ps" if _finite(t) else "")
                     + (f" (onset {on:.4g} ps)" if _finite(on) and _finite(t) and on < t else ""))
        checks = ", ".join(sorted({f["check"] for f in flags}))
        rows.append([r.get("run", "")] + [r.get("labels", {}).get(k) for k in keys] + [r.get("status", "")]
                    + ([r.get("action", "")] if has_action else [])
                    + [first or None, r.get("first_flag_time_ps"), r.get("trusted_until_ps"), checks or None])
    notes = ["status: ok, warning (flags that do not end the trusted segment) or failed; the trusted "
             "segment ends a margin before the first failure."]
    return Table(cols, rows, caption="Run diagnostics (signs of a failing potential).", notes=notes,
                 name="diagnostics")

#: ``ugk table`` kinds.
TABLE_KINDS = ("results", "seeds", "compare", "arrhenius", "diagnostics")
