"""Every refusal names its reason: each 409 carries a specific code, every code the services raise is
listed in the OpenAPI description, and constraint violations map to the same codes."""

import ast
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.tests.factories import UserFactory
from appointments.tests.factories import SlotFactory
from hms.api.exceptions import CONSTRAINT_CODES, integrity_error_code

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
# DRF's field-validation codes, documented once as a group rather than per refusal.
FIELD_VALIDATION_CODES = {"invalid", "required", "blank", "max_length", "read_only"}
REFUSALS = ("Conflict", "ValidationError")


def _production_files():
    for path in sorted(ROOT.glob("*/**/*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0].startswith(".") or "tests" in parts or "migrations" in parts or parts[0] in ("bench", "bin"):
            continue
        yield path


def _module_strings(tree) -> dict[str, str]:
    """Module-level NAME = "text" assignments (refusal codes kept as constants)."""
    strings = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    strings[target.id] = node.value.value
    return strings


def _values(node, module) -> set[str]:
    """The codes an expression can give: a literal, a module constant, either branch of a conditional,
    or what a function of the module returns (a variable bound elsewhere gives none)."""
    strings, functions = module
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name):
        return {strings[node.id]} if node.id in strings else set()
    if isinstance(node, ast.IfExp):
        return _values(node.body, module) | _values(node.orelse, module)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
        returns = [inner.value for inner in ast.walk(functions[node.func.id]) if isinstance(inner, ast.Return)]
        return set().union(*(_values(value, module) for value in returns if value is not None))
    return set()


def _called(node) -> str | None:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _imported_strings(tree, constants: dict[str, dict[str, str]]) -> dict[str, str]:
    """`from app.module import NAME` of a refusal-code constant kept in another module of ours."""
    strings = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module in constants:
            for alias in node.names:
                if alias.name in constants[node.module]:
                    strings[alias.asname or alias.name] = constants[node.module][alias.name]
    return strings


def _refusals():
    """(file:line, class, codes or None) for each Conflict/ValidationError raised in production code
    (None: no code given), and (file:line, "refusal", codes) for what the models' `*_refusal` rules return."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in _production_files()}
    constants = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts): _module_strings(tree) for path, tree in trees.items()
    }
    for path, tree in trees.items():
        functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        module = ({**_imported_strings(tree, constants), **_module_strings(tree)}, functions)
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called(node) in REFUSALS:
                codes = [keyword.value for keyword in node.keywords if keyword.arg == "code"]
                yield f"{where}:{node.lineno}", _called(node), _values(codes[0], module) if codes else None
            if isinstance(node, ast.ClassDef) and any(getattr(base, "id", None) in REFUSALS for base in node.bases):
                # A refusal with a body of its own (e.g. a 409 listing what stands in the way).
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Call) and _called(inner) == "__init__":
                        codes = [keyword.value for keyword in inner.keywords if keyword.arg == "code"]
                        yield f"{where}:{inner.lineno}", node.bases[0].id, _values(codes[0], module) if codes else None
            if isinstance(node, ast.FunctionDef) and node.name.endswith("_refusal"):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Return) and isinstance(inner.value, ast.Tuple):
                        yield f"{where}:{inner.lineno}", "refusal", _values(inner.value.elts[0], module)


def _described_codes(api) -> set[str]:
    description = api.get("/api/schema?format=json").json()["info"]["description"]
    section = description.split("## Refusal codes", 1)[1]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))


def test_every_conflict_names_a_specific_code():
    conflicts = [(where, code) for where, kind, code in _refusals() if kind == "Conflict"]
    assert len(conflicts) > 30
    missing = [where for where, codes in conflicts if codes is None and "exceptions.py" not in where]
    assert not missing, f"Conflict without a code: {missing}"
    # Only the exception handler's fallback (a constraint without a code of its own) says `conflict`.
    generic = [where for where, codes in conflicts if codes and "conflict" in codes and "exceptions.py" not in where]
    assert not generic, f"Conflict with the generic code: {generic}"


def test_every_refusal_code_is_listed_in_the_openapi_description(api):
    described = _described_codes(api)
    raised = set().union(*(codes for _, _, codes in _refusals() if codes)) - FIELD_VALIDATION_CODES
    raised |= set(CONSTRAINT_CODES.values()) | {"unique", "conflict"}
    assert raised - described == set(), "document these codes under Refusal codes in openapi_description.md"
    # And nothing is documented that nothing raises (a renamed code leaves no stale line behind).
    assert described - raised - {"does_not_exist", "out_of_range"} == set()


def test_constraint_codes_name_real_constraints():
    names = {constraint.name for model in apps.get_models() for constraint in model._meta.constraints}
    assert set(CONSTRAINT_CODES) <= names


def _integrity_error(create) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        create()
    return caught.value


def test_constraint_violations_get_the_constraints_code():
    slot = SlotFactory(capacity=1)
    overbooked = _integrity_error(lambda: type(slot).objects.filter(pk=slot.pk).update(booked=2, last_token=2))
    assert integrity_error_code(overbooked) == "slot_full"
    user = UserFactory()
    duplicate = _integrity_error(lambda: UserFactory(username=user.username.upper()))
    assert integrity_error_code(duplicate) == "unique"
    negative = _integrity_error(lambda: type(slot).objects.filter(pk=slot.pk).update(capacity=0))
    assert integrity_error_code(negative) == "conflict"
