"""The backend. Start here: replace each method with your database's statements.

Only the public modules ``sidequest`` and ``sidequest.backend`` are imported: they hold the
``Backend`` protocol, the records and the helpers (``mask_url``, ``decode_payload``,
``check_concurrency``, ``bucket_starts``, …) a backend needs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sidequest import ConfigurationError
from sidequest.backend import MemoryBackend, mask_url


class DictDBBackend(MemoryBackend):
    """``dictdb://`` — every operation of the protocol, kept in process memory for now.

    Each inherited method is one operation of ``sidequest.backend.Backend``: ``migrate``,
    ``enqueue``, ``claim``, ``transition``, ``heartbeat``, ``release_expired``, the listing
    and counting queries, queues and schedules. Override them one by one.
    """

    def __init__(self, url: str, **options: Any) -> None:
        if urlsplit(url).scheme != "dictdb":
            raise ConfigurationError(f"DictDBBackend serves dictdb:// URLs, got {mask_url(url)!r}")
        if options:
            raise ConfigurationError(f"unknown dictdb options: {', '.join(sorted(options))}")
        super().__init__(url)
