"""Every API response a test receives is held to the OpenAPI document (django-ninja's, from seeding/api/).

Installed for the whole suite by an autouse fixture in conftest.py: the
status must be one the document lists for that path and method (a path it
does not know must be a 404, a method it does not list a 405), and the JSON
body must validate against that answer's schema. So the document cannot
drift from what the views do without some test failing.
"""

from __future__ import annotations

import json
import re
from functools import cache

from django.core.serializers.json import DjangoJSONEncoder
from jsonschema import Draft202012Validator

from seeding.api.endpoints import api

PREFIX = "/api/v1/admin"


@cache
def document() -> dict:
    """The document as served, JSON's string keys included (its paths start with PREFIX)."""
    return json.loads(json.dumps(api.get_openapi_schema(), cls=DjangoJSONEncoder))


class ContractBroken(AssertionError):
    pass


@cache
def _operations() -> list[tuple[re.Pattern, dict]]:
    return [
        (re.compile("^" + re.sub(r"\{[a-z_]+\}", r"\\d+", path) + "$"), item)
        for path, item in document()["paths"].items()
    ]


@cache
def _validator(status: str, path_pattern: str, method: str) -> Draft202012Validator:
    doc = document()
    item = next(item for pattern, item in _operations() if pattern.pattern == path_pattern)
    schema = item[method]["responses"][status]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": doc["components"]})


@cache
def _error_validator() -> Draft202012Validator:
    doc = document()
    return Draft202012Validator({"$ref": "#/components/schemas/Error", "components": doc["components"]})


def check(method: str, path: str, response) -> None:
    """Raise ContractBroken if ``response`` to ``method path`` is not what the document says."""
    if not path.startswith(PREFIX + "/") or method in ("OPTIONS", "HEAD") or path == PREFIX + "/openapi.json":
        return
    if "json" not in response.get("Content-Type", ""):
        raise ContractBroken(f"{method} {path} answered {response.status_code} without JSON")
    body = json.loads(response.content)
    match = next(((pattern, item) for pattern, item in _operations() if pattern.match(path)), None)
    if match is None:
        _expect(
            response.status_code == 404, f"{method} {path}: not in the document, but answered {response.status_code}"
        )
        return _validate(_error_validator(), body, method, path)
    pattern, item = match
    operation = item.get(method.lower())
    if operation is None:
        _expect(response.status_code == 405, f"{method} {path}: method not documented, answered {response.status_code}")
        return _validate(_error_validator(), body, method, path)
    status = str(response.status_code)
    _expect(status in operation["responses"], f"{method} {path} answered {status}, not listed in the document")
    _validate(_validator(status, pattern.pattern, method.lower()), body, method, path)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ContractBroken(message)


def _validate(validator: Draft202012Validator, body, method: str, path: str) -> None:
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.path))
    if errors:
        raise ContractBroken(
            f"{method} {path}: body does not match the document: {errors[0].message} at "
            f"{'/'.join(map(str, errors[0].path))}"
        )
