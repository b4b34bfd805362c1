"""Events published by the training service."""

from __future__ import annotations
