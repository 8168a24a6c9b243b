from django.contrib import admin

from hospitals.models import Hospital


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "registration_number",
        "hospital_type",
        "city",
        "opd_status",
        "emergency_services",
        "is_active",
    ]
    list_filter = ["hospital_type", "opd_status", "emergency_services", "is_active", "is_multi_level"]
    search_fields = ["name", "registration_number", "city"]
