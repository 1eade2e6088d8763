"""Realistic raw material, built once per seed with Faker and then sampled.

Calling Faker for every field of every row runs at a few thousand rows per
second; sampling pools it filled once costs nanoseconds. The pools depend only on
the seed and the pinned Faker version, so they are as reproducible as the rows.
"""

from __future__ import annotations

import dataclasses
import functools
import random

from faker import Faker

POOL_SIZE = 500

TEAMS = (
    "Platform Engineering",
    "Site Reliability",
    "Payments",
    "Checkout",
    "Identity & Access",
    "Data Platform",
    "Analytics",
    "Customer Support Tools",
    "Finance Systems",
    "HR Systems",
    "Supply Chain",
    "Logistics",
    "Mobile",
    "Web Frontend",
    "Search",
    "Recommendations",
    "Security Operations",
    "Network Operations",
    "End-User Computing",
    "Marketing Tech",
    "Billing",
    "Risk & Fraud",
    "Developer Experience",
    "Messaging",
    "Storage & Backup",
)
APP_CATEGORIES = (
    "Finance",
    "HR",
    "CRM",
    "Analytics",
    "Infrastructure",
    "Security",
    "Collaboration",
    "DevOps",
    "E-commerce",
    "Logistics",
    "Monitoring",
    "Data",
)
#: Product code names; with a domain word and a suffix: "Orion Payments API".
APP_CODENAMES = (
    "Atlas",
    "Orion",
    "Nimbus",
    "Falcon",
    "Aurora",
    "Beacon",
    "Cobalt",
    "Comet",
    "Cypress",
    "Delta",
    "Ember",
    "Everest",
    "Fjord",
    "Galaxy",
    "Granite",
    "Harbor",
    "Helix",
    "Horizon",
    "Iris",
    "Jade",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Magnet",
    "Maple",
    "Meridian",
    "Mercury",
    "Mosaic",
    "Neptune",
    "Nova",
    "Onyx",
    "Opal",
    "Osprey",
    "Pegasus",
    "Phoenix",
    "Pinnacle",
    "Polaris",
    "Prism",
    "Pulse",
    "Quartz",
    "Raven",
    "Redwood",
    "Sage",
    "Sapphire",
    "Sequoia",
    "Sierra",
    "Solstice",
    "Spark",
    "Sterling",
    "Summit",
    "Tango",
    "Tempest",
    "Titan",
    "Topaz",
    "Trident",
    "Tundra",
    "Vega",
    "Vertex",
    "Voyager",
    "Zephyr",
)
APP_DOMAINS = (
    "Billing",
    "Payments",
    "Payroll",
    "Inventory",
    "Orders",
    "Customer",
    "Identity",
    "Pricing",
    "Shipping",
    "Catalog",
    "Claims",
    "Ledger",
    "Booking",
    "Reporting",
    "Onboarding",
    "Notifications",
    "Search",
    "Risk",
)
APP_SUFFIXES = (
    "API",
    "Portal",
    "Service",
    "Gateway",
    "Worker",
    "Scheduler",
    "Dashboard",
    "Engine",
    "Hub",
    "Sync",
    "Vault",
    "Ledger",
    "Tracker",
    "Console",
    "Broker",
    "Index",
    "Connector",
    "Manager",
    "Registry",
    "Reporter",
    "Monitor",
    "Exporter",
    "Cache",
    "Store",
)

EVENT_TEMPLATES = {
    "alert": (
        ("CPU usage at {pct}% for {mins} minutes", "Prometheus"),
        ("Memory usage at {pct}% (threshold 90%)", "Prometheus"),
        ("Disk /var at {pct}% capacity", "Zabbix"),
        ("Disk /data at {pct}% capacity", "Zabbix"),
        ("HTTP 5xx rate {small}% over the last {mins} minutes", "Datadog"),
        ("p95 latency {ms} ms above SLO", "Datadog"),
        ("Certificate for {word}.internal expires in {days} days", "cert-manager"),
        ("Host unreachable for {mins} minutes", "Nagios"),
        ("Backup job {word} did not complete", "Veeam"),
        ("Packet loss {small}% on uplink", "LibreNMS"),
    ),
    "change": (
        ("Configuration change {ticket} applied: {word} settings", "ServiceNow"),
        ("Patched {pkg} to {version}", "Ansible"),
        ("Security updates installed ({count} packages)", "WSUS"),
        ("Firewall rule {ticket} updated", "ServiceNow"),
        ("Scaled {word} workers from {count} to {count2}", "Kubernetes"),
        ("Feature flag {word}_{word2} enabled", "LaunchDarkly"),
        ("Rolled out release {version}", "Argo CD"),
    ),
    "incident": (
        ("{ticket}: service degradation, {word} unavailable", "PagerDuty"),
        ("{ticket}: database failover triggered", "PagerDuty"),
        ("{ticket}: elevated error rate after deploy", "Opsgenie"),
        ("{ticket}: storage latency spike affecting {word}", "PagerDuty"),
        ("{ticket}: network partition between zones", "Opsgenie"),
    ),
    "maintenance": (
        ("Scheduled reboot for kernel update", "ServiceNow"),
        ("Maintenance window {ticket}: firmware upgrade", "ServiceNow"),
        ("Disk replaced in bay {count}", "Field Services"),
        ("Log rotation and cleanup of {word}", "cron"),
    ),
}


@dataclasses.dataclass(frozen=True)
class Material:
    """Pools of realistic values for one seed."""

    people: tuple[str, ...]
    companies: tuple[str, ...]
    messages: dict[str, tuple[tuple[str, str], ...]]  # kind -> ((message, source), ...)


@functools.lru_cache(maxsize=8)
def material_for(seed: int) -> Material:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rnd = random.Random(seed)

    messages = {
        kind: tuple(_render_messages(kind, templates, fake, rnd)) for kind, templates in EVENT_TEMPLATES.items()
    }
    return Material(
        people=tuple(fake.name() for _ in range(POOL_SIZE)),
        companies=tuple(fake.company() for _ in range(POOL_SIZE // 5)),
        messages=messages,
    )


def _render_messages(kind, templates, fake: Faker, rnd: random.Random):
    """Turn templates into concrete messages with believable numbers and names."""
    for _ in range(POOL_SIZE):
        template, source = templates[rnd.randrange(len(templates))]
        message = template.format(
            pct=rnd.randint(85, 99),
            mins=rnd.choice((5, 10, 15, 30, 45, 60)),
            small=round(rnd.uniform(1.0, 12.0), 1),
            ms=rnd.randrange(350, 4000, 10),
            days=rnd.randint(3, 30),
            word=fake.word(),
            word2=fake.word(),
            ticket=f"{'CHG' if kind == 'change' else 'INC'}{rnd.randint(10000, 99999)}",
            pkg=rnd.choice(("openssl", "openssh", "nginx", "postgresql", "glibc", "kernel", "java-17")),
            version=f"{rnd.randint(1, 9)}.{rnd.randint(0, 20)}.{rnd.randint(0, 30)}",
            count=rnd.randint(2, 40),
            count2=rnd.randint(4, 80),
        )
        yield message[:255], source
