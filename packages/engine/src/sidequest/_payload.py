"""JSON-only payloads: validated at enqueue so that every stored value round-trips exactly."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from ._errors import InvalidPayloadError

MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_DEPTH = 100
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def dumps(value: Any) -> str:
    """Compact, key-sorted JSON (the canonical form used for digests and storage)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def validate(value: Any, path: str = "$", *, max_bytes: int = MAX_PAYLOAD_BYTES) -> None:
    """Raise ``InvalidPayloadError`` naming the first path whose value is not exact JSON."""
    _validate(_check, value, path, max_bytes)


def validate_items(items: tuple[Any, ...], path: str, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> None:
    """``validate`` of ``items`` as a JSON array (a job's run arguments arrive as a tuple and
    are stored as a list), without copying them into a list first."""
    _validate(_check_items, items, path, max_bytes)


def _validate(check: Callable[[Any, int], int], value: Any, path: str, max_bytes: int) -> None:
    try:
        bound = check(value, 0)
    except _Invalid as problem:
        raise InvalidPayloadError(path + "".join(reversed(problem.where)), problem.reason) from None
    if bound <= max_bytes:
        return  # even the largest JSON text this value could have fits: no need to encode it
    size = len(dumps(value).encode())
    if size > max_bytes:
        raise InvalidPayloadError(path, f"{size} bytes of JSON exceeds the limit of {max_bytes} bytes")


class _Invalid(Exception):
    """A problem found inside a value; each enclosing container adds its step to ``where``
    as the exception passes (so no path is formatted unless something is wrong)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.where: list[str] = []  # innermost step first


def _check(value: Any, depth: int) -> int:
    """Check ``value``; return an upper bound of the UTF-8 size of its JSON text."""
    if depth > MAX_DEPTH:
        raise _Invalid(f"nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind is bool:
        return 5
    if kind is int:
        if not _INT_MIN <= value <= _INT_MAX:
            raise _Invalid("integer outside the signed 64-bit range")
        return 20
    if kind is float:
        if math.isnan(value) or math.isinf(value):
            raise _Invalid(f"{value!r} is not valid JSON")
        return 24  # the longest repr of a finite float
    if kind is str:
        return _check_text(value)
    if kind is list:
        return _check_items(value, depth)
    if kind is dict:
        size = 2 + 2 * len(value)  # braces, colons and commas
        key: Any = None
        try:
            for key, item in value.items():
                if type(key) is not str:
                    raise _Invalid(f"dict key {key!r} is not a str (JSON keys are strings)")
                size += _check_text(key) + _check(item, depth + 1)
        except _Invalid as problem:
            problem.where.append(f"[{key!r}]")
            raise
        return size
    hints: dict[type, str] = {
        tuple: "a tuple would come back as a list; pass a list",
        bytes: "bytes are not JSON; encode them (e.g. base64) into a str",
        set: "a set is not JSON; pass a sorted list",
    }
    hint = hints.get(kind, "only dict, list, str, int, float, bool and None are stored (never pickle)")
    raise _Invalid(f"{kind.__name__} value: {hint}")


def _check_items(items: list[Any] | tuple[Any, ...], depth: int) -> int:
    """Check the items of a JSON array at ``depth``; return an upper bound of its size."""
    size = 2 + len(items)  # brackets and commas
    inner = depth + 1
    settled_here = inner <= MAX_DEPTH  # deeper, every item fails in ``_check``
    index = 0
    try:
        for index, item in enumerate(items):  # noqa: B007 - read in the handler
            if settled_here and type(item) is int and _INT_MIN <= item <= _INT_MAX:
                size += 20  # the commonest item, checked here rather than in a call
            else:
                size += _check(item, inner)
    except _Invalid as problem:
        problem.where.append(f"[{index}]")
        raise
    return size


def _check_text(text: str) -> int:
    if "\x00" in text:
        raise _Invalid("text contains a NUL character (\\u0000)")
    try:
        if not text.isascii():
            text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("text contains a lone surrogate (not valid UTF-8)") from None
    return 6 * len(text) + 2  # a character takes at most 6 bytes (``\\u001f``) in JSON
