"""The read side of the HubSpot adapter: leads one at a time or in batches, and owners."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC
from functools import partial
from typing import TYPE_CHECKING, Any

from hubspot.crm import objects as hs_objects

from connector.adapters.base import CRMUser, LeadRecord
from connector.errors import Permanent

if TYPE_CHECKING:
    from connector.adapters.hubspot import HubSpotSettings
    from connector.adapters.hubspot_calls import HubSpotCaller

MAX_READ_BATCH = 100  # batch read takes at most 100 ids per call
OWNER_MAP_SECONDS = 300.0  # how long the user -> owner map is trusted before a miss reloads it


class HubSpotReads:
    """Lead and owner reads; mixed into HubSpotAdapter, which sets these attributes."""

    settings: HubSpotSettings
    _caller: HubSpotCaller
    _objects_basic: Any
    _objects_batch: Any
    _owners: Any
    _owner_by_user: dict[str, str] | None = None
    _owner_map_at: float = 0.0

    def owner_of_user(self, user_id: str) -> str | None:
        """The owner id of a HubSpot user (webhooks name users; records name owners)."""
        # Owners carry the user id they belong to:
        # https://developers.hubspot.com/docs/api-reference/crm-owners-v3/guide
        now = time.monotonic()
        stale = now - self._owner_map_at > OWNER_MAP_SECONDS
        if self._owner_by_user is None or (user_id not in self._owner_by_user and stale):
            mapping: dict[str, str] = {}
            for archived in (False, True):
                for owner in self._owner_pages(archived):
                    if owner.user_id is not None:
                        mapping.setdefault(str(owner.user_id), str(owner.id))
            self._owner_by_user, self._owner_map_at = mapping, now
        return self._owner_by_user.get(user_id)

    def fetch_lead(self, lead_id: str) -> LeadRecord | None:
        """Return the lead as HubSpot holds it, or None when the id is unknown."""
        if not lead_id.strip():
            raise Permanent("empty lead id", code="INVALID")
        fetch = partial(
            self._objects_basic.get_by_id,
            self.settings.object_type,
            lead_id,
            properties=self.settings.lead_properties,
            _request_timeout=self.settings.timeout_seconds,
        )
        try:
            record = self._caller.run(fetch, safe_to_repeat=True)
        except Permanent as exc:
            if exc.status == 404:
                return None
            raise
        return self._record(record)

    def fetch_leads(self, lead_ids: Sequence[str]) -> dict[str, LeadRecord]:
        """Read many leads with the batch read API (100 a call); unknown ids are left out."""
        models = hs_objects.models
        found: dict[str, LeadRecord] = {}
        wanted = list(dict.fromkeys(i for i in lead_ids if i.strip()))
        for start in range(0, len(wanted), MAX_READ_BATCH):
            body = models.BatchReadInputSimplePublicObjectId(
                inputs=[
                    models.SimplePublicObjectId(id=i)
                    for i in wanted[start : start + MAX_READ_BATCH]
                ],
                properties=self.settings.lead_properties,
                properties_with_history=[],
            )
            call = partial(
                self._objects_batch.read,
                self.settings.object_type,
                body,
                _request_timeout=self.settings.timeout_seconds,
            )
            # Unknown ids come back in a 207's errors; the found ones in results.
            for record in self._caller.run(call, safe_to_repeat=True).results or []:
                found[str(record.id)] = self._record(record)
        return found

    def _record(self, record: Any) -> LeadRecord:
        properties = dict(record.properties or {})
        return LeadRecord(
            lead_id=str(record.id),
            owner=properties.get(self.settings.owner_property) or None,
            fields=properties,
            created_at=record.created_at.astimezone(UTC) if record.created_at else None,
        )

    def list_users(self) -> list[CRMUser]:
        """Return HubSpot owners; archived (deactivated) owners come back with active=False."""
        users = []
        for archived in (False, True):
            for owner in self._owner_pages(archived):
                name = f"{owner.first_name or ''} {owner.last_name or ''}".strip()
                users.append(
                    CRMUser(
                        str(owner.id), owner.email or "", name or owner.email or "", not archived
                    )
                )
        return users

    def _owner_pages(self, archived: bool) -> list[Any]:
        owners: list[Any] = []
        after: str | None = None
        while True:
            page = self._caller.run(
                partial(
                    self._owners.get_page,
                    limit=100,
                    archived=archived,
                    after=after,
                    _request_timeout=self.settings.timeout_seconds,
                ),
                safe_to_repeat=True,
            )
            owners.extend(page.results or [])
            following = page.paging.next if page.paging is not None else None
            if following is None:
                return owners
            after = following.after
