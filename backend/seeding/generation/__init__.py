"""Deterministic, vectorised generation of demo rows: plain Python (numpy, Faker), no Django, no writes.

Everything here is a pure function of a run's spec and a chunk's ordinals, so it
can be tested and profiled without a database; `make lint` (import-linter) keeps
Django, the broker and the rest of seeding out of it.
"""
