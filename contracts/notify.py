"""Events published by the notify service."""

from __future__ import annotations
