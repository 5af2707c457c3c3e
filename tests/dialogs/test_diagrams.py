"""Each dialog's state table has a Mermaid diagram beside it, and the diagram is current."""

from __future__ import annotations

import pytest

from dialogs import diagrams
from ledger.conversations import Conversation


def test_every_dialogs_diagram_is_up_to_date():
    assert diagrams.stale() == [], "run: python -m dialogs.diagrams"


@pytest.mark.parametrize("table", diagrams.tables(), ids=lambda t: t.name)
def test_every_state_of_every_table_allows_help_and_cancel(table):
    for state in table.states:
        assert table.allows(state, "help"), (table.name, state)
        assert table.allows(state, "cancel"), (table.name, state)
        conversation = Conversation(1, "retailer", state)
        table.fire(conversation, "help")
        assert conversation.state == state


@pytest.mark.parametrize("table", diagrams.tables(), ids=lambda t: t.name)
def test_every_state_is_reachable_from_the_initial_one(table):
    reached, frontier = {table.initial}, [table.initial]
    while frontier:
        state = frontier.pop()
        for step in table.steps:
            sources = table.states if step.source == "*" else (
                (step.source,) if isinstance(step.source, str) else step.source)
            if state in sources and step.dest and step.dest not in reached:
                reached.add(step.dest)
                frontier.append(step.dest)
    assert reached == set(table.states)


def test_the_machine_refuses_a_move_the_table_does_not_list():
    from transitions import MachineError

    from dialogs.retailer import TABLE

    conversation = Conversation(1, "retailer", "idle")
    with pytest.raises(MachineError):
        TABLE.fire(conversation, "confirm")
    assert conversation.state == "idle"
