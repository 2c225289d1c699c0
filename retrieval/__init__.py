"""Encoders, vector-store backends and search, always filtered by who is asking."""
