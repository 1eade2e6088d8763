"""The product's settings plus one fault middleware, for a worker that a test starts to be killed.

Selected per process through DJANGO_SETTINGS_MODULE (manage.py only sets it
by default), so the fault never reaches the product's own settings. Needs the
repository root on PYTHONPATH: manage.py puts only backend/ there.
"""

from config.settings import *  # noqa: F403

DRAMATIQ_BROKER = {
    **DRAMATIQ_BROKER,  # noqa: F405
    # Anywhere in the list will do: every after_process_message hook runs before the acknowledgement.
    "MIDDLEWARE": [*DRAMATIQ_BROKER["MIDDLEWARE"], "tests.fault_middleware.KillAfterChunkCommit"],  # noqa: F405
}
