"""Where documents come from: the connector contract, built-in connectors, and the plugin registry."""

from citewise.connectors.base import (
    Connector,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    PermissionConnector,
    PollConnector,
)
from citewise.connectors.registry import available_connectors, create_connector

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
