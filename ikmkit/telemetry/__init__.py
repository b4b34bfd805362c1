"""Logs, traces and metrics (OpenTelemetry, Prometheus)."""
