"""What incident stories, change waves and a live stream's lifecycle moves say, as regular expressions: to tell
their events from others."""

from __future__ import annotations

import re

from seeding.catalogs import active_catalog

TICKET = re.compile(r"\b(?:INC|CHG)\d{7,}\b")


def pattern_of(text: str) -> re.Pattern:
    """A catalog text as a regex: each placeholder matches what it can become."""
    pattern = re.escape(text)
    for name, regex in (
        ("ticket", r"(?P<ticket>INC\d{7,})"),
        ("change", r"(?P<change>CHG\d{7,})"),
        ("app", r"(?P<app>.+?)"),
        ("value", r"(?P<value>\d+)"),
        ("minutes", r"(?P<minutes>\d+)"),
        ("hours", r"(?P<hours>\d+)"),
        ("hosts", r"(?P<hosts>\d+)"),
        ("step", r"(?P<step>\d+)"),
        ("site", r"(?P<site>.+?)"),
        ("version", r"(?P<version>\S+)"),
        ("healthy", r"(?P<healthy>\d+)"),
        ("destination", r"(?P<destination>.+?)"),
        ("hostname", r"(?P<hostname>\S+)"),
        ("address", r"(?P<address>\S+)"),
        ("dependency", r"(?P<dependency>.+?)"),
        ("services", r"(?P<services>\d+)"),
        ("person", r"(?P<person>.+?)"),
    ):
        placeholder = re.escape("{" + name + "}")
        again = f"(?P={name})" if regex.startswith("(?P<") else regex  # the same text each time it appears
        pattern = pattern.replace(placeholder, regex, 1).replace(placeholder, again)
    return re.compile(f"^{pattern}$")


def episode_patterns() -> list[tuple[str, str, re.Pattern, str, object]]:
    """(kind, source, regex, part, story, wave or move) of every event an incident story, a change wave or a
    lifecycle move tells."""
    found = []
    for story in active_catalog().stories:
        parts = [
            ("incident", story.ticket_source, story.incident, "record"),
            ("change", story.fix_source, story.fix, "fix"),
            ("incident", story.ticket_source, story.resolution, "resolution"),
        ]
        if story.detected_by == "monitoring":
            parts += [
                ("alert", story.alert_source, story.alert, "alert"),
                ("alert", story.alert_source, story.recovery, "recovery"),
            ]
        found += [(kind, source, pattern_of(text), part, story) for kind, source, text, part in parts]
    for wave in active_catalog().waves:
        found += [
            ("change", wave.ticket_source, pattern_of(wave.opened), "opened", wave),
            ("change", wave.source, pattern_of(wave.step), "step", wave),
            ("change", wave.ticket_source, pattern_of(wave.closed), "closed", wave),
        ]
        if wave.failed:  # a release's host that did not come up healthy: one of its steps
            found.append(("change", wave.source, pattern_of(wave.failed), "step", wave))
    for told in active_catalog().cascades:  # a dependency failing, and the applications it drags down
        found += [
            ("alert", told.alert_source, pattern_of(told.alert), "cascade alert", told),
            ("incident", told.ticket_source, pattern_of(told.incident), "cascade record", told),
            ("incident", told.ticket_source, pattern_of(told.consumer_incident), "consumer record", told),
            ("change", told.fix_source, pattern_of(told.fix), "fix", told),
            ("incident", told.ticket_source, pattern_of(told.consumer_resolution), "consumer resolution", told),
            ("incident", told.ticket_source, pattern_of(told.resolution), "cascade resolution", told),
        ]
    for move in active_catalog().moves:
        found.append(("maintenance", move.source, pattern_of(move.message), move.move, move))
    return found
