"""``[core] hostname_callable`` of the e2e stack: the Celery worker's name (``CHAOS_E2E_WORKER``), so a
task instance's ``hostname`` in the REST API says which worker ran it; elsewhere the host's FQDN."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("CHAOS_E2E_WORKER") or socket.getfqdn()
