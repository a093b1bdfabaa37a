"""A small Keystone + Glance stand-in on loopback for the controller task tests (Python 2.7 and 3).

It speaks the parts of the APIs the task uses, with their real shapes: Keystone version discovery (300),
v3 `POST /v3/auth/tokens` (token in X-Subject-Token, catalog in the body), v2.0 `POST /v2.0/tokens`, and
Glance v2 images (list with name filter and pagination, create, upload, show, delete).
"""
import hashlib
import json
import threading
import uuid

from six.moves import BaseHTTPServer
from six.moves.urllib.parse import parse_qs, urlencode, urlparse

USER, PASSWORD, PROJECT = "admin", "s3cr3t-'admin'", "admin"


class FakeOpenStack(object):
    def __init__(self, keystone_versions=("v3", "v2.0")):
        self.keystone_versions = keystone_versions
        self.images = {}            # id -> record
        self.data = {}              # id -> bytes
        self.requests = []          # (method, path)
        self.tokens = set()
        self.upload_failure = None  # (status, body) answered to PUT .../file
        self.corrupt_upload = False
        self.refuse_early = False
        self.page_size = 20
        class Handler(_Handler):  # a class statement: Python 2's handler is a classic class
            fake = self

        self.server = BaseHTTPServer.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def add_image(self, name, **fields):
        image_id = str(uuid.uuid4())
        record = {"id": image_id, "name": name, "status": "active", "disk_format": "qcow2",
                  "container_format": "bare", "visibility": "public", "checksum": "0" * 32}
        record.update(fields)
        self.images[image_id] = record
        return image_id

    def named(self, name):
        return [image for image in self.images.values() if image["name"] == name]

    def changes(self):
        return [request for request in self.requests if request[0] in ("POST", "PUT", "DELETE", "PATCH")
                and "/tokens" not in request[1]]

    def catalog_v3(self):
        return [{"type": "image", "name": "glance", "endpoints": [
            {"interface": interface, "region_id": "RegionOne", "region": "RegionOne", "url": self.url}
            for interface in ("public", "internal", "admin")]},
            {"type": "identity", "name": "keystone", "endpoints": [
                {"interface": "internal", "region_id": "RegionOne", "url": self.url + "/v3"}]}]


class _Handler(BaseHTTPServer.BaseHTTPRequestHandler):
    fake = None

    def log_message(self, *args):
        pass

    def _send(self, status, body=None, headers=None, content_type="application/json"):
        data = json.dumps(body).encode("utf-8") if isinstance(body, (dict, list)) else (body or b"")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authorised(self):
        if self.headers.get("X-Auth-Token") in self.fake.tokens:
            return True
        self._send(401, {"error": {"code": 401, "message": "The request you have made requires authentication."}})
        return False

    def _route(self, method):
        parsed = urlparse(self.path)
        self.fake.requests.append((method, parsed.path))
        parts = [part for part in parsed.path.split("/") if part]
        if parts == [] and method == "GET":
            return self._versions()
        if parts == ["v3", "auth", "tokens"] and method == "POST" and "v3" in self.fake.keystone_versions:
            return self._token_v3(json.loads(self._body().decode("utf-8")))
        if parts == ["v2.0", "tokens"] and method == "POST" and "v2.0" in self.fake.keystone_versions:
            return self._token_v2(json.loads(self._body().decode("utf-8")))
        if parts[:2] == ["v2", "images"]:
            if not self._authorised():
                return None
            return self._images(method, parts[2:], parse_qs(parsed.query))
        return self._send(404, b"<html><body><h1>404 Not Found</h1>The resource could not be found.</body></html>",
                          content_type="text/html")

    def do_GET(self):  # noqa: N802 - BaseHTTPRequestHandler's names
        self._route("GET")

    def do_POST(self):  # noqa: N802
        self._route("POST")

    def do_PUT(self):  # noqa: N802
        self._route("PUT")

    def do_DELETE(self):  # noqa: N802
        self._route("DELETE")

    def _versions(self):
        values = [{"id": "v3.6", "status": "stable", "links": [{"rel": "self", "href": self.fake.url + "/v3/"}]}]
        if "v2.0" in self.fake.keystone_versions:
            values.append({"id": "v2.0", "status": "deprecated",
                           "links": [{"rel": "self", "href": self.fake.url + "/v2.0/"}]})
        values = [value for value in values if value["id"].rsplit(".", 1)[0] in self.fake.keystone_versions
                  or value["id"] in self.fake.keystone_versions]
        self._send(300, {"versions": {"values": values}})

    def _issue(self):
        token = uuid.uuid4().hex
        self.fake.tokens.add(token)
        return token

    def _token_v3(self, body):
        identity = body["auth"]["identity"]["password"]["user"]
        project = body["auth"]["scope"]["project"]
        if (identity["name"], identity["password"], identity["domain"]["name"]) != (USER, PASSWORD, "Default") \
                or (project["name"], project["domain"]["name"]) != (PROJECT, "Default"):
            return self._send(401, {"error": {"code": 401, "title": "Unauthorized",
                                              "message": "The request you have made requires authentication."}})
        token = self._issue()
        return self._send(201, {"token": {"catalog": self.fake.catalog_v3(), "methods": ["password"]}},
                          headers={"X-Subject-Token": token})

    def _token_v2(self, body):
        credentials = body["auth"]["passwordCredentials"]
        if (credentials["username"], credentials["password"], body["auth"]["tenantName"]) != (USER, PASSWORD,
                                                                                              PROJECT):
            return self._send(401, {"error": {"code": 401, "message": "Invalid user / password"}})
        endpoints = [{"region": "RegionOne", "publicURL": self.fake.url, "internalURL": self.fake.url,
                      "adminURL": self.fake.url}]
        return self._send(200, {"access": {"token": {"id": self._issue()},
                                           "serviceCatalog": [{"type": "image", "endpoints": endpoints}]}})

    def _images(self, method, rest, query):
        fake = self.fake
        if method == "GET" and not rest:
            matching = sorted((image for image in fake.images.values()
                               if "name" not in query or image["name"] == query["name"][0]), key=lambda i: i["id"])
            if "marker" in query:
                matching = [image for image in matching if image["id"] > query["marker"][0]]
            limit = min(int(query.get("limit", ["25"])[0]), fake.page_size)
            page = {"images": matching[:limit], "first": "/v2/images"}
            if len(matching) > limit:
                following = [("limit", limit), ("marker", matching[limit - 1]["id"])]
                page["next"] = "/v2/images?" + urlencode([("name", query["name"][0])] * ("name" in query) + following)
            return self._send(200, page)
        if method == "POST" and not rest:
            record = json.loads(self._body().decode("utf-8"))
            image_id = fake.add_image(record.pop("name"), status="queued", checksum=None, **record)
            return self._send(201, fake.images[image_id])
        image = fake.images.get(rest[0]) if rest else None
        if image is None:
            return self._send(404, b"404 Not Found\n\nNo image found with ID %s\n\n" % (rest[0].encode()
                                                                                       if rest else b""),
                              content_type="text/plain")
        if method == "GET" and len(rest) == 1:
            return self._send(200, image)
        if method == "DELETE" and len(rest) == 1:
            del fake.images[image["id"]]
            fake.data.pop(image["id"], None)
            return self._send(204)
        if method == "PUT" and rest[1:] == ["file"]:
            if fake.refuse_early:
                # As Glance does for a quota: answer from the headers and close without reading the data.
                self.close_connection = True
                return self._send(413, {"message": "Image exceeds the storage quota: The size of the data %s "
                                                   "will exceed the limit. 1048576 bytes remaining."
                                                   % self.headers.get("Content-Length")})
            data = self._body()
            if fake.upload_failure:
                image["status"] = "queued"
                status, body = fake.upload_failure
                return self._send(status, body, content_type="text/html")
            if fake.corrupt_upload:
                data = data[:-1] + b"?"
            fake.data[image["id"]] = data
            image.update(status="active", checksum=hashlib.md5(data).hexdigest(), size=len(data))
            return self._send(204)
        return self._send(405, {"error": {"message": "method not allowed"}})
