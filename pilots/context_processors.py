from pilots import stripe_gateway


def stripe_status(request) -> dict[str, bool]:
    """Tell staff who can see payments that Stripe is not configured (the admin banner)."""
    user = getattr(request, "user", None)
    if not request.path.startswith("/admin/") or user is None or not user.is_staff:
        return {}
    return {
        "stripe_not_configured": not stripe_gateway.is_configured()
        and user.has_perm("pilots.view_payment")
    }
