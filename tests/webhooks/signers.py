"""Test helpers that sign webhook payloads the way the CRMs (and Flow callouts) do.

Written from the vendors' descriptions, independently of connector.webhooks.signing, so a
round trip through the verifiers checks both sides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote


def hubspot_v3_headers(
    client_secret: str, method: str, uri: str, body: bytes, timestamp_ms: int
) -> dict[str, str]:
    """Headers HubSpot sends with a v3-signed request to `uri`."""
    timestamp = str(timestamp_ms)
    message = method.encode() + hubspot_signed_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(client_secret.encode(), message, hashlib.sha256).digest()
    return {
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": timestamp,
    }


def hubspot_signed_uri(uri: str) -> str:
    """The URI with the escapes HubSpot's docs list decoded (: / ? @ ! $ ' ( ) * , ;)."""
    out = []
    index = 0
    while index < len(uri):
        chunk = uri[index : index + 3]
        if chunk.startswith("%") and unquote(chunk) in ":/?@!$'()*,;":
            out.append(unquote(chunk))
            index += 3
        else:
            out.append(uri[index])
            index += 1
    return "".join(out)


def leadpool_json_headers(secret: str, body: bytes, timestamp_s: int) -> dict[str, str]:
    """Headers a Flow/Apex callout sends with a JSON event post."""
    timestamp = str(timestamp_s)
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {"X-Leadpool-Timestamp": timestamp, "X-Leadpool-Signature": digest.hexdigest()}
