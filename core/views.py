"""Health endpoints for load balancers and operators."""

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.selectors import readiness_checks


@never_cache
@require_GET
def health(request):
    return JsonResponse({"status": "ok", "timestamp": timezone.now().isoformat()})


@never_cache
@require_GET
def ready(request):
    checks = readiness_checks()
    failing = [check.name for check in checks if not check.ok]
    return JsonResponse(
        {
            "status": "unavailable" if failing else "ok",
            "timestamp": timezone.now().isoformat(),
            "failing": failing,
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
        },
        status=503 if failing else 200,
    )
