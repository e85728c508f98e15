"""Pydantic models of connector.yaml: which CRM, the store, secrets (by env-var name), worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, model_validator

from connector.config.routing_models import Duration, Strict

EnvName = str


class StoreSettings(Strict):
    """Where leadpool keeps its state: a SQLAlchemy URL, or the env var holding one."""

    url: str = "sqlite:///var/leadpool.db"
    url_env: EnvName | None = None


class SalesforceAuth(Strict):
    """Salesforce credentials, each named by the environment variable that holds it."""

    mode: Literal["password", "jwt", "session"] = "password"
    username_env: EnvName | None = "LEADPOOL_SF_USERNAME"
    password_env: EnvName | None = "LEADPOOL_SF_PASSWORD"
    security_token_env: EnvName | None = "LEADPOOL_SF_TOKEN"
    consumer_key_env: EnvName | None = None
    private_key_file_env: EnvName | None = None
    instance_url_env: EnvName | None = None
    session_id_env: EnvName | None = None


class SalesforceSettings(Strict):
    """How to reach one Salesforce org and how it calls us."""

    org_id: str = Field(min_length=15, max_length=18)
    domain: str = "login"
    instance_url: str | None = None
    api_version: str = "59.0"
    auth: SalesforceAuth = SalesforceAuth()
    outbound_token_env: EnvName = "LEADPOOL_SF_OUTBOUND_TOKEN"
    basic_auth_user_env: EnvName | None = None
    basic_auth_password_env: EnvName | None = None
    events_secret_env: EnvName = "LEADPOOL_SF_EVENTS_SECRET"


class HubSpotSettings(Strict):
    """How to reach one HubSpot portal and how it calls us."""

    portal_id: int | None = None
    token_env: EnvName = "LEADPOOL_HUBSPOT_TOKEN"
    client_secret_env: EnvName = "LEADPOOL_HUBSPOT_CLIENT_SECRET"
    public_base_url: str = Field(pattern=r"^https?://")
    host: str = "https://api.hubapi.com"
    object_type: Literal["contacts", "leads"] = "contacts"
    requests_per_10s: int = Field(default=90, ge=1)


class WebhookSettings(Strict):
    """Limits on what a webhook request may carry."""

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_events: int = Field(default=100, ge=1, le=1000)


class WorkerSettings(Strict):
    """The background worker: outbox flushing and timers."""

    in_server: bool = True
    poll: Duration = timedelta(seconds=1)
    batch_size: int = Field(default=200, ge=1)
    lease: Duration = timedelta(minutes=2)
    retry_horizon: Duration = timedelta(hours=24)


class DashboardUser(Strict):
    """An admin who may sign in to the dashboard; the hash is read from the environment."""

    name: str
    password_hash_env: EnvName


class DashboardSettings(Strict):
    """Dashboard access: signed sessions for admins, or a bearer token for scripts."""

    secret_key_env: EnvName = "LEADPOOL_SECRET_KEY"
    users: tuple[DashboardUser, ...] = ()
    token_env: EnvName | None = None


class ConnectorConfig(Strict):
    """The whole of connector.yaml."""

    crm: Literal["sandbox", "salesforce", "hubspot"] = "sandbox"
    store: StoreSettings = StoreSettings()
    salesforce: SalesforceSettings | None = None
    hubspot: HubSpotSettings | None = None
    webhooks: WebhookSettings = WebhookSettings()
    worker: WorkerSettings = WorkerSettings()
    dashboard: DashboardSettings = DashboardSettings()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _crm_section_present(self) -> ConnectorConfig:
        if self.crm == "salesforce" and self.salesforce is None:
            raise ValueError("crm is salesforce but there is no 'salesforce:' section")
        if self.crm == "hubspot" and self.hubspot is None:
            raise ValueError("crm is hubspot but there is no 'hubspot:' section")
        return self
