"""What Fuel's keystone/glance/upload_cirros tasks leave in a fresh cloud, made through the real APIs.

Run inside the primary controller (`python -m lab.openstack.provision < plan.json`); the plan (JSON on
stdin, so no password is in an argument list) names the admin credentials, the service project and users
(admin role there), the services with their endpoints, and the old TestVM to seed. Idempotent: what
exists (by name) is kept.
"""
from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lab.openstack.api import Session, images_named


def _find(session: Session, collection: str, **query: str) -> dict[str, Any] | None:
    path = collection + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    items = session.call("GET", path)[collection]
    return items[0] if items else None


def ensure_project(session: Session, name: str) -> str:
    found = _find(session, "projects", name=name)
    if found:
        return found["id"]
    return session.call("POST", "projects", {"project": {"name": name, "domain_id": "default"}})["project"]["id"]


def ensure_user(session: Session, name: str, password: str, project_id: str, role_id: str) -> None:
    found = _find(session, "users", name=name)
    user_id = found["id"] if found else session.call("POST", "users", {"user": {
        "name": name, "password": password, "domain_id": "default", "default_project_id": project_id}})["user"]["id"]
    session.call("PUT", f"projects/{project_id}/users/{user_id}/roles/{role_id}")


def ensure_service(session: Session, service: dict[str, Any], region: str) -> None:
    found = _find(session, "services", type=service["type"])
    service_id = found["id"] if found else session.call("POST", "services", {"service": {
        "type": service["type"], "name": service["name"], "enabled": True}})["service"]["id"]
    existing = {e["interface"] for e in session.call("GET", f"endpoints?service_id={service_id}")["endpoints"]}
    missing = [(interface, url) for interface, url in service["endpoints"].items() if interface not in existing]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda item: session.call("POST", "endpoints", {"endpoint": {
            "service_id": service_id, "interface": item[0], "region_id": region, "url": item[1]}}), missing))


def seed_image(session: Session, image: dict[str, Any]) -> str:
    """The environment's old TestVM as Fuel's upload_cirros leaves it (qcow2/bare, public), once (another
    copy when the plan says "always", e.g. for a test: Glance allows several images with one name)."""
    record = image["record"]
    existing = images_named(session, record["name"])
    if existing and not image.get("always"):
        return existing[0]["id"]
    glance = session.endpoint("image")
    created = session.call("POST", f"{glance}/v2/images", record)
    with open(image["path"], "rb") as stream:
        session.call("PUT", f"{glance}/v2/images/{created['id']}/file", data=stream.read(),
                     headers={"Content-Type": "application/octet-stream"})
    return created["id"]


def provision(plan: dict[str, Any]) -> dict[str, Any]:
    admin = plan["admin"]
    session = Session.login(plan["auth_url"], admin["user"], admin["password"], admin["project"])
    # one call first: Keystone sets its policy enforcer up on the first request, and concurrent first
    # requests can be refused (403) while it does
    role_id = _find(session, "roles", name="admin")["id"]  # made by keystone-manage bootstrap
    project_id = ensure_project(session, plan["services_project"])
    with ThreadPoolExecutor(max_workers=8) as pool:  # independent of each other: in parallel
        jobs = [pool.submit(ensure_user, session, user["name"], user["password"], project_id, role_id)
                for user in plan.get("users", [])]
        jobs += [pool.submit(ensure_service, session, service, plan["region"])
                 for service in plan.get("services", [])]
        for job in jobs:
            job.result()
    result: dict[str, Any] = {"services_project": project_id}
    if plan.get("image"):
        session = Session.login(plan["auth_url"], admin["user"], admin["password"], admin["project"])  # new catalog
        result["seeded_image"] = seed_image(session, plan["image"])
    return result


if __name__ == "__main__":
    print(json.dumps(provision(json.load(sys.stdin))))
