"""The yardstick for bench/feedback_form.py: bare views doing the same essential work.

GET renders one small template; POST inserts one feedback row. The project's
form does the same plus everything the product needs (intake state, scans,
CSRF, validation, rate limits, scoring, trial-limit locking).
"""

from django.http import HttpResponse, HttpResponseRedirect
from django.template import engines
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from pilots.models import Feedback, QRCode

TEMPLATE = engines["django"].from_string(
    "<!doctype html><title>{{ name }}</title><h1>{{ name }}</h1>"
    "<form method=post><input name=rating><textarea name=comment></textarea></form>"
)


def bare_form(request, token: str):
    code = QRCode.objects.select_related("business").get(token=token)
    if request.method == "POST":
        Feedback.objects.create(
            business=code.business,
            qr_code=code,
            rating=int(request.POST.get("rating", 3)),
            comment=request.POST.get("comment", ""),
            language="sv",
            quality_score=50,
            client_hash="0" * 64,
            submitted_at=timezone.now(),
        )
        return HttpResponseRedirect("/")
    return HttpResponse(TEMPLATE.render({"name": code.business.name}))


urlpatterns = [
    path("bare/<str:token>/", csrf_exempt(bare_form)),
    path("", include("config.urls")),
]
