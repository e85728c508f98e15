"""Create the `leadpool` property group and properties in a HubSpot portal (dry run or apply)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from hubspot import HubSpot
from hubspot.crm import properties as hs_properties
from urllib3.util.retry import Retry

from connector.adapters.hubspot import HubSpotSettings
from connector.adapters.hubspot_calls import HubSpotCaller
from connector.adapters.rate_limit import RollingWindowLimiter
from connector.errors import ConfigError, Permanent

LEADPOOL_GROUP = "leadpool"


@dataclass(frozen=True)
class PropertySpec:
    """One custom property leadpool writes; `kind`/`field_type` as the properties API names them."""

    name: str
    label: str
    kind: Literal["string", "datetime"]
    field_type: Literal["text", "date"]
    description: str


@dataclass(frozen=True)
class SetupStep:
    """One thing setup found: `exists`, `create` (dry run), `created`, or `conflict`."""

    action: Literal["exists", "create", "created", "conflict"]
    what: str
    detail: str = ""


def leadpool_properties(settings: HubSpotSettings) -> list[PropertySpec]:
    """The properties the adapter writes, named as the settings name them."""
    s = settings
    return [
        PropertySpec(
            s.pool_property,
            "Leadpool pool",
            "string",
            "text",
            "Pool the lead waits in while it has no owner",
        ),
        PropertySpec(
            s.status_property,
            "Leadpool status",
            "string",
            "text",
            "leadpool state: POOLED, CLAIMED, ASSIGNED, WORKING, ...",
        ),
        PropertySpec(
            s.reason_property,
            "Leadpool reason",
            "string",
            "text",
            "Why leadpool routed the lead the way it did",
        ),
        PropertySpec(
            s.source_property,
            "Leadpool source",
            "string",
            "text",
            "Route or rule that placed the lead",
        ),
        PropertySpec(
            s.lock_expires_property,
            "Leadpool lock expires",
            "datetime",
            "date",
            "When a claim lock lapses unless the lead is contacted",
        ),
    ]


class HubSpotSetup:
    """Checks and creates leadpool's property group and properties; safe to run repeatedly."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        token = (os.environ if environ is None else environ).get(settings.token_env, "")
        if not token.strip():
            raise ConfigError(
                [f"hubspot.token_env: environment variable {settings.token_env} is not set"]
            )
        self.settings = settings
        limiter = RollingWindowLimiter(
            settings.requests_per_10s, settings.rate_window_seconds, sleep=sleep
        )
        self._caller = HubSpotCaller(
            limiter, settings.retry_horizon_seconds, settings.max_attempts, sleep=sleep
        )
        client = HubSpot(access_token=token, host=settings.host.rstrip("/"), retry=Retry(0))
        self._groups = client.crm.properties.groups_api
        self._core = client.crm.properties.core_api

    def run(self, *, apply: bool) -> list[SetupStep]:
        """Report what exists and what is missing; with apply=True create what is missing.

        An existing property of the wrong type is reported as a conflict and left alone:
        changing a property's type can lose data, so that stays an admin's decision.
        """
        object_type = self.settings.object_type
        timeout = self.settings.timeout_seconds
        steps: list[SetupStep] = []
        group_what = f"property group {object_type}/{LEADPOOL_GROUP}"
        if self._exists(partial(self._groups.get_by_name, object_type, LEADPOOL_GROUP)):
            steps.append(SetupStep("exists", group_what))
        elif apply:
            body = hs_properties.PropertyGroupCreate(name=LEADPOOL_GROUP, label="leadpool")
            create = partial(self._groups.create, object_type, body, _request_timeout=timeout)
            self._caller.run(create, safe_to_repeat=True)
            steps.append(SetupStep("created", group_what))
        else:
            steps.append(SetupStep("create", group_what))
        for spec in leadpool_properties(self.settings):
            steps.append(self._property_step(spec, apply))
        return steps

    def _property_step(self, spec: PropertySpec, apply: bool) -> SetupStep:
        object_type = self.settings.object_type
        what = f"property {object_type}.{spec.name} ({spec.kind})"
        get = partial(self._core.get_by_name, object_type, spec.name)
        found = self._exists(get)
        if found is not None:
            if found.type != spec.kind:
                return SetupStep("conflict", what, f"exists with type {found.type}")
            return SetupStep("exists", what)
        if not apply:
            return SetupStep("create", what)
        body = hs_properties.PropertyCreate(
            name=spec.name,
            label=spec.label,
            type=spec.kind,
            field_type=spec.field_type,
            group_name=LEADPOOL_GROUP,
            description=spec.description,
        )
        create = partial(
            self._core.create, object_type, body, _request_timeout=self.settings.timeout_seconds
        )
        self._caller.run(create, safe_to_repeat=True)
        return SetupStep("created", what)

    def _exists(self, get: Callable[..., Any]) -> Any:
        """The group/property, or None when HubSpot answers 404."""
        try:
            return self._caller.run(
                partial(get, _request_timeout=self.settings.timeout_seconds), safe_to_repeat=True
            )
        except Permanent as exc:
            if exc.status == 404:
                return None
            raise
