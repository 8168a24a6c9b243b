from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Case, IntegerField, Q, Value, When


class UsernameOrEmailBackend(ModelBackend):
    """Sign in with the username or the email address, both case-insensitive.

    A username may look like another account's email address, so both matches are tried, the
    username match first: an account named after someone's email cannot lock that person out.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        user_model = get_user_model()
        # Usernames are stored NFKC-normalised (as Django's forms do): `ａｄｍｉｎ` names `admin`.
        username = user_model.normalize_username(username)
        candidates = list(
            user_model.objects.filter(Q(username__iexact=username) | Q(email__iexact=username))
            .annotate(
                username_match=Case(
                    When(username__iexact=username, then=Value(0)), default=Value(1), output_field=IntegerField()
                )
            )
            .order_by("username_match", "pk")[:2]
        )
        if not candidates:
            # Hash anyway so a missing account takes as long as a wrong password.
            user_model().set_password(password)
            return None
        for user in candidates:
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
        return None
