"""Writing rows and keeping what a run points at: the services call these, nothing here calls back up.

A run's recorded view of existing parents (parent_view), the raw row writers, key reservation
and the secondary indexes deferred during big loads on SQLite.
"""
