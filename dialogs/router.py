"""Picks the dialog for an event. Until the dialogs exist, every text gets the help message."""

from __future__ import annotations

import asyncpg

from dialogs.io import Event, Reply


async def respond(conn: asyncpg.Connection, event: Event) -> list[Reply]:
    """Answer one inbound event with replies; runs inside the handling transaction."""
    if not event.supported:
        return [Reply("unsupported")]
    name = event.user.name if event.user else (event.profile_name or "")
    return [Reply("help", {"name": name})]
