"""The admin JSON API's OpenAPI 3.1 document, served at /api/v1/admin/openapi.json.

The views are plain Django views, so the document is written here, next to
them, from the same constants (kinds, statuses, sources, limits). It is held
to the code by the test suite: every API response any test receives is
checked against it (status listed for that operation, body valid against its
schema; tests/conftest.py), and every route is documented
(tests/test_openapi.py).
"""

from __future__ import annotations

from typing import Any

from seeding.kinds import KINDS
from seeding.models import SeedRun
from seeding.plan import PER_KIND_MAX, SEED_MAX

ERROR_CODES = [
    "invalid",
    "not_authenticated",
    "invalid_token",
    "permission_denied",
    "csrf_failed",
    "not_found",
    "method_not_allowed",
    "run_active",
    "run_not_active",
    "too_large",
    "seed_failed",
    "broker_unavailable",
    "database_busy",
    "database_unavailable",
    "internal",
]


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _counts(description: str) -> dict:
    return {
        "type": "object",
        "description": description,
        "properties": {kind: {"type": "integer", "minimum": 0} for kind in KINDS},
        "required": list(KINDS),
        "additionalProperties": False,
    }


_TIME = {"type": "string", "format": "date-time"}

RUN_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "status": {"enum": [s.value for s in SeedRun.Status]},
    "executor": {"enum": [e.value for e in SeedRun.Executor]},
    "source": {"enum": [s.value for s in SeedRun.Source]},
    "requested_by": {"type": "string"},
    "seed": {"type": "integer"},
    "as_of": _TIME,
    "chunk_size": {"type": "integer"},
    "planned": _ref("Counts"),
    "done": _ref("Counts"),
    "total_planned": {"type": "integer"},
    "total_done": {"type": "integer"},
    "progress": {"type": "number", "minimum": 0, "maximum": 1},
    "rows_per_second": {
        **_nullable({"type": "number"}),
        "description": "Rows per second of the current stretch of writing (since the latest resume).",
    },
    "eta_seconds": {**_nullable({"type": "number"}), "description": "Seconds left at the current stretch's rate."},
    "active_seconds": {
        **_nullable({"type": "number"}),
        "description": "Seconds spent writing, every stretch added up: the pauses before resumes are not counted.",
    },
    "stretches": {"type": "integer", "minimum": 1, "description": "Stretches of writing: 1, plus 1 per resume."},
    "task_id": _nullable({"type": "string"}),
    "created_at": _TIME,
    "started_at": _nullable(_TIME),
    "resumed_at": {**_nullable(_TIME), "description": "When the current stretch of writing began: the latest resume."},
    "finished_at": _nullable(_TIME),
    "cleared_at": _nullable(_TIME),
    "error": _nullable({"type": "string", "description": "Short and stable; no driver text."}),
    "status_url": {"type": "string", "format": "uri"},
}

SCHEMAS: dict[str, Any] = {
    "Counts": _counts("Rows per kind."),
    "SeedRequest": {
        "type": "object",
        "description": "At least one count above zero. Counts default to 0, seed to 1, as_of to now.",
        "properties": {
            **{kind: {"type": "integer", "minimum": 0, "maximum": PER_KIND_MAX} for kind in KINDS},
            "seed": {"type": "integer", "minimum": 0, "maximum": SEED_MAX},
            "as_of": {
                **_TIME,
                "description": "Base time: the newest timestamp any row may carry. From 2000-01-01T00:00:00Z "
                "to one year after now (a rule JSON Schema cannot state: refused with 400 invalid naming as_of).",
            },
        },
        "additionalProperties": False,
    },
    "SeedAnswer": {
        "type": "object",
        "properties": {
            "status": {"enum": ["success", "queued", "cancelled"]},
            "message": {"type": "string"},
            "run_id": {"type": "integer"},
            "task_id": _nullable({"type": "string"}),
            "status_url": {"type": "string", "format": "uri"},
            "counts": _ref("Counts"),
            "planned": _ref("Counts"),
        },
        "required": ["status", "message", "run_id", "task_id", "status_url", "counts", "planned"],
        "additionalProperties": False,
    },
    "Run": {
        "type": "object",
        "properties": RUN_PROPERTIES,
        "required": list(RUN_PROPERTIES),
        "additionalProperties": False,
    },
    "RunDetail": {
        "type": "object",
        "properties": {
            **RUN_PROPERTIES,
            "failed_attempts": {
                "type": "array",
                "description": "Chunks that needed another start, and why.",
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": {"enum": list(KINDS)},
                        "index": {"type": "integer"},
                        "starts": {"type": "integer"},
                        "committed": {"type": "boolean"},
                        "cause": {"type": "string"},
                    },
                    "required": ["kind", "index", "starts", "committed", "cause"],
                    "additionalProperties": False,
                },
            },
        },
        "required": [*RUN_PROPERTIES, "failed_attempts"],
        "additionalProperties": False,
    },
    "CancelAnswer": {
        "type": "object",
        "properties": {**RUN_PROPERTIES, "message": {"type": "string"}},
        "required": [*RUN_PROPERTIES, "message"],
        "additionalProperties": False,
    },
    "Stats": {
        "type": "object",
        "properties": {
            "counts": {
                "type": "object",
                "properties": {
                    kind: {
                        "type": "object",
                        "properties": {"total": {"type": "integer"}, "demo": {"type": "integer"}},
                        "required": ["total", "demo"],
                        "additionalProperties": False,
                    }
                    for kind in KINDS
                },
                "required": list(KINDS),
                "additionalProperties": False,
            },
            "active_run": _nullable(_ref("Run")),
            "recent_runs": {"type": "array", "items": _ref("Run"), "maxItems": 10},
        },
        "required": ["counts", "active_run", "recent_runs"],
        "additionalProperties": False,
    },
    "Error": {
        "type": "object",
        "description": "Every error: a stable code for programs, a message for people, and what the code adds.",
        "properties": {
            "status": {"const": "error"},
            "code": {"enum": ERROR_CODES},
            "message": {"type": "string"},
            "errors": {
                "type": "object",
                "description": "invalid: a message per bad field (or 'body').",
                "additionalProperties": {"type": "string"},
            },
            "active_run_id": {"type": "integer", "description": "run_active: the run in the way."},
            "active_run_status_url": {"type": "string", "format": "uri"},
            "error": {"type": "string", "description": "seed_failed: the run's short error."},
            "run_id": {"type": "integer"},
            "status_url": {"type": "string", "format": "uri"},
        },
        "required": ["status", "code", "message"],
        "additionalProperties": False,
    },
}


def _answer(description: str, schema: str, **headers: str) -> dict:
    answer: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}
    if headers:
        answer["headers"] = {
            name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
        }
    return answer


_ACCESS = {
    "401": _answer(
        "Not authenticated (not_authenticated), or a bearer token unknown or revoked (invalid_token).", "Error"
    ),
    "403": _answer(
        "Not staff, or without the permission (permission_denied); a session without CSRF (csrf_failed).", "Error"
    ),
    "405": _answer("Another method (method_not_allowed).", "Error", Allow="The methods this path takes."),
    "500": _answer("An unexpected error (internal), logged; never a traceback.", "Error"),
    "503": _answer(
        "The database refused: no free connection (database_busy, try again in seconds) or unreachable "
        "(database_unavailable).",
        "Error",
        **{"Retry-After": "Seconds before trying again."},
    ),
}
_RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "demoseed admin API",
            "version": "1",
            "description": "Seed realistic, related, reproducible IT-inventory demo data, and follow the runs. "
            "Plans at or under SEED_INLINE_THRESHOLD items run inline (200); larger ones are queued (202).",
        },
        "servers": [{"url": "/api/v1/admin"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/seed-demo-data": {
                "post": {
                    "operationId": "seed_demo_data",
                    "summary": "Seed a plan: inline when small, queued for the workers when large.",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("SeedRequest")}}},
                    "responses": {
                        "200": _answer("Written inline (or cancelled while it ran).", "SeedAnswer"),
                        "202": _answer(
                            "Queued: poll status_url.",
                            "SeedAnswer",
                            Location="The run's status URL.",
                            **{"Retry-After": "Seconds before polling."},
                        ),
                        "400": _answer("A bad body or plan (invalid), each bad field named in errors.", "Error"),
                        "409": _answer("Another run is active (run_active).", "Error"),
                        "413": _answer("The body is too large (too_large).", "Error"),
                        **_ACCESS,
                        "500": _answer(
                            "An inline run failed (seed_failed; its committed chunks are kept), or an "
                            "unexpected error (internal).",
                            "Error",
                        ),
                        "503": _answer(
                            "The queue is unreachable (broker_unavailable; nothing was started), or the database "
                            "refused: no free connection (database_busy) or unreachable (database_unavailable).",
                            "Error",
                            **{"Retry-After": "Seconds before trying again."},
                        ),
                    },
                }
            },
            "/demo-data-stats": {
                "get": {
                    "operationId": "demo_data_stats",
                    "summary": "Exact rows per kind (total and demo), the active run and the ten most recent.",
                    "responses": {"200": _answer("The figures.", "Stats"), **_ACCESS},
                }
            },
            "/seed-runs/{run_id}": {
                "get": {
                    "operationId": "seed_run",
                    "summary": "One run's status, with its failed attempts: the place to poll.",
                    "parameters": [_RUN_ID],
                    "responses": {
                        "200": _answer("The run.", "RunDetail"),
                        "404": _answer("No such run (not_found).", "Error"),
                        **_ACCESS,
                    },
                }
            },
            "/seed-runs/{run_id}/cancel": {
                "post": {
                    "operationId": "seed_run_cancel",
                    "summary": "Cancel an active run: no chunk starts after this; chunks in flight may commit.",
                    "parameters": [_RUN_ID],
                    "responses": {
                        "200": _answer("Cancelled.", "CancelAnswer"),
                        "404": _answer("No such run (not_found).", "Error"),
                        "409": _answer("The run has ended (run_not_active).", "Error"),
                        **_ACCESS,
                    },
                }
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token made in the admin."},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "sessionid",
                    "description": "The admin's session; unsafe methods also need the X-CSRFToken header.",
                },
            },
        },
    }
