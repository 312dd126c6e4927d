"""Publication figures from analysis results (matplotlib, imported only when a figure is made).

Every function returns a :class:`matplotlib.figure.Figure` with an Agg canvas (no
pyplot state); :func:`save_figure` writes it atomically in several formats.  See
docs/figures.md.

>>> from uncertainty_gk.plots import msd_figure, save_figure      # doctest: +SKIP
>>> fig = msd_figure(campaign, result, group=0, width="single")   # doctest: +SKIP
>>> save_figure(fig, "msd", formats=("png", "pdf"))               # doctest: +SKIP
"""

from .arrhenius import arrhenius_figure
from .forest import forest_figure
from .haven import haven_figure
from .msd import msd_figure
from .report_items import FigureItem, report_figures
from .running import running_figure
from .save import save_figure
from .thermo import thermo_figure

__all__ = ["FigureItem", "arrhenius_figure", "forest_figure", "haven_figure", "msd_figure", "report_figures",
           "running_figure", "save_figure", "thermo_figure"]
