"""Benchmark: rendering a figure in several formats with its layout solved once, as a ratio.

Usage (from the repository root)::

    python benchmarks/bench_figure_formats.py                 # 6 report figures, 3 repeats
    python benchmarks/bench_figure_formats.py --figures 3 --repeats 1

Input: the report's figures of a synthetic campaign (2 models x 3 temperatures x 2 seeds
of ``synthetic.arrhenius_campaign``, 300 frames, 24 ions; the campaign of
``tests/test_report.py``), drawn with :func:`uncertainty_gk.plots.report_items.draw_figure`.

Timed in the same process, interleaved (once, each, each, once, ...), ``--repeats`` times,
for the first ``--figures`` figures, each drawn anew for every timing:

* **once**: :func:`uncertainty_gk.plots.save.figure_files` (png, pdf, svg; the constrained
  layout is solved at the first format and kept);
* **each**: :func:`uncertainty_gk.plots.save.figure_bytes` per format (the layout solved at
  every render, as before session 13).

Prints the median ratio each / once, and how many of the files are byte-identical between
the two (the first format always is; the others may differ in the last digits of a
position, because the layout is no longer solved with the vector backend's own text
extents).  The machine is shared and noisy, so only ratios from one run are meaningful.
"""

from __future__ import annotations

import argparse
import statistics
import time

from uncertainty_gk.campaign import Campaign
from uncertainty_gk.pipeline import analyse
from uncertainty_gk.plots import report_items
from uncertainty_gk.plots.save import figure_bytes, figure_files
from uncertainty_gk.settings import AnalysisSettings
from uncertainty_gk.synthetic import arrhenius_campaign

FORMATS = ("png", "pdf", "svg")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--figures", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    runs, _ = arrhenius_campaign({"small": (0.3, 0.5), "medium": (0.35, 0.5)}, (600.0, 800.0, 1000.0), rng=1,
                                 n_frames=300, n_seeds=2, n_mobile=24)
    campaign = Campaign(runs, source="benchmark campaign")
    result = analyse(campaign, AnalysisSettings(seed=0), show_progress=False)
    tasks = report_items.figure_tasks(campaign, result)[: a.figures]
    inputs = report_items.figure_inputs(campaign, result)
    print(f"{len(tasks)} figures: {', '.join(t.name for t in tasks)}")

    def once():
        t0 = time.perf_counter()
        files = [figure_files(report_items.draw_figure(t, inputs), FORMATS) for t in tasks]
        return time.perf_counter() - t0, files

    def each():
        t0 = time.perf_counter()
        files = []
        for t in tasks:
            fig = report_items.draw_figure(t, inputs)
            files.append({f: figure_bytes(fig, f) for f in FORMATS})
        return time.perf_counter() - t0, files

    ratios, t_once, t_each = [], [], []
    same = total = 0
    for r in range(a.repeats):
        pair = (once, each) if r % 2 == 0 else (each, once)
        out = {fn.__name__: fn() for fn in pair}
        t_once.append(out["once"][0])
        t_each.append(out["each"][0])
        ratios.append(out["each"][0] / out["once"][0])
        for f1, f2 in zip(out["once"][1], out["each"][1]):
            same += sum(f1[k] == f2[k] for k in FORMATS)
            total += len(FORMATS)
    print(f"layout solved once: median {statistics.median(t_once):.2f} s; at every format: "
          f"{statistics.median(t_each):.2f} s (seconds for orientation only)")
    print(f"ratio every-format / once: median {statistics.median(ratios):.2f} (runs: "
          f"{', '.join(f'{x:.2f}' for x in ratios)})")
    print(f"byte-identical files: {same} of {total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
