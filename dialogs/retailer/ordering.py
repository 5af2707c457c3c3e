"""A retailer's order: from the first message to the priced draft, its questions and edits, and
its confirmation. The draft's lines are the ledger's DRAFT order; this module reads them, applies
the rules of `draft.py` and writes them back through the order service."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from catalog.model import ParsedItem, ParseResult, Product
from catalog.parser import plausible
from catalog.quantity import Quantity
from dialogs import buttons, notify, present, words
from dialogs.retailer import answers
from dialogs.retailer.draft import Asking, Mode, Question, add_answer, merge, remove, revision
from dialogs.turn import Turn
from ledger import choices, credit, orders, pricing, reports, users
from ledger.errors import (
    IllegalTransition,
    LedgerError,
    NotYourOrder,
    NoVendorCanFill,
    OrderNotEditable,
    OrderNotFound,
    OverCreditLimit,
)
from ledger.lifecycle import NEVER_PLACED
from ledger.order_repo import Order
from ledger.pricing import LineRequest, Quote, to_milli
from locales.replies import Button, Row


def asking(turn: Turn) -> Asking:
    return Asking.from_json(turn.data)


def keep(turn: Turn, state: Asking) -> None:
    told = turn.data.get("admins_told")
    turn.data.clear()
    turn.data.update(state.to_json())
    if told is not None and told == state.order_id:  # still the draft admins were told about
        turn.data["admins_told"] = told


def forget(turn: Turn) -> None:
    turn.data.clear()


# -- the draft in the ledger ---------------------------------------------------------------------

async def current_draft(turn: Turn, state: Asking) -> Order | None:
    """The DRAFT order the conversation points at, if it is still this retailer's draft."""
    if state.order_id is None:
        return None
    with contextlib.suppress(OrderNotFound):
        order = await orders.get(turn.conn, state.order_id)
        if order.status == "DRAFT" and order.retailer_id == turn.user.id:
            return order
    return None


def _requests(order: Order | None) -> list[LineRequest]:
    if order is None:
        return []
    return [LineRequest(line.sku, line.quantity_milli, line.unit_text) for line in order.lines]


async def _write(turn: Turn, state: Asking, lines: list[LineRequest]) -> None:
    """Make the ledger's draft hold `lines` (created, replaced or cancelled), then the next
    step; or tell the retailer why it could not be done."""
    order = None
    try:
        if lines:
            order = await _draft_holding(turn, state, lines)
        else:
            await drop_draft(turn, state)
    except LedgerError as error:
        turn.refuse(error)
        turn.move("unclear")
        return
    # The order as written is the draft: the next step need not read it again.
    order_id = None if order is None else order.id
    await next_step(turn, Asking(order_id, state.questions, state.unknown), order)


async def _draft_holding(turn: Turn, state: Asking, lines: list[LineRequest]) -> Order:
    if state.order_id is not None:
        try:
            return await orders.replace_draft_lines(turn.conn, state.order_id, turn.user, lines)
        except (IllegalTransition, OrderNotFound, OrderNotEditable):
            pass  # confirmed or expired meanwhile: this is a new draft
    return await orders.create_draft(turn.conn, turn.user, lines,
                                     request_key=f"inbound:{turn.event.inbound_id}")


async def drop_draft(turn: Turn, state: Asking) -> None:
    if state.order_id is None:
        return
    with contextlib.suppress(LedgerError):  # already expired or gone: nothing to undo
        await orders.cancel(turn.conn, state.order_id, turn.user, "retailer cancelled the draft")


def _milli(quantity: Decimal) -> int | None:
    """A quantity in milli base units, or None when it is finer than that ("1.2345 kg")."""
    try:
        return to_milli(quantity)
    except LedgerError:
        return None


def _items(turn: Turn, parsed: ParseResult) -> tuple[list[LineRequest], list[Question]]:
    """The lines a message orders, and a "how many?" question for each quantity that cannot be
    ordered as written (finer than a gram or a millilitre). Implausible quantities are asked
    about by `_questions`."""
    lines, unclear = [], []
    for item in parsed.items:
        if not plausible(item.quantity):
            continue
        milli = _milli(item.quantity)
        if milli is None:
            unclear.append(Question(item.text, str(item.quantity), None, (item.sku,), "quantity"))
        else:
            lines.append(LineRequest(item.sku, milli, present.typed_unit(turn.parser, item.text)))
    return lines, unclear


def _questions(parsed: ParseResult) -> list[Question]:
    """A question per vague word, and per quantity no shop orders ("chini 500 bora")."""
    return [Question(a.text, None if a.quantity is None else str(a.quantity), a.unit,
                     tuple(a.candidates), a.reason)
            for a in parsed.ambiguous] + [
        Question(item.text, str(item.quantity), item.unit, (item.sku,), "quantity")
        for item in parsed.items if not plausible(item.quantity)]


async def _fold(turn: Turn, state: Asking, parsed: ParseResult, mode: Mode) -> None:
    """Items and questions of a message into the draft, then the next step."""
    items, unclear = _items(turn, parsed)
    lines = merge(_requests(await current_draft(turn, state)), items, mode)
    state = Asking(state.order_id, state.questions, tuple(parsed.unknown)).asked(
        [*_questions(parsed), *unclear])
    await _write(turn, state, lines)


async def next_step(turn: Turn, state: Asking, draft: Order | None = None) -> None:
    """Ask the next open question, or show the priced draft (or say nothing is left).
    `draft`: the draft `state` points at, when the caller has just written it."""
    if state.questions:
        keep(turn, state)
        await ask(turn, state, draft)
        turn.move("ask")
        return
    order = draft or await current_draft(turn, state)
    if order is None or not order.lines:
        await drop_draft(turn, state)
        turn.say("draft_empty", unknown=list(state.unknown))
        forget(turn)
        turn.move("empty")
        return
    keep(turn, Asking(order.id, (), state.unknown))
    await show(turn, order, state)
    turn.move("show")


async def show(turn: Turn, order: Order, state: Asking) -> None:
    """The draft with its lines, total, vendor and credit left, and Confirm / Edit / Cancel."""
    position = await credit.position(turn.conn, turn.user.id)
    left = position.available_paisa - order.total_paisa
    # A draft has no vendor yet; the quote names who would get it (and priced it), or what
    # nobody has enough of: such a draft cannot be confirmed, only changed. A draft just
    # written comes with the quote that priced it.
    quote = order.priced_by or await pricing.quote(turn.conn, _requests(order))
    lines = present.lines(turn.parser, order.lines)
    long = len(lines) > present.LINES_WITH_BUTTONS  # too long to sit above the buttons
    if long:
        turn.say("order_lines", number=None, lines=lines)
    ref = f"{order.number}@{draft_revision(order)}"
    choices: tuple[Button, ...]
    if quote.fillable:
        choices = (buttons.button("order", "confirm", ref, "Confirm"),
                   buttons.button("order", "edit", ref, "Edit"))
    elif quote.shortfalls:
        choices = (*((buttons.button("order", "take", ref, "Take available"),)
                     if any(s.available_milli for s in quote.shortfalls) else ()),
                   buttons.button("order", "drop", ref, "Drop these"))
    else:
        choices = (buttons.button("order", "edit", ref, "Edit"),)
    turn.say("draft", order=order, count=len(lines), vendor=quote.vendor_name,
             lines=[] if long else lines, unknown=list(state.unknown), position=position,
             left_paisa=left, fillable=quote.fillable,
             shortfalls=[_shortfall(turn, s) for s in quote.shortfalls],
             buttons=(*choices, buttons.button("order", "cancel", ref, "Cancel")))


def _shortfall(turn: Turn, short: pricing.Shortfall) -> dict[str, object]:
    product = turn.parser.products.get(short.sku)
    return {"name_en": product.name_en if product else short.sku,
            "name_ne": product.name_ne if product else short.sku,
            "unit": product.unit if product else "",
            "wanted": Decimal(short.wanted_milli) / 1000,
            "available": Decimal(short.available_milli) / 1000}


def draft_revision(order: Order) -> str:
    return revision(((line.sku, line.quantity_milli, line.unit_text) for line in order.lines),
                    order.total_paisa)


async def ask(turn: Turn, state: Asking, draft: Order | None = None) -> None:
    """The first open question: which product, with a list to tap; or how much, in base units
    (the unit did not convert, or the quantity was zero or absurd)."""
    question = state.questions[0]
    products = turn.parser.products
    if question.reason != "generic":
        product = products.get(question.candidates[0])
        turn.say("ask_quantity" if question.reason == "unit" else "ask_how_many",
                 text=question.text, quantity=question.quantity,
                 unit=question.unit, name_en=product.name_en if product else "",
                 name_ne=product.name_ne if product else "",
                 base_unit=product.unit if product else "")
        return
    found = [products[sku] for sku in question.candidates if sku in products]
    ne = turn.user.language == "ne"
    # Full names: the channel cuts a long one with "…" rather than mid-word without a sign.
    rows = [Row(buttons.make("product", "pick", p.sku), p.name_ne if ne else p.name_en,
                p.name_en if ne else p.name_ne) for p in found]
    prices = await _choice_prices(turn, state, question, found, draft)
    choices = [{"name_en": p.name_en, "name_ne": p.name_ne, "unit": p.unit,
                "price_paisa": prices[p.sku]} for p in found]
    turn.say("ask_choice", text=question.text, quantity=question.quantity, unit=question.unit,
             choices=choices, unknown=list(state.unknown), remaining=len(state.questions) - 1,
             rows=rows)


async def _choice_prices(turn: Turn, state: Asking, question: Question,
                         found: list[Product], draft: Order | None) -> dict[str, int]:
    """Each candidate's price per base unit as the draft would charge it if chosen: the draft's
    lines plus this one, priced the way every draft is (what is shown is what is charged)."""
    lines = _requests(draft or await current_draft(turn, state))
    added = []
    for product in found:
        stated = Quantity(None if question.quantity is None else Decimal(question.quantity),
                          question.unit)
        base = turn.parser.vocabulary.to_base(product, stated) if question.quantity else None
        added.append([*lines, LineRequest(product.sku, to_milli(base) if base else 1000)])
    prices = {}
    for product, priced in zip(found, await pricing.quotes(turn.conn, added), strict=True):
        if isinstance(priced, Quote):
            prices[product.sku] = next(line.unit_price_paisa for line in priced.lines
                                       if line.sku == product.sku)
        else:  # an absurd quantity, say: the catalog's price, as the draft would
            prices[product.sku] = product.price_paisa
    return prices


# -- handlers ------------------------------------------------------------------------------------

async def start(turn: Turn) -> None:
    """An order: a new draft, with a question per vague word, then the priced draft."""
    await _fold(turn, Asking(), turn.parsed(), "add")


async def edit(turn: Turn) -> None:
    """"chini 1 bora thap" adds, "nun hatau" removes, "chini 2 bora" sets the quantity."""
    mode, text = answers.edit_mode(turn.text)
    parsed = turn.parse(text)
    if not (parsed.items or parsed.ambiguous):
        turn.say("draft_hint")
        turn.move("unclear")
        return
    state = asking(turn)
    if mode == "remove":
        await _remove(turn, state, parsed)
    else:
        await _fold(turn, state, parsed, mode)


async def _remove(turn: Turn, state: Asking, parsed: ParseResult) -> None:
    lines, state = remove(_requests(await current_draft(turn, state)), state,
                          answers.named_skus(parsed))
    await _write(turn, Asking(state.order_id, state.questions, tuple(parsed.unknown)), lines)


async def answer(turn: Turn) -> None:
    """An answer to the open question: a tapped row, a number from the list, or a name."""
    state = asking(turn)
    if not state.questions:
        await next_step(turn, state)
        return
    tap = turn.tap
    if tap is None and state.questions[0].reason == "generic":
        sku, said = answers.chosen(turn.text, state.questions[0].candidates, turn.parse)
        if sku is None and answers.asks_removal(turn.text):  # "nun hatau" while we ask
            await _remove(turn, state, turn.parse(answers.REMOVE.sub(" ", turn.text)))
            return
        parsed = turn.parsed()
        if sku is None and parsed.intent == "order" and parsed.items:  # more items meanwhile
            await _fold(turn, state, parsed, "add")
            return
    else:
        sku, said = (tap.ref if tap is not None else None), None
    await _answer_with(turn, state, sku, said)


async def _answer_with(turn: Turn, state: Asking, sku: str | None,
                       said: ParsedItem | None) -> None:
    question = state.questions[0]
    if question.reason != "generic":
        quantity = words.quantity(turn.text)
        product = turn.parser.products.get(question.candidates[0])
        milli = _milli(quantity) if quantity is not None else None
        if milli is None or product is None:
            await ask(turn, state)
            turn.move("ask")
            return
        item = LineRequest(product.sku, milli, "")
    else:
        product = turn.parser.products.get(sku) if sku in question.candidates else None
        if product is None:
            turn.say("choose_from_list")
            await ask(turn, state)
            turn.move("ask")
            return
        await choices.remember(turn.conn, turn.user.id, question.text, product.sku)
        unit_text = question.unit or ""
        if said is not None:  # "basmati 20 bora" answers which rice and how much: 20 bora
            question = Question(question.text, str(said.quantity), None, question.candidates)
            unit_text = present.typed_unit(turn.parser, said.text)
        stated = Quantity(None if question.quantity is None else Decimal(question.quantity),
                          question.unit)
        converted = turn.parser.vocabulary.to_base(product, stated)
        if converted is None or not plausible(converted) or _milli(converted) is None:
            # "2 dabba" of a rice sold by the kg, or "0 bora": ask how much, in its base unit
            state = Asking(state.order_id, (Question(question.text, question.quantity,
                                                     question.unit, (product.sku,),
                                                     "unit" if converted is None else "quantity"),
                                            *state.questions[1:]), state.unknown)
            keep(turn, state)
            await ask(turn, state)
            turn.move("ask")
            return
        item = LineRequest(product.sku, to_milli(converted), unit_text)
    lines = add_answer(_requests(await current_draft(turn, state)), item)
    await _write(turn, state.answered(), lines)


async def tapped(turn: Turn) -> None:
    """Confirm, Edit or Cancel tapped under a draft: done if it is the draft shown, "already
    done" if it was done before, "older message" otherwise."""
    tap = turn.tap
    assert tap is not None
    number, _, shown = tap.ref.partition("@")
    state = asking(turn)
    try:
        order = await orders.visible(turn.conn, int(number) if number.isdigit() else number,
                                     turn.user)
    except (OrderNotFound, NotYourOrder):
        _stale(turn)
        return
    if order.status != "DRAFT":
        if tap.action == "confirm" and order.confirmed_at is not None:
            turn.say("already_done", action="confirm", number=order.number, status=order.status)
        elif tap.action == "cancel" and order.status == "CANCELLED":
            turn.say("already_done", action="cancel", number=order.number, status=order.status)
        else:
            _stale(turn)
            return
        turn.move("query")
        return
    if (order.id != state.order_id or turn.state not in ("reviewing", "editing")
            or (shown and shown != draft_revision(order))):
        _stale(turn)
        return
    if tap.action == "confirm":
        await confirm(turn)
    elif tap.action in ("take", "drop"):
        await _settle_shortfalls(turn, state, order, take=tap.action == "take")
    elif tap.action == "edit":
        turn.say("edit_prompt")
        turn.move("edit")
    else:
        await cancel(turn)


async def _settle_shortfalls(turn: Turn, state: Asking, order: Order, *, take: bool) -> None:
    """"Take available" sets each short line to what one vendor has; "Drop these" removes
    them. Then the draft again."""
    short = {s.sku: s for s in (await pricing.quote(turn.conn, _requests(order))).shortfalls}
    lines = []
    for line in _requests(order):
        if line.sku not in short:
            lines.append(line)
        elif take and short[line.sku].available_milli > 0:
            lines.append(LineRequest(line.sku, short[line.sku].available_milli, line.unit_text))
    await _write(turn, state, lines)


def _stale(turn: Turn) -> None:
    turn.say("stale_button")
    turn.move("unclear")


async def confirm(turn: Turn) -> None:
    """Confirmed: the order number, and the order goes to a vendor."""
    state = asking(turn)
    if state.order_id is None:
        turn.say("nothing_to_confirm")
        turn.move("unclear")
        return
    try:
        confirmation = await orders.confirm(turn.conn, state.order_id, turn.user,
                                            confirm_key=f"confirm:{state.order_id}")
    except NoVendorCanFill:  # stock went meanwhile: the draft again, with what is short
        order = await current_draft(turn, state)
        if order is not None:
            await show(turn, order, state)
        turn.move("refused")
        return
    except OverCreditLimit as over:
        position = await credit.position(turn.conn, turn.user.id, excluding_order=state.order_id)
        order = await current_draft(turn, state)
        turn.say("over_limit", **over.params, balance_paisa=position.balance_paisa,
                 unbilled_paisa=position.unbilled_paisa)
        if order is not None and turn.data.get("admins_told") != order.id:
            turn.data["admins_told"] = order.id  # once per draft, however often it is retried
            for admin_id in await users.staff_ids(turn.conn, roles=("ADMIN",)):
                turn.tell(admin_id, "staff_over_limit", order=order, shop=turn.user.name,
                          **over.params)
        turn.move("refused")
        return
    except (IllegalTransition, OrderNotFound):
        turn.say("draft_gone")
        forget(turn)
        turn.move("expire")
        return
    except LedgerError as error:
        turn.refuse(error)
        turn.move("refused")
        return
    outcome = confirmation.outcome
    turn.say("order_placed", order=confirmation.order, outcome=outcome.kind if outcome else "")
    forget(turn)
    turn.move("confirm")
    if outcome is not None:
        turn.replies.extend(await notify.outcome(turn.conn, turn.parser, outcome,
                                                 tell_retailer=False))


async def cancel(turn: Turn) -> None:
    """Cancel the draft (there is nothing to cancel when idle); a bare "no" on a draft asks
    whether to change it or cancel it, and to "which one?" means none of those."""
    order = None
    soft = turn.tap is None and not answers.says_cancel(turn.text)
    state = asking(turn)
    if soft and turn.state == "resolving" and state.questions:
        turn.say("choose_from_list", none_fit=True)  # name another, or "cancel" drops the order
        await ask(turn, state)
        turn.move("ask")
        return
    if soft and turn.state in ("reviewing", "editing"):
        order = await current_draft(turn, state)
    if order is not None:
        ref = f"{order.number}@{draft_revision(order)}"
        turn.say("change_or_cancel", buttons=(buttons.button("order", "edit", ref, "Edit"),
                                              buttons.button("order", "cancel", ref, "Cancel")))
        turn.move("query")
        return
    if turn.state == "idle":
        turn.say("nothing_to_cancel", retailer=True)
    else:
        await drop_draft(turn, asking(turn))
        turn.say("cancelled")
    forget(turn)
    turn.move("cancel")


async def repeat(turn: Turn) -> None:
    """"pahile jastai": the last placed order again, as a new draft."""
    order = None
    for summary in await reports.history(turn.conn, turn.user.id, actor=turn.user, limit=10):
        if summary.status not in NEVER_PLACED:
            order = await orders.get(turn.conn, summary.id)
            break
    if order is None:
        turn.say("no_last_order")
        turn.move("unclear")
        return
    await drop_draft(turn, asking(turn))
    await _write(turn, Asking(), _requests(order))
