"""Throwaway TLS for fake CRM servers: a trustme CA, server contexts and trusting sessions.

simple-salesforce always builds `https://` URLs, and logs in at `https://{domain}.salesforce.com`;
the sessions made here trust the throwaway CA and send those login hosts to the fake server.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import trustme
from requests.adapters import HTTPAdapter


class ThrowawayCA:
    """A certificate authority that lives for one test session, plus its bundle on disk."""

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        self.server_cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.bundle = directory / "fake-crm-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.bundle))

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for a server presenting a certificate for 127.0.0.1."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        return context


class HostRedirect(HTTPAdapter):
    """Transport adapter that sends requests for one public host to a local base URL."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = urlsplit(target)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        """Rewrite scheme and host of the URL, keep path and query."""
        parts = urlsplit(str(request.url))
        request.url = urlunsplit(
            (self.target.scheme, self.target.netloc, parts.path, parts.query, parts.fragment)
        )
        return super().send(request, *args, **kwargs)


def trusting_session(
    ca: ThrowawayCA, redirects: Mapping[str, str] | None = None
) -> requests.Session:
    """A requests.Session trusting the CA; `redirects` maps public base URLs to local ones."""
    session = requests.Session()
    session.verify = str(ca.bundle)
    # With trust_env, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace session.verify on every
    # request (https://github.com/psf/requests/issues/3829); nothing else from the
    # environment (proxies, .netrc) should reach a local fake either.
    session.trust_env = False
    for public, local in (redirects or {}).items():
        session.mount(public.rstrip("/") + "/", HostRedirect(local))
    return session
