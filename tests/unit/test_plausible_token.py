"""``plausible_token``: every token a backend issues passes, text a database may refuse does not."""

from __future__ import annotations

import json
import uuid

from hypothesis import given
from hypothesis import strategies as st
from sidequest.backend import plausible_token


def test_every_spelling_of_an_issued_token_passes() -> None:
    token = uuid.uuid4()
    for spelling in (str(token), token.hex, str(token).upper(), token.hex.upper()):
        assert plausible_token(spelling)


def test_what_no_backend_issues_is_kept_out() -> None:
    strangers = (None, 7, b"0" * 32, uuid.uuid4(), "", "x" * 65, "\x00" * 36, "\ud800" * 36, "é" * 32, "a\n")
    for stranger in strangers:
        assert not plausible_token(stranger)


@given(st.text(max_size=80))
def test_whatever_passes_travels_as_utf8_and_json_without_control_characters(text: str) -> None:
    if plausible_token(text):
        text.encode()
        assert json.loads(json.dumps(text, ensure_ascii=False)) == text
        assert all(" " <= character <= "~" for character in text)
