"""JSON text in and out of ``jsonb`` columns, and millisecond timestamps.

Values travel as text (``$n::text::jsonb`` in, ``column::text`` out) so that the backend
works the same on its own pool and on an application connection whatever jsonb codec the
application registered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sidequest.backend import json_loads

_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_BIG_FLOAT = 1e16


def dumps(value: Any) -> str:
    """Compact JSON whose numbers survive ``jsonb`` exactly.

    ``jsonb`` stores numbers as ``numeric``: ``1e+16`` would come back as the integer
    ``10000000000000000``. Such floats are written as exact decimals with a fraction
    (``10000000000000000.0``), which ``numeric`` keeps and Python parses back to the
    same float.
    """
    text = _encoder.encode(value)
    if "e+" in text:  # rare (a large float, or merely a string containing "e+")
        text = "".join(_spelled(value))
    return text


def _spelled(value: Any) -> Iterator[str]:
    """The JSON text of ``value``, with floats ≥ 1e16 written out as exact decimals."""
    kind = type(value)
    if kind is float:
        yield f"{int(value)}.0" if abs(value) >= _BIG_FLOAT else _encoder.encode(value)
    elif kind is list or kind is tuple:
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _spelled(item)
        yield "]"
    elif kind is dict:
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            if index:
                yield ","
            yield _encoder.encode(key)
            yield ":"
            yield from _spelled(item)
        yield "}"
    else:
        yield _encoder.encode(value)


def loads(text: str | None) -> Any:
    return None if text is None else json_loads(text)


def ms(moment: datetime) -> datetime:
    """``moment`` truncated to whole milliseconds (the precision every backend keeps)."""
    micro = moment.microsecond
    return moment if micro % 1000 == 0 else moment.replace(microsecond=micro - micro % 1000)


def ms_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else ms(moment)
