"""`leadpool setup salesforce`: create the leadpool custom fields on Lead via the Metadata API.

Dry run reads what exists and says what it would create; apply creates only what is
missing, so a second run changes nothing. A field that exists with another type or length
is reported, never altered. New fields still need field-level security (a permission set
for the integration user) before the REST API can write them.
https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/customfield.htm
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce.metadata import SfdcMetadataApi

from connector.adapters.salesforce import LeadpoolFieldNames, SalesforceAdapter
from connector.errors import Permanent

METADATA_BATCH = 10  # readMetadata accepts at most 10 components per call


@dataclass(frozen=True)
class FieldSpec:
    """A custom field leadpool needs on Lead."""

    name: str
    label: str
    type: str  # Text | DateTime
    length: int | None
    description: str

    @property
    def full_name(self) -> str:
        """Metadata API full name, e.g. `Lead.Leadpool_Status__c`."""
        return f"Lead.{self.name}"

    def describe(self) -> str:
        """Type as an admin reads it: `Text(255)` or `DateTime`."""
        return f"{self.type}({self.length})" if self.length else self.type


@dataclass(frozen=True)
class FieldStep:
    """What setup found or did for one field."""

    spec: FieldSpec
    action: str  # ok | create | created | mismatch | failed
    detail: str = ""

    def line(self) -> str:
        """One human-readable report line."""
        text = f"{self.spec.full_name} {self.spec.describe()}: {self.action}"
        return f"{text} ({self.detail})" if self.detail else text


def leadpool_field_specs(names: LeadpoolFieldNames) -> list[FieldSpec]:
    """The four leadpool fields, named as configured."""
    return [
        FieldSpec(names.status, "Leadpool Status", "Text", 40, "Lead state in leadpool"),
        FieldSpec(names.lock_expires, "Leadpool Lock Expires", "DateTime", None,
                  "When the current claim lock is released unless the lead is contacted"),
        FieldSpec(names.reason, "Leadpool Reason", "Text", names.reason_max_length,
                  "Why leadpool made its last decision"),
        FieldSpec(names.source, "Leadpool Source", "Text", 20, "How the lead reached its owner"),
    ]  # fmt: skip


def setup_leadpool_fields(adapter: SalesforceAdapter, *, apply: bool) -> list[FieldStep]:
    """Compare the org with the leadpool fields; with apply=True create the missing ones."""
    specs = leadpool_field_specs(adapter.settings.fields)
    mdapi = metadata_api(adapter)
    steps = [
        _compare(spec, record)
        for spec, record in zip(
            specs, read_metadata(mdapi, "CustomField", [s.full_name for s in specs]), strict=True
        )
    ]
    if not apply:
        return steps
    missing = [s.spec for s in steps if s.action == "create"]
    created = _create(mdapi, missing)
    return [created.get(s.spec.name, s) for s in steps]


def metadata_api(adapter: SalesforceAdapter) -> SfdcMetadataApi:
    """The client's Metadata API, sending through the adapter's requests session.

    simple-salesforce builds its zeep client with zeep's own requests.Session, so the
    session given to Salesforce(...) (CA bundle, proxies) and any timeout would be ignored.
    """
    mdapi = adapter.client().mdapi
    transport = mdapi._client.transport
    transport.session = adapter.session
    transport.operation_timeout = adapter.settings.timeout
    return mdapi


def read_metadata(mdapi: SfdcMetadataApi, kind: str, full_names: Sequence[str]) -> list[Any]:
    """readMetadata of one type, in batches; one record (or None) per name, in order."""
    records: list[Any] = []
    for start in range(0, len(full_names), METADATA_BATCH):
        chunk = list(full_names[start : start + METADATA_BATCH])
        result = metadata_call(lambda c=chunk: getattr(mdapi, kind).read(c))
        records.extend(result if isinstance(result, list) else [result])
    if len(records) != len(full_names):
        raise Permanent(
            f"readMetadata returned {len(records)} {kind} records for {len(full_names)}"
        )
    return records


def _compare(spec: FieldSpec, record: Any) -> FieldStep:
    if record is None or not getattr(record, "fullName", None):
        return FieldStep(spec, "create")
    found_type = str(getattr(record, "type", "") or "")
    found_length = getattr(record, "length", None)
    if found_type != spec.type or (spec.length and int(found_length or 0) != spec.length):
        found = f"{found_type}({found_length})" if found_length else found_type
        return FieldStep(spec, "mismatch", f"exists as {found}; change it by hand")
    return FieldStep(spec, "ok")


def _create(mdapi: SfdcMetadataApi, specs: Sequence[FieldSpec]) -> dict[str, FieldStep]:
    # One field per createMetadata call: simple-salesforce raises on any failed SaveResult
    # without saying which components of a batch were saved.
    done: dict[str, FieldStep] = {}
    for spec in specs:
        field = mdapi.CustomField(
            fullName=spec.full_name,
            label=spec.label,
            type=spec.type,
            length=spec.length,
            description=spec.description,
            required=False,
        )
        try:
            metadata_call(lambda f=field: mdapi.CustomField.create([f]))
        except Permanent as err:
            done[spec.name] = FieldStep(spec, "failed", str(err))
        else:
            done[spec.name] = FieldStep(spec, "created")
    return done


def metadata_call(call: Any) -> Any:
    """Run one Metadata API call; its failures (zeep faults, SaveResult errors) → Permanent."""
    try:
        return call()
    except Exception as exc:  # simple-salesforce raises bare Exception for SaveResult errors
        raise Permanent(f"Metadata API: {str(exc).strip()}", code="METADATA_API") from None
