"""The dashboard on its own: it only needs the database (workers may run elsewhere)."""

import os
import signal
import threading

from sidequest_dashboard import serve

# For this example only: press Ctrl-C for us after one second.
threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()

serve(
    "sqlite:///dashboard.sqlite3",
    host="127.0.0.1",  # beyond loopback, auth is required (or insecure=True)
    port=0,  # 0 picks a free port; the default is 8678
    base_path="/",
    auth=None,  # or ("admin", "s3cret") / "admin:s3cret"
)
print("stopped")
