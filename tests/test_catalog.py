"""The catalog: plain CSV files, validated with errors that name the file, line and column,
and a team's own catalog used with no code change."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from inventory.models import Application, Asset, Deployment, Event, Person
from seeding import services
from seeding.catalogs import active_catalog
from seeding.generation.catalog import FILES, CatalogError, load_catalog
from seeding.models import SeedRun
from seeding.plan import SeedPlan
from tests.support.catalogs import catalog_with
from tests.support.data import seed
from tests.support.plans import AS_OF

EVENTS_HEADER = "kind,asset_types,families,scope,source,message,values,severity,weight\n"
SOFTWARE_HEADER = "name,vendor,category,owner_team,platforms,versions\n"
SMALL_CATALOG = {
    "teams.csv": "team,department,kind,sites,staff,titles\nWorkplace,IT,infrastructure,*,1,\n"
    "Fleet Systems,Fisheries,product,osl1,2,Fiskeridirektør;Teamleder;Utvikler\n"
    "Fiskesalg,Salg,business,*,3,Salgsdirektør;Salgsleder;Selger;Kundeansvarlig\n",
    "sites.csv": "code,city,country,time_zone,network,weight\n"
    "osl1,Oslo,Norway,Europe/Oslo,10.50.0.0/16,3\n"
    "ber1,Bergen,Norway,Europe/Oslo,10.51.0.0/24,1\n",
    "asset_types.csv": "asset_type,hostname_prefix,weight,lifespan_years,end_user,hosts,physical\n"
    "server,sv,1,6,no,server,yes\nlaptop,pc,1,4,yes,endpoint,yes\n",
    "manufacturers.csv": "manufacturer,serial_prefix,serial_length\nFjord Systems,FJ,9\nNordbook,NB,8\n",
    "hardware.csv": "asset_type,manufacturer,model,weight\nserver,Fjord Systems,FS-200,1\nlaptop,Nordbook,Air 13,1\n",
    "operating_systems.csv": "asset_type,manufacturer,model_prefix,name,weight,family\n"
    "server,,,FjordOS 3,1,fjordos\nlaptop,Nordbook,,NordOS 12,1,nordos\n",
    "software.csv": "name,vendor,category,owner_team,platforms,versions\n"
    "Skrivebord,Nordbook,Productivity,Workplace,endpoint/nordos,11.2 12.0\n",
    "business_domains.csv": "domain,category,owner_team,services\n"
    "Fisheries,Operations,Fleet Systems,Catch API|Quota Service\n",
    "codenames.csv": "codename\nSkarv\nLunde\n",
    "packages.csv": "package,family,versions\nfjord-base,fjordos,3.1 3.2\n",
    "events.csv": EVENTS_HEADER + "alert,server,fjordos,host,Fyrlykt,Disk at {value}%,85-99,warning@85 critical@95,1\n"
    "change,server,fjordos,host,Fjordctl,{package} updated to {version},,info,1\n"
    "maintenance,server,fjordos,host,Verksted,Fan replaced,,info,1\n"
    "alert,server,fjordos,application,Fyrlykt,Service slow,,warning,1\n"
    "alert,laptop,nordos,host,Nordstyr,Battery at {value}%,10-60,warning@30 error@15,1\n"
    "maintenance,laptop,nordos,host,Verksted,Screen replaced,,info,1\n",
    "incident_stories.csv": "symptom,alert_source,alert,values,incident,incident_severity,ticket_source,fix_source,"
    "fix,recovery,resolution,weight,scope,asset_types,detected_by,minutes\n"
    "stjålet,,,,{ticket}: PC stjålet,critical,Saksbehandler,Nordstyr,{change} for {ticket}: PC slettet,,"
    "{ticket} løst etter {hours} timer,1,host,laptop,user,120-600\n"
    "slow,Fyrlykt,Svartid {value} ms,500-900 1000-1900 2000-4000,{ticket}: {app} er treg,error,Saksbehandler,Fjordctl,"
    "{change} for {ticket}: {app} restartet,Svartid normal,{ticket} løst etter {minutes} minutter,1,,,,\n",
    "bands.csv": "measure,low,high\nseverity.info,0,1\nseverity.warning,0,1\nseverity.error,0,1\n"
    "severity.critical,0,1\nbusiest_day,1,9\nincidents_per_1000_assets_month,0,1000\n",
    "changes.csv": "change,scope,asset_types,families,hosts,minutes,ticket_source,opened,source,step,closed,weight\n"
    "policy,host,laptop,nordos,2-4,30-90,Saksbehandler,{change} godkjent: ny policy i {site},Nordstyr,"
    "{change}: policy satt ({step} av {hosts}),{change} lukket etter {minutes} minutter,1\n",
}


#: cascades.csv: its header, and a row but for its category (each case changes one thing of it).
CASCADES_HEADER = (
    "category,alert_source,alert,incident,incident_severity,ticket_source,consumer_incident,consumer_severity,"
    "fix_source,fix,consumer_resolution,resolution,minutes,weight\n"
)
CASCADE_ROW = (
    "Prometheus,{dependency} down,{ticket}: {dependency} down,critical,ServiceNow,{ticket}: {app} failing,error,"
    "Ansible,{change} for {ticket}: restarted,{ticket} resolved: {app} back,{ticket} resolved,20-90,1\n"
)


@pytest.fixture
def small_catalog(tmp_path) -> Path:
    for name, text in SMALL_CATALOG.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_built_in_catalog_loads():
    catalog = active_catalog()
    assert len(catalog.sites) >= 12 and {t.value for t in catalog.asset_types} == set(Asset.Type.values)
    assert all(model.systems for model in catalog.models)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "sites.csv",
            "code,city,country,time_zone,network,weight\nFRA 1,Frankfurt,Germany,Europe/Berlin,10.1.0.0/16,1\n",
            "sites.csv: line 2, column code: must be up to 8 lower-case letters",
        ),
        (
            "sites.csv",
            "code,city,country,time_zone,network,weight\nfra1,Frankfurt,Germany,Europe/Frankfurt,10.1.0.0/16,1\n",
            "line 2, column time_zone: 'Europe/Frankfurt' is not an IANA time zone",
        ),
        (
            "sites.csv",
            "code,city,country,time_zone,network,weight\nfra1,Frankfurt,Germany,Europe/Berlin,10.1.0.0/16,x\n",
            "line 2, column weight: must be a whole number, not 'x'",
        ),
        (
            "sites.csv",
            "code,city,country,time_zone,network,weight\n"
            "fra1,Frankfurt,Germany,Europe/Berlin,10.1.0.0/16,1\nber1,Berlin,Germany,Europe/Berlin,10.1.4.0/24,1\n",
            "the networks of fra1 and ber1 overlap",
        ),
        ("sites.csv", "code,city,weight\nfra1,Frankfurt,1\n", "line 1: missing column(s) country, time_zone, network"),
        (
            "hardware.csv",
            "asset_type,manufacturer,model,weight\nserver,Acme,Box 1,1\n",
            "hardware.csv: line 2, column manufacturer: not in manufacturers.csv",
        ),
        ("manufacturers.csv", "manufacturer,serial_prefix,serial_length\nDell,,7\nHPE,,7\n", "could be equal"),
        (
            "events.csv",
            EVENTS_HEADER + "incident,server,linux,host,ServiceNow,{ticket}: slow,,error,1\n",
            "events.csv: line 2, column kind: incidents are told by incident_stories.csv",
        ),
        (
            "events.csv",
            EVENTS_HEADER + "alert,server,linux,host,Zabbix,Disk at {percent}%,85-99,warning@85,1\n",
            "line 2, column message: unknown placeholder(s) percent",
        ),
        (
            "events.csv",
            EVENTS_HEADER + "alert,server,linux,host,Zabbix,Disk at {value}%,85-99,warning@85 critical@x,1\n",
            "line 2, column severity: 'critical@x': thresholds look like warning@85 critical@95",
        ),
        (
            "incident_stories.csv",
            "symptom,alert_source,alert,values,incident,incident_severity,ticket_source,fix_source,fix,recovery,"
            "resolution,weight\nslow,Zabbix,Slow {value},1 2 3,{ticket}: {app} slow,info,ServiceNow,Ansible,"
            "{change} for {ticket}: restarted,ok,{ticket} resolved,1\n",
            "incident_stories.csv: line 2, column incident_severity: error or critical (an incident is never info)",
        ),
        (
            "incident_stories.csv",
            "symptom,alert_source,alert,values,incident,incident_severity,ticket_source,fix_source,fix,recovery,"
            "resolution,weight,scope,detected_by\nstolen,Zabbix,Gone {value},1 2 3,{ticket}: stolen,error,ServiceNow,"
            "Intune,{change} for {ticket}: wiped,back,{ticket} resolved,1,host,user\n",
            "incident_stories.csv: line 2, column alert: must be empty when a user reports the incident",
        ),
        (
            "bands.csv",
            "measure,low,high\nseverity.info,0.5,0.4\n",
            "bands.csv: line 2, column high: must be at least low",
        ),
        ("bands.csv", "measure,low,high\nseverity.info,0.4,0.6\n", "bands.csv: no band for severity.warning"),
        (
            "changes.csv",
            "change,scope,asset_types,families,hosts,minutes,ticket_source,opened,source,step,closed,weight\n"
            "acl,host,router,,2-4,30-60,ServiceNow,{change} opened,Ansible,{change} ({step}),{change} closed,1\n",
            "changes.csv: line 2, column asset_types: unknown asset type(s) router",
        ),
        (
            "changes.csv",
            "change,scope,asset_types,families,hosts,minutes,ticket_source,opened,source,step,closed,weight\n"
            "acl,host,network,,2-4,30-60,ServiceNow,{change} for {app},Ansible,{change} ({step}),{change} closed,1\n",
            "changes.csv: line 2, column opened: {app} is for application and release waves",
        ),
        (
            "changes.csv",
            "change,scope,asset_types,families,hosts,minutes,ticket_source,opened,source,step,closed,weight\n"
            "release,release,,,2-4,30-60,ServiceNow,{change} for {app},Ansible,{change} ({step}),{change} closed,1\n",
            "changes.csv: line 2, column failed: must not be empty",
        ),
        (
            "changes.csv",
            "change,scope,asset_types,families,hosts,minutes,ticket_source,opened,source,step,closed,weight,failed\n"
            "acl,host,network,,2-4,30-60,ServiceNow,{change},Ansible,{change} ({step}),{change} closed,1,{change}\n",
            "changes.csv: line 2, column failed: is for release waves",
        ),
        (
            "changes.csv",
            "change,scope,asset_types,families,hosts,minutes,ticket_source,opened,source,step,closed,weight\n"
            "acl,host,network,,2-4,30-60,ServiceNow,{change} to {destination},Ansible,{change} ({step}),"
            "{change} closed,1\n",
            "changes.csv: line 2, column opened: {destination} is for migration waves",
        ),
        (
            "cascades.csv",
            CASCADES_HEADER + "Spreadsheet," + CASCADE_ROW,
            "cascades.csv: line 2, column category: 'Spreadsheet' is not a category of software.csv",
        ),
        (
            "cascades.csv",
            CASCADES_HEADER + "Database," + CASCADE_ROW.replace("{dependency} down,critical", "{app} down,critical"),
            "cascades.csv: line 2, column incident: must use {dependency}",
        ),
        (
            "business_domains.csv",
            "domain,category,owner_team,services\nDeveloper Portal,DevOps,Developer Experience,Portal|Search API\n",
            "business_domains.csv: line 2, column services: 'Portal' repeats the domain's last word",
        ),
        (
            "software.csv",
            "name,vendor,category,owner_team,platforms,versions\n"
            "PostgreSQL,PGDG,Database,Data Platform,server/linux,17.2 16.6\n",
            "software.csv: line 2, column versions: must be listed oldest first",
        ),
        (
            "software.csv",
            "name,vendor,category,owner_team,platforms,versions\n"
            "PostgreSQL,PGDG,Database,Databases,server/linux,16.6 17.2\n",
            "software.csv: line 2, column owner_team: 'Databases' is not a team of teams.csv",
        ),
        (
            "teams.csv",
            "team,department,kind,sites\nPayments,Engineering,product,fra1 xyz9\n",
            "teams.csv: line 2, column sites: unknown site code(s) xyz9",
        ),
        (
            "operating_systems.csv",
            "asset_type,manufacturer,model_prefix,name,weight,family,until\n"
            "laptop,,,Windows 10 Enterprise 22H2,30,windows,2025-13-01\n",
            "operating_systems.csv: line 2, column until: must be a date such as 2025-10-14, not '2025-13-01'",
        ),
        (
            "events.csv",
            EVENTS_HEADER.strip() + ",min_age_days\n"
            "maintenance,laptop,*,host,Field Services,Battery replaced,,info,1,-5\n",
            "events.csv: line 2, column min_age_days: must be at least 0",
        ),
        (
            "teams.csv",
            "team,department,kind,sites,staff,titles\nSales,Sales,business,*,5,VP Sales;Account Executive\n",
            "teams.csv: line 2, column titles: needs the head's title, the site leads' and at least one member's",
        ),
        (
            "software.csv",
            "name,vendor,category,owner_team,platforms,versions\n"
            "PostgreSQL,PGDG,Database,Sales,server/linux,16.6 17.2\n",
            "software.csv: line 2, column owner_team: 'Sales' is a business team: it owns no asset or application",
        ),
        (
            "software.csv",
            "name,vendor,category,owner_team,platforms,versions\n"
            "PostgreSQL,PGDG,Database,Data Platform,mainframe/zos,16.6 17.2\n",
            "line 2, column platforms: 'mainframe/zos' is not server/<family> or endpoint/<family>",
        ),
    ],
)
def test_a_broken_catalog_names_the_file_line_and_column(tmp_path, name, text, message):
    directory = catalog_with(tmp_path, name, text)
    with pytest.raises(CatalogError, match=re.escape(message)):
        load_catalog(directory)


def test_manage_py_check_reports_a_broken_catalog(tmp_path, settings):
    settings.SEED_CATALOG_DIR = str(catalog_with(tmp_path, "hardware.csv", "asset_type,manufacturer,model,weight\n"))
    with pytest.raises(SystemCheckError, match=r"seeding\.E001.*hardware\.csv: has no rows"):
        call_command("check")


@pytest.mark.django_db(transaction=True)
def test_a_team_seeds_from_its_own_catalog(small_catalog, settings, make_plan):
    settings.SEED_CATALOG_DIR = str(small_catalog)
    run = seed(make_plan(applications=6, assets=400, deployments=300, events=8_000))
    assets = Asset.objects.filter(seed_run=run)
    assert set(assets.values_list("location", flat=True)) == {"Oslo (OSL1)", "Bergen (BER1)"}
    assert set(assets.values_list("manufacturer", "model", "operating_system")) == {
        ("Fjord Systems", "FS-200", "FjordOS 3"),
        ("Nordbook", "Air 13", "NordOS 12"),
    }
    for asset in assets:
        site = asset.hostname.split("-")[0]
        assert asset.ip_address.startswith({"osl1": "10.50.", "ber1": "10.51.0."}[site])
        assert asset.serial_number.startswith({"Fjord Systems": "FJ", "Nordbook": "NB"}[asset.manufacturer])
        assert len(asset.serial_number) == {"Fjord Systems": 9, "Nordbook": 8}[asset.manufacturer]
        assert asset.asset_type == "laptop" or asset.assigned_to == ""
    # Applications, deployments and events speak the catalog's language too.
    names = set(Application.objects.values_list("name", "vendor", "category", "owner_team"))
    assert ("Skrivebord", "Nordbook", "Productivity", "Workplace") in names
    in_house = {row for row in names if row[1] == "In-house"}
    assert in_house and all(
        name.split(" ")[0] in {"Skarv", "Lunde"} and (category, team) == ("Operations", "Fleet Systems")
        for name, _, category, team in in_house
    )
    # Its teams own what they run: servers with its applications are Fleet Systems', bare ones its only
    # infrastructure team's, laptops too (no owner_team in its asset_types.csv: drawn from those teams).
    assert set(assets.values_list("owner_team", flat=True)) <= {"Workplace", "Fleet Systems"}
    assert not assets.filter(asset_type="laptop").exclude(owner_team="Workplace").exists()
    skrivebord = Deployment.objects.filter(application__name="Skrivebord")
    assert skrivebord.exists() and set(skrivebord.values_list("asset__asset_type", "version").distinct()) <= {
        ("laptop", "11.2"),
        ("laptop", "12.0"),
    }
    assert not Deployment.objects.exclude(application__name="Skrivebord").exclude(asset__asset_type="server").exists()
    sources = set(Event.objects.values_list("source", flat=True))
    assert sources == {"Fyrlykt", "Fjordctl", "Verksted", "Nordstyr", "Saksbehandler"}
    # Its incident stories and change waves, in its words.
    assert Event.objects.filter(kind="incident", message__regex=r"^INC\d{7}: PC stjålet$").exists()
    assert Event.objects.filter(kind="change", message__regex=r"^CHG\d{7}: policy satt \(1 av [2-4]\)$").exists()
    assert Event.objects.filter(message__startswith="fjord-base updated to 3.").exists()
    # Its people work in its teams, with its titles: Fleet Systems in Oslo only, Workplace with the
    # titles of a team that names none; its sales team owns nothing.
    people = Person.objects.filter(seed_run=run)
    assert set(people.values_list("team", "department").distinct()) == {
        ("Workplace", "IT"),
        ("Fleet Systems", "Fisheries"),
        ("Fiskesalg", "Salg"),
    }
    assert set(people.filter(team="Fleet Systems").values_list("location", flat=True)) == {"Oslo (OSL1)"}
    assert set(people.filter(team="Fleet Systems").values_list("title", flat=True)) <= {
        "Fiskeridirektør",
        "Teamleder",
        "Utvikler",
    }
    assert people.get(team="Workplace", manager=None).title == "Head of Workplace"
    assert set(people.values_list("name", flat=True)) == set(
        assets.exclude(assigned_to="").values_list("assigned_to", flat=True)
    )
    assert not assets.filter(owner_team="Fiskesalg").exists()


@pytest.mark.django_db(transaction=True)
def test_a_process_with_another_catalog_refuses_to_write_a_run(small_catalog, settings, make_plan):
    run = services.seed_run_create(plan=SeedPlan(assets=100, as_of=AS_OF))
    settings.SEED_CATALOG_DIR = str(small_catalog)
    with pytest.raises(services.RunFailed):
        services.seed_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == SeedRun.Status.FAILED and not Asset.objects.exists()
    assert "was created with another catalog than this process's" in run.error_detail


# --- applications: reach and codenames (issue 21) ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "software.csv",
            SOFTWARE_HEADER.strip() + ",reach\nnode_exporter,CNCF,Monitoring,SRE,server/linux,1.8.2,120\n",
            "software.csv: line 2, column reach: must be a per cent of the hosts of its platforms, 0 to 100",
        ),
        ("codename_modifiers.csv", "modifier\nSilver\nAtlas\n", "'Atlas' is a codename too"),
        ("codename_modifiers.csv", "modifier\nSilver\nSilver\n", "modifier 'Silver' appears twice"),
    ],
)
def test_reach_and_codename_modifiers_are_checked(tmp_path, name, text, message):
    with pytest.raises(CatalogError, match=re.escape(message)):
        load_catalog(catalog_with(tmp_path, name, text))


def test_codename_modifiers_are_optional_and_a_catalog_without_them_keeps_its_digest(small_catalog):
    before = load_catalog(small_catalog)
    assert before.codename_modifiers == () and all(item.reach == 0 for item in before.software)
    texts = "\0".join((small_catalog / name).read_text(encoding="utf-8") for name in FILES)
    assert before.digest == hashlib.sha256(texts.encode()).hexdigest()  # as before the optional file existed
    (small_catalog / "codename_modifiers.csv").write_text("modifier\nHvit\n", encoding="utf-8")
    after = load_catalog(small_catalog)
    assert after.codename_modifiers == ("Hvit",) and after.digest != before.digest
    builtin = active_catalog()
    assert builtin.codename_modifiers and {item.name: item.reach for item in builtin.software}["Falcon Sensor"] > 90
