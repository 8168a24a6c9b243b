import logging

from django.conf import settings
from django.db.models import Q

logger = logging.getLogger(__name__)


def ensure_admin_account(sender, using="default", **kwargs):
    """With ADMIN_EMAIL and ADMIN_PASSWORD set, an admin account exists after migrate; never overwritten."""
    if not (settings.ADMIN_EMAIL and settings.ADMIN_PASSWORD):
        return
    from accounts.models import User

    username = settings.ADMIN_USERNAME or "admin"
    existing = (
        User.objects.using(using)
        .filter(Q(username__iexact=username) | Q(email__iexact=settings.ADMIN_EMAIL))
        .values_list("username", flat=True)
        .first()
    )
    if existing is not None:
        if existing.lower() != username.lower():
            # Creating it would break the unique email rule (and fail migrate): leave both alone.
            logger.warning("Admin bootstrap skipped: ADMIN_EMAIL is already used by the account %r.", existing)
        return
    User.objects.db_manager(using).create_superuser(
        username=username,
        email=settings.ADMIN_EMAIL,
        password=settings.ADMIN_PASSWORD,
        fullname="Administrator",
        role=User.Role.ADMIN,
    )
