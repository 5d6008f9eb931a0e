"""Contact data shown to staff only in masked form."""


def mask_email(email: str) -> str:
    """anna.svensson@example.se → a***@example.se"""
    if "@" not in email:
        return ""
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    """+46701234567 → +46*******67"""
    if len(phone) < 6:
        return "***"
    return phone[:3] + "*" * (len(phone) - 5) + phone[-2:]


def mask_contact(*, email: str, phone: str) -> str:
    return mask_email(email) if email else mask_phone(phone) if phone else ""
