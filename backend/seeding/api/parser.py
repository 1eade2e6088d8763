"""Reading a request body as JSON, stricter than ``json.loads`` defaults on purpose.

NaN and Infinity are not JSON. A number too large for any field (a 5,000-digit
integer, ``1e400``) is read as a stand-in just past every limit, so it is
reported as too large for its field, with the other fields' errors, instead of
failing the whole parse (Python refuses to build an int of over 4,300 digits).
"""

from __future__ import annotations

import json
import math

from django.http import HttpRequest
from ninja.parser import Parser

#: Larger than any count or seed (a seed fits a signed 64-bit column): stands in for a number too large to read.
BEYOND_ANY_LIMIT = 2**64
_MAX_DIGITS = 19


class BadBody(ValueError):
    """The body is not JSON at all; the message says why, for the ``body`` entry of the 400's errors."""


class StrictJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> object:
        try:
            return json.loads(
                request.body.decode("utf-8"),
                parse_int=_parse_int,
                parse_float=_parse_float,
                parse_constant=_reject_constant,
            )
        except UnicodeDecodeError:
            raise BadBody("the body must be UTF-8 encoded JSON") from None
        except json.JSONDecodeError as exc:
            raise BadBody(f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
        except RecursionError:
            raise BadBody("malformed JSON: nested too deeply") from None


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        return -BEYOND_ANY_LIMIT if text.startswith("-") else BEYOND_ANY_LIMIT
    return int(text)


def _parse_float(text: str) -> float | int:
    value = float(text)
    if math.isinf(value):
        return -BEYOND_ANY_LIMIT if value < 0 else BEYOND_ANY_LIMIT
    return value


def _reject_constant(name: str):
    raise BadBody(f"invalid JSON: {name} is not allowed")
