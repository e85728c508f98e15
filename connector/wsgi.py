"""WSGI entry point: `gunicorn connector.wsgi:app` (config directory from LEADPOOL_CONFIG)."""

from __future__ import annotations

import os

from connector.app import create_app
from connector.logs import configure_logging, redact_secrets
from connector.runtime import build_runtime, secret_values
from connector.worker import Worker

runtime = build_runtime(os.environ.get("LEADPOOL_CONFIG", "config"))
configure_logging(runtime.connector.log_level)
redact_secrets(secret_values(runtime.connector))
if runtime.connector.worker.in_server:
    Worker(runtime).start_thread()
app = create_app(runtime)
