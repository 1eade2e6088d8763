"""The OpenAPI document: served, valid, covering every route; and the contract check that holds it to the views."""

from __future__ import annotations

import pytest
from django.http import JsonResponse
from django.test import Client
from django.urls import URLPattern, get_resolver
from jsonschema import Draft202012Validator

from seeding import views
from seeding.openapi import document
from tests.api_contract import ContractBroken, check

pytestmark = pytest.mark.django_db


def test_the_document_is_served_without_login_and_its_schemas_are_valid_json_schema():
    response = Client().get("/api/v1/admin/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served["openapi"] == "3.1.0" and served == document()
    for schema in served["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_route_and_method_is_documented_and_nothing_else():
    api = next(p for p in get_resolver().url_patterns if getattr(p, "app_name", None) == "seeding-api")
    routes = {}
    for pattern in api.url_patterns:
        if not isinstance(pattern, URLPattern) or pattern.name in (None, "openapi"):
            continue
        path = "/" + str(pattern.pattern).replace("<int:run_id>", "{run_id}")
        view_class = pattern.callback.view_class
        routes[path] = {m for m in view_class.http_method_names if m != "options" and hasattr(view_class, m)}
    documented = {path: set(item) for path, item in document()["paths"].items()}
    assert routes == documented


def test_a_status_the_document_does_not_list_breaks_the_contract():
    teapot = views.error_response(418, "internal", "short and stout")
    with pytest.raises(ContractBroken, match="answered 418, not listed"):
        check("GET", "/api/v1/admin/demo-data-stats", teapot)


def test_a_body_that_does_not_match_breaks_the_contract():
    with pytest.raises(ContractBroken, match="'recent_runs' is a required property"):
        check("GET", "/api/v1/admin/demo-data-stats", JsonResponse({"counts": {}, "active_run": None}))
    with pytest.raises(ContractBroken, match="not in the document, but answered 200"):
        check("GET", "/api/v1/admin/nowhere", JsonResponse({}))
