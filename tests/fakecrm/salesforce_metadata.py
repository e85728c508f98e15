"""Metadata API (SOAP) of the fake Salesforce: readMetadata / createMetadata of CustomField
and ListView.

Shapes follow the metadata WSDL bundled with simple-salesforce (ReadResult.records,
SaveResult{errors, fullName, success}); a component that does not exist reads back as an
empty record, as the real API does.
https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_readMetadata.htm
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from defusedxml import ElementTree
from werkzeug.wrappers import Response

MD_NS = "http://soap.sforce.com/2006/04/metadata"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
FIELD_KEYS = ("fullName", "description", "label", "length", "required", "type")
VIEW_KEYS = ("fullName", "columns", "filterScope", "label", "queue")
FILTER_SCOPES = ("Everything", "Mine", "Queue", "Delegated", "MyTerritory", "Team")
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    f'xmlns="{MD_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
)


class MetadataEndpoint:
    """Custom fields of the fake org, served over the SOAP Metadata API."""

    def __init__(self, add_column: Callable[[str, str], None]) -> None:
        self.custom_fields: dict[str, dict[str, str]] = {}
        self.list_views: dict[str, dict[str, Any]] = {}  # full name -> values (columns: list)
        self.calls: list[str] = []
        self._add_column = add_column

    def handle(self, raw: bytes, session_valid: Callable[[str], bool]) -> Response:
        """Answer one SOAP call to /services/Soap/m/XX.X."""
        root = ElementTree.fromstring(raw)
        session = root.find(f".//{{{MD_NS}}}sessionId")
        if session is None or not session_valid(session.text or ""):
            return _fault("sf:INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader")
        body = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
        operation = body[0] if body is not None and len(body) else None
        name = operation.tag.rsplit("}", 1)[-1] if operation is not None else ""
        self.calls.append(name)
        if operation is not None and name == "readMetadata":
            return self._read(operation)
        if operation is not None and name == "createMetadata":
            return self._create(operation)
        return _fault("sf:INVALID_OPERATION", f"operation {name!r} is not supported by the fake")

    def _read(self, operation: Any) -> Response:
        kind = operation.findtext(f"{{{MD_NS}}}type")
        names = [el.text or "" for el in operation.findall(f"{{{MD_NS}}}fullNames")]
        records = []
        for full_name in names:
            if kind == "ListView":
                inner = _view_xml(self.list_views.get(full_name))
            else:
                found = self.custom_fields.get(full_name) if kind == "CustomField" else None
                inner = "".join(
                    f"<{k}>{escape(found[k])}</{k}>" for k in FIELD_KEYS if found and k in found
                )
            records.append(f'<records xsi:type="{kind}">{inner}</records>')
        body = f"<readMetadataResponse><result>{''.join(records)}</result></readMetadataResponse>"
        return _xml(200, ENVELOPE.format(body=body))

    def _create(self, operation: Any) -> Response:
        results = []
        for item in operation.findall(f"{{{MD_NS}}}metadata"):
            values = {el.tag.rsplit("}", 1)[-1]: el.text or "" for el in item}
            full_name = values.get("fullName", "")
            if item.get(XSI_TYPE, "").endswith("ListView"):
                columns = [el.text or "" for el in item if el.tag == f"{{{MD_NS}}}columns"]
                error = self._check_view(full_name, values, columns)
                if error is None:
                    view: dict[str, Any] = {k: values[k] for k in VIEW_KEYS if k in values}
                    self.list_views[full_name] = {**view, "columns": columns}
            else:
                error = self._check(item.get(XSI_TYPE, ""), full_name, values)
                if error is None:
                    kept = {k: v for k, v in values.items() if k in FIELD_KEYS}
                    self.custom_fields[full_name] = kept
                    sobject, _, field = full_name.partition(".")
                    self._add_column(sobject, field)
            if error is None:
                results.append(
                    f"<result><fullName>{escape(full_name)}</fullName><success>true</success>"
                    "</result>"
                )
            else:
                code, message = error
                results.append(
                    f"<result><errors><message>{escape(message)}</message>"
                    f"<statusCode>{code}</statusCode></errors>"
                    f"<fullName>{escape(full_name)}</fullName><success>false</success></result>"
                )
        body = f"<createMetadataResponse>{''.join(results)}</createMetadataResponse>"
        return _xml(200, ENVELOPE.format(body=body))

    def _check_view(
        self, full_name: str, values: dict[str, str], columns: list[str]
    ) -> tuple[str, str] | None:
        sobject, _, name = full_name.partition(".")
        if sobject != "Lead" or not re.fullmatch(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_))*", name):
            return "INVALID_CROSS_REFERENCE_KEY", f"no such list view parent or name: {full_name}"
        if full_name in self.list_views:
            return "DUPLICATE_DEVELOPER_NAME", "This list view name is already in use"
        if not values.get("label") or len(values["label"]) > 40:
            return "FIELD_INTEGRITY_EXCEPTION", "label is required (at most 40 characters)"
        if values.get("filterScope") not in FILTER_SCOPES:
            return (
                "FIELD_INTEGRITY_EXCEPTION",
                f"filterScope: bad value {values.get('filterScope')}",
            )
        if values["filterScope"] == "Queue" and not values.get("queue"):
            return "FIELD_INTEGRITY_EXCEPTION", "queue is required when filterScope is Queue"
        if not columns or not all(c for c in columns):
            return "FIELD_INTEGRITY_EXCEPTION", "a list view needs at least one column"
        return None

    def _check(self, kind: str, full_name: str, values: dict[str, str]) -> tuple[str, str] | None:
        if not kind.endswith("CustomField"):
            return "INVALID_TYPE", f"unsupported metadata type {kind!r}"
        sobject, _, field = full_name.partition(".")
        if sobject != "Lead" or not field.endswith("__c"):
            return "INVALID_CROSS_REFERENCE_KEY", f"no such custom field parent: {full_name}"
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*__c", field):
            return "FIELD_INTEGRITY_EXCEPTION", f"Field Name: {field} is not a valid API name"
        if full_name in self.custom_fields:
            return "DUPLICATE_DEVELOPER_NAME", "This field name is already in use"
        if not values.get("label") or values.get("type") not in ("Text", "DateTime", "Picklist"):
            return "FIELD_INTEGRITY_EXCEPTION", "label and a supported type are required"
        if values["type"] == "Text" and not values.get("length", "").isdigit():
            return "FIELD_INTEGRITY_EXCEPTION", "Length: You must enter a value"
        return None


def _view_xml(view: dict[str, Any] | None) -> str:
    if view is None:
        return ""
    parts = [f"<fullName>{escape(view['fullName'])}</fullName>"]
    parts += [f"<columns>{escape(c)}</columns>" for c in view["columns"]]
    parts += [
        f"<{k}>{escape(view[k])}</{k}>" for k in ("filterScope", "label", "queue") if k in view
    ]
    return "".join(parts)


def _xml(status: int, text: str) -> Response:
    return Response(text, status, content_type="text/xml; charset=utf-8")


def _fault(code: str, message: str) -> Response:
    body = (
        f"<soapenv:Fault><faultcode>{code}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soapenv:Fault>"
    )
    return _xml(500, ENVELOPE.format(body=body))
