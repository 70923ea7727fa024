"""A running worker's setting of Python's garbage collector.

A busy worker holds a dozen or so objects per job (its record, task, execution, …) until the
job's completion is written. With the interpreter's default threshold (700 net allocations)
that sets off a young-generation collection every few dozen jobs, and each one walks every
object still held: about a tenth of a worker's CPU in a drain of short jobs, for next to no
garbage (jobs make few reference cycles; reference counting frees the rest at once).

While at least one worker of this process runs, the threshold is raised to the largest one
asked for; when the last one stops, the collector gets back the setting it had, unless
someone changed it meanwhile (then theirs stays). A threshold already higher, or 0
(automatic collection off), is left alone.
"""

from __future__ import annotations

import gc
import threading

from attrs import define

Thresholds = tuple[int, int, int]


@define
class _Raised:
    before: Thresholds
    """The setting found when the first worker raised it: put back by the last one."""
    ours: Thresholds
    """The setting applied here: put back only if it is still the one in force."""
    holders: int


_lock = threading.Lock()
_raised: _Raised | None = None


def hold(threshold: int) -> None:
    """Raise the youngest generation's threshold to ``threshold`` (if lower) until ``release``."""
    global _raised
    with _lock:
        current = gc.get_threshold()
        wanted = 0 < current[0] < threshold
        if _raised is None:
            if not wanted:
                _raised = _Raised(current, current, 1)
                return
            _raised = _Raised(current, (threshold, current[1], current[2]), 1)
        else:
            _raised.holders += 1
            if not wanted or current != _raised.ours:
                return  # high enough already, or set by someone else since: theirs stays
            _raised.ours = (threshold, current[1], current[2])
        gc.set_threshold(*_raised.ours)


def release() -> None:
    """One holder is done; the last one puts the previous setting back (if ours is still in force)."""
    global _raised
    with _lock:
        raised = _raised
        if raised is None:
            return
        raised.holders -= 1
        if raised.holders > 0:
            return
        _raised = None
        if gc.get_threshold() == raised.ours and raised.ours != raised.before:
            gc.set_threshold(*raised.before)
