"""Serializer plumbing shared by every app."""

import copy

from rest_framework import serializers


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer, building its fields from the model once per class, not once per instance.

    DRF's ModelSerializer.get_fields() introspects the model again for every serializer it creates
    (about 0.5 ms for a dozen fields: more than the rest of a detail request). The fields it builds
    depend on the class and its Meta only, so they are built once and each instance gets copies. A
    subclass whose fields depend on the instance (its context, say) must not use this class.

    The copies: DRF deep-copies a field by calling its constructor again with the original arguments,
    most of the cost of serializing one object. A plain field's state is its constructor's, and the
    template's fields are never bound (binding sets the name, parent and source on the copy), so a
    shallow copy is the same field; nested serializers and fields with a child (lists, many-related)
    are deep-copied as DRF does, since binding them binds the child too.
    """

    def get_fields(self):
        cls = type(self)
        template = cls.__dict__.get("_fields_template")
        if template is None:
            template = super().get_fields()
            cls._fields_template = template
        return {name: _copy_field(field) for name, field in template.items()}


def _copy_field(field):
    if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation"):
        return copy.deepcopy(field)
    return copy.copy(field)
