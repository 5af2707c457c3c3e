"""Numbers nobody added yet: a short registration (name, shop, area) that waits for an operator.

The first message creates an inactive user row, so the person's language and conversation live
where everyone else's do; nothing can be ordered until an operator approves them.
"""

from __future__ import annotations

import re

import asyncpg

from dialogs import language
from dialogs.io import Button, Event
from dialogs.machine import Table
from dialogs.turn import Turn
from ledger import users
from ledger.users import Role, User
from locales import Language

TABLE = Table(
    "registration",
    states=["start", "name", "shop", "area", "waiting", "blocked"],
    initial="start",
    doc="A number nobody added writes in: name, shop and area, then an operator decides.",
    transitions=[
        {"trigger": "greet", "source": "start", "dest": "name",
         "doc": "welcome, offer the language, ask the name"},
        {"trigger": "named", "source": "name", "dest": "shop"},
        {"trigger": "shop_given", "source": "shop", "dest": "area"},
        {"trigger": "area_given", "source": "area", "dest": "waiting",
         "doc": "operators get the request with Approve / Block"},
        {"trigger": "again", "source": ["name", "shop", "area", "waiting", "blocked"],
         "dest": None, "doc": "invalid answer, or still waiting: say so again"},
        {"trigger": "blocked", "source": "*", "dest": "blocked",
         "doc": "an operator blocked the number"},
        {"trigger": "help", "source": "*", "dest": None},
        {"trigger": "cancel", "source": ["name", "shop", "area", "waiting"], "dest": "start",
         "doc": "withdraw: start again with the next message"},
        {"trigger": "cancel", "source": ["start", "blocked"], "dest": None},
    ],
)

MAX_FIELD = 120
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_LETTER = re.compile(r"[^\W\d_]")


async def first_contact(conn: asyncpg.Connection, event: Event, lang: Language) -> User:
    """The inactive user row of someone writing for the first time."""
    phone = "+" + event.wa_id if event.wa_id and _E164.match("+" + event.wa_id) else None
    name = (event.profile_name or event.wa_id or event.wa_user_id or "?").strip()[:MAX_FIELD] or "?"
    user_id = await conn.fetchval(
        """INSERT INTO users (phone, wa_id, wa_user_id, name, role, language, active)
           VALUES ($1, $2, $3, $4, 'RETAILER', $5, false)
           ON CONFLICT DO NOTHING RETURNING id""",
        # With a wa_id, the business-scoped id is learnt later by `users.by_address`.
        phone, event.wa_id, None if event.wa_id else event.wa_user_id, name, lang,
    )
    if user_id is None:  # a concurrent first message won; use its row
        found = await users.by_address(conn, event.wa_id, event.wa_user_id)
        assert found is not None
        return found
    await conn.execute("INSERT INTO registrations (user_id) VALUES ($1) ON CONFLICT DO NOTHING",
                       user_id)
    found = await users.by_id(conn, user_id)
    assert found is not None
    return found


def _answer(text: str) -> str | None:
    """A name, shop or area as typed: some letters, at most 120 characters."""
    clean = " ".join(text.split())
    if not clean or len(clean) > MAX_FIELD or not _LETTER.search(clean):
        return None
    return clean


async def handle(turn: Turn) -> None:
    conn, user_id = turn.conn, turn.user.id
    status = await conn.fetchval("SELECT status FROM registrations WHERE user_id = $1", user_id)
    if status is None:
        await conn.execute("INSERT INTO registrations (user_id) VALUES ($1)", user_id)
        status = "STARTED"
    if status == "BLOCKED":
        if turn.state != "blocked":
            turn.move("blocked")
        else:
            turn.move("help" if turn.wants_help() else "again")
        turn.say("reg_blocked")
        return
    if await language.handle(turn):
        _ask_again(turn)
        return
    if turn.wants_help():
        turn.say("help", role="STRANGER", name=turn.user.name)
        turn.move("help")
        _ask_again(turn)
        return
    if turn.wants_cancel():
        if turn.state in ("name", "shop", "area", "waiting"):
            await conn.execute(
                "UPDATE registrations SET status = 'STARTED' WHERE user_id = $1", user_id)
        turn.move("cancel")
        turn.say("reg_cancelled")
        return
    state = turn.state
    if state == "start":
        turn.conversation.language_asked = True
        turn.say("welcome", buttons=language.BUTTONS)
        turn.move("greet")
        return
    if state == "waiting":
        turn.say("reg_waiting")
        turn.move("again")
        return
    answer = _answer(turn.text)
    if answer is None:
        turn.say("reg_invalid", field=state)
        turn.move("again")
        return
    column = {"name": "name", "shop": "shop_name", "area": "area"}[state]
    await conn.execute(f"UPDATE registrations SET {column} = $2 WHERE user_id = $1",
                       user_id, answer)
    if state == "name":
        turn.say("reg_ask_shop", name=answer)
        turn.move("named")
    elif state == "shop":
        turn.say("reg_ask_area")
        turn.move("shop_given")
    else:
        row = await conn.fetchrow(
            """UPDATE registrations SET status = 'PENDING', created_at = now()
               WHERE user_id = $1 RETURNING name, shop_name, area""", user_id)
        turn.say("reg_pending")
        turn.move("area_given")
        for staff_id in await staff(conn):
            turn.tell(staff_id, "reg_request", name=row["name"], shop=row["shop_name"],
                      area=row["area"], phone=turn.user.phone or turn.user.address,
                      buttons=(Button(f"reg:approve:{user_id}", "Approve"),
                               Button(f"reg:block:{user_id}", "Block")))


def _ask_again(turn: Turn) -> None:
    """After help or a language switch, repeat the question the person is on."""
    prompt = {"name": "reg_ask_name", "shop": "reg_ask_shop", "area": "reg_ask_area",
              "waiting": "reg_waiting"}.get(turn.state)
    if prompt == "reg_ask_shop":
        turn.say(prompt, name="")
    elif prompt:
        turn.say(prompt)


async def staff(conn: asyncpg.Connection) -> list[int]:
    """Who decides registrations and hears about orders nobody can take."""
    rows = await conn.fetch(
        "SELECT id FROM users WHERE role IN ('ADMIN', 'OPERATOR') AND active ORDER BY id LIMIT 20")
    return [r["id"] for r in rows]


async def approve(conn: asyncpg.Connection, user_id: int, actor: User,
                  role: Role = "RETAILER") -> User | None:
    """Let a registered (or blocked) number in with `role`; None if there is no such user."""
    user = await users.by_id(conn, user_id)
    if user is None:
        return None
    reg = await conn.fetchrow(
        "SELECT name, shop_name, area FROM registrations WHERE user_id = $1", user_id)
    name = (reg["name"] if reg and reg["name"] else user.name)[:MAX_FIELD]
    shop = (reg["shop_name"] if reg and reg["shop_name"] else name)[:MAX_FIELD]
    area = reg["area"] if reg else ""
    async with conn.transaction():
        await conn.execute(
            "UPDATE users SET active = true, role = $2, name = $3 WHERE id = $1",
            user_id, role, name)
        if role == "RETAILER":
            await conn.execute(
                """INSERT INTO retailers (user_id, shop_name, address) VALUES ($1, $2, $3)
                   ON CONFLICT (user_id) DO NOTHING""", user_id, shop, area)
        elif role == "VENDOR":
            await conn.execute(
                """INSERT INTO vendors (user_id, shop_name, address) VALUES ($1, $2, $3)
                   ON CONFLICT (user_id) DO NOTHING""", user_id, shop, area)
        await conn.execute(
            """INSERT INTO registrations (user_id, name, shop_name, area, status, decided_by,
                                          decided_at)
               VALUES ($1, $2, $3, $4, 'APPROVED', $5, now())
               ON CONFLICT (user_id) DO UPDATE SET status = 'APPROVED',
                   decided_by = EXCLUDED.decided_by, decided_at = now()""",
            user_id, name, shop, area, actor.id)
        await _audit(conn, actor, "user.approve", user, role)
    return await users.by_id(conn, user_id)


async def block(
    conn: asyncpg.Connection, user_id: int, actor: User, reason: str = ""
) -> User | None:
    user = await users.by_id(conn, user_id)
    if user is None:
        return None
    async with conn.transaction():
        await conn.execute("UPDATE users SET active = false WHERE id = $1", user_id)
        await conn.execute(
            """INSERT INTO registrations (user_id, name, status, decided_by, decided_at)
               VALUES ($1, $2, 'BLOCKED', $3, now())
               ON CONFLICT (user_id) DO UPDATE SET status = 'BLOCKED',
                   decided_by = EXCLUDED.decided_by, decided_at = now()""",
            user_id, user.name[:MAX_FIELD], actor.id)
        await _audit(conn, actor, "user.block", user, reason)
    return await users.by_id(conn, user_id)


async def _audit(conn: asyncpg.Connection, actor: User, action: str, user: User,
                 detail: str) -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor_id, action, subject, reason) VALUES ($1, $2, $3, $4)",
        actor.id, action, f"user:{user.id}", detail)
