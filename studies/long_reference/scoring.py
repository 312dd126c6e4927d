"""Scoring a piece's interval against a reference that has its own uncertainty.

Used by ``make_doc.py`` (our methods) and ``studies/side_by_side/make_table.py`` (other
tools) so that both docs score the real pieces the same way.

Rule ("widened coverage").  Work on the log scale (every quantity is positive and its
intervals are skewed).  A piece's central interval at level p has the half-widths
a_lo = ln m − ln lo and a_hi = ln hi − ln m about its median m.  The reference r has a
log standard error s_r = (ln hi68_r − ln lo68_r) / (2 z_68), z_68 = 0.994 the
normal quantile of a central 68 % interval.  The piece *covers* the reference if

    ln m − sqrt(a_lo² + (z_p s_r)²)  <=  ln r  <=  ln m + sqrt(a_hi² + (z_p s_r)²),

z_p the normal quantile of the level.  When the piece and the reference are independent
and nearly log-normal this is exactly "the difference ln piece − ln reference lies within
its combined p-interval", i.e. a correct interval gives coverage p whatever the
reference's own precision.  Independence holds for the *rest-of-run* reference (the run
without the piece); the *whole-run* reference contains the piece, which makes the
difference smaller than the quadrature sum assumes, so that score leans conservative
(too high) by roughly the fraction of the run the piece is.  If a bound is not positive
(an interval reaching zero), the same rule is applied on the linear scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

LEVELS = {"95": stats.norm.ppf(0.975), "68": stats.norm.ppf(0.84)}


def log_se(row) -> float:
    """Log standard error from a row's 68 % interval (linear-scale s.e. / median if it reaches 0)."""
    if row["lo68"] > 0:
        return 0.5 * (np.log(row["hi68"]) - np.log(row["lo68"])) / LEVELS["68"]
    return 0.5 * (row["hi68"] - row["lo68"]) / row["median"] / LEVELS["68"]


def covers(piece, ref_median: float, ref_log_se: float, level: str, *, widen: bool = True) -> bool:
    z = LEVELS[level]
    lo, hi, m = piece[f"lo{level}"], piece[f"hi{level}"], piece["median"]
    sr = ref_log_se if widen else 0.0
    if lo > 0 and m > 0 and ref_median > 0:
        a_lo, a_hi = np.log(m) - np.log(lo), np.log(hi) - np.log(m)
        x = np.log(ref_median) - np.log(m)
        return bool(-np.hypot(a_lo, z * sr) <= x <= np.hypot(a_hi, z * sr))
    s_lin = sr * ref_median
    return bool(m - np.hypot(m - lo, z * s_lin) <= ref_median <= m + np.hypot(hi - m, z * s_lin))


def score(pieces: pd.DataFrame, refs: pd.DataFrame, *, by: list[str]) -> pd.DataFrame:
    """Coverage (95/68, widened; 95 unwidened), bias and width of ``pieces`` against ``refs``.

    ``pieces``: rows with ``length_ps``, ``piece``, ``quantity``, the ``by`` columns and the
    interval columns.  ``refs``: one row per (``length_ps``, ``piece``, ``quantity``) for the
    rest-of-run reference (or per ``quantity`` with ``piece`` = -1 for the whole run, then
    broadcast to every piece).
    """
    keys = ["length_ps", "piece", "quantity"]
    r = refs[["length_ps", "piece", "quantity", "median", "lo68", "hi68"]].copy()
    r["ref_se"] = r.apply(log_se, axis=1)
    r = r.rename(columns={"median": "ref"})[keys + ["ref", "ref_se"]]
    if (refs["piece"] == -1).all():
        m = pieces.merge(r.drop(columns=["length_ps", "piece"]), on="quantity")
    else:
        m = pieces.merge(r, on=keys)
    if m.empty:
        return pd.DataFrame()
    m["cov95"] = [covers(x, x["ref"], x["ref_se"], "95") for _, x in m.iterrows()]
    m["cov68"] = [covers(x, x["ref"], x["ref_se"], "68") for _, x in m.iterrows()]
    m["cov95_raw"] = [covers(x, x["ref"], x["ref_se"], "95", widen=False) for _, x in m.iterrows()]
    m["rel"] = m["median"] / m["ref"] - 1.0
    m["width"] = (m["hi95"] - m["lo95"]) / m["ref"]
    g = m.groupby(by, sort=False)
    out = g.agg(n=("rel", "size"), cov95=("cov95", "mean"), cov68=("cov68", "mean"), cov95_raw=("cov95_raw", "mean"),
                bias=("rel", "mean"), bias_sd=("rel", "std"), width95=("width", "mean"),
                ref_se=("ref_se", "mean")).reset_index()
    out["bias_se"] = out["bias_sd"].fillna(0.0) / np.sqrt(out["n"])
    return out.drop(columns=["bias_sd"])
