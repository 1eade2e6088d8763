"""The worker runtime: what runs beside the actors (seeding/tasks.py) in worker and web processes.

The sweeper thread that re-sends stalled runs, the embedded in-process worker (and the Django
middleware that starts it), Dramatiq middlewares (presence, supervision by the parent process,
log levels) and the broker-outage log filter. Entry-point side: it calls the services, never the
other way round.
"""
