"""The package version: the one place it is written (``pyproject.toml`` reads it from
here), so that importing the package does not search the installed distributions."""

__version__ = "0.1.0"
