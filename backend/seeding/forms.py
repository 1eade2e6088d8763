"""The admin's "Seed demo data" form: input types only; the plan is validated by the services,
the same way for every entry point."""

from __future__ import annotations

from django import forms

from seeding.generation.kinds import KINDS
from seeding.plan import AS_OF_EXAMPLE, DEFAULT_SEED, DEMO_PLAN, PER_KIND_MAX, SEED_MAX, SeedPlan, parse_as_of


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
        return SeedPlan(**{kind: data[kind] for kind in KINDS}, seed=data["seed"], as_of=data["as_of"])
