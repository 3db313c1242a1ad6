"""An entry's spans, kept aside while it runs (the Executor's tracing of quote, intent and fill)."""
from __future__ import annotations

from actors import observe


class EntrySpans:
    """An entry's quote, intent and fill spans, timed on the way and exported once the entry is done: making a span
    costs ~0.1 ms on the 2-core VM, which would otherwise sit between the approval and the send."""

    __slots__ = ("parent", "done")

    def __init__(self, parent: str) -> None:
        self.parent = parent      # the Orchestrator's traceparent for this opportunity ("" = not traced)
        self.done: list[tuple] = []

    def add(self, name: str, start: float, end: float, **attributes) -> None:
        if self.parent:
            self.done.append((name, start, end, attributes))

    def record(self) -> None:
        observe.past_spans_under(self.parent, self.done)
        self.done.clear()
