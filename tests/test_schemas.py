"""The API schemas' own refusals (shape and type) reach the caller in their language: the
edge (web/errors.py) reads each validator's English into a translated sentence."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from timebank import i18n, schemas
from timebank.web import errors


@pytest.mark.parametrize(
    ("kind", "value", "german"),
    [
        (schemas.ApiMinutes, True, "ganze Zahl"),
        (schemas.ApiMinutes, "60", "ganze Zahl"),
        (schemas.ApiDate, "31.03.2026", "2026-03-31"),
        (schemas.ApiText, "a\x00b", "Zeichen"),
    ],
)
def test_a_validators_refusal_is_read_into_a_translated_sentence(
    kind: Any, value: object, german: str
) -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        pydantic.TypeAdapter(kind).validate_python(value)
    report = {"key": "note", "message": refused.value.errors()[0]["msg"], "source": "body"}
    message, params = errors.reading_of(report)
    assert message != errors.FIELD_INVALID, report["message"]
    said = i18n.render("de", message, params)
    assert german in said and "note" in said
    assert "note" in i18n.render("tr", message, params)
    assert i18n.gettext_for("tr", message) != message
