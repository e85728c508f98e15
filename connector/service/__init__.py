"""The service: one event or timer per transaction; the only place lead state changes."""

from connector.service.core import Outcome, Service

__all__ = ["Outcome", "Service"]
