"""Shared event contracts: pydantic models, topic names and the event catalog. Data only."""
