"""What an event of a live stream changes in the estate beside itself: a row's state moving on.

A seeded history writes every row in its final state. A live stream writes
what happens next as it happens, and some of it is not only an event: an
asset back from maintenance is in use again, a delivered one is in stock.
Such an event carries an ``Effect``, applied to its row in the transaction
that writes the event (``services.live``), so the state and the log never
disagree, and a stream restarted at its checkpoint changes each row exactly
once, in the same order.
"""

from __future__ import annotations

from typing import NamedTuple


class Effect(NamedTuple):
    table: str  # a kind of ``persistence.tables.MODELS``: "assets"
    row: int  # the primary key of the row it changes
    changes: tuple[tuple[str, str], ...]  # (field, new value)

    def as_json(self) -> dict:
        return {"table": self.table, "row": self.row, "changes": dict(self.changes)}

    @classmethod
    def from_json(cls, data: dict) -> Effect:
        return cls(data["table"], int(data["row"]), tuple(sorted(data["changes"].items())))
