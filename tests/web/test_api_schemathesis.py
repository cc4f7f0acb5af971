"""Schemathesis against the JSON API, on both databases: cases generated from the published
OpenAPI schema (valid and invalid ones), sent as a member and as the manager, must never
answer 5xx and every answer must match what the schema promises (status codes, content
type, response body). Every case carries the role's bearer token, so a case whose only
fault would be a missing token is sent with one (the check that invalid data is refused is
left out for that reason; the bounds themselves are tested in test_bad_input.py).

A bounded, deterministic run: a few cases per operation (``derandomize``), so the suite
stays quick and a failure repeats. The cases are drawn first and then sent over the test's
own event loop (the app shares the test's database connections, see the ``api`` fixture).
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import bearer

CASES_PER_OPERATION = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def drawn_cases(operation: Any, mode: GenerationMode, count: int) -> list[Any]:
    """``count`` cases of one operation, the same ones on every run."""
    cases: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def draw(case: Any) -> None:
        cases.append(case)

    draw()
    return cases


async def send(api: httpx.AsyncClient, case: Any, token: str) -> httpx.Response:
    sent = case.as_transport_kwargs(base_url="http://testserver.local")
    body: dict[str, Any] = {}
    if "json" in sent:
        body["json"] = sent["json"]
    elif sent.get("data") is not None:
        body["content"] = sent["data"]
    headers = {k: v for k, v in (sent.get("headers") or {}).items() if k.lower() != "authorization"}
    return await api.request(
        sent["method"],
        sent["url"],
        headers={**headers, **bearer(token)},
        params=sent.get("params"),
        **body,
    )


async def test_generated_api_calls_get_no_5xx_and_match_the_schema(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    document = (await api.get("/schema/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for case in drawn_cases(operation, mode, CASES_PER_OPERATION):
                for role in ("volunteer", "manager"):
                    response = await send(api, case, tokens[role])
                    try:
                        case.validate_response(response, checks=CHECKS)
                    except FailureGroup as exc:  # every check's failures, reported together
                        failures.append(
                            f"{role} {mode.value} {operation.label} -> {response.status_code}\n"
                            f"  {case.as_curl_command()}\n  {response.text[:300]}\n  {exc}"
                        )
    assert failures == [], "\n\n".join(failures[:10])
