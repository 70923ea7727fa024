"""Web dashboard for sidequest: see and steer jobs and queues.

``create_app(sq)`` returns an ASGI app to mount anywhere; ``Dashboard(sq).start()`` serves
it with uvicorn in the running event loop; ``serve(url)`` runs it standalone (blocking).
"""

from ._security import check_exposure, parse_auth
from ._server import Dashboard, serve
from .app import create_app

__all__ = ["Dashboard", "check_exposure", "create_app", "parse_auth", "serve"]
