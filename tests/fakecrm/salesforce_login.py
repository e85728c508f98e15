"""Login endpoints of the fake Salesforce: SOAP partner login() and the OAuth JWT bearer flow.

Shapes: SOAP loginResponse / LoginFault
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_login.htm),
OAuth token response and `invalid_grant` errors
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import jwt
from defusedxml import ElementTree
from werkzeug.wrappers import Response

ORG_ID = "00D5g0000000001AAA"
LOGIN_HOSTS = ("https://login.salesforce.com", "https://test.salesforce.com")
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def soap_login(
    raw: bytes,
    passwords: Mapping[str, tuple[str, str]],
    issue_session: Callable[[], str],
    server_url: str,
) -> Response:
    """Answer a partner login(): the password element carries password + security token."""
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError:
        return soap_fault("INVALID_LOGIN", "malformed login request")
    values = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
    username, password = values.get("username", ""), values.get("password", "")
    known = passwords.get(username)
    if known is None or password != known[0] + known[1]:
        return soap_fault(
            "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{escape(server_url)}</serverUrl>"
        f"<sessionId>{escape(issue_session())}</sessionId>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response(xml, 200, content_type="text/xml; charset=utf-8")


def oauth_token(
    form: str,
    jwt_apps: Mapping[str, bytes],
    usernames: Collection[str],
    issue_session: Callable[[], str],
    instance_url: str,
) -> Response:
    """Answer a JWT bearer token request signed with a registered connected app's key."""
    params = {k: v[0] for k, v in parse_qs(form).items()}
    if params.get("grant_type") != JWT_GRANT:
        return json_response(
            400,
            {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
        )
    try:
        unverified = jwt.decode(params.get("assertion", ""), options={"verify_signature": False})
        key = jwt_apps[str(unverified.get("iss"))]
        claims = jwt.decode(
            params["assertion"], key, algorithms=["RS256"], audience=list(LOGIN_HOSTS)
        )
    except (jwt.PyJWTError, KeyError):
        return json_response(
            400, {"error": "invalid_grant", "error_description": "invalid assertion"}
        )
    if claims.get("sub") not in usernames:
        return json_response(
            400,
            {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"},
        )
    return json_response(
        200,
        {
            "access_token": issue_session(),
            "instance_url": instance_url,
            "id": f"{instance_url}/id/{ORG_ID}",
            "token_type": "Bearer",
            "scope": "api",
        },
    )


def soap_fault(code: str, message: str) -> Response:
    """A SOAP LoginFault as Salesforce sends it (HTTP 500)."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(xml, 500, content_type="text/xml; charset=utf-8")


def json_response(status: int, payload: Any) -> Response:
    """A JSON response; None gives an empty body (204)."""
    if payload is None:
        return Response(status=status)
    return Response(json.dumps(payload), status, content_type="application/json;charset=UTF-8")
