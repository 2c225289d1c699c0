"""Citewise kernel: settings, domain models and errors shared by every layer.

Imports nothing from the other Citewise packages (the layering rule in docs/architecture).
"""

__version__ = "0.1.0"
