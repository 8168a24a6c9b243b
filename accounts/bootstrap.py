from django.conf import settings


def ensure_admin_account(sender, using="default", **kwargs):
    """With ADMIN_EMAIL and ADMIN_PASSWORD set, an admin account exists after migrate; never overwritten."""
    if not (settings.ADMIN_EMAIL and settings.ADMIN_PASSWORD):
        return
    from accounts.models import User

    username = settings.ADMIN_USERNAME or "admin"
    if User.objects.using(using).filter(username__iexact=username).exists():
        return
    User.objects.db_manager(using).create_superuser(
        username=username,
        email=settings.ADMIN_EMAIL,
        password=settings.ADMIN_PASSWORD,
        fullname="Administrator",
        role=User.Role.ADMIN,
    )
