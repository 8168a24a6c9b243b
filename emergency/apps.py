from django.apps import AppConfig


class EmergencyConfig(AppConfig):
    name = "emergency"
