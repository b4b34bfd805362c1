"""Events published by the subsidy service."""

from __future__ import annotations
