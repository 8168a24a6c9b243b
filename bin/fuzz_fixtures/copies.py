"""bin/fuzz's copies, per fuzzed role, of the schema and of schemathesis.toml: the pools reach the fuzzer
through them (never through the served schema or the repository's config)."""

import json
import os

from fuzz_fixtures.base import ALWAYS, ROOT

POOLS_FILE = os.path.join(ROOT, "var", "fuzz", "pools.json")


def write_pools(pools: dict[str, dict]) -> None:
    os.makedirs(os.path.dirname(POOLS_FILE), exist_ok=True)
    with open(POOLS_FILE, "w") as out:
        json.dump(pools, out, indent=1)


def fuzz_config(config: str, pools: dict[str, dict], root: str) -> str:
    """bin/fuzz's copy of schemathesis.toml: each pooled parameter drawn from the rest of its pool half the
    time (an entry ahead of the others: the first that sets an operation's parameters decides), the
    operation's examples phase off; a pool with probability 1.0 is drawn from whole every time, and its
    operation's coverage phase is off too. A file dictionary holds strings only, and these ids are integers:
    hence a copy with their values."""
    entries = []
    for operation, parameters in pools.items():
        probability = parameters.get("probability", 0.5)
        always = probability >= ALWAYS  # every draw from the pool: the first record too
        bound = {
            param: ids if always else ids[1:]
            for param, ids in parameters.items()
            if "." in param and isinstance(ids, list) and len(ids) > (0 if always else 1)
        }
        if not bound:
            continue
        names = {param: f"pool-{operation}-{param.replace('.', '-')}" for param in bound}
        entries.extend(f"[dictionaries.{names[param]}]\nvalues = {json.dumps(ids)}\n\n" for param, ids in bound.items())
        drawn = ", ".join(
            f'"{param}" = {{ dictionary = "{names[param]}", probability = {probability} }}' for param in bound
        )
        # The coverage phase sends its own ids (1, 2: records of others, 404 to the patient) whatever the
        # dictionary says: an operation drawn from its pool every time stays out of it.
        coverage = "phases.coverage.enabled = false\n" if always or parameters.get("coverage") is False else ""
        entries.append(
            f'[[operations]]\ninclude-operation-id-regex = "^{operation}$"\nparameters = {{ {drawn} }}\n'
            f"phases.examples.enabled = false\n{coverage}\n"
        )
    first = config.index("\n[[operations]]") + 1
    config = config[:first] + "".join(entries) + config[first:]
    return config.replace('from-file = "', f'from-file = "{root}/')


CHANGE_PASSWORD = "ChangePasswordInRequest"
# A record id typed as a digit string (seed aliases, notifications, leaves, the queue board): the coverage
# phase sent "0" and such, which name nothing (404 every time); an integer id it sends as 1 already.
FIRST_RECORD = "1"


def _digit_string(parameter: dict) -> bool:
    schema = parameter.get("schema", {})
    return (
        parameter.get("in") == "path"
        and schema.get("type") == "string"
        and schema.get("pattern", "").startswith("^[0-9]")
    )


# A key holding U+0000 is refused like a value holding one (hms/api/null_characters.py: 400 null_character),
# and a body may carry keys its schema does not name: OpenAPI 3.0 has no `propertyNames` to say so in the
# served schema, so the copy says it, and schema-valid bodies stop drawing such keys (they made positive
# cases of any creator fail, issue 22's "mostly rejected generated data").
NO_NUL_KEYS = {"not": {"pattern": "[\\u0000]"}}
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def no_nul_keys(schema) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "object" or "properties" in schema:
        schema.setdefault("propertyNames", dict(NO_NUL_KEYS))
    for child in schema.get("properties", {}).values():
        no_nul_keys(child)
    no_nul_keys(schema.get("items"))
    for keyword in SCHEMA_LISTS:
        for child in schema.get(keyword, ()):
            no_nul_keys(child)


def required_too(operation: dict, fields: list[str], *, any_of: list[list[str]] = ()) -> None:
    """The operation's body requires `fields` as well, and all the fields of one of `any_of` (rules of the
    fuzzed role's: an administrator names the hospital a hospital admin's account implies, staff name the
    patient a patient is -- or a hold, which names its patient)."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    rule = {"required": list(fields)} if fields else {}
    if any_of:
        rule["anyOf"] = [{"required": list(names)} for names in any_of]
    if content and "schema" in content and rule:
        content["schema"] = {"allOf": [content["schema"], rule]}


def fuzz_schema(schema: dict, pools: dict[str, dict], password: str = "") -> dict:
    """bin/fuzz's copy of the schema (never the served one): each pooled operation's path parameter has
    the pool's first record as its example (and its body the pool's `body`, with the pool's `required`
    fields required), a digit-string record id the first record's, a password change's current password
    has the fuzzed accounts' own (bin/fuzz gives the patient the administrator's; bin/fuzz_hooks.py puts
    it back after each change), and no request body's key holds U+0000 -- a fuzz-only fixture, in no
    schema anyone else reads."""
    components = schema.get("components", {}).get("schemas", {})
    current = components.get(CHANGE_PASSWORD, {}).get("properties", {})
    if password and "old_password" in current:
        current["old_password"]["example"] = password
    for name, component in components.items():
        if name.endswith("Request"):
            no_nul_keys(component)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if _digit_string(parameter) and "example" not in parameter:
                    parameter["example"] = FIRST_RECORD
            pooled = pools.get(operation.get("operationId"), {})
            body = pooled.get("body")
            if isinstance(body, dict):  # a valid body: the operation's own example (its media type's)
                operation.get("requestBody", {}).get("content", {}).get("application/json", {})["example"] = body
            if pooled.get("required") or pooled.get("required_any"):
                required_too(operation, pooled.get("required", []), any_of=pooled.get("required_any", []))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                no_nul_keys(content.get("schema"))
            for parameter in operation.get("parameters", []) if pooled else []:
                ids = pooled.get(f"{parameter.get('in')}.{parameter.get('name')}")
                if isinstance(ids, list) and ids:
                    parameter["example"] = ids[0]
    return schema


def write_copies(role: str, schema_path: str, schema_copy: str, config_copy: str) -> None:
    """`bin/fuzz-fixtures copies <role> <schema> <schema copy> <config copy>`."""
    with open(POOLS_FILE) as pools_file, open(schema_path) as schema_file:
        pools = json.load(pools_file).get(role, {})
        fuzzed = fuzz_schema(json.load(schema_file), pools, os.environ.get("ADMIN_PASSWORD", ""))
    with open(schema_copy, "w") as schema_file:
        json.dump(fuzzed, schema_file)
    with open(os.path.join(ROOT, "schemathesis.toml")) as config, open(config_copy, "w") as out:
        out.write(fuzz_config(config.read(), pools, ROOT))
