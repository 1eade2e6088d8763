"""Primary-key reservation for a run.

A run takes a contiguous block of ids per kind when it is created: row k of a
kind gets ``base + k``. Keys are then known before any row is written, so
references need no lookups, and a retried chunk collides with itself on the
primary key instead of ever duplicating data. The database's own id counter is
moved past the block, so rows that people add meanwhile never take a reserved id.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import Model


def reserve_ids(model: type[Model], count: int, *, using: str = "default") -> int:
    """Reserve ``count`` consecutive ids for ``model`` and return the first.

    With ``count == 0`` nothing is reserved; the result is still above every
    existing id, so "id < base" means "existed before this run". Call inside a
    transaction.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and count:
            # Block concurrent inserts until our transaction ends, so the sequence
            # and MAX(id) cannot move between reading and advancing them.
            cursor.execute(f"LOCK TABLE {quote(table)} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
            (sequence,) = cursor.fetchone()
            cursor.execute(
                f"SELECT GREATEST(COALESCE(MAX({quote(pk)}), 0) + 1, nextval(%s)) FROM {quote(table)}", [sequence]
            )
            (base,) = cursor.fetchone()
            cursor.execute("SELECT setval(%s, %s)", [sequence, base + count - 1])
            return base
        cursor.execute(f"SELECT COALESCE(MAX({quote(pk)}), 0) + 1 FROM {quote(table)}")
        (base,) = cursor.fetchone()
        if connection.vendor == "sqlite":
            # Django's SQLite ids are AUTOINCREMENT: never below sqlite_sequence.
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            found = cursor.fetchone()
            base = max(base, (found[0] + 1) if found else 1)
            if count:
                if found:
                    cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [base + count - 1, table])
                else:
                    cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, base + count - 1])
        return base
