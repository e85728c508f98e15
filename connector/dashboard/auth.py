"""Dashboard access: admins sign in (signed session cookie) or scripts send a bearer token."""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass

from flask import Flask, abort, request, session
from werkzeug.security import check_password_hash

from connector.config.connector_models import DashboardSettings
from connector.errors import ConfigError

CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class DashboardAccess:
    """Who may see the dashboard: admin password hashes and an optional bearer token."""

    password_hashes: dict[str, str]
    token: str | None

    @property
    def enabled(self) -> bool:
        """True when someone can sign in at all."""
        return bool(self.password_hashes) or self.token is not None

    def check_password(self, user: str, password: str) -> bool:
        """True when user is an admin and password matches their hash."""
        stored = self.password_hashes.get(user)
        if stored is None:
            # Same work for an unknown name as for a wrong password: no user enumeration by timing.
            check_password_hash(_DUMMY_HASH, password)
            return False
        return check_password_hash(stored, password)

    def check_bearer(self, header: str | None) -> bool:
        """True when an `Authorization: Bearer <token>` header carries the configured token."""
        if self.token is None or not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header.removeprefix("Bearer ").strip(), self.token)


_DUMMY_HASH = "scrypt:32768:8:1$0000000000000000$" + "0" * 128


def load_access(settings: DashboardSettings) -> DashboardAccess:
    """Read the admins' password hashes and the token from the environment variables named."""
    hashes: dict[str, str] = {}
    problems: list[str] = []
    for user in settings.users:
        value = os.environ.get(user.password_hash_env)
        if not value:
            problems.append(
                f"connector.yaml dashboard.users[{user.name}]: "
                f"${user.password_hash_env} is not set (a werkzeug password hash)"
            )
            continue
        hashes[user.name] = value
    token = os.environ.get(settings.token_env) if settings.token_env else None
    if problems:
        raise ConfigError(problems)
    return DashboardAccess(hashes, token or None)


def configure_session(app: Flask, settings: DashboardSettings, access: DashboardAccess) -> None:
    """Sign sessions with the key from the environment; refuse to start without one."""
    key = os.environ.get(settings.secret_key_env)
    if not key:
        if access.enabled:
            raise ConfigError(
                [
                    f"connector.yaml dashboard.secret_key_env: ${settings.secret_key_env} is not "
                    "set; the dashboard signs its sessions with it (scripts/run sets a random one)"
                ]
            )
        return
    app.secret_key = key
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="leadpool_session",
    )


def sign_in(user: str) -> None:
    """Start a fresh session for user, with a new CSRF token."""
    session.clear()
    session["user"] = user
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def signed_in_user() -> str | None:
    """The admin of the current session, if any."""
    user = session.get("user")
    return user if isinstance(user, str) else None


def csrf_token() -> str:
    """The session's CSRF token (for forms)."""
    token = session.get(CSRF_FIELD)
    return token if isinstance(token, str) else ""


def require_csrf() -> None:
    """Abort 400 unless the posted form carries the session's CSRF token."""
    sent = request.form.get(CSRF_FIELD, "")
    expected = csrf_token()
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, "missing or wrong CSRF token; reload the page and try again")
