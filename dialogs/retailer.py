"""Retailers order in their own words, answer one question per ambiguous word, edit and confirm a
priced draft, and ask where their orders are, what they owe and what they bought.

The draft's lines live in the conversation while questions are open; once every line is known
the ledger holds it as a DRAFT order, priced at the vendor's prices, and the retailer sees it
with Confirm / Edit / Cancel (or types "ho", "hoina", "हो", "रद्द"…).
"""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal
from typing import Any

from catalog.model import ParsedItem, ParseResult
from catalog.quantity import Quantity
from dialogs import language, notify, present, words
from dialogs.io import Button, Row
from dialogs.machine import Table
from dialogs.turn import Turn
from ledger import credit, orders, pricing, reports
from ledger.errors import IllegalTransition, LedgerError, OrderNotFound, OverCreditLimit
from ledger.pricing import LineRequest, to_milli

TABLE = Table(
    "retailer",
    states=["idle", "resolving", "reviewing", "editing"],
    initial="idle",
    doc="A retailer's order from first message to confirmation, and their questions.",
    transitions=[
        {"trigger": "ask", "source": "*", "dest": "resolving",
         "doc": "a word fits several products (or its unit does not convert): ask, one at a time"},
        {"trigger": "show", "source": "*", "dest": "reviewing",
         "doc": "every line known: the priced draft with Confirm / Edit / Cancel"},
        {"trigger": "edit", "source": ["reviewing", "editing"], "dest": "editing",
         "doc": "Edit tapped: say what to add, remove or change"},
        {"trigger": "confirm", "source": ["reviewing", "editing"], "dest": "idle",
         "doc": "confirmed: order number, and the order goes to a vendor"},
        {"trigger": "refused", "source": ["reviewing", "editing"], "dest": "reviewing",
         "doc": "over the credit limit (or another refusal): explained, the draft stays"},
        {"trigger": "empty", "source": "*", "dest": "idle",
         "doc": "nothing left that we know: unknown words named back"},
        {"trigger": "expire", "source": ["resolving", "reviewing", "editing"], "dest": "idle",
         "doc": "left unconfirmed too long (the jobs tick)"},
        {"trigger": "query", "source": "*", "dest": None,
         "doc": "status, dues, history or a cancelled order: answered, the draft stays"},
        {"trigger": "unclear", "source": "*", "dest": None,
         "doc": "not understood: said so, with what to type"},
        {"trigger": "help", "source": "*", "dest": None},
        {"trigger": "cancel", "source": "*", "dest": "idle"},
    ],
)

MAX_LINES = 30
MAX_QUESTIONS = 10
MAX_UNKNOWN = 10
MAX_REMEMBERED = 1000
OPEN_ORDERS_SHOWN = 10

_REMOVE = re.compile(
    r"\b(hatau|hatau?nu|hatai(?:deu|dinu|dinus|dinuhos)?|hataunus|hatayera|remove|delete|"
    r"nikal|nikala|nikalnu|jhika|jhikau|jhiknu|minus|nachaine|chaidaina|chahidaina)\b|"
    r"हटाउ\S*|झिक\S*|निकाल\S*|चाहिँदैन|चाहिदैन", re.IGNORECASE)
_ADD = re.compile(r"\b(thap|thapnu|thapideu|thapdinu|thapdinus|thapidinu|add|plus|extra|aru)\b"
                  r"|थप\S*|अरु", re.IGNORECASE)
_EDIT_ONLY = re.compile(r"^\s*(edit|change|badal\w*|बदल\S*)\s*[.!?]*\s*$", re.IGNORECASE)
_CANCEL_ORDER = re.compile(r"\b(cancel|radda|rad)\b|रद्द", re.IGNORECASE)


# -- entry ---------------------------------------------------------------------------------------

async def handle(turn: Turn) -> None:
    if turn.choice:
        await _tapped(turn)
        return
    if await language.handle(turn):
        return
    if turn.wants_help():
        turn.say("help", role="RETAILER", name=turn.user.name)
        turn.move("help")
        return
    number = words.order_number(turn.text)
    if number and _CANCEL_ORDER.search(turn.text):
        await _cancel_order(turn, number)
        return
    if turn.wants_cancel():
        await _cancel(turn)
        return
    intent = turn.intent()
    if intent in ("status", "dues", "history"):
        await {"status": _status, "dues": _dues, "history": _history}[intent](turn)
        turn.move("query")
        return
    if intent == "repeat":
        await _repeat(turn)
        return
    if turn.state == "resolving":
        await _answer(turn)
        return
    if intent == "confirm":
        if turn.state in ("reviewing", "editing"):
            await _confirm(turn)
        else:
            turn.say("nothing_to_confirm")
            turn.move("unclear")
        return
    if turn.state == "idle" and (_REMOVE.search(turn.text) or _EDIT_ONLY.match(turn.text)):
        turn.say("nothing_to_edit")  # "nun hatau" or "edit" with no draft: nothing to change
        turn.move("unclear")
        return
    parsed = turn.parsed(await remembered(turn))
    if parsed.intent == "order":
        if turn.state in ("reviewing", "editing"):
            await _edit(turn, parsed)
        else:
            _start(turn)
            _merge(turn, parsed, mode="add")
            await _next(turn)
        return
    if turn.state in ("reviewing", "editing"):
        turn.say("draft_hint")
    elif parsed.intent == "greeting":  # "namaste": greeted back, with what they can say
        turn.say("help", role="RETAILER", name=turn.user.name)
        turn.move("help")
        return
    else:
        turn.say("not_understood", text=turn.text[:80])
    turn.move("unclear")


async def _tapped(turn: Turn) -> None:
    """Buttons and list rows: order:confirm|edit|cancel:<id>, pick:<sku>, lang:…, help."""
    if await language.handle(turn):
        return
    kind, _, rest = turn.choice.partition(":")
    if kind == "pick" and turn.state == "resolving":
        await _answer(turn, sku=rest)
        return
    if kind == "order":
        action, _, ref = rest.partition(":")
        current = turn.data.get("order_id")
        if action == "cancel" and current is None and turn.state == "idle":
            turn.say("nothing_to_cancel")
            turn.move("cancel")
            return
        if str(current) != ref or turn.state not in ("reviewing", "editing"):
            turn.say("stale_button")
            turn.move("unclear")
            return
        if action == "confirm":
            await _confirm(turn)
        elif action == "edit":
            turn.say("edit_prompt")
            turn.move("edit")
        elif action == "cancel":
            await _cancel(turn)
        return
    if turn.wants_help():
        turn.say("help", role="RETAILER", name=turn.user.name)
        turn.move("help")
        return
    turn.say("stale_button")
    turn.move("unclear")


# -- the draft -----------------------------------------------------------------------------------

def _start(turn: Turn) -> None:
    """A fresh draft (the ledger's old one, if any, is cancelled by the caller)."""
    turn.data.clear()
    turn.data.update(lines=[], questions=[], unknown=[], order_id=None)


def _lines(turn: Turn) -> list[dict[str, Any]]:
    return list(turn.data.setdefault("lines", []))


def _merge(turn: Turn, parsed: ParseResult, mode: str) -> None:
    """Fold parsed items into the draft: "add" sums quantities, "set" replaces them, "remove"
    drops the products named."""
    lines = _lines(turn)
    questions = list(turn.data.setdefault("questions", []))
    unknown: list[str] = []
    by_sku = {line["sku"]: line for line in lines}
    if mode == "remove":
        named = {item.sku for item in parsed.items}
        for ambiguity in parsed.ambiguous:
            named.update(ambiguity.candidates)
        lines = [line for line in lines if line["sku"] not in named]
        questions = [q for q in questions if not set(q["candidates"]) & named]
        turn.data.update(lines=lines, questions=questions, unknown=list(parsed.unknown))
        return
    for item in parsed.items:
        milli = to_milli(item.quantity)
        unit = present.typed_unit(turn.parser, item.text)
        if item.sku in by_sku:
            line = by_sku[item.sku]
            line["milli"] = line["milli"] + milli if mode == "add" else milli
            line["unit"] = unit or line["unit"]
        elif len(lines) < MAX_LINES:
            line = {"sku": item.sku, "milli": milli, "unit": unit}
            lines.append(line)
            by_sku[item.sku] = line
    for ambiguity in parsed.ambiguous:
        if len(questions) < MAX_QUESTIONS:
            questions.append({
                "text": ambiguity.text,
                "quantity": None if ambiguity.quantity is None else str(ambiguity.quantity),
                "unit": ambiguity.unit, "candidates": list(ambiguity.candidates[:10]),
                "reason": ambiguity.reason,
            })
    unknown.extend(parsed.unknown[:MAX_UNKNOWN])
    turn.data.update(lines=lines, questions=questions, unknown=unknown)


async def _next(turn: Turn) -> None:
    """Ask the next open question, or price and show the draft."""
    questions = turn.data.get("questions") or []
    if questions:
        _ask(turn, questions[0])
        turn.move("ask")
        return
    lines = _lines(turn)
    if not lines:
        await _drop_ledger_draft(turn)
        turn.say("draft_empty", unknown=turn.data.get("unknown") or [])
        turn.data.clear()
        turn.move("empty")
        return
    requests = [LineRequest(line["sku"], line["milli"], line["unit"]) for line in lines]
    order_id = turn.data.get("order_id")
    try:
        if order_id is not None:
            try:
                order = await orders.replace_draft_lines(turn.conn, order_id, turn.user, requests)
            except (IllegalTransition, OrderNotFound, LedgerError) as error:
                if isinstance(error, (IllegalTransition, OrderNotFound)) or error.key in (
                        "order.not_editable",):
                    order_id = None
                else:
                    raise
        if order_id is None:
            order = await orders.create_draft(turn.conn, turn.user, requests,
                                              request_key=f"inbound:{turn.event.inbound_id}")
    except LedgerError as error:
        turn.say("error", key=error.key, params=error.params)
        turn.move("unclear")
        return
    turn.data["order_id"] = order.id
    await _show(turn, order, requests)
    turn.move("show")


async def _show(turn: Turn, order: Any, requests: list[LineRequest]) -> None:
    position = await credit.position(turn.conn, turn.user.id)
    left = position.available_paisa - order.total_paisa
    # A draft has no vendor yet; the quote names who would get it (and priced it).
    vendor = order.vendor_name or (await pricing.quote(turn.conn, requests)).vendor_name
    lines = present.lines(turn.parser, order.lines)
    if len(lines) > present.LINES_WITH_BUTTONS:  # too long to sit above the buttons
        turn.say("order_lines", number=None, lines=lines)
    turn.say("draft", order=order, count=len(lines), vendor=vendor,
             lines=lines if len(lines) <= present.LINES_WITH_BUTTONS else [],
             unknown=turn.data.get("unknown") or [], position=position, left_paisa=left,
             buttons=(Button(f"order:confirm:{order.id}", "Confirm"),
                      Button(f"order:edit:{order.id}", "Edit"),
                      Button(f"order:cancel:{order.id}", "Cancel")))


def _ask(turn: Turn, question: dict[str, Any]) -> None:
    products = turn.parser.products
    if question["reason"] == "unit":
        product = products.get(question["candidates"][0])
        turn.say("ask_quantity", text=question["text"], quantity=question["quantity"],
                 unit=question["unit"], name_en=product.name_en if product else "",
                 name_ne=product.name_ne if product else "",
                 base_unit=product.unit if product else "")
        return
    choices = []
    for sku in question["candidates"][:10]:
        product = products.get(sku)
        if product is not None:
            choices.append(product)
    ne = turn.user.language == "ne"
    # Full names: the channel cuts a long one with "…" rather than mid-word without a sign.
    rows = [Row(f"pick:{p.sku}", p.name_ne if ne else p.name_en,
                p.name_en if ne else p.name_ne) for p in choices]
    turn.say("ask_choice", text=question["text"], quantity=question["quantity"],
             unit=question["unit"], choices=choices, unknown=turn.data.get("unknown") or [],
             remaining=len(turn.data.get("questions") or []) - 1, rows=rows)


async def _answer(turn: Turn, sku: str | None = None) -> None:
    """An answer to the open question: a tapped row, a number from the list, or a name."""
    questions = list(turn.data.get("questions") or [])
    if not questions:
        await _next(turn)
        return
    question = questions[0]
    product = None
    said: ParsedItem | None = None  # the answer's own item, when it names one with a quantity
    typed_unit = ""
    if question["reason"] == "unit":
        quantity = words.quantity(turn.text)
        product = turn.parser.products.get(question["candidates"][0])
        if quantity is None or product is None:
            _ask(turn, question)
            turn.move("ask")
            return
        base = quantity
    else:
        candidates = question["candidates"]
        if sku is None:
            sku, said = _chosen(turn, candidates)
        if sku is None and not turn.choice:
            if _REMOVE.search(turn.text):  # "nun hatau" while we ask: drop it, then go on
                named = turn.parser.parse(_REMOVE.sub(" ", turn.text), await remembered(turn))
                _merge(turn, named, mode="remove")
                await _next(turn)
                return
            parsed = turn.parsed(await remembered(turn))
            if parsed.intent == "order" and parsed.items:  # more items while we ask: keep them
                _merge(turn, parsed, mode="add")
                await _next(turn)
                return
        if sku is None or sku not in candidates:
            turn.say("choose_from_list")
            _ask(turn, question)
            turn.move("ask")
            return
        product = turn.parser.products.get(sku)
        if product is None:
            turn.say("choose_from_list")
            _ask(turn, question)
            turn.move("ask")
            return
        await _remember(turn, question["text"], sku)
        if said is not None:  # "basmati 20 bora" answers which rice and how much: 20 bora
            question.update(quantity=str(said.quantity), unit=None)
            typed_unit = present.typed_unit(turn.parser, said.text)
        stated = Quantity(None if question["quantity"] is None else Decimal(question["quantity"]),
                          question["unit"])
        converted = turn.parser.vocabulary.to_base(product, stated)
        if converted is None:  # "2 dabba" of a rice sold by the kg: ask in its base unit
            question.update(reason="unit", candidates=[sku])
            questions[0] = question
            turn.data["questions"] = questions
            _ask(turn, question)
            turn.move("ask")
            return
        base = converted
    questions.pop(0)
    turn.data["questions"] = questions
    lines = _lines(turn)
    milli = to_milli(base)
    for line in lines:
        if line["sku"] == product.sku:
            line["milli"] += milli
            break
    else:
        unit = (question["unit"] or "") if question["reason"] != "unit" else ""  # "tel": none
        lines.append({"sku": product.sku, "milli": milli,
                      "unit": typed_unit if said is not None else unit})
    turn.data["lines"] = lines
    await _next(turn)


def _chosen(turn: Turn, candidates: list[str]) -> tuple[str | None, ParsedItem | None]:
    """"2", "२" or a name among the candidates; with the item when the name came with its own
    quantity ("basmati 20 bora")."""
    text = words.ascii_digits(turn.text).strip(" .)")
    if text.isdigit():
        index = int(text) - 1
        return (candidates[index] if 0 <= index < len(candidates) else None), None
    parsed = turn.parser.parse(turn.text)
    for item in parsed.items:
        if item.sku in candidates:
            return item.sku, (item if item.quantity_stated else None)
    for ambiguity in parsed.ambiguous:
        inside = [c for c in ambiguity.candidates if c in candidates]
        if len(inside) == 1:
            return inside[0], None
    return None, None


async def _edit(turn: Turn, parsed: ParseResult) -> None:
    """"chini 1 bora thap" adds, "nun hatau" removes, "chini 2 bora" sets the quantity."""
    text = turn.text
    if _REMOVE.search(text):
        mode, text = "remove", _REMOVE.sub(" ", text)
    elif _ADD.search(text):
        mode, text = "add", _ADD.sub(" ", text)
    else:
        mode = "set"
    parsed = turn.parser.parse(text, await remembered(turn))
    if not (parsed.items or parsed.ambiguous):
        turn.say("draft_hint")
        turn.move("unclear")
        return
    _merge(turn, parsed, mode)
    await _next(turn)


async def _confirm(turn: Turn) -> None:
    order_id = turn.data.get("order_id")
    if order_id is None:
        turn.say("nothing_to_confirm")
        turn.move("unclear")
        return
    try:
        confirmation = await orders.confirm(turn.conn, order_id, turn.user,
                                            confirm_key=f"confirm:{order_id}")
    except OverCreditLimit as over:
        turn.say("over_limit", **over.params)
        turn.move("refused")
        return
    except (IllegalTransition, OrderNotFound):
        turn.say("draft_gone")
        turn.data.clear()
        turn.move("expire")
        return
    except LedgerError as error:
        turn.say("error", key=error.key, params=error.params)
        turn.move("refused")
        return
    order = confirmation.order
    outcome = confirmation.outcome
    turn.say("order_placed", order=order, outcome=outcome.kind if outcome else "")
    turn.data.clear()
    turn.move("confirm")
    if outcome is not None:
        turn.replies.extend(await notify.outcome(turn.conn, turn.parser, outcome,
                                                 tell_retailer=False))


async def _cancel(turn: Turn) -> None:
    if turn.state == "idle":
        turn.say("nothing_to_cancel")
    else:
        await _drop_ledger_draft(turn)
        turn.say("cancelled")
    turn.data.clear()
    turn.move("cancel")


async def _drop_ledger_draft(turn: Turn) -> None:
    order_id = turn.data.get("order_id")
    if order_id is None:
        return
    with contextlib.suppress(LedgerError):  # already expired or gone: nothing to undo
        await orders.cancel(turn.conn, order_id, turn.user, "retailer cancelled the draft")
    turn.data["order_id"] = None


async def _cancel_order(turn: Turn, number: str) -> None:
    """"cancel KH-000123": a confirmed order, before a vendor accepted it."""
    try:
        before = await orders.get(turn.conn, number)
        if before.retailer_id != turn.user.id:
            raise OrderNotFound(order=number)
        order = await orders.cancel(turn.conn, number, turn.user, "retailer cancelled")
    except LedgerError as error:
        turn.say("error", key=error.key, params={**error.params, "order": number})
        turn.move("query")
        return
    turn.say("order_cancelled", order=order)
    if before.vendor_id is not None:
        turn.tell(before.vendor_id, "vendor_order_cancelled", order=order)
    turn.move("query")


async def _repeat(turn: Turn) -> None:
    """"pahile jastai": the last order again, as a new draft."""
    last = turn.data.get("last_order") if turn.state == "idle" else None
    order = None
    for summary in await reports.history(turn.conn, turn.user.id, limit=10):
        if summary.status not in ("DRAFT", "CANCELLED") or summary.id == last:
            order = await orders.get(turn.conn, summary.id)
            break
    if order is None:
        turn.say("no_last_order")
        turn.move("unclear")
        return
    await _drop_ledger_draft(turn)
    _start(turn)
    turn.data["lines"] = [{"sku": line.sku, "milli": line.quantity_milli, "unit": line.unit_text}
                          for line in order.lines]
    await _next(turn)


# -- remembered words ----------------------------------------------------------------------------

async def remembered(turn: Turn) -> dict[str, str]:
    rows = await turn.conn.fetch(
        "SELECT phrase, sku FROM remembered_choices WHERE retailer_id = $1 LIMIT $2",
        turn.user.id, MAX_REMEMBERED)
    return {r["phrase"]: r["sku"] for r in rows}


async def _remember(turn: Turn, phrase: str, sku: str) -> None:
    phrase = " ".join(phrase.lower().split())[:100]
    if phrase:
        await turn.conn.execute(
            """INSERT INTO remembered_choices (retailer_id, phrase, sku) VALUES ($1, $2, $3)
               ON CONFLICT (retailer_id, phrase) DO UPDATE SET sku = EXCLUDED.sku,
                   chosen_at = now()""",
            turn.user.id, phrase, sku)


# -- questions -----------------------------------------------------------------------------------

async def _status(turn: Turn) -> None:
    found = await reports.open_orders(turn.conn, retailer_id=turn.user.id)
    turn.say("status", orders=found[:OPEN_ORDERS_SHOWN],
             more=max(0, len(found) - OPEN_ORDERS_SHOWN))


async def _dues(turn: Turn) -> None:
    balances = await reports.balances(turn.conn, turn.user.id)
    position = await credit.position(turn.conn, turn.user.id)
    turn.say("dues", balances=balances, position=position)


async def _history(turn: Turn) -> None:
    found = await reports.history(turn.conn, turn.user.id, limit=5)
    turn.say("history", orders=found)
