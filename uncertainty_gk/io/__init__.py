"""Readers: one module per file format, each turning files into the trajectory Dataset.

See :mod:`uncertainty_gk.schema` for the Dataset and the streaming chunk protocol.
"""
