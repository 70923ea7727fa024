"""JSON-only payload validation: refused values name their path; nothing is stored."""

from __future__ import annotations

import pytest
import sample_jobs as jobs
from hypothesis import given
from hypothesis import strategies as st
from sidequest import InvalidPayloadError, Sidequest
from sidequest._payload import MAX_DEPTH, _check, dumps, validate, validate_items

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda children: st.lists(children) | st.dictionaries(_TEXT, children),
    max_leaves=30,
)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ([float("nan")], "$[0]"),
        ({"a": [1, float("inf")]}, "$['a'][1]"),
        ({1: "x"}, "$[1]"),
        ([b"bytes"], "$[0]"),
        ([{1, 2}], "$[0]"),
        ([(1, 2)], "$[0]"),
        (["nul\x00"], "$[0]"),
        (["\ud800"], "$[0]"),
        ([2**63], "$[0]"),
        ([object()], "$[0]"),
    ],
)
def test_refused_values_name_the_path(value: object, path: str) -> None:
    with pytest.raises(InvalidPayloadError) as caught:
        validate(value)
    assert caught.value.path == path


def test_depth_and_size_limits() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(150):
        child: list[object] = []
        node.append(child)
        node = child
    with pytest.raises(InvalidPayloadError, match="nested deeper"):
        validate(deep)
    with pytest.raises(InvalidPayloadError, match="exceeds the limit"):
        validate(["x" * 2000], max_bytes=1000)


@given(JSON)
def test_the_size_bound_never_undercounts(value: object) -> None:
    """Validation skips encoding when the bound fits the limit: the bound must be an upper bound."""
    assert _check(value, 0) >= len(dumps(value).encode())


def _nested(levels: int, leaf: object) -> list[object]:
    value: list[object] = [leaf]
    for _ in range(levels - 1):
        value = [value]
    return value


def _outcome(check: object, value: object) -> tuple[str, str] | None:
    try:
        check(value)  # type: ignore[operator]
    except InvalidPayloadError as exc:
        return exc.path, str(exc)
    return None


@given(st.lists(JSON | st.integers() | st.just((1, 2)), max_size=6))
def test_run_arguments_are_checked_as_the_list_they_are_stored_as(items: list[object]) -> None:
    """``validate_items`` settles plain integers itself: it must agree with ``validate``."""
    assert _outcome(lambda v: validate_items(tuple(v), "$"), items) == _outcome(validate, items)
    assert _outcome(lambda v: validate_items(tuple(v), "$", max_bytes=40), items) == _outcome(
        lambda v: validate(v, max_bytes=40), items
    )


@pytest.mark.parametrize("levels", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])
@pytest.mark.parametrize("leaf", [7, 2**63, "x"])
def test_an_integer_at_the_depth_limit_is_judged_alike(levels: int, leaf: object) -> None:
    value = _nested(levels, leaf)
    assert _outcome(lambda v: validate_items(tuple(v), "$"), value) == _outcome(validate, value)
    assert (_outcome(validate, value) is None) == (levels <= MAX_DEPTH and leaf != 2**63)


def test_a_payload_just_over_the_limit_is_refused() -> None:
    exact = len(dumps(["\x01" * 100]).encode())  # control characters: 6 bytes each in JSON
    validate(["\x01" * 100], max_bytes=exact)
    with pytest.raises(InvalidPayloadError, match="exceeds the limit"):
        validate(["\x01" * 100], max_bytes=exact - 1)


def test_exact_json_values_pass() -> None:
    validate({"s": "héllo ☃", "i": -(2**63), "f": 1.5e-300, "l": [None, True, {}], "e": []})


async def test_enqueue_refuses_and_stores_nothing() -> None:
    async with Sidequest("memory://") as sq:
        with pytest.raises(InvalidPayloadError) as caught:
            await sq.build(jobs.Echo).enqueue(1, {"when": {1, 2}})
        assert caught.value.path == "args[1]['when']"
        with pytest.raises(InvalidPayloadError, match="kwargs"):
            await sq.build(jobs.Echo).enqueue(x=float("nan"))
        with pytest.raises(InvalidPayloadError, match="constructor_args"):
            await sq.build(jobs.Echo).with_(b"x").enqueue()
        with pytest.raises(InvalidPayloadError):
            await sq.build(jobs.Echo).enqueue_many([(1,), (float("nan"),)])
        assert (await sq.jobs.count()).total == 0


async def test_unstorable_result_fails_the_job_clearly() -> None:
    sq = Sidequest("memory://", poll_interval=0.02)
    await sq.start()
    job = await sq.build(jobs.BadResult).enqueue()
    record = await sq.jobs.wait(job.id, timeout=5)
    assert record.state == "failed"
    assert record.errors[-1].type == "InvalidResult"
    assert "set value" in record.errors[-1].message
    await sq.close()
