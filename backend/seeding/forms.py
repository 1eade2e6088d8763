"""The admin's "Seed demo data" and "Live stream" forms: input types only; the plan is validated by the
services, the same way for every entry point."""

from __future__ import annotations

from django import forms

from seeding.catalogs import active_scenario, scenario_choices
from seeding.generation.catalog import CatalogError
from seeding.generation.kinds import KINDS
from seeding.plan import AS_OF_EXAMPLE, DEFAULT_SEED, DEMO_PLAN, PER_KIND_MAX, SEED_MAX, SeedPlan, parse_as_of
from seeding.services.live import DEFAULT_DURATION as LIVE_DEFAULT_DURATION
from seeding.services.live import DEFAULT_RATE as LIVE_DEFAULT_RATE
from seeding.services.live import DURATION_MAX as LIVE_DURATION_MAX
from seeding.services.live import DURATION_MIN as LIVE_DURATION_MIN
from seeding.services.live import RATE_MAX as LIVE_RATE_MAX
from seeding.services.live import RATE_MIN as LIVE_RATE_MIN


class SeedDemoDataForm(forms.Form):
    applications = forms.IntegerField(min_value=0, max_value=PER_KIND_MAX, initial=DEMO_PLAN["applications"])
    assets = forms.IntegerField(min_value=0, max_value=PER_KIND_MAX, initial=DEMO_PLAN["assets"])
    deployments = forms.IntegerField(min_value=0, max_value=PER_KIND_MAX, initial=DEMO_PLAN["deployments"])
    events = forms.IntegerField(min_value=0, max_value=PER_KIND_MAX, initial=DEMO_PLAN["events"])
    seed = forms.IntegerField(min_value=0, max_value=SEED_MAX, initial=DEFAULT_SEED)
    as_of = forms.CharField(
        label="As of",
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "now", "size": 24}),
        help_text=f"Base time of the data, ISO 8601 (e.g. {AS_OF_EXAMPLE}); empty means now; from 2000-01-01 "
        "to a year ahead. The same plan, seed and base time give identical rows.",
    )

    scenario = forms.ChoiceField(
        required=False,
        help_text="A scenario pack that shapes what happens in the 90 days: how busy, and which incidents and "
        "changes (the catalog's scenarios/ directory).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].choices = scenario_field_choices()

    def clean_as_of(self):
        text = self.cleaned_data["as_of"].strip()
        if not text:
            return None
        try:
            return parse_as_of(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def plan(self) -> SeedPlan:
        data = self.cleaned_data
        return SeedPlan(
            **{kind: data[kind] for kind in KINDS},
            seed=data["seed"],
            as_of=data["as_of"],
            scenario=data["scenario"] or None,
        )


class LiveStreamForm(forms.Form):
    """The admin's "Live stream" form: rate, duration and seed; the services check the rest."""

    rate = forms.FloatField(
        label="Events per second",
        min_value=LIVE_RATE_MIN,
        max_value=LIVE_RATE_MAX,
        initial=LIVE_DEFAULT_RATE,
        help_text="On average: busier in each site's office hours, in its own time zone, quieter at night and "
        "at weekends.",
    )
    minutes = forms.IntegerField(
        label="Minutes",
        min_value=LIVE_DURATION_MIN // 60,
        max_value=LIVE_DURATION_MAX // 60,
        initial=LIVE_DEFAULT_DURATION // 60,
        help_text="The stream stops by itself after this long; Stop ends it sooner.",
    )
    seed = forms.IntegerField(min_value=0, max_value=SEED_MAX, initial=DEFAULT_SEED)
    scenario = forms.ChoiceField(
        required=False,
        help_text="A scenario pack that shapes what happens: an incident storm, a patch wave, a quiet weekend "
        "(the catalog's scenarios/ directory).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].choices = scenario_field_choices()


def scenario_field_choices() -> list[tuple[str, str]]:
    """The catalog's scenario packs as a select's options, each with what happens in it."""
    packs = []
    for name in scenario_choices():
        try:
            packs.append((name, f"{name}: {active_scenario(name).description}"))
        except CatalogError:
            continue  # a broken pack is reported by manage.py check; it is not offered
    return [("", "none"), *packs]
