"""``sidequest.backend.json_loads``: exactly ``json.loads`` (values and errors), only faster."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sidequest.backend import json_loads
from test_payload import JSON


def outcome(loads: Any, text: Any) -> tuple[str, str]:
    try:
        return "value", repr(loads(text))
    except Exception as exc:  # the same type and message are expected
        return type(exc).__name__, str(exc)


@given(JSON, st.sampled_from([(",", ":"), (", ", ": ")]), st.booleans())
def test_any_json_text_decodes_as_json_loads_decodes_it(value: Any, separators: Any, ascii: bool) -> None:
    text = json.dumps(value, separators=separators, ensure_ascii=ascii)
    assert outcome(json_loads, text) == outcome(json.loads, text)


@given(st.text(max_size=12))
def test_any_text_at_all_gives_the_same_value_or_error(text: str) -> None:
    assert outcome(json_loads, text) == outcome(json.loads, text)


@pytest.mark.parametrize(
    "text",
    ["", " ", " [1]", "[1] ", "\n{}\n", "[1] x", "[1,]", "nul", "NaN", "-Infinity", "[1e400]", '"\\ud800"',
     "\ufeff[1]", b"[1]", bytearray(b"{}"), 5, None],
)
def test_edges_and_wrong_types(text: Any) -> None:
    assert outcome(json_loads, text) == outcome(json.loads, text)
