"""Assertions shared by the foundation tests."""

from rest_framework.test import APIClient

ERROR_TYPES = {"validation_error", "client_error", "server_error"}
LEAK_MARKERS = ("Traceback", 'File "', "psycopg", "IntegrityError", "DataError", "Exception", "django.db")


def assert_error(response, status: int, *, code: str | None = None, attr: str | None = None) -> dict:
    """The one error shape, the status, and (optionally) an error with that code and/or attr."""
    assert response.status_code == status, (response.status_code, response.content[:800])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"type", "errors"}, body
    assert body["type"] in ERROR_TYPES, body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}, error
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["detail"], str) and error["detail"]
    if body["type"] != "validation_error" and not all(e["code"] == "unique" for e in body["errors"]):
        # Client and server errors are one error about the request, not about a field (a 409 for a
        # duplicate value keeps naming the field).
        assert len(body["errors"]) == 1 and body["errors"][0]["attr"] is None, body
    matching = [
        e for e in body["errors"] if (attr is None or e["attr"] == attr) and (code is None or e["code"] == code)
    ]
    assert matching, f"no error with code={code!r} attr={attr!r} in {body}"
    text = response.content.decode()
    for marker in LEAK_MARKERS:
        assert marker not in text, f"{marker!r} leaked: {text[:500]}"
    return body


def attrs_of(response) -> set:
    return {error["attr"] for error in response.json()["errors"]}


def login(client: APIClient, username: str, password: str, path: str = "/auth/login", **extra):
    return client.post(path, {"username": username, "password": password}, format="json", **extra)


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client
