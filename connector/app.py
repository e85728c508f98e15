"""create_app(runtime) -> Flask: registers the blueprints, nothing else."""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from connector.dashboard.views import install_dashboard
from connector.health import health
from connector.metrics import metrics
from connector.runtime import Runtime
from connector.sandbox_views import sandbox
from connector.webhooks.views import webhooks


def create_app(runtime: Runtime) -> Flask:
    """Build the Flask app around a wired Runtime."""
    app = Flask("leadpool")
    app.extensions["leadpool"] = runtime
    app.config["MAX_CONTENT_LENGTH"] = runtime.connector.webhooks.max_body_bytes
    app.register_blueprint(health)
    app.register_blueprint(sandbox)
    app.register_blueprint(webhooks)
    app.register_blueprint(metrics)
    install_dashboard(app, runtime)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        return jsonify(error=exc.name, message=exc.description), exc.code or 500

    return app
