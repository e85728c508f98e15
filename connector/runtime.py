"""Runtime: the objects one leadpool process wires together (config, store, adapter, service)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from connector.adapters.base import CRMAdapter
from connector.adapters.sandbox import SandboxCRM
from connector.clock import Clock, SystemClock
from connector.config.connector_models import ConnectorConfig
from connector.config.holder import ConfigHolder
from connector.errors import ConfigError
from connector.service import Service
from connector.store.engine import migrate, open_engine


@dataclass
class Runtime:
    """Everything a server, worker or CLI command works with."""

    config: ConfigHolder
    engine: Engine
    adapter: CRMAdapter
    service: Service
    clock: Clock
    sandbox: SandboxCRM | None = None
    extras: dict[str, object] = field(default_factory=dict)
    # Work the worker does on each pass besides outbox and timers (dashboard figures).
    background: list[Callable[[], None]] = field(default_factory=list)

    @property
    def connector(self) -> ConnectorConfig:
        """The connector settings in force."""
        return self.config.config.connector


def store_url(settings: ConnectorConfig, override: str | None = None) -> str:
    """The store URL: an explicit override, the env var named in config, or the config value."""
    if override:
        return override
    if settings.store.url_env:
        value = os.environ.get(settings.store.url_env)
        if not value:
            raise ConfigError(
                [f"connector.yaml store.url_env: ${settings.store.url_env} is not set"]
            )
        return value
    return settings.store.url


def secret_env_names(settings: ConnectorConfig) -> list[str]:
    """The names of every environment variable connector.yaml says holds a secret."""
    names: list[str | None] = [settings.dashboard.secret_key_env, settings.dashboard.token_env]
    names += [user.password_hash_env for user in settings.dashboard.users]
    if settings.salesforce is not None:
        sf, auth = settings.salesforce, settings.salesforce.auth
        names += [sf.outbound_token_env, sf.events_secret_env, sf.basic_auth_password_env]
        names += [auth.password_env, auth.security_token_env, auth.session_id_env]
    if settings.hubspot is not None:
        names += [settings.hubspot.token_env, settings.hubspot.client_secret_env]
    return [n for n in names if n]


def secret_values(settings: ConnectorConfig) -> list[str]:
    """The secret values currently set, so logs can mask them."""
    return [v for n in secret_env_names(settings) if (v := os.environ.get(n))]


def make_adapter(
    settings: ConnectorConfig, engine: Engine, clock: Clock, read_fields: tuple[str, ...] = ()
) -> CRMAdapter:
    """The adapter for the configured CRM (reading at least `read_fields` of a lead)."""
    if settings.crm == "sandbox":
        return SandboxCRM(engine, clock)
    from connector.adapters.factory import crm_adapter

    adapter: CRMAdapter = crm_adapter(settings, clock, read_fields)
    return adapter


def build_runtime(
    config_dir: str | Path,
    *,
    clock: Clock | None = None,
    adapter: CRMAdapter | None = None,
    store: str | None = None,
    run_migrations: bool = True,
) -> Runtime:
    """Load config, open and migrate the store, and wire the adapter and service."""
    holder = ConfigHolder.from_directory(config_dir)
    clock = clock or SystemClock()
    settings = holder.config.connector
    url = store_url(settings, store or os.environ.get("LEADPOOL_STORE_URL"))
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        # Relative SQLite paths are relative to the config directory's parent (the project).
        relative = url.removeprefix("sqlite:///")
        base = Path(config_dir).resolve().parent
        url = f"sqlite:///{base / relative}"
    engine = open_engine(url)
    if run_migrations:
        migrate(engine)
    adapter = adapter or make_adapter(settings, engine, clock, holder.routing().read_fields())
    service = Service(engine, holder.routing, adapter, clock)
    sandbox = adapter if isinstance(adapter, SandboxCRM) else None
    return Runtime(holder, engine, adapter, service, clock, sandbox)
