"""The OpenAPI document: served, valid, covering every route; and the contract check that holds it to the answers."""

from __future__ import annotations

import pytest
from django.http import JsonResponse
from django.test import Client
from django.urls import URLPattern, get_resolver
from jsonschema import Draft202012Validator

from seeding.api.errors import error_response
from seeding.api.schemas import SeedRequest
from seeding.generation.kinds import KINDS
from tests.api_contract import PREFIX, ContractBroken, check, document

pytestmark = pytest.mark.django_db


def test_the_document_is_served_without_login_and_its_schemas_are_valid_json_schema():
    response = Client().get(PREFIX + "/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served["openapi"] == "3.1.0" and served == document()
    for schema in served["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_route_and_method_is_documented_and_nothing_else():
    """Each route answers exactly the methods the document lists (405 for the rest, OPTIONS included)."""
    api = next(p for p in get_resolver().url_patterns if getattr(p, "app_name", None) == "seeding-api")
    client = Client()
    routes = {}
    for pattern in api.url_patterns:
        if not isinstance(pattern, URLPattern) or pattern.name in (None, "openapi-json", "api-root"):
            continue
        path = PREFIX + "/" + str(pattern.pattern).replace("<int:run_id>", "{run_id}")
        url = path.replace("{run_id}", "1")
        routes[path] = {
            method
            for method in ("get", "post", "put", "patch", "delete", "head", "options", "trace")
            if client.generic(method.upper(), url).status_code != 405
        }
    documented = {path: set(item) for path, item in document()["paths"].items()}
    assert routes == documented


def test_the_request_schema_states_what_json_schema_can():
    """Each kind is a bounded count, unknown fields are refused, and an all-zero plan is outside the schema."""
    validator = Draft202012Validator({**document()["components"]["schemas"]["SeedRequest"]})
    assert set(SeedRequest.model_fields) == {"plan", *KINDS, "seed", "as_of", "scenario"}
    assert validator.is_valid({"assets": 162.0})  # a whole number is an integer in JSON Schema, and accepted
    for refused in ({}, {"assets": 0, "events": 0}, {"assets": 1, "servers": 1}, {"assets": -1}, {"assets": "5"}):
        assert not validator.is_valid(refused), refused


def test_a_status_the_document_does_not_list_breaks_the_contract():
    teapot = error_response(418, "internal", "short and stout")
    with pytest.raises(ContractBroken, match="answered 418, not listed"):
        check("GET", PREFIX + "/demo-data-stats", teapot)


def test_a_body_that_does_not_match_breaks_the_contract():
    with pytest.raises(ContractBroken, match="'recent_runs' is a required property"):
        check("GET", PREFIX + "/demo-data-stats", JsonResponse({"counts": {}, "active_run": None}))
    with pytest.raises(ContractBroken, match="not in the document, but answered 200"):
        check("GET", PREFIX + "/nowhere", JsonResponse({}))
