"""The admin's "Seed demo data" form: the same plan validation as every other entry point."""

from __future__ import annotations

from django import forms
from django.conf import settings

from seeding.models import KINDS
from seeding.plan import PER_KIND_MAX, SEED_MAX, PlanError, SeedPlan, validate_plan
from seeding.services.runs import existing_parents


class SeedDemoDataForm(forms.Form):
    applications = forms.IntegerField(min_value=0, max_value=PER_KIND_MAX, initial=500)
    assets = forms.IntegerField(min_value=0, max_value=PER_KIND_MAX, initial=5_000)
    deployments = forms.IntegerField(min_value=0, max_value=PER_KIND_MAX, initial=10_000)
    events = forms.IntegerField(min_value=0, max_value=PER_KIND_MAX, initial=100_000)
    seed = forms.IntegerField(min_value=0, max_value=SEED_MAX, initial=1)

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        plan = SeedPlan(**{kind: data[kind] for kind in KINDS}, seed=data["seed"], chunk_size=settings.SEED_CHUNK_SIZE)
        try:
            validate_plan(plan, existing=existing_parents(plan))
        except PlanError as exc:
            for field, message in exc.errors.items():
                self.add_error(field if field in self.fields else None, message)
        if not self.errors and plan.total == 0:
            raise forms.ValidationError("Give at least one positive count.")
        data["plan"] = plan
        return data
