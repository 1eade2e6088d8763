"""How the admin shows dates and times: ISO 8601 order, seconds, and the zone (always UTC here).

A base time is part of what reproduces a run, to the second; "Dec. 1, 2026,
2:38 p.m." hides the seconds and the zone. Used through FORMAT_MODULE_PATH.
"""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
TIME_FORMAT = "H:i:s"
