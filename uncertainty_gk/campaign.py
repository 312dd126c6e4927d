"""A campaign: named runs (trajectory Datasets) selectable by their labels.

Runs may differ in length and atom count, so a campaign is a collection of
Datasets (one netCDF group each in the archive), not one big array.  A *group* is
the set of runs that share all labels but the seed: the replicas of one system.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

import numpy as np
import xarray as xr

from .errors import CampaignError
from .schema import labels_of, sources_of

__all__ = ["group_key", "labels_match", "Campaign"]


def group_key(labels: Mapping, exclude=("seed",)) -> str:
    """The key of the group a run with ``labels`` belongs to: its labels except ``exclude``,
    as canonical JSON (sorted keys).  The one place a group key is built."""
    return json.dumps({k: v for k, v in labels.items() if k not in exclude}, sort_keys=True, default=str)


def labels_match(labels: Mapping, selection: Mapping) -> bool:
    """True when every ``key=value`` of ``selection`` is in ``labels`` (values also compared as text)."""
    return all(k in labels and (labels[k] == v or str(labels[k]) == str(v)) for k, v in selection.items())


class Campaign(Mapping):
    """Mapping ``run name -> trajectory Dataset`` with label-based selection.

    Examples
    --------
    >>> camp = open_archive("campaign.nc")                  # doctest: +SKIP
    >>> camp.select(model="medium", temperature_K=1000)     # doctest: +SKIP
    >>> for key, runs in camp.groups().items(): ...         # doctest: +SKIP
    """

    def __init__(self, runs: Mapping[str, xr.Dataset], *, attrs: Mapping | None = None, source: str = "",
                 tree=None):
        self._runs = dict(runs)
        self.attrs = dict(attrs or {})
        self.source = source
        self._tree = tree

    # Mapping interface
    def __getitem__(self, name: str) -> xr.Dataset:
        try:
            return self._runs[name]
        except KeyError:
            raise KeyError(f"no run named {name!r}; runs: {', '.join(self._runs) or 'none'}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)

    @property
    def runs(self) -> dict[str, xr.Dataset]:
        return dict(self._runs)

    def labels(self, name: str) -> dict:
        return labels_of(self._runs[name])

    def select(self, **labels) -> Campaign:
        """Runs whose labels match every ``key=value`` given (values compared as strings too)."""
        chosen = {n: ds for n, ds in self._runs.items() if labels_match(labels_of(ds), labels)}
        if not chosen:
            known = sorted({f"{k}={v}" for ds in self._runs.values() for k, v in labels_of(ds).items()})
            raise CampaignError(f"no run matches {labels}; labels present: {', '.join(known)}")
        return Campaign(chosen, attrs=self.attrs, source=self.source)

    def groups(self, exclude=("seed",)) -> dict[str, Campaign]:
        """Runs grouped by all labels except ``exclude`` (default: the seed), keyed by :func:`group_key`."""
        out: dict[str, dict] = {}
        for name, ds in self._runs.items():
            out.setdefault(group_key(labels_of(ds), exclude), {})[name] = ds
        return {k: Campaign(v, attrs=self.attrs, source=self.source) for k, v in out.items()}

    def summary(self) -> list[dict]:
        """One row per run: labels, atoms, frames, time span, species, events."""
        rows = []
        for name, ds in self._runs.items():
            t = ds["time"]
            species, counts = np.unique(ds["species"].values.astype(str), return_counts=True)
            events = []
            if "event_kind" in ds:
                for k, m, s in zip(ds["event_kind"].values, ds["event_message"].values, ds["event_step"].values):
                    events.append({"kind": str(k), "message": str(m), "step": int(s)})
            rows.append({
                "name": name, "labels": labels_of(ds), "n_atoms": int(ds.sizes["atom"]),
                "n_frames": int(ds.sizes["time"]), "t_start_ps": float(t[0]), "t_end_ps": float(t[-1]),
                "frame_interval_ps": float(ds.attrs.get("frame_interval_ps", np.nan)),
                "composition": {str(s): int(c) for s, c in zip(species, counts)},
                "mobile": sorted({str(s) for s in ds["species"].values[ds["mobile"].values.astype(bool)]}),
                "temperature_K": float(ds.attrs.get("temperature_K", np.nan)),
                "reader": ds.attrs.get("reader", ""), "sources": sources_of(ds), "events": events,
                "notes": json.loads(ds.attrs.get("notes", "[]")),
            })
        return rows

    def close(self) -> None:
        if self._tree is not None:
            self._tree.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self) -> str:
        return f"<Campaign {len(self)} runs from {self.source or 'memory'}: {', '.join(list(self._runs)[:6])}>"
