"""OpenAPI `links`: where the id a response carries can be used next (drf-spectacular postprocessing hook).

A client generator, or a stateful fuzzer, follows them from a created record to what can be done with it:
POST /api/v1/slots -> GET /api/v1/slots/{id}, POST /api/v1/slots/{id}/hold, POST /api/v1/appointments
{slot_id}; a hold -> DELETE /api/v1/holds/{id}; a blood request made through the seed alias -> approve.
Derived from the schema itself, so a new route gets its links without a list to keep:

- a record's kind is the component its create answers with (`SlotOut`, `HospitalCreatedOut` -> Slot,
  Hospital); every operation that answers 201 with that component creates one (seed aliases included);
- an operation whose path is a collection's path plus one `{param}` (and fixed words after it) acts on
  one record of that collection's kind (the kind its create answers with, else its plural name's):
  each creator links to it, the param taken from the created record's `id` (a nested collection's
  own path params are carried over from the creating request);
- an operation whose JSON body names `<kind>_id` (also `to_<kind>_id`) takes a record of that kind:
  each creator links to it with that field set, when the operation has no path params to fill;
- a paginated list links to each read and action on one of its records, with the first row's `id`
  (a seed alias's `/all/` list to those under its parent path: /hospital/all/ -> /hospital/{id}/floors/).
"""

import re

PARAM = re.compile(r"\{([^}]+)\}")
KIND = re.compile(r"^(?P<kind>[A-Za-z]+?)(Created)?Out$")
BODY_FIELD = re.compile(r"^(?:to_|from_)?(?P<kind>[a-z_]+)_id$")
METHODS = ("get", "post", "put", "patch", "delete")
LIST_FOLLOWS = ("get", "post")  # from a list's first row: reads and actions, never an edit or a deactivation


def _component(response: dict) -> str | None:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] or None


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _request_properties(operation: dict, components: dict) -> dict:
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref:
        schema = components.get(ref.rsplit("/", 1)[-1], {})
    return schema.get("properties", {})


def _member_operations(paths: dict, collection: str):
    """(path, method, operation, param) for each operation on one record of `collection`."""
    for path, operations in paths.items():
        if not path.startswith(collection) or path == collection:
            continue
        rest = path[len(collection) :]
        match = re.match(r"^\{([^}]+)\}/", rest)
        if not match or PARAM.search(rest[match.end() :]):
            continue
        for method in METHODS:
            if method in operations:
                yield path, method, operations[method], match.group(1)


def _add(response: dict, target: dict, parameters: dict | None = None, body: dict | None = None) -> None:
    link = {"operationId": target["operationId"]}
    if parameters:
        link["parameters"] = parameters
    if body:
        link["requestBody"] = body
    response.setdefault("links", {})[target["operationId"]] = link


def add_links(result, generator, request, public):
    paths = result.get("paths", {})
    components = result.get("components", {}).get("schemas", {})
    creators: dict[str, list[tuple[str, dict]]] = {}  # kind -> [(path, the 201 response)]
    collections: dict[str, str] = {}  # collection path -> kind
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        component = created and _component(created)
        match = component and KIND.match(component)
        if not match:
            continue
        creators.setdefault(match.group("kind"), []).append((path, created))
        if path.endswith("/") and not path.endswith("}/"):
            collections[path] = match.group("kind")
    for path in paths:  # a collection created elsewhere (holds: POST /slots/{id}/hold) is named by its path
        word = path.rstrip("/").rsplit("/", 1)[-1]
        if path.endswith("/") and not PARAM.search(path) and word.endswith("s") and path not in collections:
            kind = _camel(word[:-1].replace("-", "_"))
            if kind in creators:
                collections[path] = kind

    for collection, kind in collections.items():
        carried = PARAM.findall(collection)
        for _path, _method, target, param in _member_operations(paths, collection):
            for source_path, response in creators[kind]:
                if carried and source_path != collection:
                    continue  # another creator cannot name this nested collection's parent
                parameters = {name: f"$request.path.{name}" for name in carried}
                parameters[param] = "$response.body#/id"
                _add(response, target, parameters)

    for collection, operations in paths.items():
        listing = operations.get("get", {}).get("responses", {}).get("200")
        listed = listing and _component(listing)
        if not listed or "results" not in components.get(listed, {}).get("properties", {}):
            continue
        carried = PARAM.findall(collection)
        members = collection.removesuffix("all/")  # a seed alias lists at /hospital/all/, reads /hospital/{id}/
        for _path, method, target, param in _member_operations(paths, members):
            if method not in LIST_FOLLOWS:
                continue  # a list's first row is any record (the caller's own account among users)
            parameters = {name: f"$request.path.{name}" for name in carried}
            parameters[param] = "$response.body#/results/0/id"
            _add(listing, target, parameters)

    for path, operations in paths.items():
        if PARAM.search(path):
            continue
        for method in ("post", "put", "patch"):
            target = operations.get(method)
            if not target:
                continue
            for field in _request_properties(target, components):
                match = BODY_FIELD.match(field)
                for _source_path, response in creators.get(_camel(match.group("kind")), []) if match else []:
                    _add(response, target, body={field: "$response.body#/id"})
    return result
