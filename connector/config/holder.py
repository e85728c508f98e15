"""The live config of a running process: reloaded when its files change, only if valid."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from connector.config.loader import CONNECTOR_FILE, ROUTING_FILE, Config, load_config
from connector.config.routing_models import RoutingConfig
from connector.errors import ConfigError

log = logging.getLogger(__name__)


class ConfigHolder:
    """Holds the last good config; `reload()` swaps in a new one only when it validates."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @classmethod
    def from_directory(cls, directory: str | Path) -> ConfigHolder:
        """Load a directory (raising ConfigError when it is invalid)."""
        return cls(load_config(directory))

    @property
    def config(self) -> Config:
        """The config in force."""
        return self._config

    def routing(self) -> RoutingConfig:
        """The routing config in force."""
        return self._config.routing

    def files_changed(self) -> bool:
        """Tell whether the files on disk differ from the config in force."""
        digest = hashlib.sha256()
        for name in (ROUTING_FILE, CONNECTOR_FILE):
            path = self._config.directory / name
            if path.exists():
                digest.update(path.read_bytes())
        return digest.hexdigest()[:16] != self._config.fingerprint

    def reload(self, force: bool = False) -> bool:
        """Reload if the files changed (or when forced); True if a new config took effect."""
        if not force and not self.files_changed():
            return False
        try:
            fresh = load_config(self._config.directory)
        except ConfigError as exc:
            self.last_error = str(exc)
            log.error("config reload refused; the last good config keeps serving:\n%s", exc)
            return False
        with self._lock:
            changed = fresh.fingerprint != self._config.fingerprint
            self._config = fresh
        self.last_error = None
        if changed:
            log.info("config reloaded", extra={"fingerprint": fresh.fingerprint})
        return changed
