"""Row generators: one function per kind, turning ordinals into column lists.

Every column is computed with numpy from the rows' ordinals (see ``rng``), so a
chunk's content is a pure function of the run spec and the ordinal range. The
functions return plain Python lists in model-field order, ready for a bulk writer.
Events have their own module (``events``).
"""

from __future__ import annotations

import ipaddress

import numpy as np

from seeding.generation.catalog import SERIAL_ALPHABET, Catalog
from seeding.generation.estate import (
    APP_LIFECYCLES,
    APP_RETIRED,
    ASSET_LIFECYCLES,
    ENVIRONMENTS,
    NEVER,
    ApplicationTable,
    AssetTable,
    application_attributes,
    application_identities,
    asset_hardware,
    older_version,
)
from seeding.generation.own_deployments import OwnDeployments
from seeding.generation.ownership import host_teams
from seeding.generation.people import assigned, people_at, run_person_numbers
from seeding.generation.placement import Layout, deployment_placement
from seeding.generation.rng import Stream, WeightTable
from seeding.generation.sites import asset_sites
from seeding.generation.spec import SECONDS_PER_DAY, RunSpec
from seeding.generation.timeline import timestamp_strings

#: Field name -> values, in the order the model declares them.
Columns = dict[str, list]

APP_TIER_VALUES = np.array(["tier_1", "tier_2", "tier_3"], dtype=object)
#: A deployment that is done: running, degraded, stopped, failed (per cent)...
DEPLOYMENT_STATUS = WeightTable([90, 4, 4, 2])
DEPLOYMENT_STATUS_VALUES = np.array(["running", "degraded", "stopped", "failed", "deploying"], dtype=object)
STOPPED, DEPLOYING = 2, 4
#: ...and one that started less than this long before the base time may still be deploying (the more likely,
#: the more recent).
DEPLOYING_WITHIN = 2 * SECONDS_PER_DAY
#: Hosts roll out in waves: most run the current release, a tail one or two behind (per cent).
VERSION_WAVES = WeightTable([72, 20, 8])


def _ordinals(start: int, stop: int) -> np.ndarray:
    return np.arange(start, stop, dtype=np.int64)


def _pick(values: np.ndarray, idx: np.ndarray) -> list:
    return values[idx].tolist()


def _day_strings(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()


def _optional_days(days: np.ndarray) -> list:
    text = np.array(_day_strings(np.minimum(days, 2_000_000)), dtype=object)
    return np.where(days >= NEVER, None, text).tolist()


# --- applications ------------------------------------------------------------


def applications(spec: RunSpec, start: int, stop: int) -> Columns:
    ordinals = _ordinals(start, stop)
    identities = application_identities(spec, ordinals)
    table = application_attributes(spec, ordinals, identities)
    return {
        "id": table.ids.tolist(),
        "code": [f"APP{pk:06d}" for pk in table.ids.tolist()],
        "name": table.names.tolist(),
        "vendor": [identity.vendor for identity in identities],
        "category": [identity.category for identity in identities],
        "version": table.versions.tolist(),
        "owner_team": [identity.owner_team for identity in identities],
        "tier": _pick(APP_TIER_VALUES, table.tier),
        "lifecycle": _pick(np.array(APP_LIFECYCLES, dtype=object), table.lifecycle),
        "retired_on": _optional_days(table.retired_day),
    }


# --- assets ------------------------------------------------------------------


_SERIAL_DIGITS = np.frombuffer(SERIAL_ALPHABET.encode(), dtype=np.uint8)
_SERIAL_MULTIPLIER = 2_654_435_761  # odd and not a multiple of 17: a bijection on every 34**n


def ip_addresses(catalog: Catalog, site_idx: np.ndarray, hosts: np.ndarray) -> list[str]:
    """The host's address in its site's range (skipping .0 and .255 of each /24).

    Beyond the range (a site with more hosts than addresses), a unique IPv6
    unique-local address of that site instead.
    """
    bases = np.array([int(site.network.network_address) for site in catalog.sites], dtype=np.int64)
    sizes = np.array([site.network.num_addresses for site in catalog.sites], dtype=np.int64)
    offsets = hosts // 254 * 256 + hosts % 254 + 1
    fits = offsets < sizes[site_idx] - 1
    addresses = bases[site_idx] + offsets
    octets = [(addresses >> shift) & 255 for shift in (24, 16, 8, 0)]
    text = [f"{a}.{b}.{c}.{d}" for a, b, c, d in zip(*(o.tolist() for o in octets))]
    if not fits.all():
        for i in np.flatnonzero(~fits).tolist():
            site, host = int(site_idx[i]), int(hosts[i])
            text[i] = ipaddress.IPv6Address((0xFD00 << 112) | (site << 64) | host).compressed
    return text


def host_numbers(catalog: Catalog, site_idx: np.ndarray, addresses: list[str]) -> np.ndarray:
    """The host numbers behind ``addresses`` at ``site_idx`` (the inverse of ``ip_addresses``); -1 for an
    address ``ip_addresses`` cannot have given there (one a person entered)."""
    found = np.full(len(addresses), -1, dtype=np.int64)
    for i, (site, text) in enumerate(zip(site_idx.tolist(), addresses)):
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address):
            if int(address) >> 112 == 0xFD00 and (int(address) >> 64) & 0xFFFF_FFFF_FFFF == site:
                found[i] = int(address) & 0xFFFF_FFFF_FFFF_FFFF
            continue
        network = catalog.sites[site].network
        offset = int(address) - int(network.network_address)
        if 0 < offset < network.num_addresses - 1 and 0 < offset % 256 < 255:
            found[i] = offset // 256 * 254 + offset % 256 - 1
    return found


def _serial_numbers(catalog: Catalog, makers: np.ndarray, ids: np.ndarray) -> list[str]:
    """The manufacturer's prefix, then characters that are a bijection of the key: unique, yet random-looking.

    (Keys stay far below 3 billion, so the products fit in 64 bits.)
    """
    serials = np.empty(len(ids), dtype=object)
    for maker in np.unique(makers).tolist():
        manufacturer = catalog.manufacturers[maker]
        width = manufacturer.serial_length - len(manufacturer.serial_prefix)
        space = len(SERIAL_ALPHABET) ** width
        rows = np.flatnonzero(makers == maker)
        scrambled = (ids[rows] % space * _SERIAL_MULTIPLIER + 12_345_678) % space
        digits = np.empty((len(rows), width), dtype=np.uint8)
        for position in range(width - 1, -1, -1):
            digits[:, position] = _SERIAL_DIGITS[scrambled % len(SERIAL_ALPHABET)]
            scrambled //= len(SERIAL_ALPHABET)
        codes = digits.view(f"S{width}").ravel().astype(f"U{width}")
        serials[rows] = np.char.add(manufacturer.serial_prefix, codes).astype(object)
    return serials.tolist()


def assets(
    spec: RunSpec,
    start: int,
    stop: int,
    table: AssetTable,
    deployments: OwnDeployments | None = None,
    applications: ApplicationTable | None = None,
) -> Columns:
    """The run's assets at ordinals [start, stop); ``table`` is the run's own asset table (lifecycles), and
    ``deployments`` the run's own deployments onto it, if any (who owns a host: ``ownership``)."""
    ordinals = _ordinals(start, stop)
    catalog = spec.catalog
    ids = table.ids[ordinals]
    type_idx, model_idx, system_idx = asset_hardware(spec, ordinals)
    models = [catalog.models[m] for m in model_idx.tolist()]
    asset_types = [catalog.asset_types[t] for t in type_idx.tolist()]
    site_idx, hosts = asset_sites(spec, ordinals)
    sites = [catalog.sites[i] for i in site_idx.tolist()]
    end_user = np.array([asset_type.end_user for asset_type in asset_types], dtype=bool)
    people = people_at(catalog, site_idx, run_person_numbers(spec, site_idx, hosts))
    lifecycle = table.lifecycle[ordinals]
    makers = np.array([model.manufacturer for model in models], dtype=object)
    used = assigned(end_user, lifecycle)
    return {
        "id": ids.tolist(),
        "hostname": [
            f"{site.code}-{asset_type.hostname_prefix}-{pk:06d}"
            for site, asset_type, pk in zip(sites, asset_types, ids.tolist())
        ],
        "ip_address": ip_addresses(catalog, site_idx, hosts),
        "serial_number": _serial_numbers(catalog, makers, ids),
        "asset_type": [asset_type.value for asset_type in asset_types],
        "manufacturer": makers.tolist(),
        "model": [model.name for model in models],
        "operating_system": [model.systems[i][0] for model, i in zip(models, system_idx.tolist())],
        "location": [site.location for site in sites],
        "lifecycle_status": _pick(np.array(ASSET_LIFECYCLES, dtype=object), lifecycle),
        "purchase_date": _day_strings(table.purchase_day[ordinals]),
        "retired_on": _optional_days(table.retired_day[ordinals]),
        "owner_team": host_teams(spec, ordinals, table, deployments, applications),
        "assigned_to": np.where(used, people, "").tolist(),
    }


# --- deployments -------------------------------------------------------------


def deployments(
    spec: RunSpec, start: int, stop: int, layout: Layout, apps: ApplicationTable, assets_: AssetTable
) -> Columns:
    ordinals = _ordinals(start, stop)
    placement = deployment_placement(spec, ordinals, layout, apps, assets_)
    app_idx, hosts = placement.app_idx, placement.asset_idx
    status = deployment_statuses(spec, ordinals, placement.deployed_at, apps.lifecycle[app_idx])
    return {
        "id": (spec.id_base("deployments") + ordinals).tolist(),
        "application": apps.ids[app_idx].tolist(),
        "asset": assets_.ids[hosts].tolist(),
        "version": _deployed_versions(spec, ordinals, apps, app_idx, status == DEPLOYING),
        "environment": _pick(np.array(ENVIRONMENTS, dtype=object), assets_.environment[hosts]),
        "status": _pick(DEPLOYMENT_STATUS_VALUES, status),
        "deployed_at": timestamp_strings(placement.deployed_at),
    }


def deployment_statuses(
    spec: RunSpec, ordinals: np.ndarray, deployed_at: np.ndarray, lifecycle: np.ndarray
) -> np.ndarray:
    """Index into DEPLOYMENT_STATUS_VALUES: "deploying" only for what started in the last
    ``DEPLOYING_WITHIN`` (the newer, the likelier), stopped for a retired application's."""
    status = Stream(spec.seed, "deployment.status").weighted(ordinals, DEPLOYMENT_STATUS)
    age = spec.as_of - deployed_at
    deploying = age < Stream(spec.seed, "deployment.deploying").ints(ordinals, DEPLOYING_WITHIN)
    status = np.where(deploying, DEPLOYING, status)
    return np.where(lifecycle == APP_RETIRED, STOPPED, status)  # a retired application runs nowhere


def _deployed_versions(
    spec: RunSpec, ordinals: np.ndarray, apps: ApplicationTable, app_idx: np.ndarray, rolling_out: np.ndarray
) -> list[str]:
    """The current release on most hosts, one or two releases behind on a tail: never newer. What is
    being deployed is the current release."""
    behind = Stream(spec.seed, "deployment.version.lag").weighted(ordinals, VERSION_WAVES)
    behind = np.where(rolling_out, 0, behind)
    software = apps.software[app_idx]
    versions = []
    for current, lag, sw in zip(apps.versions[app_idx].tolist(), behind.tolist(), software.tolist()):
        if not lag:
            versions.append(current)
        elif sw >= 0:
            line = spec.catalog.software[sw].versions
            versions.append(line[max(0, line.index(current) - lag)] if current in line else current)
        else:
            versions.append(older_version(current, lag))
    return versions
