"""STUB until branch `report` is merged: the platform's report signing key."""

from __future__ import annotations

from typing import Any


def load_key(settings: Any) -> bytes:
    return b"stub"
