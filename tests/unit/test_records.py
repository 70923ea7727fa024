"""The positional record constructors build exactly what the attrs constructors build."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from sidequest._records import make_new_job, positional_constructor
from sidequest.backend import JobRecord, NewJob, make_job_record


def distinct_values(cls: type) -> dict[str, object]:
    """A different value for every field (so a swapped pair of fields shows)."""
    start = datetime(2030, 1, 2, tzinfo=UTC)
    return {
        field.name: start + timedelta(seconds=index) if "_at" in field.name else f"value {index}"
        for index, field in enumerate(attrs.fields(cls))
    }


@pytest.mark.parametrize(("cls", "make"), [(JobRecord, make_job_record), (NewJob, make_new_job)])
def test_a_positional_constructor_matches_the_keyword_one(cls: type, make: object) -> None:
    values = distinct_values(cls)
    built = make(*values.values())  # type: ignore[operator]
    assert type(built) is cls
    assert built == cls(**values)
    assert attrs.asdict(built, recurse=False) == values


def test_records_built_positionally_stay_frozen() -> None:
    record = make_job_record(*distinct_values(JobRecord).values())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.state = "completed"  # type: ignore[misc]


def test_every_field_is_required_positionally() -> None:
    with pytest.raises(TypeError):
        make_job_record(1, "default")


@attrs.frozen(weakref_slot=False)
class Pair:
    a: int
    b: int = 0


def test_defaults_do_not_apply_positionally() -> None:
    make_pair = positional_constructor(Pair)
    assert make_pair(1, 2) == Pair(1, 2)
    with pytest.raises(TypeError):
        make_pair(1)


def test_records_built_positionally_behave_like_any_other() -> None:
    values = distinct_values(JobRecord)
    built, reference = make_job_record(*values.values()), JobRecord(**values)  # type: ignore[arg-type]
    assert hash(built) == hash(reference)
    assert repr(built) == repr(reference)
    assert pickle.loads(pickle.dumps(built)) == reference
    assert attrs.evolve(built, queue="other") == attrs.evolve(reference, queue="other")
    assert not hasattr(built, "__dict__")


def test_a_class_whose_layout_does_not_fit_is_refused_at_once() -> None:
    @attrs.frozen
    class WithWeakref:
        a: int

    with pytest.raises(TypeError, match="WithWeakref cannot have a positional constructor"):
        positional_constructor(WithWeakref)
