"""Salesforce logins: username/password/token (SOAP), JWT bearer (OAuth), or a given session.

Secrets are read from environment variables whose names come from settings, at login time
(so a rotated secret is picked up on re-authentication), and never logged or kept in reprs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from connector.errors import ConfigError, Transient

AUTH_FAILED = "AUTH_FAILED"


class AuthMode(StrEnum):
    """How leadpool logs in to Salesforce."""

    PASSWORD = "password"  # username + password + security token, SOAP login()
    JWT = "jwt"  # OAuth 2.0 JWT bearer flow: consumer key + private key file + username
    SESSION = "session"  # an instance URL and a session id obtained elsewhere


@dataclass(frozen=True)
class SalesforceAuth:
    """The auth mode and the NAMES of the environment variables holding its secrets."""

    mode: AuthMode = AuthMode.PASSWORD
    username_env: str = "LEADPOOL_SF_USERNAME"
    password_env: str = "LEADPOOL_SF_PASSWORD"
    security_token_env: str = "LEADPOOL_SF_TOKEN"
    consumer_key_env: str = "LEADPOOL_SF_CONSUMER_KEY"
    private_key_file_env: str = "LEADPOOL_SF_PRIVATE_KEY_FILE"
    instance_url_env: str = "LEADPOOL_SF_INSTANCE_URL"
    session_id_env: str = "LEADPOOL_SF_SESSION_ID"

    def required_env(self) -> tuple[str, ...]:
        """The environment variable names this mode needs."""
        if self.mode is AuthMode.PASSWORD:
            return (self.username_env, self.password_env, self.security_token_env)
        if self.mode is AuthMode.JWT:
            return (self.username_env, self.consumer_key_env, self.private_key_file_env)
        return (self.instance_url_env, self.session_id_env)

    def check(self, environ: Mapping[str, str]) -> None:
        """Raise ConfigError naming every missing variable (values are never shown)."""
        problems = [
            f"salesforce auth '{self.mode}': environment variable {name} is not set"
            for name in self.required_env()
            if not environ.get(name)
        ]
        if self.mode is AuthMode.JWT and not problems:
            key_file = Path(environ[self.private_key_file_env])
            if not key_file.is_file():
                problems.append(
                    f"salesforce auth 'jwt': {self.private_key_file_env} names no readable file"
                )
        if self.mode is AuthMode.SESSION and not problems:
            url = urlsplit(environ[self.instance_url_env])
            if url.scheme != "https" or not url.hostname:
                problems.append(
                    f"salesforce auth 'session': {self.instance_url_env} must be an https:// URL"
                )
        if problems:
            raise ConfigError(problems)


@dataclass(frozen=True)
class SalesforceSession:
    """A logged-in session: the REST host (host[:port]) and the session id."""

    instance: str
    session_id: str = field(repr=False)


def login(
    auth: SalesforceAuth,
    *,
    domain: str,
    api_version: str,
    session: requests.Session,
    environ: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> SalesforceSession:
    """Log in with the configured mode; a refused login raises Transient(code=AUTH_FAILED).

    `domain` is `login`, `test` or a My Domain prefix (`acme.my`): simple-salesforce logs in
    at `https://{domain}.salesforce.com`.
    """
    env = os.environ if environ is None else environ
    auth.check(env)
    if auth.mode is AuthMode.SESSION:
        url = urlsplit(env[auth.instance_url_env])
        return SalesforceSession(instance=str(url.netloc), session_id=env[auth.session_id_env])
    try:
        if auth.mode is AuthMode.PASSWORD:
            session_id, instance = SalesforceLogin(
                username=env[auth.username_env],
                password=env[auth.password_env],
                security_token=env[auth.security_token_env],
                sf_version=api_version,
                domain=domain,
                session=_with_timeout(session, timeout),
            )
        else:
            session_id, instance = SalesforceLogin(
                username=env[auth.username_env],
                consumer_key=env[auth.consumer_key_env],
                privatekey_file=env[auth.private_key_file_env],
                sf_version=api_version,
                domain=domain,
                session=_with_timeout(session, timeout),
            )
    except SalesforceAuthenticationFailed as exc:
        raise Transient(
            f"Salesforce login ({auth.mode}) refused: {exc.code}: {exc.auth_message}",
            code=AUTH_FAILED,
        ) from None
    except requests.RequestException as exc:
        raise Transient(
            f"Salesforce login ({auth.mode}) failed: {type(exc).__name__}", code=AUTH_FAILED
        ) from None
    return SalesforceSession(instance=str(instance), session_id=str(session_id))


class _LoginTransport:
    """Stands in for the session during login: SalesforceLogin only calls `.post`, which
    it sends without a timeout; this adds one so a stuck login cannot hang a worker."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self._session = session
        self._timeout = timeout

    def post(self, url: str, data: Any = None, **kwargs: Any) -> requests.Response:
        """POST through the wrapped session with the default timeout."""
        kwargs.setdefault("timeout", self._timeout)
        return self._session.post(url, data, **kwargs)


def _with_timeout(session: requests.Session, timeout: float | None) -> requests.Session:
    if timeout is None:
        return session
    return cast(requests.Session, _LoginTransport(session, timeout))
