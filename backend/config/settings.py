"""Django settings for demoseed.

Every value that differs between machines comes from the environment (12-factor),
read here and nowhere else. `.env.example` at the repo root documents each variable;
a `.env` file next to it is read when present (never committed), or the file
DJANGO_ENV_FILE names (empty: none; the test suite's settings make it so).
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent

env = environ.Env()
ENV_FILE = os.environ.get("DJANGO_ENV_FILE", str(REPO_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
_INSECURE_DEV_KEY = "django-insecure-demoseed-development-only"
# A real secret is mandatory as soon as debug is off: a production deployment
# must never run with the development key that is public in this repository.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_INSECURE_DEV_KEY if DEBUG else None)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Served over HTTPS ----------------------------------------------------------
# In production demoseed sits behind a proxy that terminates TLS and says so in
# X-Forwarded-Proto. DJANGO_HTTPS (on by default once debug is off) turns on what
# `manage.py check --deploy` asks for: HTTPS redirects, secure cookies, HSTS.
# /healthz answers before any of it (config/health.py), for probes over plain HTTP.
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Asking browsers to preload HSTS binds the whole domain for months: the domain
        # owner opts in (DJANGO_HSTS_PRELOAD=true); the deploy check need not nag until then.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Content-Security-Policy (django-csp 4) --------------------------------------------
# What a page of the admin may load: its own scripts and styles only, so markup injected
# into a page (a crafted asset name, say) cannot run a script or send data elsewhere.
# Scripts: 'self' alone (the admin has no inline script; the seed-run pages refresh with
# <meta http-equiv="refresh">). Styles also allow inline ones: Django's own change list
# writes a <style> block, and a few of our templates use style="" attributes; a style
# cannot run code. The API's JSON answers get the same header, harmlessly.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        # The admin's icons are SVG files, some of its widgets data: URIs.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        # Like X-Frame-Options: DENY, for browsers that read only CSP.
        "frame-ancestors": [NONE],
    }
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Content-Security-Policy on every response (its system checks catch outdated settings).
    "csp",
    # Before our apps, so its broker is configured when their actors are imported.
    "django_dramatiq",
    "inventory",
    "seeding",
    "apitokens",
]

MIDDLEWARE = [
    # First: probes get their answer whatever the Host header or the scheme.
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Static files (the admin's styles) from the web process itself, with debug off too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
# API clients get CSRF rejections as JSON; pages keep Django's own.
CSRF_FAILURE_VIEW = "seeding.api.errors.csrf_failure"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Database -----------------------------------------------------------------
# Default: an SQLite file inside the repo (git-ignored), so `make demo` needs no server.
DEFAULT_SQLITE_PATH = REPO_DIR / "var" / "demoseed.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DEFAULT_SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a seed writes; NORMAL sync is durable in
    # WAL mode except on power loss; IMMEDIATE avoids lock-upgrade deadlocks between
    # concurrent writers (Django 5.1+ options). A 64 MB page cache (default: 2 MB)
    # keeps the event indexes in memory while a million rows go in, and a 40 MB WAL
    # between checkpoints halves their number; measured with `make bench`.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=10000;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
    if DATABASES["default"]["NAME"] != ":memory:":
        sqlite_file = Path(DATABASES["default"]["NAME"])
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        # Tests on a file database get a file of their own next to it (Django's
        # default would be in memory, without WAL or the deferred indexes' real life).
        DATABASES["default"]["TEST"] = {"NAME": str(sqlite_file.with_name(f"{sqlite_file.stem}-test.sqlite3"))}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

# --- Background work (Dramatiq through django-dramatiq) ----------------------------
# With REDIS_URL, workers are separate `rundramatiq` processes on any number of
# machines. Without it, an embedded in-process broker and worker let the web app
# work alone (see seeding/embedded.py for its limits).
SEED_QUEUE = "seeding"
#: Milliseconds one chunk message may run before Dramatiq interrupts it. A chunk
#: takes well under a second; the margin covers a slow, busy database.
SEED_CHUNK_TIME_LIMIT_MS = env.int("SEED_CHUNK_TIME_LIMIT_MS", default=60_000)
#: Attempts at one chunk (crashes included) before its run is marked failed.
SEED_CHUNK_MAX_ATTEMPTS = env.int("SEED_CHUNK_MAX_ATTEMPTS", default=3)
#: A worker writing a chunk holds its lease and renews it every third of this; a
#: lease not renewed for this long means the worker died, and the chunk is re-sent.
SEED_CHUNK_LEASE_SECONDS = env.float("SEED_CHUNK_LEASE_SECONDS", default=10.0)
#: A queued or running run with no progress for this long and no chunk lease alive
#: lost its messages (Redis restarted without persistence, or a killed worker held
#: them fetched but not started): it is re-dispatched. Short, because one run is
#: active at a time: with no chunk of it in flight, nothing is working on it.
SEED_STALL_AFTER_SECONDS = env.float("SEED_STALL_AFTER_SECONDS", default=8.0)
#: An inline run (the command, a small web request) with no progress for this long
#: is taken for abandoned (its process died) when the next run, resume or clear asks.
#: Longer than its slowest step, an index rebuild after a large load on SQLite. A writer
#: process known to be gone (same machine and PID namespace) is noticed at once.
SEED_ABANDONED_AFTER_SECONDS = env.float("SEED_ABANDONED_AFTER_SECONDS", default=90.0)
#: How long a worker keeps retrying a message while the database is unreachable (a restart, an
#: outage), every 1-2 s and without using up attempts; after that the message is dead-lettered
#: and the sweeper re-dispatches its run once the database is back.
SEED_DATABASE_OUTAGE_RETRY_SECONDS = env.float("SEED_DATABASE_OUTAGE_RETRY_SECONDS", default=600.0)
#: PostgreSQL's connection budget (docs/operations.md) as this deployment's environment states it,
#: with compose's defaults: named in the one log line a "too many clients" refusal gets
#: (seeding/common/database_outage.py), so the line says what was exceeded and which setting to change.
DATABASE_CONNECTION_BUDGET = {
    "web_processes": env.int("WEB_CONCURRENCY", default=3),
    "worker_processes": env.int("WORKER_PROCESSES", default=2),
    "worker_threads": env.int("WORKER_THREADS", default=2),
    "monitor": 5,
    "max_connections": env.int("POSTGRES_MAX_CONNECTIONS", default=100),
}
#: How often each worker process looks for lapsed leases and stalled runs.
SEED_SWEEP_INTERVAL_SECONDS = env.float("SEED_SWEEP_INTERVAL_SECONDS", default=2.0)

_DRAMATIQ_MIDDLEWARE = [
    # Explicit: setting MIDDLEWARE replaces django-dramatiq's defaults entirely.
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.Retries",
    "dramatiq.middleware.CurrentMessage",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    # Names each worker process in Redis next to Dramatiq's heartbeats, for the monitor.
    "seeding.runtime.presence.WorkerPresence",
    # A worker process stops when its rundramatiq main process dies (no orphans).
    "seeding.runtime.supervision.StopWithParent",
    # Workers log each run's start, phases, retries, takeovers and end (SEEDING_WORKER_LOG_LEVEL).
    "seeding.runtime.worker_logging.WorkerLogLevel",
    # seeding.runtime.sweeper.StalledRunSweeper, which re-dispatches stalled runs from
    # inside every worker process, joins in SeedingConfig.ready(): it needs the models.
]
#: Dramatiq's Prometheus middleware: each `rundramatiq` serves its workers' message metrics on
#: dramatiq_prom_host:dramatiq_prom_port (0.0.0.0:9191 by default) at /metrics.
DRAMATIQ_PROMETHEUS = env.bool("DRAMATIQ_PROMETHEUS", default=False)
if DRAMATIQ_PROMETHEUS:
    _DRAMATIQ_MIDDLEWARE.append("dramatiq.middleware.prometheus.Prometheus")
DRAMATIQ_BROKER = {
    "BROKER": "dramatiq.brokers.redis.RedisBroker" if REDIS_URL else "dramatiq.brokers.stub.StubBroker",
    "OPTIONS": (
        {
            "url": REDIS_URL,
            # A dead worker's unacknowledged messages come back after this; the
            # sweeper does not wait for it (see docs/architecture.md).
            "heartbeat_timeout": env.int("DRAMATIQ_HEARTBEAT_TIMEOUT_MS", default=60_000),
            "dead_message_ttl": 7 * 24 * 3_600_000,
        }
        if REDIS_URL
        else {}
    ),
    "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
}
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]
#: Without REDIS_URL, run an in-process worker in the web process (seeding/embedded.py).
SEED_EMBEDDED_WORKER = env.bool("SEED_EMBEDDED_WORKER", default=True)
if not REDIS_URL:
    MIDDLEWARE.append("seeding.runtime.middleware.EmbeddedWorkerMiddleware")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times in the admin as 2026-11-01 12:00:00 UTC (config/formats/en/formats.py).
FORMAT_MODULE_PATH = "config.formats"
# "100,000 results", "1,155,000 rows": numbers in pages are read by people.
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=REPO_DIR / "var" / "static")
# whitenoise serves from here; with debug on it also finds the apps' files, and only
# needs the directory to exist (an empty one until `collectstatic`). With debug off,
# pages name the fingerprinted files of `collectstatic`'s manifest: run it first (the
# image does at build; the measurement scripts do).
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
# `collectstatic` compresses and fingerprints (the Docker image runs it at build time);
# with debug on, files are served from the apps without it.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Seeding ------------------------------------------------------------------
#: Plans whose total item count is at or under this run inline (answered with 200).
SEED_INLINE_THRESHOLD = env.int("SEED_INLINE_THRESHOLD", default=5_000)
#: Rows per chunk; each chunk is one transaction together with its checkpoint.
SEED_CHUNK_SIZE = env.int("SEED_CHUNK_SIZE", default=20_000)
#: Chunks of one phase written at once by an inline run on PostgreSQL (connections).
SEED_WRITER_THREADS = env.int("SEED_WRITER_THREADS", default=2)
#: The curated material (sites, hardware, operating systems...) seeding draws from: one
#: directory of CSV files, described in docs/catalogs.md. Every process must use the same.
SEED_CATALOG_DIR = env.str("SEED_CATALOG_DIR", default=str(BACKEND_DIR / "seeding" / "catalog"))
#: Cap on the total item count of one plan (a guard against typos and abuse).
SEED_MAX_TOTAL = env.int("SEED_MAX_TOTAL", default=12_000_000)

# --- The admin on large tables (inventory/large_lists.py) --------------------
#: A filtered or searched admin list the planner expects to hold more rows than this shows an estimated
#: count and estimated facet counts (PostgreSQL); exact ones would scan it, a second or more per million rows.
ADMIN_EXACT_COUNT_LIMIT = env.int("ADMIN_EXACT_COUNT_LIMIT", default=200_000)
#: ...and so does one whose exact count takes longer than this (a few matching rows can take a scan of the
#: whole table to find, on unindexed columns); the rest of that page's counts are estimated at once.
ADMIN_EXACT_COUNT_SECONDS = env.float("ADMIN_EXACT_COUNT_SECONDS", default=0.2)
#: Reading one admin list page taking longer than this is given up, and the page says why (filters that
#: match few rows of a large table on unindexed columns can take a read of the whole table).
ADMIN_PAGE_READ_SECONDS = env.float("ADMIN_PAGE_READ_SECONDS", default=0.6)
#: An admin list page more than this many rows from both ends of its list is not read (the database
#: would skip them all to reach it); the page says so. The first and last pages are always fast.
ADMIN_DEEP_PAGE_ROWS = env.int("ADMIN_DEEP_PAGE_ROWS", default=100_000)
#: An event message search looks through about this many of the newest events, filtered or not
#: (PostgreSQL): a message text search scans, about half a second per million events.
ADMIN_MESSAGE_SEARCH_EVENTS = env.int("ADMIN_MESSAGE_SEARCH_EVENTS", default=500_000)

#: The seeding logger's level in worker processes: INFO tells each run's start, phases, retries,
#: takeovers and end.
SEEDING_WORKER_LOG_LEVEL = env.str("SEEDING_WORKER_LOG_LEVEL", default="INFO")

#: "plain" (default) or "json": one JSON object per line, with run_id and chunk fields.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise environ.ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A broker or database outage: one line when it starts, one when it ends
    # (seeding/broker_outage.py, seeding/common/database_outage.py).
    "filters": {
        "broker_outage": {"()": "seeding.runtime.broker_outage.QuietBrokerOutage"},
        "database_outage": {"()": "seeding.common.database_outage.QuietDatabaseOutage"},
        # The run id and chunk a line was written for (seeding/common/log_context.py).
        "run_context": {"()": "seeding.common.log_context.RunContext"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        # One JSON object per line, with run_id and chunk fields (config/log_format.py).
        "json": {"()": "config.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["broker_outage", "database_outage", "run_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {
        # Django's defaults give "django" a console handler of its own on top of the
        # root's: every request warning would be printed twice. One handler, the root's.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # Worker processes raise it to SEEDING_WORKER_LOG_LEVEL (seeding/worker_logging.py).
        "seeding": {"level": env.str("SEEDING_LOG_LEVEL", default="WARNING"), "propagate": True},
        # Worker boot, readiness, retries and shutdown: what an operator reads.
        "dramatiq": {"level": env.str("DRAMATIQ_LOG_LEVEL", default="INFO"), "propagate": True},
    },
}

# --- Live streams (seeding/services/live.py) ----------------------------------------
#: A live stream writes what happened in each tick of this many seconds once it has passed.
SEED_LIVE_TICK_SECONDS = env.int("SEED_LIVE_TICK_SECONDS", default=1)
#: A stream further behind than this (its writer was gone a while) skips ahead to now and records the gap.
SEED_LIVE_MAX_LAG_SECONDS = env.int("SEED_LIVE_MAX_LAG_SECONDS", default=300)
#: A worker writes a stream for this long, then hands it on with a new message (other work gets a turn).
SEED_LIVE_TURN_SECONDS = env.float("SEED_LIVE_TURN_SECONDS", default=20.0)
