"""``LOG_FORMAT=json``: one JSON object per log line, for log systems that index fields.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``process``,
``thread``, ``run_id`` and ``chunk`` (from ``seeding.common.log_context``, null outside a
run), and ``exception`` (the formatted traceback) when there is one.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
            "run_id": getattr(record, "run_id", None),
            "chunk": getattr(record, "chunk", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
