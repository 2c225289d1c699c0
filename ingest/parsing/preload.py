"""Imported by the parsing fork server: parsers and the spaCy model load once, and every worker forked from
it starts with them in memory (shared, copy-on-write) instead of paying ~3 s each."""

from citewise.ingest.parsing.structured import warm_up

warm_up()
