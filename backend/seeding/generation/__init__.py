"""Deterministic, vectorised generation of demo rows (no writes happen here)."""
