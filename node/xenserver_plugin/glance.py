"""The environment's TestVM image in Glance, replaced with one XenServer boots.

Plain HTTP to Keystone (v3, or v2.0 when that is all it offers) and Glance's v2 API, with the credentials
of /root/openrc as Fuel writes it: no OpenStack client library is needed on the node.
"""
import json
import logging
import os
import re
import shlex
import socket
import time

import six
from six.moves import http_client
from six.moves.urllib.parse import quote, urlencode, urljoin, urlparse

from xenserver_plugin.errors import OperatorError

LOG = logging.getLogger(__name__)

OPENRC = "/root/openrc"
IMAGE_NAME = "TestVM"
TIMEOUT = 300
INTERFACES = {"internalURL": "internal", "publicURL": "public", "adminURL": "admin"}
OPENRC_FIX = "Check %s (Fuel writes it on the controllers) and that Keystone answers on its auth URL."


# Mitaka's six (1.10) has no ensure_str/ensure_text: the two conversions this module needs.
def _text(data):
    """Bytes from the network as text."""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else six.text_type(data)


def _native(value):
    """A native str: unicode on Python 2 (from JSON) would make httplib build a unicode request."""
    if isinstance(value, str):
        return value
    return value.encode("utf-8") if six.PY2 else _text(value)


def read_openrc(path=OPENRC):
    """The variables an `export NAME=value` shell file sets (quotes as the shell reads them)."""
    try:
        with open(path) as stream:
            text = stream.read()
    except (IOError, OSError) as error:
        raise OperatorError("Cannot read the OpenStack credentials in %s: %s." % (path, error.strerror),
                            "Run the task on a controller deployed by Fuel (it writes %s)." % path)
    variables = {}
    for line in text.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            name, equals, value = word.partition("=")
            if equals and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                variables[name] = value
    return variables


class Credentials(object):
    """What Keystone needs from openrc; the password is never shown."""

    def __init__(self, auth_url, username, password, project, user_domain="Default", project_domain="Default",
                 region=None, interface="internal"):
        self.auth_url = auth_url
        self.username = username
        self.password = password
        self.project = project
        self.user_domain = user_domain
        self.project_domain = project_domain
        self.region = region
        self.interface = interface

    @classmethod
    def from_openrc(cls, variables, path=OPENRC):
        missing = [name for name in ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD") if not variables.get(name)]
        project = variables.get("OS_PROJECT_NAME") or variables.get("OS_TENANT_NAME")
        if not project:
            missing.append("OS_PROJECT_NAME")
        if missing:
            raise OperatorError("%s does not set %s." % (path, ", ".join(missing)), OPENRC_FIX % path)
        domain = variables.get("OS_DEFAULT_DOMAIN") or "Default"
        endpoint_type = variables.get("GLANCE_ENDPOINT_TYPE") or variables.get("OS_ENDPOINT_TYPE") or "internalURL"
        return cls(variables["OS_AUTH_URL"], variables["OS_USERNAME"], variables["OS_PASSWORD"], project,
                   variables.get("OS_USER_DOMAIN_NAME") or domain, variables.get("OS_PROJECT_DOMAIN_NAME") or domain,
                   variables.get("OS_REGION_NAME"), INTERFACES.get(endpoint_type, endpoint_type))

    def __repr__(self):
        return "Credentials(%r, user=%r, project=%r)" % (self.auth_url, self.username, self.project)


class HttpError(Exception):
    def __init__(self, method, url, status, reason):
        super(HttpError, self).__init__("%s %s: HTTP %s %s" % (method, url, status, reason))
        self.status = status
        self.reason = reason


def error_reason(body):
    """The message in an OpenStack error body: JSON ({"error": {"message"}}, {"message"}) or webob's HTML."""
    text = _text(body or b"")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        inner = data.get("error") or data.get("badRequest") or data.get("itemNotFound") or data
        if isinstance(inner, dict) and inner.get("message"):
            text = six.text_type(inner["message"])
    # webob's error pages (and messages inside JSON) carry HTML: keep the words only.
    text = re.sub(r"<title>.*?</title>|<[^>]+>", " ", text, flags=re.DOTALL)
    return " ".join(text.split())


class Http(object):
    """JSON over HTTP(S) with httplib; one request per connection, so a dead server never hangs the task."""

    def __init__(self, timeout=TIMEOUT):
        self.timeout = timeout

    def request(self, method, url, body=None, headers=None, expect=(200,)):
        """(status, headers dict with lower-case names, body bytes); HttpError for an unexpected status."""
        parsed = urlparse(url)
        connection_class = http_client.HTTPSConnection if parsed.scheme == "https" else http_client.HTTPConnection
        connection = connection_class(parsed.hostname, parsed.port, timeout=self.timeout)
        path = parsed.path or "/"
        if parsed.query:
            path += "?" + parsed.query
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        headers.setdefault("Accept", "application/json")
        # Native strings: a unicode header would turn Python 2's request into unicode and break on bytes.
        headers = dict((_native(name), _native(value)) for name, value in headers.items())
        try:
            try:
                connection.request(method, _native(path), body=body, headers=headers)
            except socket.error as sending:
                # A server refusing an upload (quota, size) answers and closes before reading it all: the
                # answer, not the broken pipe, says why. No connection at all: nothing to read.
                if connection.sock is None:
                    raise
                LOG.debug("%s %s: %s while sending; reading the answer", method, url, sending)
            response = connection.getresponse()
            data = response.read()
            answer_headers = dict((name.lower(), value) for name, value in response.getheaders())
        except (socket.error, http_client.HTTPException) as error:
            raise HttpError(method, url, "(no answer)", str(error) or error.__class__.__name__)
        finally:
            connection.close()
        LOG.debug("%s %s -> %s", method, url, response.status)
        if response.status not in expect:
            raise HttpError(method, url, response.status, error_reason(data))
        return response.status, answer_headers, data

    def json(self, method, url, body=None, headers=None, expect=(200,)):
        _, answer_headers, data = self.request(method, url, body, headers, expect)
        return answer_headers, (json.loads(_text(data)) if data else None)


def _join(base, *parts):
    return "/".join([base.rstrip("/")] + [part.strip("/") for part in parts])


class Catalog(object):
    """A Keystone token and the service catalog it came with (v3 or v2.0 shape)."""

    def __init__(self, token, services):
        self.token = token
        self.services = services          # [(type, interface, region, url)]

    def endpoint(self, service_type, interface, region=None):
        candidates = [entry for entry in self.services if entry[0] == service_type and entry[1] == interface]
        if region:
            candidates = [entry for entry in candidates if entry[2] in (region, None)] or candidates
        if not candidates:
            raise OperatorError("Keystone's catalog has no %s endpoint for the %s interface%s."
                                % (service_type, interface, " in region %s" % region if region else ""),
                                "Check the endpoints with `openstack endpoint list` on the controller.")
        return candidates[0][3]


def _v3_catalog(token, body):
    services = []
    for service in (body.get("token") or {}).get("catalog") or []:
        for endpoint in service.get("endpoints") or []:
            services.append((service.get("type"), endpoint.get("interface"),
                             endpoint.get("region_id") or endpoint.get("region"), endpoint.get("url")))
    return Catalog(token, services)


def _v2_catalog(body):
    access = body.get("access") or {}
    services = []
    for service in access.get("serviceCatalog") or []:
        for endpoint in service.get("endpoints") or []:
            for key, interface in INTERFACES.items():
                if endpoint.get(key):
                    services.append((service.get("type"), interface, endpoint.get("region"), endpoint[key]))
    return Catalog((access.get("token") or {}).get("id"), services)


def auth_version(http, auth_url):
    """"v3" or "v2.0": from the URL when it names one, else from Keystone's version discovery."""
    path = urlparse(auth_url).path.rstrip("/")
    for version in ("v3", "v2.0"):
        if path.endswith("/" + version):
            return version
    _, data = http.request("GET", auth_url, expect=(200, 300))[1:]
    values = ((json.loads(_text(data)) or {}).get("versions") or {}).get("values") or []
    ids = [value.get("id", "") for value in values if value.get("status", "").lower() != "removed"]
    if any(version_id.startswith("v3") for version_id in ids):
        return "v3"
    if any(version_id.startswith("v2.0") for version_id in ids):
        return "v2.0"
    raise HttpError("GET", auth_url, 300, "no Keystone v3 or v2.0 API offered")


def authenticate(http, credentials):
    """A token and catalog from Keystone; OperatorError when Keystone is unreachable or refuses."""
    try:
        version = auth_version(http, credentials.auth_url)
        base = credentials.auth_url.rstrip("/")
        if not base.endswith(version):
            base = _join(base, version)
        if version == "v3":
            body = {"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": credentials.username, "domain": {"name": credentials.user_domain},
                    "password": credentials.password}}},
                "scope": {"project": {"name": credentials.project,
                                      "domain": {"name": credentials.project_domain}}}}}
            headers, data = http.json("POST", _join(base, "auth/tokens"), body, expect=(201, 200))
            return _v3_catalog(headers.get("x-subject-token"), data)
        body = {"auth": {"tenantName": credentials.project, "passwordCredentials": {
            "username": credentials.username, "password": credentials.password}}}
        return _v2_catalog(http.json("POST", _join(base, "tokens"), body)[1])
    except HttpError as error:
        if error.status == 401:
            raise OperatorError("Keystone at %s refused the credentials of %s (user %s, project %s): %s."
                                % (credentials.auth_url, OPENRC, credentials.username, credentials.project,
                                   error.reason),
                                "Fix the admin credentials in %s (they are the environment's OpenStack Access "
                                "settings in Fuel) and re-run the task." % OPENRC)
        raise OperatorError("Cannot authenticate with Keystone at %s: %s." % (credentials.auth_url, error),
                            OPENRC_FIX % OPENRC)


class Glance(object):
    """Glance's v2 image API."""

    def __init__(self, http, endpoint, token):
        base = re.sub(r"/v[12](\.\d+)?/?$", "", endpoint.rstrip("/"))
        self.images_url = _join(base, "v2", "images")
        self.http = http
        self.headers = {"X-Auth-Token": token}

    def images_named(self, name):
        """Every image with that name, following Glance's pagination."""
        found = []
        url = "%s?%s" % (self.images_url, urlencode({"name": name, "limit": 100}))
        while url:
            data = self.http.json("GET", url, headers=self.headers)[1]
            found.extend(image for image in data.get("images") or [] if image.get("name") == name)
            url = urljoin(self.images_url, data["next"]) if data.get("next") else None
        return found

    def show(self, image_id):
        return self.http.json("GET", _join(self.images_url, quote(image_id)), headers=self.headers)[1]

    def delete(self, image_id):
        self.http.request("DELETE", _join(self.images_url, quote(image_id)), headers=self.headers,
                          expect=(204, 200, 404))

    def create(self, record):
        return self.http.json("POST", self.images_url, record, headers=self.headers, expect=(201,))[1]

    def upload(self, image_id, path):
        headers = dict(self.headers, **{"Content-Type": "application/octet-stream",
                                        "Content-Length": str(os.path.getsize(path))})
        with open(path, "rb") as stream:
            self.http.request("PUT", _join(self.images_url, quote(image_id), "file"), body=stream,
                              headers=headers, expect=(204, 201, 200))


class ImageFile(object):
    """The image the plugin ships (testvm.tgz) and its description (testvm.json, written by the build)."""

    def __init__(self, directory):
        metadata_path = os.path.join(directory, "testvm.json")
        try:
            with open(metadata_path) as stream:
                metadata = json.load(stream)
        except (IOError, OSError, ValueError) as error:
            raise OperatorError("The plugin's TestVM image description %s cannot be read (%s)."
                                % (metadata_path, error),
                                "Reinstall a plugin RPM built with `make` (it ships the image), then re-run "
                                "the task.")
        self.path = os.path.join(directory, metadata["file"])
        if not os.path.isfile(self.path):
            raise OperatorError("The plugin's TestVM image %s is missing." % self.path,
                                "Reinstall a plugin RPM built with `make` (it ships the image), then re-run "
                                "the task.")
        native = _native  # JSON gives unicode on Python 2; descriptions and logs want native strings
        self.name = native(metadata.get("name", IMAGE_NAME))
        self.md5 = native(metadata["md5"])
        self.disk_format = native(metadata["disk_format"])
        self.container_format = native(metadata["container_format"])
        self.properties = dict((native(key), native(value))
                               for key, value in (metadata.get("properties") or {}).items())

    def record(self):
        """What Glance is asked to create: formats, public, and the properties (vm_mode=xen)."""
        record = {"name": self.name, "disk_format": self.disk_format, "container_format": self.container_format,
                  "visibility": "public"}
        record.update(self.properties)
        return record

    def differences(self, image):
        """Where a Glance image record differs from this image (empty when it is this image, active)."""
        wanted = dict(self.record(), status="active", checksum=self.md5)
        return ["%s=%s (want %s)" % (key, image.get(key), value) for key, value in sorted(wanted.items())
                if image.get(key) != value]

    def __repr__(self):
        return "ImageFile(%r, md5=%r)" % (self.path, self.md5)


def wait_active(glance, image_id, timeout=120, interval=2, sleep=time.sleep, clock=time.time):
    """The image's record once Glance has finished saving it (Mitaka answers the upload before `active`)."""
    deadline = clock() + timeout
    while True:
        record = glance.show(image_id)
        if record.get("status") not in ("saving", "queued", "importing") or clock() >= deadline:
            return record
        sleep(interval)


def upload(glance, image, sleep=time.sleep):
    """Create and upload the image; on any failure delete what was created and fail with Glance's reason."""
    created = None
    try:
        created = glance.create(image.record())
        glance.upload(created["id"], image.path)
        record = wait_active(glance, created["id"], sleep=sleep)
        problems = image.differences(record)
        if problems:
            raise HttpError("PUT", glance.images_url, record.get("status"), "image saved as " + ", ".join(problems))
        return record
    except HttpError as error:
        if created is not None:
            try:
                glance.delete(created["id"])
            except HttpError as cleanup:
                LOG.error("could not delete the half-uploaded image %s: %s", created["id"], cleanup)
        raise OperatorError("Glance did not accept the %s image %s: %s."
                            % (image.name, image.path, six.text_type(error.reason).rstrip(".")),
                            "Check glance-api's log (/var/log/glance/api.log), the image store's free space "
                            "and the admin project's image quota, then re-run the task.")


def ensure_testvm(run, glance, image, sleep=time.sleep):
    """Glance has exactly one image named TestVM and it is ours, active: upload it first (so a failed upload
    leaves the environment's previous TestVM in place), then delete every other TestVM."""
    try:
        existing = glance.images_named(image.name)
    except HttpError as error:
        raise OperatorError("Cannot list Glance's images: %s." % error,
                            "Check that glance-api runs on the controllers (`pcs status`), then re-run the task.")
    in_place = len(existing) == 1 and not image.differences(existing[0])

    def replace():
        new = upload(glance, image, sleep=sleep)
        LOG.info("uploaded %s as %s; deleting %d previous image(s)", image.name, new["id"], len(existing))
        for old in existing:
            if old["id"] == new["id"]:
                continue
            try:
                glance.delete(old["id"])
            except HttpError as error:
                raise OperatorError("Cannot delete the previous %s image %s: %s."
                                    % (image.name, old["id"], error.reason),
                                    "Delete it by hand (`glance image-delete %s`; unprotect it first if it is "
                                    "protected), then re-run the task." % old["id"])

    return run.ensure("Glance's only %s is the XenServer image (%s in %s, %s, public, md5 %s)"
                      % (image.name, image.disk_format, image.container_format,
                         ", ".join("%s=%s" % item for item in sorted(image.properties.items())), image.md5),
                      in_place, replace)


def connect(openrc=OPENRC, http=None):
    """A Glance client authenticated with openrc's credentials, on the endpoint openrc asks for."""
    http = http or Http()
    credentials = Credentials.from_openrc(read_openrc(openrc), openrc)
    catalog = authenticate(http, credentials)
    endpoint = catalog.endpoint("image", credentials.interface, credentials.region)
    return Glance(http, endpoint, catalog.token)
