"""A running worker's setting of Python's garbage collector.

A busy worker holds a dozen or so objects per job (its record, task, execution, …) until the
job's completion is written. With the interpreter's default threshold (700 net allocations
on Python 3.11 and 3.12) that sets off a young-generation collection every few dozen jobs,
and each one walks every young object still alive, mostly the jobs held: about a tenth of
a worker's CPU in a drain of short jobs, for next to no garbage (jobs make few reference
cycles; reference counting frees the rest at once).

While at least one worker of this process runs, the first threshold is raised to the
largest one asked for. When the last one stops, it gets back the value it had, unless
someone changed it meanwhile (then theirs stays). A value already higher, or 0 (automatic
collection off), is left alone, and so are the other two thresholds and ``gc.disable()``.
"""

from __future__ import annotations

import gc
import threading

from attrs import define

MAX_THRESHOLD = 2**31 - 1
"""The largest threshold ``gc.set_threshold`` takes (a C int)."""


@define
class _Raised:
    """The first threshold (the youngest generation's) while workers hold it raised; the
    others are not ours and are never touched."""

    before: int
    """The value found by the first holder: put back by the last one."""
    ours: int
    """The value in force by our doing: put back only if it still is."""
    holders: int


_lock = threading.Lock()
_raised: _Raised | None = None


def hold(threshold: int) -> None:
    """Raise the youngest generation's threshold to ``threshold`` (if lower) until ``release``."""
    global _raised
    with _lock:
        current, *older = gc.get_threshold()
        # 0 means automatic collection is off; a value changed by someone else since the
        # first hold is theirs: both stay
        raise_it = 0 < current < threshold and (_raised is None or current == _raised.ours)
        if raise_it:
            gc.set_threshold(threshold, *older)  # first: a refused value leaves nothing held
        if _raised is None:
            _raised = _Raised(before=current, ours=current, holders=0)
        _raised.holders += 1
        if raise_it:
            _raised.ours = threshold


def release() -> None:
    """One holder is done; the last one puts the previous value back (if ours is still in force)."""
    global _raised
    with _lock:
        raised = _raised
        if raised is None:
            return
        raised.holders -= 1
        if raised.holders > 0:
            return
        _raised = None
        current, *older = gc.get_threshold()
        if current == raised.ours != raised.before:
            gc.set_threshold(raised.before, *older)
