"""Serializer plumbing shared by every app."""

import copy

from rest_framework import serializers

from hms.api.per_class import once_per_class


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
        template = once_per_class(self, "_fields_template", super().get_fields)
        return {name: _copy_field(field) for name, field in template.items()}


# DRF's Serializer, copying its declared fields as `ModelSerializer` above copies its template's. DRF
# deep-copies every declared field for every serializer it creates, calling each field's constructor
# again (an `IdField` builds its range validators anew): validating a body of five ids cost more than
# the booking's own statement's Python side. The declared fields are never bound themselves, so each
# instance gets the shallow copies that are the same fields (`_copy_field`). No docstring:
# drf-spectacular would show it as the description of every input built on it.
class Serializer(serializers.Serializer):
    def get_fields(self):
        return {name: _copy_field(field) for name, field in self._declared_fields.items()}


# An answer's shape: every field its Meta lists is read-only (what `read_only_fields = fields` said in
# each), and a foreign key it lists by its column (`hospital_id`) is that integer, null where the key
# may be (no `hospital_id = IntegerField(...)` beside it). No docstring: drf-spectacular would show it
# as the description of every answer in the schema.
#
# `shared_fields = True` (a declaration of the subclass): the answer depends on the object alone (no
# field or method reads the serializer's context or state), so every instance writes it with one kept
# instance's bound fields instead of copying and binding its own (most of a small answer's cost).
class ReadOnlyModelSerializer(ModelSerializer):
    shared_fields = False

    def to_representation(self, instance):
        if not self.shared_fields:
            return super().to_representation(instance)
        writer = once_per_class(self, "_shared_writer", type(self))
        return super(ReadOnlyModelSerializer, writer).to_representation(instance)

    def build_field(self, field_name, info, model_class, nested_depth):
        foreign_key = _foreign_key_by_column(model_class, field_name)
        if foreign_key is not None:
            return serializers.IntegerField, {"allow_null": foreign_key.null}
        return super().build_field(field_name, info, model_class, nested_depth)

    def get_extra_kwargs(self):
        extra_kwargs = super().get_extra_kwargs()
        for name in self.Meta.fields:
            extra_kwargs[name] = {**extra_kwargs.get(name, {}), "read_only": True}
        return extra_kwargs


def _foreign_key_by_column(model, name):
    """The foreign key (or one-to-one) of `model` whose column is `name`, or None."""
    for field in model._meta.concrete_fields:
        if field.is_relation and field.attname == name and field.attname != field.name:
            return field
    return None


def _copy_field(field):
    if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation"):
        return copy.deepcopy(field)
    return copy.copy(field)


# PostgreSQL's bigint: every primary key and every id in a body or a query string is 1 .. MAX_ID.
MAX_ID = 2**63 - 1


def IdField(**kwargs):  # noqa: N802 - reads like a field class
    """An id given as a plain integer (one that a service looks up and refuses itself)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def OptionalIdField(*, help_text: str):  # noqa: N802 - reads like a field class
    """A body's `<name>_id` that may be left out or null: the service then picks the row itself (the first
    free bed, the nearest available ambulance); `help_text` says which."""
    return IdField(required=False, allow_null=True, help_text=help_text)


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A `<name>_id` in a body: a positive integer naming an existing row, else 400 naming the field."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            value = int(data)
        except ValueError:
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= value <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(value)


# A place on the map. hms.api.strict already refuses booleans, text and non-finite numbers.
def LatitudeField(**kwargs):  # noqa: N802 - reads like a field class
    return serializers.FloatField(min_value=-90, max_value=90, **kwargs)


def LongitudeField(**kwargs):  # noqa: N802 - reads like a field class
    return serializers.FloatField(min_value=-180, max_value=180, **kwargs)


def validate_coordinates(attrs: dict, instance=None) -> None:
    """Latitude and longitude travel together: both or neither (a partial update keeps the stored one).
    Else a 400 naming the missing one, with DRF's code for a missing field, `required`."""
    latitude = attrs.get("latitude", getattr(instance, "latitude", None))
    longitude = attrs.get("longitude", getattr(instance, "longitude", None))
    if (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        raise serializers.ValidationError({missing: ["Give both latitude and longitude, or neither."]}, code="required")


# The input of a row with an optional place (a hospital, a blood bank, an ambulance): latitude and
# longitude in range, both or neither. No docstring: drf-spectacular would show it as the description
# of each such input in the schema.
class PlaceModelSerializer(ModelSerializer):
    latitude = LatitudeField(required=False, allow_null=True)
    longitude = LongitudeField(required=False, allow_null=True)

    def validate(self, attrs):
        validate_coordinates(attrs, self.instance)
        return attrs
