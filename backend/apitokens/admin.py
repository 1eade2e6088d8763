"""Staff create, list and revoke API tokens here. A token is shown once, when it is created."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from apitokens.models import ApiToken
from apitokens.services import token_issue, token_revoke


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() in ("active", "revoked"):
            return queryset.filter(revoked_at__isnull=self.value() == "active")
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix_display", "created_at", "last_used_at", "state")
    list_filter = (StateFilter,)
    search_fields = ("name", "user__username", "prefix")
    fields = ("user", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(description="Token")
    def prefix_display(self, token: ApiToken) -> str:
        return f"{token.prefix}…"

    @admin.display(description="State")
    def state(self, token: ApiToken) -> str:
        return f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.is_revoked else "active"

    def get_queryset(self, request: HttpRequest):
        tokens = super().get_queryset(request).select_related("user")
        return tokens if request.user.is_superuser else tokens.filter(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None):
        readonly = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
        return readonly if obj is None else ["user", "name", *readonly]

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "user":
            # A token carries its user's permissions: only a superuser may make one for someone else.
            users = db_field.remote_field.model.objects.filter(is_active=True, is_staff=True)
            kwargs["queryset"] = users if request.user.is_superuser else users.filter(pk=request.user.pk)
            kwargs["initial"] = request.user.pk
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, token: ApiToken, form, change: bool) -> None:
        if change:
            return  # a token is not edited: revoke it and make another
        secret = token_issue(token)
        token.created_by = request.user
        super().save_model(request, token, form, change)
        messages.warning(
            request,
            f"The token for “{token.name}” is {secret} — copy it now: it is stored only as a hash and "
            "is not shown again. Send it as “Authorization: Bearer <token>”.",
        )

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # read-only after creation (the change page still shows it)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset) -> None:
        revoked = sum(token_revoke(token) for token in queryset)
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)
