"""The OpenAPI document says what the running backend asks for: a bearer key only when keys are set.

api/auth.py declares its HTTPBearer scheme on every /api/v1 route, so FastAPI lists it (and
the 401 answer) even in dev mode, where no key is needed: generated clients and
schema-driven testers then send one, or expect a 401 that never comes. Without API_KEYS
the scheme, each route's `security` and the 401 answers are taken out of the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

SCHEME = "ApiKey"


def drop_api_key_scheme(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without the API-key scheme, its uses and the 401 answers (changed in place)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            security = [entry for entry in operation.pop("security", []) if SCHEME not in entry]
            if security:
                operation["security"] = security
            operation.get("responses", {}).pop("401", None)
    components = schema.get("components", {})
    schemes = components.get("securitySchemes", {})
    schemes.pop(SCHEME, None)
    if not schemes:
        components.pop("securitySchemes", None)
    return schema


def declare_keys_only_when_set(app: FastAPI, keys_enabled: bool) -> None:
    """Without keys, serve the document with the scheme dropped (built once, then cached)."""
    if keys_enabled:
        return
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = drop_api_key_scheme(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
