from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Activity, User
from hms.admin import ReadOnlyAdmin


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["id", "username", "fullname", "email", "role", "hospital", "is_active", "date_joined"]
    list_filter = ["role", "is_active", "is_staff", "hospital"]
    search_fields = ["username", "fullname", "email", "phone_num"]
    ordering = ["id"]
    list_select_related = ["hospital"]
    autocomplete_fields = ["hospital"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["fullname", "email", "phone_num", "blood_group"]}),
        ("Role", {"fields": ["role", "hospital", "is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "fullname", "email", "role", "hospital", "password1", "password2"],
            },
        ),
    ]


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    """Read-only: the audit trail is never added to, changed or deleted by hand."""

    list_display = ["at", "actor_name", "actor_role", "action", "object_type", "object_id", "patient", "ip"]
    list_filter = ["action", "actor_role", "object_type"]
    search_fields = ["actor_name", "object_id", "request_id", "ip"]
    date_hierarchy = "at"
    list_select_related = ["patient"]
