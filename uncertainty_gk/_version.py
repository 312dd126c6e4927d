"""The installed package version (one place; imports nothing else of the package)."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("uncertainty_gk")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.2.0+unknown"
