"""Counters an engine keeps about its own work (exposed as ``Sidequest.stats``)."""

from __future__ import annotations

from attrs import define


@define
class EngineStats:
    """Monotonic counters for this engine process."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    retried: int = 0
    snoozed: int = 0
    released: int = 0
    """Jobs given back to waiting at shutdown."""
    rescued: int = 0
    """Jobs taken back from dead workers by ``release_expired`` run on this node."""
    stale_writes_rejected: int = 0
    """Writes refused because this worker no longer held the job's lease (fencing)."""
    cleaned: int = 0
    clock_skew: float = 0.0
    """Seconds this host's clock was ahead of the database's at the last check."""
