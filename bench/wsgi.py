"""WSGI entry for the benchmark: the project's URLs plus the bare yardstick views."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings

settings.ROOT_URLCONF = "bench.bare"

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
