"""Settings for counting the queries of the form and the bare views in-process."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare"
ALLOWED_HOSTS = ["*"]
