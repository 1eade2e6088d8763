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
from seeding.generation.people import people_at, person_numbers
from seeding.generation.rows import host_numbers
from seeding.models import RunParent, SeedRun
from seeding.persistence.parent_view.table import view_table
from seeding.persistence.tables import COMPANION_MODELS, MODELS


def record_device_people(run: SeedRun, catalog: Catalog) -> int:
    """Record the person each recorded end-user device on order or in stock would be issued to; returns how
    many have one. A few hundred rows at most (the view's waiting laptops and desktops)."""
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
    found = []
    for i, (position, asset_id, _, _, run_id) in enumerate(rows):
        number = _person_number(numbering.get(run_id, {}), catalog.sites[site_idx[i]].code, int(hosts[i]))
        if number is not None:
            found.append((i, position, asset_id, run_id, number))
    if not found:
        return 0
    chosen = np.array([i for i, *_ in found], dtype=np.int64)
    names = people_at(catalog, site_idx[chosen], np.array([f[-1] for f in found], dtype=np.int64)).tolist()
    # In the directory, at the device's site and of its run: another device of theirs is in use.
    people = COMPANION_MODELS["people"].objects.filter(name__in=set(names))
    known = set(people.values_list("name", "location", "seed_run_id"))
    issued = [
        RunParent(run=run, kind="people", position=0, ref=asset_id, asset_ref=position, label=name)
        for (i, position, asset_id, run_id, _), name in zip(found, names)
        if (name, rows[i][3], run_id) in known
    ]
    for number, row in enumerate(issued):
        row.position = number
    RunParent.objects.bulk_create(issued)
    return len(issued)


def _person_number(site_hosts: dict[str, list[int]], code: str, host: int) -> int | None:
    """The person number of host number ``host`` at site ``code`` in a run numbered ``site_hosts``; None when
    the run has no such host there (an address a person changed)."""
    numbers = site_hosts.get(code)
    if host < 0 or not numbers or not numbers[0] <= host < numbers[0] + numbers[1]:
        return None
    person_base = numbers[2] if len(numbers) > 2 else numbers[0]  # a run numbered before people were
    return int(person_numbers(np.array([host]), numbers[0], person_base)[0])
