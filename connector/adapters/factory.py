"""Building the Salesforce or HubSpot adapter from connector.yaml."""

from __future__ import annotations

from connector.adapters.base import CRMAdapter
from connector.clock import Clock
from connector.config.connector_models import ConnectorConfig
from connector.errors import ConfigError


def crm_adapter(
    settings: ConnectorConfig, clock: Clock, read_fields: tuple[str, ...] = ()
) -> CRMAdapter:
    """The adapter for connector.yaml's `crm:`; secrets are read from the environment."""
    # HubSpot returns only the properties a read names, so the fields routing needs
    # (`read_fields`) are added to what it fetches.
    if settings.crm == "salesforce" and settings.salesforce is not None:
        from connector.adapters.salesforce import SalesforceAdapter, SalesforceSettings
        from connector.adapters.salesforce_auth import AuthMode, SalesforceAuth

        sf = settings.salesforce
        auth = sf.auth
        names = {
            key: value
            for key, value in {
                "username_env": auth.username_env,
                "password_env": auth.password_env,
                "security_token_env": auth.security_token_env,
                "consumer_key_env": auth.consumer_key_env,
                "private_key_file_env": auth.private_key_file_env,
                "instance_url_env": auth.instance_url_env,
                "session_id_env": auth.session_id_env,
            }.items()
            if value
        }
        sf_settings = SalesforceSettings(
            domain=sf.domain,
            api_version=sf.api_version,
            auth=SalesforceAuth(mode=AuthMode(auth.mode), **names),
        )
        return SalesforceAdapter(sf_settings, clock=clock)
    if settings.crm == "hubspot" and settings.hubspot is not None:
        from connector.adapters.hubspot import HubSpotAdapter, HubSpotSettings

        hs = settings.hubspot
        return HubSpotAdapter(
            HubSpotSettings(
                token_env=hs.token_env,
                host=hs.host,
                object_type=hs.object_type,
                requests_per_10s=hs.requests_per_10s,
                extra_properties=read_fields,
            ),
            clock=clock,
        )
    raise ConfigError([f"connector.yaml crm: no adapter for {settings.crm!r}"])
