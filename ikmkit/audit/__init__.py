"""Audit: verify event streams against contracts and hash chains, replay, trail, rebuild."""
