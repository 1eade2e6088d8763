from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    """API tokens: `Authorization: Bearer <token>` for scripts and CI, instead of a session and CSRF."""

    name = "apitokens"
    verbose_name = "API tokens"
    default_auto_field = "django.db.models.BigAutoField"
