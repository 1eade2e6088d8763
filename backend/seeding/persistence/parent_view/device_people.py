"""Who a live stream would issue each waiting laptop or desktop of its view to: its person in the directory.

A laptop delivered during a demo goes to someone at its site, and that someone
must stay believable: in the directory, at the device's site, holding one to
three devices. The person the generation groups a device with (``people``: host
numbers of a run share a person two or three at a time) satisfies all of it, and
is in the directory exactly when another device of theirs is in use. So a device
on order or in stock is issued to that person when they exist (a replacement or
a second device); one whose person has no device in use yet is left waiting
(a new joiner would need a directory entry of their own).

Recorded with the stream's view, in its creating transaction, as rows of kind
"people" (``ref``: the asset's key, ``asset_ref``: its position among the
recorded assets, ``label``: the name), so the stream issues the same devices to
the same people in every process and after any restart.
"""

from __future__ import annotations

import numpy as np
from django.db import connection

from seeding.generation.catalog import Catalog
from seeding.generation.people import sharing_hosts
from seeding.generation.rows import host_numbers, ip_addresses
from seeding.models import SeedRun
from seeding.persistence.parent_view.table import view_table
from seeding.persistence.tables import MODELS


def record_device_people(run: SeedRun, catalog: Catalog) -> int:
    """Record the person each recorded end-user device on order or in stock would be issued to; returns how
    many have one (about 1,200 of the 71,000 assets a stream records at plan 10L's estate).

    The person is found through their other devices, not their name: the host numbers the generation
    groups with the device's (``people.sharing_hosts``) give those devices' addresses, and one of them in
    use, at the same site and of the same run, names its user. One indexed lookup by address, and no name
    pools to build (building Faker's takes most of a second).
    """
    end_user = [asset_type.value for asset_type in catalog.asset_types if asset_type.end_user]
    issued = [m for m in catalog.moves if m.move != "returned" and (m.asset_types or set(end_user)) & set(end_user)]
    if not issued:  # the catalog hands no laptop over (lifecycle.csv)
        return 0
    assets = connection.ops.quote_name(MODELS["assets"]._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sp.position, a.id, a.ip_address, a.location, a.seed_run_id FROM {view_table()} sp "
            f"JOIN {assets} a ON a.id = sp.ref WHERE sp.run_id = %s AND sp.kind = 'assets' "
            f"AND sp.lifecycle IN ('ordered', 'in_stock') AND sp.asset_type IN ({', '.join(['%s'] * len(end_user))}) "
            f"AND a.seed_run_id IS NOT NULL ORDER BY sp.position",
            [run.pk, *end_user],
        )
        rows = cursor.fetchall()
    sites = {site.location: number for number, site in enumerate(catalog.sites)}
    rows = [row for row in rows if row[3] in sites]  # a site the catalog no longer has: nobody to issue it to
    if not rows:
        return 0
    site_idx = np.array([sites[row[3]] for row in rows], dtype=np.int64)
    hosts = host_numbers(catalog, site_idx, [row[2] for row in rows])
    numbering = dict(SeedRun.objects.filter(pk__in={row[4] for row in rows}).values_list("pk", "site_hosts"))
    codes = [site.code for site in catalog.sites]
    numbers = [numbering.get(row[4], {}).get(codes[site], [0, 0]) for row, site in zip(rows, site_idx.tolist())]
    bases = np.array([n[0] for n in numbers], dtype=np.int64)
    counts = np.array([n[1] for n in numbers], dtype=np.int64)
    # Only a host number of its run there (not an address a person changed) has a person of the run's.
    counts = np.where((hosts >= bases) & (hosts < bases + counts), counts, 0)
    which, others = sharing_hosts(hosts, bases, counts)
    partners = dict(zip(ip_addresses(catalog, site_idx[which], others), which.tolist()))
    in_service = ("in_use", "maintenance")
    users = MODELS["assets"].objects.filter(ip_address__in=list(partners), lifecycle_status__in=in_service)
    person: dict[int, str] = {}
    for address, name, location, run_id in users.exclude(assigned_to="").values_list(
        "ip_address", "assigned_to", "location", "seed_run_id"
    ):
        i = partners[address]
        if (location, run_id) == (rows[i][3], rows[i][4]):
            person.setdefault(i, name)
    found = [(run.pk, number, rows[i][1], rows[i][0], person[i]) for number, i in enumerate(sorted(person))]
    with connection.cursor() as cursor:  # a thousand rows: the ORM's bulk_create took 0.3 s over them
        cursor.executemany(
            f"INSERT INTO {view_table()} (run_id, kind, position, ref, asset_ref, label, version, asset_type, "
            f"lifecycle, environment, location) VALUES (%s, 'people', %s, %s, %s, %s, '', '', '', '', '')",
            found,
        )
    return len(found)
