"""A small stdlib client for Keystone v3 and Glance v2, run inside lab hosts (no OpenStack library needed).

Credentials come from an openrc as Fuel writes it (`export NAME='value'` lines, read with shlex).
"""
from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

TIMEOUT = 30


class ApiError(Exception):
    def __init__(self, method: str, url: str, status: int | str, body: str):
        super().__init__(f"{method} {url}: HTTP {status} {body[:300]}")
        self.status = status
        self.body = body


def read_openrc(path: str = "/root/openrc") -> dict[str, str]:
    found: dict[str, str] = {}
    with open(path) as stream:
        for line in stream:
            words = shlex.split(line, comments=True)
            for word in words[1:] if words[:1] == ["export"] else words:
                name, equals, value = word.partition("=")
                if equals:
                    found[name] = value
    return found


def request(method: str, url: str, body: Any = None, token: str | None = None,
            headers: dict[str, str] | None = None, data: bytes | None = None) -> tuple[dict[str, str], Any]:
    """(headers with lower-case names, decoded JSON or None); ApiError on an HTTP error."""
    sent = {"Accept": "application/json", **(headers or {})}
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token:
        sent["X-Auth-Token"] = token
    req = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as answer:
            raw = answer.read()
            got = {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        raise ApiError(method, url, error.code, error.read().decode(errors="replace")) from None
    except OSError as error:
        raise ApiError(method, url, "(no answer)", str(error)) from None
    return got, (json.loads(raw) if raw.strip() else None)


@dataclass
class Session:
    """A project-scoped v3 token and its catalog."""

    auth_url: str
    token: str
    catalog: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def login(cls, auth_url: str, user: str, password: str, project: str, domain: str = "Default") -> Session:
        base = auth_url.rstrip("/")
        base = base if base.endswith("/v3") else base + "/v3"
        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": {"name": domain}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": domain}}}}}
        headers, data = request("POST", f"{base}/auth/tokens", body)
        return cls(base, headers["x-subject-token"], data["token"].get("catalog") or [])

    @classmethod
    def from_openrc(cls, path: str = "/root/openrc") -> Session:
        rc = read_openrc(path)
        return cls.login(rc["OS_AUTH_URL"], rc["OS_USERNAME"], rc["OS_PASSWORD"],
                         rc.get("OS_PROJECT_NAME") or rc["OS_TENANT_NAME"], rc.get("OS_DEFAULT_DOMAIN", "Default"))

    def endpoint(self, service_type: str, interface: str = "internal") -> str:
        for service in self.catalog:
            if service.get("type") == service_type:
                for endpoint in service.get("endpoints") or []:
                    if endpoint.get("interface") == interface:
                        return str(endpoint["url"]).rstrip("/")
        raise ApiError("GET", self.auth_url, "catalog", f"no {interface} {service_type} endpoint")

    def call(self, method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
        if not url.startswith("http"):
            url = f"{self.auth_url}/{url.lstrip('/')}"
        return request(method, url, body, token=self.token, **kwargs)[1]


def images_named(session: Session, name: str) -> list[dict[str, Any]]:
    glance = session.endpoint("image")
    data = session.call("GET", f"{glance}/v2/images?" + urllib.parse.urlencode({"name": name, "limit": 100}))
    return [image for image in data.get("images") or [] if image.get("name") == name]
