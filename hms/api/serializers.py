"""Serializer plumbing shared by every app."""

import copy

from rest_framework import serializers


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer, building its fields from the model once per class, not once per instance.

    DRF's ModelSerializer.get_fields() introspects the model again for every serializer it creates
    (about 0.5 ms for a dozen fields: more than the rest of a detail request). The fields it builds
    depend on the class and its Meta only, so they are built once and each instance gets a deep copy,
    as DRF itself does for declared fields. A subclass whose fields depend on the instance (its
    context, say) must not use this class.
    """

    def get_fields(self):
        cls = type(self)
        template = cls.__dict__.get("_fields_template")
        if template is None:
            template = super().get_fields()
            cls._fields_template = template
        return copy.deepcopy(template)
