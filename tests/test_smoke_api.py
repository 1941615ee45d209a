"""A first end-to-end pass over the node API on both backends."""

from support.factories import member_body
from support.nodes import Node


def test_create_search_update_delete(node: Node) -> None:
    c = node.client
    r = c.post("/admin/members", json=member_body(), headers=node.editor)
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    assert c.get("/members", params={"q": "radbo"}).json()["items"][0]["id"] == mid
    assert c.get("/members", params={"q": "NIJMÉGEN"}).json()["items"][0]["id"] == mid
    r = c.put(f"/admin/members/{mid}", json=member_body(city="Arnhem"),
              headers={**node.editor, "If-Match": '"1"'})
    assert r.json()["version"] == 2
    assert c.get("/members", params={"q": "arnhem"}).json()["items"][0]["city"] == "Arnhem"
    assert c.get("/members", params={"q": "nijmegen"}).json()["items"][0]["id"] == mid  # name
    r = c.delete(f"/admin/members/{mid}", headers=node.editor)
    assert r.json()["deleted"] is True
    assert c.get(f"/members/{mid}").status_code == 404
    assert c.get("/members", params={"q": "radbo", "count": True}).json()["total"] == 0
