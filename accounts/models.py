import pgtrigger
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from accounts import audit_chain
from accounts.login_failures import LoginFailureWindow  # noqa: F401 (the login counters' table, registered here)
from hms.api.roles import SELF_REGISTER_ROLES, STAFF_ROLES, Role
from hms.db_fields import text_choices, user_reference


class BloodGroup(models.TextChoices):
    A_POS = "A+", "A+"
    A_NEG = "A-", "A-"
    B_POS = "B+", "B+"
    B_NEG = "B-", "B-"
    AB_POS = "AB+", "AB+"
    AB_NEG = "AB-", "AB-"
    O_POS = "O+", "O+"
    O_NEG = "O-", "O-"


class HmsUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", User.Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    Role = Role
    STAFF_ROLES = STAFF_ROLES
    SELF_REGISTER_ROLES = SELF_REGISTER_ROLES

    email = models.EmailField(max_length=254)
    fullname = models.CharField(max_length=150)
    phone_num = models.CharField(max_length=20, blank=True, default="")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.USER, db_index=True)
    blood_group = models.CharField(max_length=3, choices=BloodGroup.choices, blank=True, default="")
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    # Bumped on password change and deactivation: tokens carrying an older version are refused.
    auth_version = models.PositiveIntegerField(default=0)

    objects = HmsUserManager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), condition=~Q(email=""), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=Q(hospital__isnull=False) | ~Q(role__in=list(STAFF_ROLES)),
                name="user_staff_has_hospital",
            ),
        ]

    def __str__(self):
        return f"{self.username} ({self.role})"

    def save(self, *args, **kwargs):
        if self._password is not None and not self._state.adding:
            # A new password, however it is set (API, Django admin, changepassword), ends every
            # session opened with the old one. A hash upgrade at sign-in clears _password first.
            self.auth_version = F("auth_version") + 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "auth_version" not in update_fields:
                kwargs["update_fields"] = [*update_fields, "auth_version"]
            super().save(*args, **kwargs)
            self.refresh_from_db(fields=["auth_version"])
            return
        super().save(*args, **kwargs)

    @property
    def is_admin_role(self) -> bool:
        return self.role == self.Role.ADMIN


class RevokedAccessToken(models.Model):
    """Access tokens revoked by logout before they expire (checked by jti on every request)."""

    jti = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return self.jti


class AuditChainHead(models.Model):
    """The last position and hash of one of the audit log's hash chains (accounts/audit_chain.py)."""

    chain = models.PositiveSmallIntegerField(primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True, default="")

    def __str__(self):
        return f"chain {self.chain} at {self.seq}"


class Activity(models.Model):
    """Append-only audit trail: who did what to which record, from where."""

    Action = text_choices(
        "Action", "login login_failed logout password_change create update delete action read read_denied export"
    )

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = user_reference()
    actor_role = models.CharField(max_length=20, blank=True, default="")
    actor_name = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=50, blank=True, default="", db_index=True)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Indexed by activity_patient_at (patient, -at), which leads with it.
    patient = user_reference(db_index=False)
    ip = models.CharField(max_length=45, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    # The hash chain (accounts/audit_chain.py), set by the database on insert; empty on SQLite.
    chain = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    chain_seq = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["patient", "-at"], name="activity_patient_at")]
        constraints = [models.UniqueConstraint(fields=["chain", "chain_seq"], name="activity_chain_position")]
        triggers = [
            pgtrigger.Protect(name="activity_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="activity_hash_chain",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                declare=audit_chain.LINK_DECLARE,
                func=audit_chain.LINK_SQL,
            ),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or 'anonymous'} {self.action} {self.object_type}"


# Import paths for the OpenAPI enum names (drf-spectacular cannot import nested classes).
UserRole = User.Role
