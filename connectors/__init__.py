"""Where documents come from: the connector contract, built-in connectors, and the plugin registry."""

from connectors.base import (
    Connector,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    PermissionConnector,
    PollConnector,
)
from connectors.registry import available_connectors, create_connector

__all__ = [
    "Connector",
    "FailedItem",
    "ListIdsConnector",
    "LoadConnector",
    "PermissionConnector",
    "PollConnector",
    "available_connectors",
    "create_connector",
]
