"""The one-file report of a campaign: diagnostics, results, comparison, Arrhenius, figures, methods.

:func:`write_report` (``ugk report SOURCE -o DIR``) runs the whole pipeline on a
campaign and writes one directory::

    DIR/report.html       one self-contained page (inline CSS, figures as base64 PNG,
                          no JavaScript, no external resources; opens from file://)
    DIR/report.md         the same content, figures linked from figures/
    DIR/figures/          every figure as PNG, PDF and SVG
    DIR/tables/           every table as CSV (full precision) and LaTeX (booktabs)
    DIR/results.json      AnalysisResult.to_json (with provenance)
    DIR/diagnostics.json  the diagnosis of every run, with the thresholds used

The directory is built next to ``DIR`` and moved into place at the end, so an
interrupted run never leaves half a report; an existing report is replaced only
with ``overwrite=True``, and a non-empty directory that is not a report never.

>>> from uncertainty_gk.report import write_report      # doctest: +SKIP
>>> out = write_report("campaign.toml", "report/", rng=0)  # doctest: +SKIP
>>> out.html                                               # doctest: +SKIP
PosixPath('report/report.html')
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import html
import json
import os
import platform
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import progress
from .settings import AnalysisSettings
from .errors import AnalysisError, AnalysisWarning, UGKError
from .fileio import atomic_write_bytes, atomic_write_text, json_default
from .tables import (Column, Table, arrhenius_table, comparison_table, diagnostics_table, html_symbols,
                     labels_text, rounded_estimate, results_table, seeds_table, unicode_units)

__all__ = ["write_report", "ReportOutput", "REPORT_ENTRIES"]

#: What a report directory holds; ``overwrite`` refuses to replace a directory with anything else.
REPORT_ENTRIES = frozenset({"report.html", "report.md", "figures", "tables", "results.json", "diagnostics.json"})

#: Figure formats written to ``figures/``.
FIGURE_FORMATS = ("png", "pdf", "svg")
#: Resolution of the PNG files in figures/.
FIGURE_DPI = 300
#: Resolution of the PNGs embedded in report.html (the files in figures/ keep their own).
EMBED_DPI = 150

REFERENCES = [
    ("mccluskey2025", "McCluskey, Coles & Morgan, J. Chem. Theory Comput. 21, 79 (2025): Bayesian regression "
                      "of mean squared displacements with a modelled covariance (kinisi)."),
    ("bullerjahn2020", "Bullerjahn, von Bülow & Hummer, J. Chem. Phys. 153, 024116 (2020): covariance of "
                       "MSDs of Brownian motion with localisation noise."),
    ("foremanmackey2013", "Foreman-Mackey et al., Publ. Astron. Soc. Pac. 125, 306 (2013): emcee; Kumar et al., "
                          "J. Open Source Softw. 4, 1143 (2019): ArviZ (R-hat, ESS)."),
    ("murch1982", "Murch, Solid State Ionics 7, 177 (1982): the Haven ratio in fast ionic conductors."),
    ("he2018", "He et al., npj Comput. Mater. 4, 18 (2018): statistical variances of diffusional properties "
               "from MD; framework displacement check."),
    ("flyvbjerg1989", "Flyvbjerg & Petersen, J. Chem. Phys. 91, 461 (1989): blocking; Lee, Drummond & Needs, "
                      "Phys. Rev. E 83, 066706 (2011): automatic block size."),
    ("politis1992", "Politis & Romano (1992): circular block bootstrap."),
    ("ercole2017", "Ercole, Marcolongo & Baroni, Sci. Rep. 7, 15835 (2017): transport coefficients from the "
                   "low-frequency spectrum of a current with a fitted spectral shape (cepstral analysis); "
                   "Whittle, J. R. Stat. Soc. B 15, 125 (1953): the periodogram likelihood."),
    ("vestergaard2014", "Vestergaard, Blainey & Flyvbjerg, Phys. Rev. E 89, 022726 (2014): diffusion "
                        "coefficients from the sine transform of increments with localisation noise."),
    ("fu2023", "Fu et al., \"Forces are not enough\", TMLR (2023): RDF drift as an MLIP stability test; "
               "Stocker et al., Mach. Learn.: Sci. Technol. 3, 045010 (2022): late MLIP failures."),
    ("okabe2008", "Okabe & Ito, Color Universal Design (2008): the colour-blind-safe palette of the figures."),
    ("pdg", "Particle Data Group, Review of Particle Physics, Introduction (rounding of values with "
            "uncertainties)."),
]

_METHOD_TEXT = {
    "bayes": ("Bayesian regression of MSD(t) = 6 D t + c on the tracer and polarisation mean squared "
              "displacements, with a multivariate-normal likelihood whose lag-to-lag covariance is modelled "
              "(random walk plus localisation noise) rather than taken from one noisy curve [mccluskey2025, "
              "bullerjahn2020]. Seeds are pooled in the likelihood; each seed's polarisation is summed over its "
              "own atoms only. Posterior sampled with emcee ({n_walkers} walkers, {n_steps} steps each, first {burn} "
              "discarded, differential-evolution moves) [foremanmackey2013]; convergence: rank-normalised split "
              "R-hat ≤ {rhat_max} and bulk ESS ≥ {ess_min:g} for every parameter."),
    "spectral": ("Spectral estimator (default): per seed and axis, the one-frame increments of the polarisation "
                 "and of every mobile ion's framework-relative position are a stationary series whose spectrum at "
                 "zero frequency is the MSD slope. Their sine transform [vestergaard2014] is fitted by maximum "
                 "Whittle likelihood with a model S(f) = S(0) + 4 sin²(π f Δt) G(f) of the vibrational part "
                 "(G a cosine series, its order chosen by a stability test) [ercole2017]; no MSD fit window. Seeds "
                 "are pooled with a random effect for excess seed-to-seed scatter; the tracer and collective "
                 "levels are drawn jointly (their correlation from the cross-spectrum), so H_R is computed draw by "
                 "draw. A result is marked provisional when the fitted spectrum is not flat at low frequency or "
                 "changes when the band is halved. Each seed's own values are its level on the group's model. "
                 "Widths are reported relative to the Cramér-Rao widths of the fitted model."),
    "bootstrap": ("Bootstrap: over seeds when there are at least 8, otherwise over ions (tracer) and over blocks "
                  "of time origins (collective) [politis1992]."),
    "block": "Blocking (Flyvbjerg-Petersen) of per-origin slope series with the automatic level of Lee et al. "
             "[flyvbjerg1989].",
    "upper_bound": "No long-range diffusion: upper bounds MSD(t)/(6t) at the last usable lag.",
}


# --------------------------------------------------------------------------- document blocks
def _md_text(text: str) -> str:
    """Plain text for Markdown: ``&`` and ``<`` escaped as entities, so that labels, file
    names and log lines carried into the report cannot inject HTML."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;")


class _Block:
    def html(self) -> str:
        raise NotImplementedError

    def markdown(self) -> str:
        raise NotImplementedError


@dataclass
class Para(_Block):
    text: str
    cls: str = ""

    def html(self):
        c = f' class="{self.cls}"' if self.cls else ""
        return f"<p{c}>{html.escape(self.text)}</p>"

    def markdown(self):
        return _md_text(self.text) + "\n"


@dataclass
class Bullets(_Block):
    items: list
    cls: str = ""

    def html(self):
        c = f' class="{self.cls}"' if self.cls else ""
        return f"<ul{c}>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in self.items) + "</ul>"

    def markdown(self):
        return "".join(f"- {_md_text(i)}\n" for i in self.items)


@dataclass
class Heading(_Block):
    text: str

    def html(self):
        return f"<h3>{html.escape(self.text)}</h3>"

    def markdown(self):
        return f"### {self.text}\n"


@dataclass
class Code(_Block):
    text: str

    def html(self):
        return f"<pre>{html.escape(self.text)}</pre>"

    def markdown(self):
        return f"```text\n{self.text}\n```\n"


@dataclass
class TableBlock(_Block):
    table: Table
    files: list = field(default_factory=list)     # relative paths of the CSV / LaTeX copies

    def _files_text(self):
        return ", ".join(self.files)

    def html(self):
        extra = f'<p class="files">Files: {html.escape(self._files_text())}</p>' if self.files else ""
        return self.table.to_html(table_id=f"table-{self.table.name}") + extra

    def markdown(self):
        links = ", ".join(f"[{Path(f).name}]({f})" for f in self.files)
        return self.table.to_markdown() + (f"\nFiles: {links}\n" if links else "")


@dataclass
class FigureBlock(_Block):
    number: int
    name: str
    title: str
    caption: str
    png: bytes                   # the PNG embedded in the page
    files: list                  # relative paths (figures/name.png, ...)

    def html(self):
        data = base64.b64encode(self.png).decode("ascii")
        links = ", ".join(self.files)
        return (f'<figure id="fig-{html.escape(self.name)}"><img src="data:image/png;base64,{data}" '
                f'alt="{html.escape(self.title)}"><figcaption><b>Figure {self.number}. '
                f"{html_symbols(self.title)}.</b> {html_symbols(self.caption)} "
                f'<span class="files">Files: {html.escape(links)}</span></figcaption></figure>')

    def markdown(self):
        png = next((f for f in self.files if f.endswith(".png")), self.files[0] if self.files else "")
        others = ", ".join(f"[{Path(f).suffix[1:].upper()}]({f})" for f in self.files if f != png)
        return (f"![{_md_text(self.title)}]({png})\n\n**Figure {self.number}. {_md_text(self.title)}.** "
                f"{_md_text(self.caption)}"
                + (f" ({others})" if others else "") + "\n")


def _relation(est) -> str:
    """' = ' before a value, a bare space before '< bound' / '> bound'."""
    return " " if rounded_estimate(est).kind in ("upper", "lower") else " = "


@dataclass
class Headline(_Block):
    """Headline numbers per group; the HTML carries the full-precision values in data attributes."""

    rows: list       # [(group text, [(symbol, Estimate, units)])]

    def html(self):
        items = []
        for text, values in self.rows:
            parts = []
            for sym, est, units in values:
                def num(x):
                    return "" if x is None else repr(float(x))
                parts.append(f'{html_symbols(sym)}{_relation(est)}<span class="value" data-quantity="{html.escape(sym)}" '
                             f'data-median="{num(est.median)}" data-lower="{num(est.lower)}" '
                             f'data-upper="{num(est.upper)}">{rounded_estimate(est).html()}</span>'
                             + (f" {html.escape(unicode_units(units))}" if units and units != "1" else ""))
            items.append(f"<li><b>{html.escape(text)}</b>: " + "; ".join(parts) + "</li>")
        return '<ul class="headline">' + "".join(items) + "</ul>"

    def markdown(self):
        out = []
        for text, values in self.rows:
            parts = [f"{sym}{_relation(est)}{rounded_estimate(est).markdown()}"
                     + (f" {unicode_units(units)}" if units and units != "1" else "") for sym, est, units in values]
            out.append(f"- **{_md_text(text)}**: " + "; ".join(parts))
        return "\n".join(out) + "\n"


@dataclass
class Details(_Block):
    """A block folded away in the HTML page (``<details>``, no JavaScript); plain in Markdown."""

    summary: str
    blocks: list

    def html(self):
        return (f"<details><summary>{html.escape(self.summary)}</summary>"
                + "".join(b.html() for b in self.blocks) + "</details>")

    def markdown(self):
        return f"**{_md_text(self.summary)}**\n\n" + "\n".join(b.markdown() for b in self.blocks)


@dataclass
class Section:
    ident: str
    title: str
    blocks: list


# --------------------------------------------------------------------------- output
@dataclass
class ReportOutput:
    """What :func:`write_report` produced (paths are inside ``out_dir``)."""

    out_dir: Path
    html: Path
    markdown: Path
    result: object
    diagnoses: dict
    comparison: object = None
    arrhenius: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    failed_groups: list = field(default_factory=list)
    analysis_error: str | None = None


def _check_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UGKError(f"{out} exists and is not a directory; give a directory for the report")
    if out.is_dir():
        entries = {p.name for p in out.iterdir()}
        if not entries:
            return
        if not overwrite:
            raise UGKError(f"{out} is not empty; use --overwrite (overwrite=True) to replace the report in it, "
                           "or choose a new directory")
        foreign = sorted(entries - REPORT_ENTRIES)
        if foreign:
            raise UGKError(f"{out} holds files that are not part of a report ({', '.join(foreign[:5])}"
                           f"{', ...' if len(foreign) > 5 else ''}); refusing to replace it even with --overwrite: "
                           "choose an empty or new directory")


def _normal_permissions(root: Path) -> None:
    """Temporary files and directories are private (0600/0700); give the report the usual umask modes."""
    from .fileio import current_umask

    umask = current_umask()
    root.chmod(0o777 & ~umask)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            (Path(dirpath) / d).chmod(0o777 & ~umask)
        for f in filenames:
            (Path(dirpath) / f).chmod(0o666 & ~umask)


def _move_into_place(tmp: Path, out: Path) -> None:
    """Replace ``out`` by the finished ``tmp`` directory (old report kept until the move succeeds)."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        old.rmdir()
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- pipeline
def _diagnose_all(campaign, settings: AnalysisSettings, *, show_progress, client=None) -> dict:
    """``diagnose`` every run (synthetic known-answer runs are skipped, as in the analysis)."""
    from .pipeline import diagnose_all

    return diagnose_all(campaign, settings, show_progress=show_progress, client=client)


def _add_seed_warnings(diagnoses: dict, result) -> None:
    """The across-seed check of ``ugk diagnose``, read from the analysis' heterogeneity statistics."""
    from .diagnostics.seeds import apply_seed_flags, seed_flags_from_result

    apply_seed_flags({n: d for n, d in diagnoses.items() if d is not None}, seed_flags_from_result(result))


def _unanalysed_result(campaign, diagnoses: dict, message: str):
    """An AnalysisResult without groups when the analysis failed as a whole (provenance and diagnostics kept)."""
    from .results import AnalysisResult
    from .schema import labels_of, package_version, sources_of

    records = []
    for name, ds in campaign.items():
        d = diagnoses.get(name)
        rec = {"run": name, "labels": labels_of(ds), "status": "not diagnosed (synthetic)",
               "first_flag_time_ps": None, "trusted_until_ps": None, "flags": []}
        if d is not None:
            rec.update({k: v for k, v in d.to_dict().items() if k in rec})
        rec["action"] = "not analysed"
        records.append(rec)
    return AnalysisResult(groups=[], provenance={
        "analysis_error": message, "diagnostics": records, "dropped_runs": [],
        "uncertainty_gk_version": package_version(), "source": campaign.source,
        "inputs": {n: [{"path": s["path"], "sha256": s["sha256"]} for s in sources_of(ds)]
                   for n, ds in campaign.items()},
        "runs": {n: labels_of(ds) for n, ds in campaign.items()}})


def _default_by(result, by):
    if by:
        return by
    values = {str(g.labels["model"]) for g in result.groups if "model" in g.labels}
    return "model" if len(values) >= 2 else None


def _run_arrhenius(result, *, T_target, ci_prob, rng, quantity="sigma"):
    """Arrhenius fits when some series has ≥ 3 temperatures; refusals and warnings collected, not raised."""
    from .arrhenius import arrhenius_from_result, points_from_result

    try:
        series = points_from_result(result, quantity)
    except AnalysisError as exc:
        return None, [], [f"no Arrhenius fit: {exc}"]
    if not any(len(p) >= 3 for p in series.values()):
        return None, [], []
    refused, messages = [], []

    def on_error(labels, exc):
        refused.append((labels, str(exc)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = arrhenius_from_result(result, quantity=quantity, T_target=T_target, ci_prob=ci_prob, rng=rng,
                                     on_error=on_error)
    for w in caught:
        msg = str(w.message)
        if msg not in messages:
            messages.append(msg)
    return fits, refused, messages


def _make_figures(campaign, result, *, diagnoses, fits, comparison, fig_dir: Path, max_thermo_runs: int,
                  problems: list, client=None, show_progress=None) -> list:
    """Figures from :mod:`uncertainty_gk.plots`, saved as PNG/PDF/SVG; problems noted, never fatal.

    Each figure is one task (:func:`~uncertainty_gk.plots.report_items.render_figure`), run
    here one after the other or, with a dask ``client``, on the workers, which return the
    files' bytes; this process writes them (atomically) in the report's order, so the files
    are the same wherever they were drawn.  The thermo figure's series are read from the
    runs' logs here and drawn on a worker.  A figure whose task fails is listed in ``problems`` with its group; the
    others are made.
    """
    try:
        from .plots.report_items import figure_inputs, figure_tasks, render_figure
    except ImportError as exc:
        problems.append(f"figures not made: the plotting module is not available ({exc})")
        return []
    from .execution import TaskFailure, map_tasks, share

    diag = {k: v for k, v in diagnoses.items() if v is not None}
    try:
        tasks = figure_tasks(campaign, result, diagnoses=diag, arrhenius=fits or None, comparison=comparison,
                             width="double", max_thermo_runs=max_thermo_runs)
        inputs = figure_inputs(campaign, result, diagnoses=diag, arrhenius=fits or None, comparison=comparison)
    except Exception as exc:          # a figure bug must not cost the user the whole report
        problems.append(f"figures not made: {type(exc).__name__}: {exc}")
        warnings.warn(f"report: figures not made: {exc}", stacklevel=3)
        return []
    thermo = [t for t in tasks if t.needs_campaign]
    if client is not None and thermo:
        # the logs are read here (small series); the figure is drawn on a worker
        try:
            from .plots.thermo import thermo_data

            inputs = dataclasses.replace(inputs, thermo=thermo_data(campaign, diag, max_runs=thermo[0].max_runs))
        except Exception as exc:      # drawn here instead, where the failure is reported as for any figure
            warnings.warn(f"report: thermo series not read for the workers ({exc}); drawing it here", stacklevel=3)
    here = [i for i, t in enumerate(tasks) if client is None or (t.needs_campaign and inputs.thermo is None)]
    there = [i for i in range(len(tasks)) if i not in set(here)]
    rendered: dict = {}
    options = (FIGURE_FORMATS, FIGURE_DPI, EMBED_DPI)
    if there:
        remote_inputs = share(client, dataclasses.replace(inputs, campaign=None))
        done = map_tasks(render_figure, [(tasks[i], remote_inputs, *options) for i in there], client=client,
                         desc="figures", unit="figure", show_progress=show_progress, catch=(Exception,))
        rendered.update(zip(there, done))
    if here:
        done = map_tasks(render_figure, [(tasks[i], inputs, *options) for i in here], desc="figures",
                         unit="figure", show_progress=show_progress, catch=(Exception,))
        rendered.update(zip(here, done))
    fig_dir.mkdir(parents=True, exist_ok=True)
    blocks = []
    for i, task in enumerate(tasks):
        out = rendered[i]
        if isinstance(out, TaskFailure):
            problems.append(f"figure {task.name} ({task.subject}) not made: {type(out.exc).__name__}: {out.exc}")
            continue
        if out.left_out is not None:
            warnings.warn(AnalysisWarning(f"figure {task.name} left out: {out.left_out}"), stacklevel=3)
            continue
        try:
            for ext, data in out.files.items():
                atomic_write_bytes(fig_dir / f"{task.name}.{ext}", data)
        except OSError as exc:
            problems.append(f"figure {task.name} not saved: {type(exc).__name__}: {exc}")
            continue
        files = [f"figures/{task.name}.{ext}" for ext in FIGURE_FORMATS if ext in out.files]
        blocks.append(FigureBlock(len(blocks) + 1, task.name, task.title, task.caption, out.embed, files))
    return blocks


class RecordedCampaign:
    """The campaign as a results file recorded it (run summaries), for a report made from results."""

    def __init__(self, provenance: dict):
        self._rows = list(provenance.get("campaign", []))
        self.source = provenance.get("source", "")

    def summary(self) -> list[dict]:
        return list(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def close(self) -> None:
        pass


def _recorded_diagnoses(result) -> dict:
    """RunDiagnosis per run from a result's provenance, with the across-seed warnings that its
    groups' heterogeneity implies (no MSD or fit recomputed)."""
    from .diagnostics import RunDiagnosis

    out = {n: RunDiagnosis.from_dict(d) for n, d in result.provenance.get("diagnoses", {}).items()}
    _add_seed_warnings(out, result)
    return out


def write_report(source_or_campaign, out_dir, settings: AnalysisSettings | None = None, *, overwrite: bool = False,
                 by: str | None = None, T_target: float = 300.0, show_progress: bool | None = None,
                 keep_going: bool = False, figures: bool = True, max_thermo_runs: int = 12,
                 command: str | None = None, client=None) -> ReportOutput:
    """Analyse a campaign and write the report directory ``out_dir``.

    Parameters
    ----------
    source_or_campaign : path or Campaign
        Archive (.nc) or manifest (.toml), or an open :class:`~uncertainty_gk.campaign.Campaign`.
    out_dir : path
        Directory to create.  A non-empty one is refused unless ``overwrite``; even then
        only a previous report (entries in :data:`REPORT_ENTRIES`) is replaced.
    settings : AnalysisSettings
        How to screen and analyse (default ``AnalysisSettings(seed=0)``); recorded in the
        provenance section.
    by : str, optional
        Label to compare across (default ``model`` when it takes ≥ 2 values, else no comparison).
    T_target : float
        Temperature (K) of the Arrhenius prediction; fits run when some series has ≥ 3 temperatures.
    keep_going : bool
        List groups that cannot be analysed in the report instead of stopping.
    command : str, optional
        The command line, recorded in the provenance section.
    client : dask.distributed.Client, optional
        Diagnose the runs, analyse the groups and draw the figures on its workers (one task
        per run, group or figure); the report is the same, file for file.  The workers
        return the figures' bytes, so they need not see ``out_dir``.

    Raises
    ------
    UGKError
        ``out_dir`` is not empty (without ``overwrite``) or not a report directory; analysis errors.
    """
    from .campaign import Campaign
    from .pipeline import analyse

    from .results import AnalysisResult, is_results_file, load_results

    given = None
    if isinstance(source_or_campaign, AnalysisResult):
        given = source_or_campaign
    elif isinstance(source_or_campaign, (str, Path)) and is_results_file(source_or_campaign):
        given = load_results(source_or_campaign)
    if given is not None and settings is not None and settings != given.settings:
        raise UGKError("a report from results uses the settings they were computed with; rerun `ugk analyze` "
                       "to change them")
    st = given.settings if given is not None else (settings or AnalysisSettings(seed=0)).resolved()
    ci_prob, rng = st.ci_prob, st.seed
    out = Path(out_dir)
    _check_out_dir(out, overwrite)
    opened = given is None and not isinstance(source_or_campaign, Campaign)
    if given is not None:
        campaign = RecordedCampaign(given.provenance)
    elif opened:
        from .archive import load_runs

        path = Path(source_or_campaign)
        if not path.exists():
            raise UGKError(f"{path}: no such file")
        campaign = load_runs(path, show_progress=show_progress)
    else:
        campaign = source_or_campaign
    failed_groups: list = []

    def on_group_error(labels, exc):
        failed_groups.append((labels, str(exc)))

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        with progress.bar(total=5, desc="report", unit="step", enabled=show_progress) as bar:
            analysis_error = None
            if given is not None:
                diagnoses = _recorded_diagnoses(given)
                bar.update(1)
            else:
                diagnoses = _diagnose_all(campaign, st, show_progress=show_progress, client=client)
                bar.update(1)
            try:
                result = given if given is not None else analyse(
                    campaign, st, show_progress=show_progress, on_group_error=on_group_error if keep_going else None,
                    diagnoses={k: v for k, v in diagnoses.items() if v is not None}, client=client)
            except AnalysisError as exc:
                if not keep_going:
                    raise AnalysisError(f"{exc}; with --keep-going the report is written with the diagnostics "
                                        "alone") from None
                analysis_error = str(exc)
                result = _unanalysed_result(campaign, diagnoses, analysis_error)
            if given is None:
                _add_seed_warnings(diagnoses, result)
            bar.update(1)
            problems: list[str] = []
            comparison, cmp_label = None, _default_by(result, by)
            if cmp_label:
                from .compare import compare

                try:
                    comparison = compare(result, by=cmp_label)
                except AnalysisError as exc:
                    problems.append(f"no comparison: {exc}")
            fits, refused, arr_messages = [], [], []
            for quantity in ("sigma", "sigma_tr"):  # σ_tr is often resolved where σ is not
                f_q, r_q, m_q = _run_arrhenius(result, T_target=T_target, ci_prob=ci_prob, rng=rng,
                                               quantity=quantity)
                fits += f_q or []
                refused += r_q
                arr_messages += [m for m in m_q if m not in arr_messages]
            fits = fits or None
            bar.update(1)
            fig_blocks = []
            if figures:
                fig_blocks = _make_figures(None if given is not None else campaign, result, diagnoses=diagnoses,
                                           fits=fits, comparison=comparison, fig_dir=tmp / "figures",
                                           max_thermo_runs=max_thermo_runs, problems=problems, client=client,
                                           show_progress=show_progress)
            bar.update(1)
            params = dict(st.to_dict(), by=cmp_label, T_target_K=T_target, keep_going=keep_going)
            ctx = _Context(campaign=campaign, result=result, diagnoses=diagnoses, comparison=comparison,
                           fits=fits, refused=refused, arrhenius_messages=arr_messages, figures=fig_blocks,
                           problems=problems, failed_groups=failed_groups, params=params, command=command,
                           out_name=out.name, analysis_error=analysis_error)
            tables = _write_outputs(ctx, tmp)
            bar.update(1)
        _normal_permissions(tmp)
        _check_out_dir(out, overwrite)
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if opened:
            campaign.close()
    return ReportOutput(out_dir=out, html=out / "report.html", markdown=out / "report.md", result=result,
                        diagnoses=diagnoses, comparison=comparison, arrhenius=fits or [],
                        figures=[b.name for b in fig_blocks], tables=tables, problems=problems,
                        failed_groups=failed_groups, analysis_error=analysis_error)


@dataclass
class _Context:
    campaign: object
    result: object
    diagnoses: dict
    comparison: object
    fits: list | None
    refused: list
    arrhenius_messages: list
    figures: list
    problems: list
    failed_groups: list
    params: dict
    command: str | None
    out_name: str
    analysis_error: str | None = None
    generated: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def _write_outputs(ctx: _Context, tmp: Path) -> list[str]:
    """Tables, JSON, report.md and report.html into ``tmp``; returns the table names."""
    tables = {"diagnostics": diagnostics_table(_diagnostic_records(ctx)),
              "campaign": _campaign_table(ctx.campaign)}
    if ctx.result.groups:
        tables["results"] = results_table(ctx.result)
        if any(g.seeds for g in ctx.result.groups):
            tables["seeds"] = seeds_table(ctx.result)
        tables["fits"] = _fit_table(ctx.result)
    if ctx.comparison is not None:
        tables["comparison"] = comparison_table(ctx.comparison)
    if ctx.fits or ctx.refused:
        tables["arrhenius"] = arrhenius_table(ctx.fits or [], ctx.refused)
    thr = _threshold_table(ctx.diagnoses)
    if thr is not None:
        tables["thresholds"] = thr
    (tmp / "tables").mkdir(exist_ok=True)
    files = {}
    for name, t in tables.items():
        t.name = name
        files[name] = []
        for ext in ("csv", "tex"):
            t.write(tmp / "tables" / f"{name}.{ext}")
            files[name].append(f"tables/{name}.{ext}")
    ctx.result.to_json(tmp / "results.json")
    atomic_write_text(tmp / "diagnostics.json", json.dumps(_diagnostics_json(ctx), indent=2,
                                                          default=json_default) + "\n")
    sections = _sections(ctx, tables, files)
    title = f"Conductivity report: {Path(str(ctx.campaign.source)).name or 'campaign'}"
    atomic_write_text(tmp / "report.md", _render_markdown(title, ctx, sections))
    atomic_write_text(tmp / "report.html", _render_html(title, ctx, sections))
    return list(tables)


def _diagnostic_records(ctx) -> list[dict]:
    """The analysis's per-run records (with action), or the diagnoses when the analysis has none."""
    recs = ctx.result.provenance.get("diagnostics")
    if recs:
        # the report's own diagnoses also carry the across-seed warnings; the analysis adds the action
        out = []
        for r in recs:
            d = ctx.diagnoses.get(r["run"])
            if d is not None:
                dd = d.to_dict()
                r = dict(r, **{k: dd[k] for k in ("status", "first_flag_time_ps", "trusted_until_ps", "flags")
                               if k in dd})
            out.append(r)
        return out
    return [dict(d.to_dict(), run=n) for n, d in ctx.diagnoses.items() if d is not None]


def _diagnostics_json(ctx) -> dict:
    actions = {r["run"]: r.get("action") for r in ctx.result.provenance.get("diagnostics", [])}
    runs = []
    for name, d in ctx.diagnoses.items():
        if d is None:
            runs.append({"run": name, "status": "not diagnosed (synthetic)", "action": actions.get(name)})
        else:
            runs.append(dict(d.to_dict(), run=name, action=actions.get(name)))
    return {"runs": runs, "parameters": ctx.params}


def _campaign_table(campaign) -> Table:
    rows_in = campaign.summary()
    from .tables import label_columns, label_keys

    keys = label_keys([r["labels"] for r in rows_in])
    cols = [Column("run", "run")] + label_columns(keys) + [
        Column("n_atoms", "atoms", kind="int"), Column("n_frames", "frames", kind="int"),
        Column("time", "time", "ps", "range", fmt=".4g"),
        Column("frame_interval_ps", "Δt", "ps", "number", fmt=".3g", latex=r"$\Delta t$"),
        Column("composition", "composition"), Column("mobile", "mobile"), Column("reader", "reader"),
        Column("events", "log events", kind="int")]
    rows = []
    for r in rows_in:
        comp = " ".join(f"{s}{n}" for s, n in r["composition"].items())
        rows.append([r["name"]] + [r["labels"].get(k) for k in keys]
                    + [r["n_atoms"], r["n_frames"], (r["t_start_ps"], r["t_end_ps"]), r["frame_interval_ps"],
                       comp, ",".join(r["mobile"]), r["reader"], len(r["events"])])
    return Table(cols, rows, caption="Runs of the campaign.", name="campaign")


def _fit_table(result) -> Table:
    """Per group: fit window and its reason, MCMC convergence, seed heterogeneity."""
    from .tables import label_columns, label_keys

    keys = label_keys([g.labels for g in result.groups])
    cols = label_columns(keys) + [
        Column("method", "method"), Column("window", "window", "ps", "range", fmt=".3g"),
        Column("window_reason", "window choice"),
        Column("rhat_max", "max R-hat", kind="number", fmt=".3f"),
        Column("ess_min", "min ESS", kind="number", fmt=".0f"),
        Column("acceptance", "acceptance", kind="number", fmt=".2f"),
        Column("converged", "converged"),
        Column("p_tracer", "Q p (σ_tr)", kind="number", fmt=".3g", latex=r"$Q$ $p$ ($\sigma_\mathrm{tr}$)"),
        Column("p_polarisation", "Q p (σ)", kind="number", fmt=".3g", latex=r"$Q$ $p$ ($\sigma$)")]
    rows = []
    for g in result.groups:
        d = g.diagnostics
        rhat = max(d["rhat"].values()) if d.get("rhat") else None
        ess = min(d["ess"].values()) if d.get("ess") else None
        het = g.heterogeneity or {}
        rows.append([g.labels.get(k) for k in keys] + [
            g.method, tuple(g.window_ps) if g.diffusion_detected else (None, None), g.window_reason or None,
            rhat, ess, d.get("acceptance"), d.get("converged"), het.get("tracer", {}).get("p_value"),
            het.get("polarisation", {}).get("p_value")])
    return Table(cols, rows, caption="Fit windows, MCMC convergence and seed heterogeneity (Cochran's Q p-value).",
                 notes=["R-hat ≤ 1.05 and ESS ≥ 400 are required for convergence; p < 0.05 inflates that block's "
                        "variances by the Birge ratio."], name="fits")


def _threshold_table(diagnoses) -> Table | None:
    from .diagnostics import THRESHOLD_DOCS

    first = next((d for d in diagnoses.values() if d is not None), None)
    if first is None:
        return None
    used = first.thresholds
    rows = []
    for k in sorted(THRESHOLD_DOCS):
        if k in used:
            v = used[k]
            rows.append([k, ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v), THRESHOLD_DOCS[k]])
    return Table([Column("name", "threshold"), Column("value", "value"), Column("meaning", "meaning")], rows,
                 caption="Diagnostics thresholds used (first run; resolved per run where marked as default).",
                 name="thresholds")


# --------------------------------------------------------------------------- sections
def _status_counts(ctx) -> dict:
    counts: dict = {}
    for r in _diagnostic_records(ctx):
        counts[r.get("status", "?")] = counts.get(r.get("status", "?"), 0) + 1
    return counts


def _summary_blocks(ctx) -> list:
    res = ctx.result
    counts = _status_counts(ctx)
    recs = _diagnostic_records(ctx)
    n_trunc = sum(1 for r in recs if r.get("action") == "truncated")
    n_drop = sum(1 for r in recs if r.get("action") == "dropped")
    status = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    ci = next((e.ci_prob for g in res.groups for e in g.quantities.values()), None)
    methods = ", ".join(sorted({g.method for g in res.groups})) or "none"
    text = (f"{len(ctx.campaign)} runs in {len(res.groups)} analysed groups from {ctx.campaign.source or 'memory'}. "
            f"Diagnostics: {status or 'none'}"
            + (f"; {n_trunc} failed runs truncated to their trusted segment" if n_trunc else "")
            + (f"; {n_drop} runs dropped" if n_drop else "")
            + f". Estimator: {methods}"
            + (f"; values are posterior medians with central {ci:.0%} intervals" if ci else "") + ".")
    if ctx.comparison is not None:
        text += f" Groups are compared by {ctx.comparison.by}."
    if ctx.fits:
        text += f" {len(ctx.fits)} Arrhenius fit(s) with σ extrapolated to {ctx.fits[0].T_target:g} K."
    blocks = [Para(text, "summary")]
    rows = []
    for g in res.groups:
        vals = [(sym, g.quantities[q], g.quantities[q].units) for q, sym in
                (("sigma", "σ"), ("sigma_tr", "σ_tr"), ("haven_ratio", "H_R"), ("D_tr", "D*"))
                if q in g.quantities]
        rows.append((labels_text(g.labels), vals))
    rows += [(f"Arrhenius, {labels_text(f.labels)}", [("E_a", f.E_a, "eV"), (f"σ({f.T_target:g} K)",
                                                                            f.sigma_target, "S/cm")])
             for f in ctx.fits or []]
    if rows:
        blocks.append(Headline(rows))
    warn = []
    if ctx.analysis_error:
        warn.append(f"The analysis failed, so this report holds the diagnostics only: {ctx.analysis_error}")
    if ctx.failed_groups:
        warn.append(f"{len(ctx.failed_groups)} group(s) could not be analysed (see Results).")
    if any(g.diagnostics.get("converged") is False for g in res.groups):
        warn.append("MCMC did not converge for some groups: rerun with more --n-steps (see Methods).")
    if any(not g.diffusion_detected for g in res.groups):
        warn.append("Some groups show no long-range diffusion: only upper bounds are given.")
    warn += ctx.problems
    if warn:
        blocks.append(Bullets(warn, "warnings"))
    return blocks


def _sections(ctx, tables: dict, files: dict) -> list[Section]:
    def tb(name):
        return TableBlock(tables[name], files.get(name, []))

    secs = [Section("summary", "Summary", _summary_blocks(ctx))]
    camp_blocks = [Para("One row per run: labels, atoms, frames, time span, frame interval, composition, mobile "
                        "species, reader and the number of events in the MD log."), tb("campaign")]
    events = [f"{r['name']}: {e['message']}" + (f" (step {e['step']})" if e["step"] >= 0 else "")
              for r in ctx.campaign.summary() for e in r["events"]]
    if events:
        camp_blocks += [Heading("Log events"), Bullets(events)]
    secs.append(Section("campaign", "Campaign", camp_blocks))

    diag = [Para("Every run is checked for signs of a failing (extrapolating) potential: log errors, temperature "
                 "and energy excursions, close contacts, broken polyhedra, framework atoms leaving their sites, "
                 "RDF drift [fu2023], jumps and frames outside the training domain. A failed run is analysed only "
                 "up to its trusted segment (a margin before its first failure), or dropped when too little is "
                 "left" + (" — except that this report was made with include_flagged, so flagged runs are "
                           "analysed in full." if not ctx.params["trusted_only"] else ".")),
            tb("diagnostics")]
    flags = []
    for r in _diagnostic_records(ctx):
        for f in r.get("flags", []):
            t = f.get("time_ps")
            when = f" at {t:.4g} ps" if t is not None else ""
            subj = f" [{f['subject']}]" if f.get("subject") else ""
            cnt = f" ({f['count']} times" + (f", last at {f['last_time_ps']:.4g} ps" if f.get("last_time_ps")
                                             is not None else "") + ")" if f.get("count", 1) > 1 else ""
            flags.append(f"{r['run']} [{f['severity']}] {f['check']}{subj}{when}: {f['message']}{cnt}")
    diag += [Heading("Flags per run"), Bullets(flags) if flags else Para("No check fired on any run.")]
    not_diag = [n for n, d in ctx.diagnoses.items() if d is None]
    if not_diag:
        diag.append(Para(f"{len(not_diag)} synthetic known-answer run(s) were not diagnosed (point walkers overlap "
                         "by construction)."))
    if "thresholds" in tables:
        first = next(d for d in ctx.diagnoses.values() if d is not None)
        skipped = first.thresholds.get("checks_skipped") or {}
        inner = [tb("thresholds")]
        if skipped:
            inner.append(Bullets([f"check {k} skipped: {v}" for k, v in skipped.items()]))
        diag += [Heading("Thresholds"),
                 Details(f"{len(tables['thresholds'].rows)} thresholds used (defaults unless overridden); "
                         f"{len(skipped)} checks skipped", inner)]
    secs.append(Section("diagnostics", "Diagnostics", diag))

    res_blocks = []
    if "results" in tables:
        res_blocks.append(tb("results"))
        notes = [f"{labels_text(g.labels)}: {n}" for g in ctx.result.groups for n in g.notes]
        if notes:
            res_blocks += [Heading("Notes"), Bullets(notes)]
    else:
        res_blocks.append(Para("No group could be analysed"
                               + (f": {ctx.analysis_error}" if ctx.analysis_error else ".")))
    if ctx.failed_groups:
        res_blocks += [Heading("Groups not analysed"),
                       Bullets([f"{labels_text(lab)}: {msg}" for lab, msg in ctx.failed_groups], "warnings")]
    secs.append(Section("results", "Results", res_blocks))
    if "seeds" in tables:
        secs.append(Section("seeds", "Per-seed estimates", [
            Para("Each seed analysed on its own, with its leave-one-out z-score against its siblings. A flagged "
                 "seed is inconsistent with the others (a different local structure, or a potential that failed "
                 "in that seed only)."), tb("seeds")]))
    if ctx.comparison is not None:
        secs.append(Section("comparison", f"Comparison by {ctx.comparison.by}", [
            Para(f"σ, σ_tr and H_R of every value of {ctx.comparison.by} for each combination of the other labels, "
                 "with the posterior probability that one exceeds the other (independent simulations, all pairs "
                 "of posterior samples)."), tb("comparison")]))
    if "arrhenius" in tables or ctx.arrhenius_messages:
        arr = [Para("ln(σT) = ln A − E_a/(k_B T), fitted by weighted least squares to joint posterior draws, one "
                    "per temperature, so E_a, ln A and the extrapolated σ carry the slope-intercept covariance. "
                    "Curvature (non-Arrhenius behaviour) is credible when the 99 % interval of a quadratic term "
                    "excludes zero; then extrapolation outside the fitted range is refused.")]
        if "arrhenius" in tables:
            arr.append(tb("arrhenius"))
        notes = [f"{labels_text(f.labels)}: {n}" for f in ctx.fits or [] for n in f.notes]
        notes += [f"warning: {m}" for m in ctx.arrhenius_messages]
        notes += [f"{labels_text(lab)}: refused: {msg}" for lab, msg in ctx.refused]
        if notes:
            arr.append(Bullets(notes))
        secs.append(Section("arrhenius", "Arrhenius", arr))
    if ctx.figures:
        secs.append(Section("figures", "Figures", list(ctx.figures)))
    else:
        secs.append(Section("figures", "Figures", [Para("No figures in this report"
                                                        + (": " + "; ".join(p for p in ctx.problems
                                                                             if p.startswith("figure"))
                                                           if any(p.startswith("figure") for p in ctx.problems)
                                                           else "."))]))
    secs.append(Section("methods", "Methods", _methods_blocks(ctx, tables, files)))
    secs.append(Section("provenance", "Provenance", _provenance_blocks(ctx)))
    return secs


def _methods_blocks(ctx, tables, files) -> list:
    res = ctx.result
    p = ctx.params
    methods = sorted({m for g in res.groups for m in ([g.method] + list(g.by_method))})
    blocks = [Para("Quantities: tracer diffusion coefficient D* = slope/6 of the framework-relative tracer MSD; "
                   "tracer conductivity σ_tr = N q² D*/(V k_B T) (Nernst-Einstein); ionic conductivity σ from the "
                   "Einstein-Helfand slope of the polarisation displacement of each seed, divided by 6 V k_B T; "
                   "Haven ratio H_R = σ_tr/σ computed per posterior sample, so its interval carries the "
                   "correlation of σ_tr and σ [murch1982].")]
    fmt = dict(p, burn=p["n_burn"] if p["n_burn"] is not None else p["n_steps"] // 3)
    blocks += [Para(_METHOD_TEXT.get(m, m).format(**fmt)) for m in methods]
    window = ("as given: " + "-".join(f"{x:g}" for x in p["window_ps"]) + " ps") if p["window_ps"] else \
        (f"from the lag where the log-log slope of the tracer MSD stays ≥ {p['min_loglog_slope']:g} to "
         f"{p['max_fraction']:g} of the longest seed")
    who = " (of the MSD-based methods, the baselines and the fitted lines; the spectral estimator uses none)" \
        if "spectral" in methods else ""
    blocks.append(Para(f"Fit window{who}: {window}; {p['n_lags']} lags spread over it (the lags each seed actually fits "
                       "are listed per group in results.json). Seeds are tested against each "
                       "other (Cochran's Q and leave-one-out z); when they scatter beyond the model "
                       f"(p < {p['overdispersion_alpha']:g}) the variances are inflated by the Birge ratio Q/(n−1). "
                       "σ is reported as an upper bound when the pooled polarisation slope is less than "
                       f"{p['resolved_z']:g} standard errors above zero [he2018]. Root random seed {p['seed']}."))
    if "fits" in tables:
        blocks.append(TableBlock(tables["fits"], files.get("fits", [])))
    infl = [f"{labels_text(g.labels)}: {n}" for g in res.groups for n in g.notes if "Birge" in n]
    if infl:
        blocks.append(Bullets(infl))
    blocks.append(Para("Numbers in the tables are rounded by the Particle Data Group rule [pdg]: two significant "
                       "digits of the smaller half-width of the interval when its three leading digits are 100-354, "
                       "one when 355-949, and 1000 with two digits when 950-999; the value is rounded to the same "
                       "place. The CSV files keep full precision. Figures use the Okabe-Ito palette [okabe2008]."))
    blocks += [Heading("References"), Bullets([f"[{k}] {t}" for k, t in REFERENCES], "references")]
    return blocks


def _provenance_blocks(ctx) -> list:
    import numpy as np

    prov = ctx.result.provenance
    info = [f"uncertainty_gk {prov.get('uncertainty_gk_version', '?')}",
            f"Python {platform.python_version()}, numpy {np.__version__}, {platform.platform()}",
            f"generated {ctx.generated}",
            f"source: {ctx.campaign.source or 'memory'}"]
    if ctx.command:
        info.append(f"command: {ctx.command}")
    params = Table([Column("name", "parameter"), Column("value", "value")],
                   [[k, json.dumps(v, default=json_default)] for k, v in ctx.params.items()], name="parameters")
    blocks = [Bullets(info), Heading("Parameters"), TableBlock(params)]
    rows = []
    for run, files in (prov.get("inputs") or {}).items():
        for f in files:
            rows.append([run, f.get("path", ""), f.get("sha256", "")])
    if rows:
        t = Table([Column("run", "run"), Column("path", "path"), Column("sha256", "SHA-256")], rows,
                  caption="Input files and their SHA-256.", name="inputs")
        blocks += [Heading("Input files"), TableBlock(t)]
    else:
        blocks.append(Para("No input files recorded (runs made in memory)."))
    blocks.append(Para("Full provenance (parameters, diagnostics records, input hashes) is in results.json; every "
                       "diagnosis with its thresholds in diagnostics.json."))
    return blocks


# --------------------------------------------------------------------------- rendering
_CSS = """
:root { --ok: #009E73; --warn: #E69F00; --fail: #D55E00; --ink: #1a1a1a; --muted: #555; --rule: #d0d0d0; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "DejaVu Sans",
       sans-serif; font-size: 15px; line-height: 1.5; color: var(--ink); max-width: 1100px; margin: 0 auto;
       padding: 1.5em 1.5em 4em; background: #fff; }
h1 { font-size: 1.7em; margin: 0.2em 0; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 2px solid var(--rule); padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
p.meta { color: var(--muted); margin-top: 0; }
nav.toc { background: #f6f6f6; border: 1px solid var(--rule); padding: 0.5em 1em; border-radius: 4px; }
nav.toc ol { margin: 0; padding-left: 1.4em; columns: 2; }
a { color: #0072B2; }
.table-wrap { overflow-x: auto; margin: 0.8em 0 1.2em; }
table { border-collapse: collapse; font-size: 0.86em; min-width: 40%; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.3em 0; }
thead th { border-top: 2px solid var(--ink); border-bottom: 1px solid var(--ink); }
tbody tr:last-child td { border-bottom: 2px solid var(--ink); }
th, td { padding: 0.25em 0.6em; vertical-align: top; }
th { text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafafa; }
td.status-ok { color: var(--ok); font-weight: 600; }
td.status-warning { color: #a66f00; font-weight: 600; }
td.status-failed { color: var(--fail); font-weight: 600; }
.pm { display: inline-flex; flex-direction: column; vertical-align: middle; font-size: 0.75em;
      line-height: 1.05; margin-left: 0.1em; text-align: left; }
.pm sup, .pm sub { vertical-align: baseline; font-size: 1em; }
ul.table-notes, p.files, span.files { font-size: 0.82em; color: var(--muted); }
ul.table-notes { margin: 0.3em 0; padding-left: 1.2em; }
ul.headline li { margin: 0.2em 0; }
ul.warnings li { color: #8a3a00; }
ul.references { font-size: 0.9em; }
p.summary { font-size: 1.02em; }
figure { margin: 1.5em 0; page-break-inside: avoid; break-inside: avoid; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid #eee; }
figcaption { font-size: 0.9em; margin-top: 0.4em; }
details { margin: 0.5em 0 1em; }
details > summary { cursor: pointer; color: #0072B2; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.82em; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
#table-inputs td.col-path, #table-inputs td.col-sha256 { word-break: break-all; white-space: normal;
    font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; }
#table-inputs td.col-run { white-space: nowrap; }
#table-diagnostics td, #table-thresholds td { white-space: normal; }
@media print {
  body { max-width: none; font-size: 10pt; padding: 0; }
  nav.toc { display: none; }
  .table-wrap { overflow: visible; }
  table { font-size: 8pt; }
  h2 { page-break-after: avoid; break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _render_html(title: str, ctx, sections: list[Section]) -> str:
    toc = "".join(f'<li><a href="#{s.ident}">{html.escape(s.title)}</a></li>' for s in sections)
    body = []
    for s in sections:
        body.append(f'<section id="{s.ident}"><h2>{html.escape(s.title)}</h2>')
        body += [b.html() for b in s.blocks]
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<header><h1>{html.escape(title)}</h1>\n<p class=\"meta\">Generated {html.escape(ctx.generated)} by "
            f"uncertainty_gk {html.escape(str(ctx.result.provenance.get('uncertainty_gk_version', '')))}</p>\n"
            f"<nav class=\"toc\"><ol>{toc}</ol></nav></header>\n<main>\n" + "\n".join(body)
            + "\n</main>\n</body>\n</html>\n")


def _render_markdown(title: str, ctx, sections: list[Section]) -> str:
    out = [f"# {title}", "", f"Generated {ctx.generated} by uncertainty_gk "
           f"{ctx.result.provenance.get('uncertainty_gk_version', '')}", ""]
    out += [f"{i}. [{s.title}](#{s.ident})" for i, s in enumerate(sections, 1)] + [""]
    for s in sections:
        out += [f'<a id="{s.ident}"></a>', "", f"## {s.title}", ""]
        for b in s.blocks:
            out += [b.markdown().rstrip("\n"), ""]
    return "\n".join(out)
