"""Any JSON Meta (or anyone) could send is read without an unexpected exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.whatsapp import PayloadError, read_webhook, user_input

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["entry", "changes", "value", "messages", "statuses", "contacts", "id",
                         "from", "from_user_id", "type", "text", "body", "status", "errors",
                         "code", "timestamp", "interactive", "button_reply", "wa_id", "user_id",
                         "profile", "name"]) | st.text(max_size=8),
        inner, max_size=5),
    max_leaves=30,
)


def _object(keys: list[str]) -> st.SearchStrategy[dict]:  # type: ignore[type-arg]
    return st.dictionaries(st.sampled_from(keys), json_values | st.text(max_size=12), max_size=6)


message_like = _object(["id", "from", "from_user_id", "type", "text", "interactive", "timestamp"])
shaped = st.builds(
    lambda messages, statuses, contacts: {"entry": [{"changes": [{"value": {
        "messages": messages, "statuses": statuses, "contacts": contacts}}]}]},
    st.lists(message_like | json_values, max_size=3),
    st.lists(_object(["id", "status", "recipient_id", "errors"]) | json_values, max_size=3),
    st.lists(_object(["wa_id", "user_id", "profile"]) | json_values, max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(json_values | shaped)
def test_any_json_is_read_or_refused_cleanly(payload):
    try:
        messages, statuses = read_webhook(payload)
    except PayloadError:
        return
    for message in messages:
        assert message.sender and message.wamid
        said = user_input(message.kind, message.body)
        assert isinstance(said.text, str)
    for status in statuses:
        assert status.status in ("sent", "delivered", "read", "failed")
