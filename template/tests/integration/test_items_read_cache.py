"""The items API through the read cache: every write is seen at once, with a correct ETag."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_reads_after_each_write_show_it(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert client.get("/v1/items", headers=admin_headers).json()["items"] == []  # cached empty
    created = client.post("/v1/items", json={"name": "first"}, headers=admin_headers)
    url = created.headers["location"]
    assert [i["name"] for i in client.get("/v1/items", headers=admin_headers).json()["items"]] == [
        "first"
    ]
    assert client.get(url, headers=admin_headers).headers["etag"] == '"1"'  # cached at version 1

    changed = client.patch(
        url, json={"name": "second"}, headers={**admin_headers, "If-Match": '"1"'}
    )
    assert changed.headers["etag"] == '"2"'
    fetched = client.get(url, headers={**admin_headers, "If-None-Match": '"1"'})
    assert fetched.status_code == 200
    assert fetched.headers["etag"] == '"2"'
    assert fetched.json()["name"] == "second"
    assert client.get(url, headers={**admin_headers, "If-None-Match": '"2"'}).status_code == 304
    stale = client.patch(url, json={"name": "x"}, headers={**admin_headers, "If-Match": '"1"'})
    assert stale.status_code == 412

    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(url, headers=admin_headers).status_code == 404
    assert client.get("/v1/items", headers=admin_headers).json()["items"] == []
