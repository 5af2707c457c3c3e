"""Realistic contexts for every message template, one per branch worth reading: the words tests
render each template with in both languages. A new template needs its samples here (a test says
which are missing), so that it is read once as a reply, not only compiled.

Objects are plain dicts: jinja2 reads `order.number` from a dict as from an attribute.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

Context = dict[str, Any]

_AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
_DUE = datetime(2027, 1, 1, 6, 0, tzinfo=UTC)


def _line(name_en: str, name_ne: str, count: str | None, unit: str, base: str, base_unit: str,
          price_paisa: int) -> Context:
    total = int(Decimal(base) * price_paisa)
    return {"name_en": name_en, "name_ne": name_ne,
            "count": None if count is None else Decimal(count), "unit": unit,
            "base": Decimal(base), "base_unit": base_unit, "price_paisa": price_paisa,
            "total_paisa": total}


LINES = [
    _line("Sugar", "चिनी", "2", "bora", "100", "kg", 11032),
    _line("Iodized Salt 1kg", "आयोडिनयुक्त नुन", None, "packet", "10", "packet", 2955),
    _line("Wai Wai Noodles Chicken", "वाइवाइ चाउचाउ चिकेन", "1", "carton", "30", "packet", 2462),
    _line("Mustard Oil", "तोरीको तेल", None, "l", "5", "l", 32997),
    _line("Eggs", "अण्डा", "2", "crate", "60", "piece", 1576),
    _line("Lux Soap", "लक्स साबुन", None, "piece", "1", "piece", 5910),
    _line("Matchbox (Salai)", "सलाई", None, "bundle", "1.5", "bundle", 985),
]
ORDER = {"number": "KH-000123", "total_paisa": 2_314_75, "vendor_name": "Karnali Wholesale",
         "due_at": _DUE, "outstanding_paisa": 1_314_75}
POSITION = {"limit_paisa": 200_000_00, "available_paisa": 1_97_685_25,
            "unbilled_paisa": 5_516_00, "exposure_paisa": 2_314_75, "balance_paisa": 2_314_75}
RICE = [{"name_en": "Sona Mansuli Rice", "name_ne": "सोना मन्सुली चामल", "price_paisa": 9500,
         "unit": "kg", "aliases": ["sona"]},
        {"name_en": "Basmati Rice", "name_ne": "बासमती चामल", "price_paisa": 18500, "unit": "kg",
         "aliases": ["basmati"]}]
STATUSES = ["PENDING", "VENDOR_ASSIGNED", "ACCEPTED", "DISPATCHED", "DELIVERED", "COMPLETED",
            "CANCELLED", "REJECTED"]


SCORE_CARD = {
    "score": 684, "band": "B", "meaning": "low risk", "meaning_ne": "कम जोखिम",
    "reason": "", "reason_ne": "",
    "factors": [
        {"points": -40, "en": "Rs 4,500 overdue now, the oldest 12 days past due",
         "ne": "अहिले रु ४,५०० भाखा नाघेको, सबैभन्दा पुरानो १२ दिन"},
        {"points": 24, "en": "Paid 92% of bills on time in the last 3 months",
         "ne": "पछिल्लो ३ महिनामा ९२% बिल समयमै तिर्नुभयो"},
        {"points": 15, "en": "Buying on credit through Khaacho for 14 months",
         "ne": "खाचोमार्फत १४ महिनादेखि उधारो किनमेल"},
    ],
    "improvements": [
        {"en": "Pay the Rs 4,500 overdue", "ne": "भाखा नाघेको रु ४,५०० तिर्नुहोस्"},
        {"en": "Pay each bill by its due date", "ne": "हरेक बिल भाखाभित्रै तिर्नुहोस्"},
    ],
}
THIN_CARD = {
    "score": None, "band": None, "meaning": "", "meaning_ne": "",
    "reason": "Only 3 billed orders; a score needs 5",
    "reason_ne": "३ बिल मात्र; स्कोरका लागि ५ बिल चाहिन्छ", "factors": [], "improvements": [],
}
PAY = [{"method": "esewa", "details": "9810000001"},
       {"method": "bank", "details": "NIC Asia 0123456789 Bheri Traders"}]
_BILL = {"number": "KH-000123", "outstanding_paisa": 2_314_75, "due_at": _DUE}
REMINDER_VENDORS = [
    {"vendor_name": "Bheri Traders", "total_paisa": 14_314_75, "overdue_paisa": 12_000_00,
     "bills": [{**_BILL, "days": 8}, {**_BILL, "number": "KH-000130", "days": 1},
               {**_BILL, "number": "KH-000131", "days": 0}], "more_bills": 2, "pay": PAY},
    {"vendor_name": "Karnali Wholesale", "total_paisa": 2_314_75, "overdue_paisa": 0,
     "bills": [{**_BILL, "days": -3}], "more_bills": 0, "pay": []},
]
CLAIM = {"ref": "C-000001", "vendor_name": "Bheri Traders", "shop_name": "Ram Kirana Pasal",
         "amount_paisa": 5_000_00, "method": "esewa", "media_id": None}
_DISPUTE = {"ref": "DS-000001", "shop_name": "Ram Kirana Pasal", "vendor_name": "Bheri Traders",
            "amount_paisa": 5_000_00, "claim_ref": "C-000001", "payment_ref": "P-000004",
            "order_number": "KH-000123", "reason": "", "note": "", "created_at": _AT}
DISPUTES = [{**_DISPUTE, "kind": "claim_not_received"},
            {**_DISPUTE, "kind": "payment_not_mine"},
            {**_DISPUTE, "kind": "order_problem", "reason": "missing", "note": "2 bora kam"},
            {**_DISPUTE, "kind": "order_problem", "reason": "other", "note": ""}]
AGEING = {"d0_30": 12_000_00, "d31_60": 2_314_75, "d61_90": 0, "d90_plus": 50_000,
          "total": 14_814_75}
STATEMENT = {
    "retailer": {"name": "Ram Kirana Pasal"}, "vendor": {"name": "Bheri Traders"},
    "end": date(2026, 12, 1), "opening_paisa": 12_500_00, "closing_paisa": 14_814_75,
    "lines": [{}, {}, {}], "debits_paisa": 3_314_75, "credits_paisa": 1_000_00,
    "ageing": {"d0_30": 3_314_75, "d31_60": 0, "d61_90": 11_500_00, "d90_plus": 0},
}


def _error(key: str, **params: Any) -> Context:
    return {"key": key, "params": params}


LIMIT_SUGGESTION = {
    "id": 12, "shop_name": "Ram Kirana Pasal", "name": "Ram Bahadur", "phone": "+9779820000001",
    "current_paisa": 20_000_00, "suggested_paisa": 36_000_00, "increase": True, "score": 712,
    "band": "B", "monthly_paisa": 36_450_00, "why": "purchases", "overdue_paisa": 0,
    "exposure_paisa": 12_300_00, "multiplier_percent": 100}

SAMPLES: dict[str, list[Context]] = {
    "admin_ask_reason": [{"name": "Hari Prasad", "amount_paisa": 50_000_00},
                         {"name": None, "amount_paisa": 0}],
    "admin_unknown": [{}],
    "admin_usage": [{"command": c}
                    for c in ("add", "limit", "override", "role", "statement", "score")],
    "already_done": [
        {"action": "confirm", "number": "KH-000123", "status": "VENDOR_ASSIGNED", "name": ""},
        {"action": "cancel", "number": "KH-000123", "status": "CANCELLED", "name": ""},
        {"action": "approve", "number": None, "status": "BLOCKED", "name": "Shyam Thapa"},
        {"action": "approve", "number": None, "status": "APPROVED", "name": "Shyam Thapa"},
        {"action": "block", "number": None, "status": "BLOCKED", "name": "Shyam Thapa"},
        {"action": "unblock", "number": None, "status": "APPROVED", "name": "Shyam Thapa"},
        {"action": "role", "number": None, "status": "VENDOR", "name": "Hari Prasad"},
        {"action": "add", "number": None, "status": "RETAILER", "name": "Sita Kumari"},
        {"action": "claim.confirm", "number": None, "status": "confirmed", "name": "C-000001"},
        {"action": "claim.reject", "number": None, "status": "rejected", "name": "C-000001"},
        {"action": "payment.dispute", "number": None, "status": "open", "name": "P-000004"},
        {"action": "payment.dispute", "number": None, "status": "REVERSED", "name": "P-000004"},
        {"action": "payment.acknowledge", "number": None, "status": "", "name": "P-000004"},
        {"action": "order.received", "number": None, "status": "DELIVERED", "name": "KH-000123"},
        {"action": "order.problem", "number": None, "status": "open", "name": "KH-000123"},
        {"action": "other", "number": None, "status": "", "name": ""},
    ],
    "ask_choice": [
        {"text": "chamal", "quantity": "2", "unit": "bora", "choices": RICE,
         "unknown": ["unicorn powder"]},
        {"text": "chamal", "quantity": "3", "unit": None, "choices": RICE, "unknown": []},
        {"text": "chamal", "quantity": None, "unit": None, "choices": RICE, "unknown": []},
    ],
    "ask_quantity": [
        {"text": "salai 2 packet", "quantity": "2", "unit": "packet", "name_en": "Matchbox (Salai)",
         "name_ne": "सलाई", "base_unit": "bundle"},
        {"text": "anda 1 box", "quantity": "1", "unit": "box", "name_en": "Eggs", "name_ne": "अण्डा",
         "base_unit": "piece"},
        {"text": "chini", "quantity": None, "unit": None, "name_en": "Sugar", "name_ne": "चिनी",
         "base_unit": "kg"},
    ],
    "cancelled": [{}, {"what": "question"}],
    "choose_from_list": [{}, {"none_fit": True}],
    "draft": [
        {"lines": LINES, "count": len(LINES), "order": ORDER, "vendor": "Karnali Wholesale",
         "left_paisa": 1_97_685_25, "unknown": ["kasto"], "fillable": True, "shortfalls": []},
        {"lines": [], "count": 12, "order": ORDER, "vendor": "Karnali Wholesale",
         "left_paisa": -2_000_00, "unknown": [], "fillable": True, "shortfalls": []},
        {"lines": LINES[:2], "count": 2, "order": ORDER, "vendor": None, "left_paisa": 0,
         "unknown": [], "fillable": False,
         "shortfalls": [{"name_en": "Sugar", "name_ne": "चिनी", "unit": "kg",
                         "wanted": Decimal(1000), "available": Decimal(500)}]},
        {"lines": LINES[:2], "count": 2, "order": ORDER, "vendor": None, "left_paisa": 0,
         "unknown": [], "fillable": False, "shortfalls": []},
    ],
    "change_or_cancel": [{}],
    "role_changed": [{"name": "Hari Prasad", "role": "VENDOR", "limit_paisa": None},
                     {"name": "Hari Prasad", "role": "RETAILER", "limit_paisa": 10_000_00},
                     {"name": "Om", "role": "OPERATOR", "limit_paisa": None}],
    "ask_how_many": [
        {"text": "chini 0 kg", "quantity": "0", "unit": "kg", "name_en": "Sugar", "name_ne": "चिनी",
         "base_unit": "kg"},
        {"text": "chini 500 bora", "quantity": "500", "unit": "bora", "name_en": "Sugar",
         "name_ne": "चिनी", "base_unit": "kg"}],
    "price_answer": [
        {"products": [{"name_en": "Sugar", "name_ne": "चिनी", "base_unit": "kg",
                       "unit_price_paisa": 11_032, "listed": False,
                       "pack": {"count": Decimal(1), "unit": "bora", "base": Decimal(50),
                                "total_paisa": 5_516_00, "in_stock": True},
                       "asked": {"count": Decimal(2), "unit": "bora", "base": Decimal(100),
                                 "total_paisa": 11_032_00, "in_stock": True},
                       "available": Decimal(500)},
                      {"name_en": "Ghee", "name_ne": "घिउ", "base_unit": "l",
                       "unit_price_paisa": 95_000, "listed": True, "pack": None, "asked": None,
                       "available": Decimal(0)}],
         "unknown": ["unicorn"], "draft_open": True},
        {"products": [], "unknown": [], "draft_open": False}],
    "draft_empty": [{"unknown": ["hoina"]}, {"unknown": []}],
    "draft_expired": [{}],
    "draft_gone": [{}],
    "draft_hint": [{}],
    "dues": [
        {"balances": {"vendors": [{"vendor_name": "Karnali Wholesale", "balance_paisa": 2_314_75,
                                   "overdue_paisa": 0},
                                  {"vendor_name": "Bheri Traders", "balance_paisa": 12_000_00,
                                   "overdue_paisa": 2_000_00}],
                      "total_paisa": 14_314_75, "overdue_paisa": 2_000_00, "next_due_at": _DUE},
         "position": POSITION},
        {"balances": {"vendors": [], "total_paisa": 0, "overdue_paisa": 0, "next_due_at": None},
         "position": {**POSITION, "unbilled_paisa": 0}},
    ],
    "edit_prompt": [{}],
    "error": [
        _error("credit.over_limit", over_by_paisa=6_032_00),
        _error("order.not_found", order="KH-000999"),
        _error("order.not_yours", order="KH-000999"),
        *[_error("order.illegal_transition", order="KH-000123", from_status=a, to_status=b)
          for a, b in (("ACCEPTED", "ACCEPTED"), ("DISPATCHED", "DISPATCHED"),
                       ("VENDOR_ASSIGNED", "DISPATCHED"), ("VENDOR_ASSIGNED", "DELIVERED"),
                       ("ACCEPTED", "REJECTED"), ("DELIVERED", "CANCELLED"),
                       ("CANCELLED", "ACCEPTED"))],
        _error("order.has_payments", order="KH-000123", paid_paisa=1_000_00),
        _error("order.empty"),
        _error("order.not_editable"),
        _error("stock.insufficient", sku="SUGAR-KG"),
        _error("stock.below_reserved"),
        _error("stock.not_carried"),
        _error("payment.exceeds_balance", balance_paisa=1_314_75),
        _error("money.invalid_amount"),
        _error("auth.not_permitted"),
        _error("audit.reason_required"),
        _error("user.role_conflict", phone="+9779800000001", blocked=True, role="ADMIN"),
        _error("user.role_conflict", phone="+9779800000001", blocked=False, role="ADMIN"),
        _error("user.role_conflict", phone="+9779820000001", blocked=False, role="RETAILER"),
        _error("user.unknown"),
        _error("user.role_change_blocked", name="Ram Bahadur", role="RETAILER", open_orders=2,
               balance_paisa=5_600_00),
        _error("order.illegal_transition", order="KH-000123", from_status="VENDOR_ASSIGNED",
               to_status="DISPATCHED", hint="accept KH-000123"),
        _error("order.no_vendor", order="D-000012"),
        _error("order.illegal_transition", order="KH-000123", from_status="ACCEPTED",
               to_status="CANCELLED", ask="Karnali Wholesale"),
        _error("retailer.blocked"),
        _error("registration.incomplete", name="Gopal"),
        _error("retailer.unknown"),
        _error("claim.not_found", claim="C-000099"),
        _error("payment.not_found", payment="P-000099"),
        _error("claim.too_many", pending=10),
        _error("dispute.too_late", payment="P-000012", days=3),
        _error("order.not_delivered", order="KH-000123", status="DISPATCHED"),
        _error("something.new"),
    ],
    "failed": [{}],
    "help": [{"role": r, "name": n} for r, n in (
        ("STRANGER", "Shyam"), ("RETAILER", "Sita Kumari"), ("VENDOR", "Karnali Wholesale"),
        ("OPERATOR", "Om Operator"), ("ADMIN", "Asha Admin"), ("RETAILER", None))],
    "history": [
        {"orders": [{"number": "KH-000123", "created_at": _AT, "total_paisa": 2_314_75,
                     "status": s, "payment_status": p}
                    for s, p in (("DELIVERED", "PARTIAL"), ("VENDOR_ASSIGNED", "UNPAID"),
                                 ("COMPLETED", "PAID"), ("CANCELLED", "UNPAID"))]},
        {"orders": []},
    ],
    "language_offer": [{}],
    "language_set": [{}],
    "limit_changed": [{"position": POSITION}, {"position": {**POSITION, "available_paisa": -500}}],
    "limit_set": [{"name": "Shyam Thapa", "position": POSITION,
                   "reason": "new shop, good references"}],
    "no_last_order": [{}],
    "not_allowed": [{"action": "limit"}],
    "not_understood": [{"text": "kasto cha"}],
    "not_a_retailer": [{"name": "Karnali Wholesale", "phone": "+9779810000002", "role": "VENDOR"},
                       {"name": "Om Operator", "phone": "+9779800000002", "role": "OPERATOR"},
                       {"name": "Karnali Wholesale", "phone": "+9779810000002", "role": "VENDOR",
                        "about": "score"}],
    "nothing_to_cancel": [{}, {"retailer": True}],
    "nothing_to_confirm": [{}],
    "nothing_to_edit": [{}],
    "offer_withdrawn": [{"number": "KH-000123"}],
    "order_cancelled": [{"order": ORDER}],
    "order_lines": [{"number": "KH-000123", "lines": LINES}, {"number": None, "lines": LINES}],
    "order_placed": [{"order": ORDER, "outcome": o} for o in ("offered", "no_vendor", "pending")],
    "order_update": [{"step": s, "order": ORDER, "reason": r} for s, r in (
        ("accepted", ""), ("reassigned", ""), ("no_vendor", ""), ("rejected", "out of stock"),
        ("rejected", ""), ("dispatched", ""), ("delivered", ""), ("cancelled", "shop closed"))],
    "over_limit": [{"over_by_paisa": 6_032_00, "limit_paisa": 5_000_00, "exposure_paisa": 0,
                    "order_paisa": 11_032_00, "available_paisa": 5_000_00, "balance_paisa": 0,
                    "unbilled_paisa": 0},
                   {"over_by_paisa": 1_000_00, "limit_paisa": 10_000_00,
                    "exposure_paisa": 9_500_00, "order_paisa": 1_500_00, "available_paisa": 0,
                    "balance_paisa": 8_000_00, "unbilled_paisa": 1_500_00},
                   {"over_by_paisa": 5_600_00, "limit_paisa": 0, "exposure_paisa": 0,
                    "order_paisa": 5_600_00, "available_paisa": 0, "balance_paisa": 0,
                    "unbilled_paisa": 0}],
    "override_granted": [{"order": {**ORDER, "status": s}} for s in ("DRAFT", "VENDOR_ASSIGNED")],
    "staff_over_limit": [{"order": {**ORDER, "number": "D-000012"}, "shop": "Hari Prasad",
                          "over_by_paisa": 1_000_00, "limit_paisa": 5_000_00,
                          "order_paisa": 6_000_00}],
    "override_set": [{"number": "KH-000123", "reason": "regular customer"}],
    "payment_received": [{"vendor": "Karnali Wholesale", "amount_paisa": 1_000_00, "method": m,
                          "result": {"balance_paisa": 1_314_75}, "answer": a}
                         for m, a in (("cash", False), ("esewa", True))],
    "payment_agreed": [{"payment": "P-000004"}],
    "payinfo": [{"usage": True, "lines": []}, {"usage": False, "lines": PAY},
                {"usage": True, "lines": PAY[:1]}, {"usage": False, "lines": []}],
    "payment_recorded": [{"amount_paisa": 1_000_00, "method": "cash", "shop": "Ram Kirana Pasal",
                          "result": {"balance_paisa": 1_314_75, "allocations": [
                              {"order_number": "KH-000123", "amount_paisa": 1_000_00,
                               "payment_status": "PARTIAL"}]}}],
    "pending": [{"requests": [{"name": "Shyam Thapa", "shop_name": "Shyam Kirana",
                               "area": "Birendranagar-4", "phone": "+9779845454545",
                               "wa_user_id": None}]},
                {"requests": []}],
    "reg_approved": [{"name": "Shyam Thapa", "role": "RETAILER", "limit_paisa": 10_000_00},
                     {"name": "Shyam Thapa", "role": "RETAILER", "limit_paisa": 0},
                     {"name": "Bheri Traders", "role": "VENDOR"}],
    "reg_ask_area": [{}],
    "reg_ask_name": [{}],
    "reg_ask_shop": [{"name": "Shyam Thapa"}, {"name": None}],
    "reg_blocked": [{}],
    "reg_cancelled": [{}],
    "reg_invalid": [{"field": f} for f in ("name", "shop", "area")],
    "reg_pending": [{}],
    "reg_request": [{"name": "Shyam Thapa", "shop": "Shyam Kirana", "area": "Birendranagar-4",
                     "phone": "+9779845454545"}],
    "reg_waiting": [{}],
    "reject_kept": [{"number": "KH-000123"}],
    "report": [{"report": {"day": date(2026, 12, 2), "orders": 1, "orders_value_paisa": 5_516_00,
                           "outstanding_paisa": 12_000_00, "overdue_paisa": 0},
                "failed_count": 1, "failed": [{"recipient": "+977981*****78",
                                               "error": "131026 undeliverable"}],
                "pending": 2}],
    "staff_no_vendor": [{"order": ORDER}],
    "stale_button": [{}],
    "statement": [
        {"name": "Sita Kumari", "days": 30, "skipped": 1,
         "statement": {"opening_paisa": 0, "closing_paisa": 1_314_75},
         "lines": [{"at": _AT, "kind": "ORDER_CREDIT", "order_number": "KH-000123",
                    "vendor_name": "Karnali Wholesale", "amount_paisa": 2_314_75,
                    "balance_paisa": 2_314_75},
                   {"at": _AT, "kind": "PAYMENT_DEBIT", "order_number": None,
                    "vendor_name": "Karnali Wholesale", "amount_paisa": -1_000_00,
                    "balance_paisa": 1_314_75}],
         "balances": {"overdue_paisa": 0}},
        {"name": "Sita Kumari", "days": 1, "skipped": 0,
         "statement": {"opening_paisa": 0, "closing_paisa": 0}, "lines": [],
         "balances": {"overdue_paisa": 0}},
    ],
    "statement_caption": [{"statement": STATEMENT}, {"statement": {**STATEMENT, "vendor": None}}],
    "statement_none": [{}],
    "statement_summary": [
        {"statement": STATEMENT, "start": date(2026, 9, 3), "unacknowledged": 2},
        {"statement": {**STATEMENT, "vendor": None, "lines": [{}]}, "start": date(2026, 9, 3),
         "unacknowledged": 0},
    ],
    "statement_which": [{"asked": "Bheri"}, {"asked": ""}],
    "status": [{"orders": [{"number": "KH-000123", "status": s, "vendor_name": "Karnali Wholesale",
                            "total_paisa": 368_39} for s in STATUSES], "more": 3},
               {"orders": [], "more": 0},
               {"orders": [], "more": 0, "draft": ORDER}],
    "thanks": [{"name": "Ram Bahadur"}, {"name": None}],
    "throttled": [{"minutes": 1}, {"minutes": 5}],
    "unsupported": [{}],
    "user_added": [{"name": n, "phone": "+9779820000009", "role": r}
                   for n, r in (("Shyam Kirana", "RETAILER"), ("Om", "OPERATOR"))],
    "user_approved": [{"name": "Shyam Thapa", "phone": "+9779845454545", "role": "RETAILER",
                       "limit_paisa": 0},
                      {"name": "Shyam Thapa", "phone": "+9779845454545", "role": "RETAILER",
                       "limit_paisa": 10_000_00},
                      {"name": "Bheri Traders", "phone": "+9779810000009", "role": "VENDOR",
                       "limit_paisa": None}],
    "user_blocked": [{"name": "Shyam Thapa", "phone": "+9779845454545", "cancelled": [],
                      "passed_on": [], "kept": []},
                     {"name": "Ram Kirana", "phone": "+9779820000001",
                      "cancelled": [ORDER], "passed_on": [ORDER],
                      "kept": [{**ORDER, "status": "ACCEPTED"}]}],
    "user_role_changed": [{"name": "Hari Prasad", "phone": "+9779820000003", "role": "VENDOR"}],
    "user_unblocked": [{"active": a, "name": "Shyam Thapa", "phone": "+9779845454545"}
                       for a in (True, False)],
    "user_unknown": [{"phone": "+9779845454545"}],
    "vendor_ask_reason": [{"number": "KH-000123"}],
    "vendor_done": [{"action": a, "order": ORDER, "reason": r, "outcome": o} for a, r, o in (
        ("accept", "", ""), ("reject", "out of stock", "offered"), ("reject", "", "no_vendor"),
        ("dispatch", "", ""), ("deliver", "", ""))],
    "vendor_check_price": [
        {"product": {"name_en": "Sugar", "name_ne": "चिनी", "unit": "kg"}, "before_paisa": 11_200,
         "price_paisa": 560_000, "typed_paisa": 560_000, "unit": "kg"},
        {"product": {"name_en": "Sugar", "name_ne": "चिनी", "unit": "kg"}, "before_paisa": 11_200,
         "price_paisa": 2_000, "typed_paisa": 100_000, "unit": "bora"}],
    "vendor_unit_unknown": [
        {"product": {"name_en": "Sugar", "name_ne": "चिनी", "unit": "kg"}, "unit": "l",
         "packs": ["bag", "bora"]},
        {"product": {"name_en": "Lux Soap", "name_ne": "लक्स साबुन", "unit": "piece"}, "unit": "kg",
         "packs": []}],
    "vendor_which_order": [
        {"command": "accept", "orders": [{**ORDER, "shop_name": "Ram Kirana"},
                                         {**ORDER, "number": "KH-000124", "shop_name": "Sita"}]},
        {"command": "dispatch", "orders": []}],
    "vendor_offer": [
        {"order": ORDER, "shop": "Ram Kirana Pasal", "area": "Birendranagar-6",
         "phone": "+9779820000001", "lines": LINES, "count": len(LINES), "owed_paisa": 2_314_75,
         "within_limit": True},
        {"order": ORDER, "shop": "Ram Kirana Pasal", "area": None, "phone": None, "lines": [],
         "count": 12, "owed_paisa": 0, "within_limit": False},
    ],
    "vendor_offer_set": [
        {"product": {"name_en": "Current Noodles", "name_ne": "करेन्ट चाउचाउ", "unit": "packet"},
         "command": "price", "unit": "carton", "typed_paisa": 100_000, "typed_count": None,
         "pack_paisa": 100_008,
         "offer": {"price_paisa": 4_167, "stock_milli": 240_000, "available_milli": 240_000}},
        {"product": {"name_en": "Sugar", "name_ne": "चिनी", "unit": "kg"}, "command": "price",
         "unit": "bora", "typed_paisa": 560_000, "typed_count": None, "pack_paisa": 560_000,
         "offer": {"price_paisa": 11_200, "stock_milli": 100_000, "available_milli": 98_000}},
        {"product": {"name_en": "Lux Soap", "name_ne": "लक्स साबुन", "unit": "piece"},
         "command": "price", "unit": "piece", "typed_paisa": 5_910, "typed_count": None,
         "offer": {"price_paisa": 5_910, "stock_milli": 240_000, "available_milli": 240_000}},
        {"product": {"name_en": "Sugar", "name_ne": "चिनी", "unit": "kg"}, "command": "stock",
         "unit": "bora", "typed_paisa": None, "typed_count": Decimal(20),
         "offer": {"price_paisa": 11_200, "stock_milli": 1_000_000, "available_milli": 1_000_000}},
        {"product": {"name_en": "Mustard Oil", "name_ne": "तोरीको तेल", "unit": "l"},
         "command": "stock", "unit": "l", "typed_paisa": None, "typed_count": Decimal(1),
         "offer": {"price_paisa": 32_997, "stock_milli": 1_000, "available_milli": 500}},
    ],
    "vendor_order_cancelled": [{"order": ORDER}, {"order": ORDER, "by": "staff"}],
    "vendor_orders": [{"orders": [{"number": "KH-000123", "shop_name": "Sita General Store",
                                   "total_paisa": 5_516_00, "status": s} for s in STATUSES[:4]],
                       "more": 1},
                      {"orders": [], "more": 0}],
    "vendor_unknown": [{}],
    "vendor_usage": [{"command": c} for c in ("accept", "reject", "stock", "price", "paid",
                                              "score", "statement")],
    "vendor_which_product": [{"text": "chamal", "command": "stock", "products": RICE}],
    "welcome": [{}],
    "score": [
        {"own": True, "name": "Sita Kumari", "card": SCORE_CARD},
        {"own": False, "name": "Sita General Store", "card": SCORE_CARD},
        {"own": True, "name": "Hari Prasad", "card": THIN_CARD},
        {"own": False, "name": "Hari Khadya Bhandar", "card": {**SCORE_CARD, "improvements": []}},
    ],
    "reminder": [
        {"kind": k, "name": "Ram Bahadur", "vendors": v, "more_vendors": more,
         "total_paisa": 16_629_50, "overdue_paisa": 12_000_00, "first_due_at": _DUE}
        for k, v, more in (("overdue", REMINDER_VENDORS, 2), ("due_today", REMINDER_VENDORS[:1], 0),
                           ("due_soon", REMINDER_VENDORS[1:], 1))],
    "reminder_summary": [{"vendors": REMINDER_VENDORS, "more_vendors": 0},
                         {"vendors": REMINDER_VENDORS[1:], "more_vendors": 3}],
    "vendor_digest": [
        {"name": "Bheri Traders", "ageing": AGEING, "more_debtors": 4, "received_count": 3,
         "received_paisa": 7_500_00, "pending_claims": 1, "open_disputes": 2,
         "debtors": [{"shop_name": "Ram Kirana Pasal", "balance_paisa": 12_000_00,
                      "overdue_paisa": 2_000_00},
                     {"shop_name": "Sita General Store", "balance_paisa": 2_814_75,
                      "overdue_paisa": 0}]},
        {"name": "Karnali Wholesale", "ageing": {**AGEING, "total": 0, "d0_30": 0,
                                                 "d31_60": 0, "d90_plus": 0},
         "debtors": [], "more_debtors": 0, "received_count": 1, "received_paisa": 1_000_00,
         "pending_claims": 2, "open_disputes": 1},
        {"name": "Surkhet Suppliers", "ageing": AGEING, "debtors": [], "more_debtors": 0,
         "received_count": 0, "received_paisa": 0, "pending_claims": 0, "open_disputes": 0},
    ],
    "claim_recorded": [{"claim": CLAIM}, {"claim": {**CLAIM, "media_id": "1493571161466011",
                                                    "method": "cash"}}],
    "claim_received": [{"claim": CLAIM}, {"claim": {**CLAIM, "media_id": "1493571161466011"}}],
    "claim_which_vendor": [{"amount_paisa": 5_000_00}],
    "claim_usage": [{"owes_nobody": False}, {"owes_nobody": True}],
    "dispute": [{"dispute": d, "side": side} for d in DISPUTES
                for side in ("raiser", "other", "staff")],
    "disputes": [{"disputes": DISPUTES, "more": 3}, {"disputes": DISPUTES[:1], "more": 0},
                 {"disputes": [], "more": 0}],
    "order_received": [{"order": ORDER, "side": "retailer", "shop": "Ram Kirana Pasal"},
                       {"order": ORDER, "side": "vendor", "shop": "Ram Kirana Pasal"}],
    "problem_which": [{"order": "KH-000123"}, {"order": None}],
    # Suggested credit limits (dialogs/limits.py).
    "limit_suggestion": [{"s": {**LIMIT_SUGGESTION, "why": why}}
                         for why in ("purchases", "capped", "doubling")] + [
        {"s": {**LIMIT_SUGGESTION, "why": "overdue", "increase": False, "band": "E",
               "suggested_paisa": 10_000_00, "score": 412, "overdue_paisa": 8_500_00,
               "exposure_paisa": 17_200_00, "multiplier_percent": 0, "phone": None}}],
    "limit_suggestions": [{"suggestions": [LIMIT_SUGGESTION], "more": 0},
                          {"suggestions": [LIMIT_SUGGESTION] * 2, "more": 4},
                          {"suggestions": [], "more": 0}],
    "limit_decided": [
        {"outcome": "approved", "s": LIMIT_SUGGESTION, "position": POSITION},
        {"outcome": "dismissed", "s": LIMIT_SUGGESTION},
        {"outcome": "stale", "s": LIMIT_SUGGESTION, "now_paisa": 30_000_00},
        *[{"outcome": "already", "s": LIMIT_SUGGESTION, "status": status}
          for status in ("APPROVED", "DISMISSED", "SUPERSEDED")]],
}
