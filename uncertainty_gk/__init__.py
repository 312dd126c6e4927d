"""uncertainty_gk: trustworthy ionic conductivities from multi-seed MD.

σ, σ_tr and the Haven ratio with calibrated credible intervals, plus diagnostics
that flag runs in which a machine-learned potential went wrong.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("uncertainty_gk")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.1.0+unknown"

__all__ = ["__version__"]
