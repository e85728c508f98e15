"""Config files: pydantic models of routing.yaml and connector.yaml, and load_config()."""

from connector.config.connector_models import ConnectorConfig
from connector.config.loader import Config, load_config
from connector.config.routing_models import RoutingConfig

__all__ = ["Config", "ConnectorConfig", "RoutingConfig", "load_config"]
