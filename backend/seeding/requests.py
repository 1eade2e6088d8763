"""Turning an untrusted JSON body into a SeedPlan, with an error per bad field.

Stricter than ``json.loads`` defaults on purpose: NaN and Infinity are not JSON,
floats and booleans are not counts, and a 5,000-digit number is reported as too
large for its field instead of failing the whole parse. Only the JSON types are
checked here; ranges, caps and an empty plan are checked by the services, the
same way for every entry point.
"""

from __future__ import annotations

import json

from seeding.kinds import KINDS
from seeding.plan import PER_KIND_MAX, SEED_MAX, PlanError, SeedPlan, parse_as_of

ALLOWED_FIELDS = (*KINDS, "seed", "as_of")
_MAX_DIGITS = 19  # more cannot fit any field; kept as text for a precise message


class BadRequest(ValueError):
    """The body is not a JSON object at all (as opposed to an object with bad fields)."""


class _HugeNumber(str):
    """An integer literal too long to be any valid count or seed."""


def _parse_int(text: str) -> int | _HugeNumber:
    digits = text.lstrip("-")
    return _HugeNumber(text) if len(digits) > _MAX_DIGITS else int(text)


def _reject_constant(name: str):
    raise BadRequest(f"invalid JSON: {name} is not allowed")


def parse_seed_request(body: bytes) -> SeedPlan:
    """Parse and validate a request body; raise BadRequest or PlanError (per field)."""
    try:
        data = json.loads(body.decode("utf-8"), parse_int=_parse_int, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise BadRequest("the body must be UTF-8 encoded JSON") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise BadRequest("malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object, e.g. {"assets": 1000}')

    errors: dict[str, str] = {}
    for key in data:
        if key not in ALLOWED_FIELDS:
            errors[key] = f"unknown field; allowed: {', '.join(ALLOWED_FIELDS)}"
    values: dict = {}
    if "as_of" in data:
        if not isinstance(data["as_of"], str):
            errors["as_of"] = f"must be an ISO 8601 date-time string, not {_json_type(data['as_of'])}"
        else:
            try:
                values["as_of"] = parse_as_of(data["as_of"])
            except ValueError as exc:
                errors["as_of"] = str(exc)
    for field in ALLOWED_FIELDS:
        if field not in data or field == "as_of":
            continue
        value = data[field]
        limit = SEED_MAX if field == "seed" else PER_KIND_MAX
        if isinstance(value, _HugeNumber):
            errors[field] = f"must be at most {limit:,}" if not value.startswith("-") else "must not be negative"
        elif not isinstance(value, int) or isinstance(value, bool):
            errors[field] = f"must be an integer, not {_json_type(value)}"
        else:
            values[field] = value
    if errors:
        raise PlanError(errors)
    return SeedPlan(**values)


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a number with a fraction or exponent"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
