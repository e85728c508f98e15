"""`leadpool setup salesforce`: one Lead list view per pool, showing only its preview fields.

A pool is a Lead queue; reps browse it in a list view filtered to that queue (filterScope
Queue) and take leads from there. The view's columns are the pool's `preview_fields`: in
`pool` mode exactly those, in `cherry_pick` mode those plus name and email, and in `queue`
mode only the columns that do not identify the lead, oldest first, since reps there take the
next lead rather than pick. Like the field set-up, a dry run only reads; apply creates the
missing views and reports (never changes) a view that exists with other settings.
https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_listview.htm
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from simple_salesforce.metadata import SfdcMetadataApi

from connector.adapters.salesforce import SalesforceAdapter
from connector.adapters.salesforce_setup import metadata_api, metadata_call, read_metadata
from connector.config.routing_models import RoutingConfig
from connector.errors import Permanent

# List view columns name standard Lead fields by their column names, not their API names
# (Company → LEAD.COMPANY); custom fields keep their API name (Lead_Score__c).
STANDARD_COLUMNS = {
    "Name": "FULL_NAME",
    "Email": "LEAD.EMAIL",
    "Phone": "LEAD.PHONE",
    "Company": "LEAD.COMPANY",
    "LeadSource": "LEAD.LEAD_SOURCE",
    "State": "LEAD.STATE",
    "Industry": "LEAD.INDUSTRY",
    "Status": "LEAD.STATUS",
    "CreatedDate": "LEAD.CREATED_DATE",
}
# Fields that tell a rep which lead (or which company) it is, in Salesforce's and HubSpot's
# names: hidden in queue mode.
IDENTIFYING = frozenset(
    {"name", "firstname", "lastname", "email", "phone", "mobilephone", "company", "website"}
    | {"street", "address", "title", "jobtitle"}
)
NAME_AND_EMAIL = ("Name", "Email")
QUEUE_NOTE = "take the oldest"  # shown in the view's label: reps cannot pick in queue mode
LABEL_MAX = 40


@dataclass(frozen=True)
class ListViewSpec:
    """The list view a pool needs on Lead."""

    pool: str
    mode: str
    developer_name: str
    label: str
    queue: str  # the queue's DeveloperName
    columns: tuple[str, ...]

    @property
    def full_name(self) -> str:
        """Metadata API full name, e.g. `Lead.Leadpool_inbound_smb`."""
        return f"Lead.{self.developer_name}"


@dataclass(frozen=True)
class ListViewStep:
    """What setup found or did for one pool's view."""

    spec: ListViewSpec
    action: str  # ok | create | created | mismatch | failed
    detail: str = ""

    def line(self) -> str:
        """One human-readable report line."""
        text = f"{self.spec.full_name} ({self.spec.pool}, {', '.join(self.spec.columns)})"
        text += f": {self.action}"
        return f"{text} ({self.detail})" if self.detail else text


def column_name(field: str) -> str:
    """The list view column for a Lead field."""
    if field.endswith("__c"):
        return field
    if field in STANDARD_COLUMNS:
        return STANDARD_COLUMNS[field]
    return "LEAD." + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", field).upper()


def view_fields(
    cfg: RoutingConfig, pool: str, identity: tuple[str, ...] = NAME_AND_EMAIL
) -> list[str]:
    """The lead fields a pool's view shows (CRM field names), by the pool's mode."""
    spec = cfg.pools[pool]
    preview = list(spec.preview_fields) or [cfg.fields.score]
    if spec.mode == "queue":
        return [f for f in preview if f.lower() not in IDENTIFYING]
    if spec.mode == "cherry_pick":
        return [*identity, *(f for f in preview if f not in identity)]
    return preview


def pool_view_spec(cfg: RoutingConfig, pool: str, queue_developer_name: str) -> ListViewSpec:
    """The list view of one pool: its preview fields as columns, filtered to its queue."""
    mode = cfg.pools[pool].mode
    fields = view_fields(cfg, pool)
    label = f"Pool {pool}"
    if mode == "queue":
        fields.append("CreatedDate")  # oldest first is the order reps must take them in
        label = f"{label} - {QUEUE_NOTE}"
    developer_name = "Leadpool_" + re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", pool))
    return ListViewSpec(
        pool=pool,
        mode=mode,
        developer_name=developer_name.strip("_")[:80],
        label=label[:LABEL_MAX],
        queue=queue_developer_name,
        columns=tuple(dict.fromkeys(column_name(f) for f in fields)),
    )


def setup_pool_views(
    adapter: SalesforceAdapter, cfg: RoutingConfig, *, apply: bool
) -> list[ListViewStep]:
    """Compare the org's Lead list views with the pools; with apply=True create missing ones."""
    queues = _queue_names(adapter)
    steps: list[ListViewStep] = []
    specs: list[ListViewSpec] = []
    for pool, spec in cfg.pools.items():
        ref = spec.crm_queue or pool
        developer_name = queues.get(ref) or (ref if ref in queues.values() else None)
        view = pool_view_spec(cfg, pool, developer_name or ref)
        if developer_name is None:
            steps.append(ListViewStep(view, "failed", f"no Lead queue {ref!r} in the org"))
        else:
            specs.append(view)
    mdapi = metadata_api(adapter)
    found = read_metadata(mdapi, "ListView", [s.full_name for s in specs])
    steps += [_compare(s, r) for s, r in zip(specs, found, strict=True)]
    if apply:
        steps = [_create(mdapi, s.spec) if s.action == "create" else s for s in steps]
    order = list(cfg.pools)
    return sorted(steps, key=lambda s: order.index(s.spec.pool))


def _queue_names(adapter: SalesforceAdapter) -> dict[str, str]:
    """Lead queue ids (15- and 18-character) → DeveloperName."""
    soql = "SELECT Id, DeveloperName FROM Group WHERE Type = 'Queue'"
    try:
        rows = adapter.client().query_all(soql)["records"]
    except Exception as exc:  # simple-salesforce raises its own error tree for REST failures
        raise Permanent(f"reading the org's queues: {exc}", code="QUERY_FAILED") from None
    names: dict[str, str] = {}
    for row in rows:
        names[str(row["Id"])] = names[str(row["Id"])[:15]] = str(row["DeveloperName"])
    return names


def _compare(spec: ListViewSpec, record: Any) -> ListViewStep:
    if record is None or not getattr(record, "fullName", None):
        return ListViewStep(spec, "create")
    found = (
        str(getattr(record, "filterScope", "") or ""),
        str(getattr(record, "queue", "") or ""),
        tuple(getattr(record, "columns", None) or ()),
    )
    if found != ("Queue", spec.queue, spec.columns):
        scope, queue, columns = found
        detail = f"exists with filterScope {scope}, queue {queue}, columns {', '.join(columns)}"
        return ListViewStep(spec, "mismatch", f"{detail}; change it by hand")
    return ListViewStep(spec, "ok")


def _create(mdapi: SfdcMetadataApi, spec: ListViewSpec) -> ListViewStep:
    view = mdapi.ListView(
        fullName=spec.full_name,
        label=spec.label,
        filterScope="Queue",
        queue=spec.queue,
        columns=list(spec.columns),
    )
    try:
        metadata_call(lambda: mdapi.ListView.create([view]))
    except Permanent as err:
        return ListViewStep(spec, "failed", str(err))
    return ListViewStep(spec, "created")
