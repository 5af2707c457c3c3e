"""State tables as data: each dialog declares its states and transitions as a list of dicts, one
`transitions` machine is built from it once, and each event is fired on a bare model holding
the conversation's state.

The table is the documentation (its Mermaid diagram is generated from it), and the machine
refuses any move the table does not list, so a handler cannot wander into an undeclared state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transitions import Machine

from ledger.conversations import Conversation

ANY = "*"


@dataclass(frozen=True)
class Step:
    """One row of a state table: `trigger` moves from `source` to `dest` (None: stays)."""

    trigger: str
    source: str | tuple[str, ...]
    dest: str | None
    doc: str = ""


class _Model:
    """What `transitions` moves: only a state; the conversation keeps everything else."""

    state: str


class Table:
    """A dialog's states and transitions, with the machine that enforces them."""

    def __init__(self, name: str, states: Sequence[str], initial: str,
                 transitions: Sequence[Mapping[str, Any]], doc: str = "") -> None:
        self.name, self.states, self.initial, self.doc = name, tuple(states), initial, doc
        self.steps = tuple(_step(row) for row in transitions)
        for step in self.steps:
            sources = (step.source,) if isinstance(step.source, str) else step.source
            for state in (*sources, step.dest):
                assert state in (None, ANY, *self.states), f"{name}: unknown state {state!r}"
        self.triggers = frozenset(step.trigger for step in self.steps)
        self.machine = Machine(
            model=None, states=list(self.states), initial=initial, auto_transitions=False,
            transitions=[
                {"trigger": s.trigger, "source": s.source if isinstance(s.source, str)
                 else list(s.source), "dest": s.dest}
                for s in self.steps
            ],
        )

    def fire(self, conversation: Conversation, trigger: str) -> None:
        """Move `conversation` by `trigger`; a move the table does not allow raises."""
        if trigger not in self.triggers:
            raise ValueError(f"{self.name}: no trigger {trigger!r}")
        # The event is fired on a bare model, not one added to the machine: add_model would
        # give it a method for every trigger and state first, most of a turn's time in here.
        model = _Model()
        model.state = conversation.state
        self.machine.events[trigger].trigger(model)
        conversation.state = model.state

    def allows(self, state: str, trigger: str) -> bool:
        return any(
            s.trigger == trigger and (s.source == ANY or state == s.source
                                      or (isinstance(s.source, tuple) and state in s.source))
            for s in self.steps
        )

    def mermaid(self) -> str:
        """The state diagram of this table, as Mermaid text (deterministic, so it can be checked).

        Triggers that stay put in every state (help, questions) are one note, not a loop each.
        """
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        everywhere: list[str] = []
        for step in self.steps:
            if step.source == ANY and step.dest is None:
                everywhere.append(step.trigger)
                continue
            if step.source == ANY:
                sources: tuple[str, ...] = self.states
            elif isinstance(step.source, str):
                sources = (step.source,)
            else:
                sources = step.source
            for source in sources:
                lines.append(f"    {source} --> {step.dest or source}: {step.trigger}")
        if everywhere:
            lines += [f"    note right of {self.initial}",
                      f"        in every state, staying there: {', '.join(everywhere)}",
                      "    end note"]
        return "\n".join(lines) + "\n"


def _step(row: Mapping[str, Any]) -> Step:
    source = row["source"]
    return Step(
        trigger=row["trigger"],
        source=source if isinstance(source, str) else tuple(source),
        dest=row.get("dest"),
        doc=row.get("doc", ""),
    )
