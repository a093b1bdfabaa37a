"""`xe` for the lab's Dom0: XenServer's CLI conventions, talking XenAPI to the lab server (one state).

    xe <class>-list [params=a,b|all] [--minimal] [field=value ...]
    xe <class>-param-get uuid=U param-name=P [param-key=K]
    xe <class>-param-list uuid=U
    xe <class>-param-set uuid=U field=value map-field:key=value ...
    xe <class>-param-remove uuid=U param-name=P param-key=K
    xe host-call-plugin host-uuid=U plugin=P fn=F args:key=value ...
    xe sr-scan uuid=U
    xe update-upload file-name=ISO | update-apply uuid=U [host-uuid=H] | update-list | update-param-get ...
    xe install-supplemental-pack ISO          (what /usr/bin/xe-install-supplemental-pack runs)
Classes: vm host sr vdi vbd vif network pif pool patch (pool_patch) update (pool_update, XenServer 7.1+).

Connection: LAB_XENAPI_URL (default http://127.0.0.1:80/) and the Dom0-local session the server leaves in
LAB_XE_SESSION_FILE (default /var/lib/lab-xenserver/local-session), like root's xe over xapi's Unix socket.
Or `-s host -p port -u user -pwf password-file` as the real xe takes them.
"""

from __future__ import annotations

import os
import sys
import urllib.request
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import XenAPI

from lab.xenserver import updates
from lab.xenserver.schema import FIELDS, NULL_REF

DEFAULT_URL = "http://127.0.0.1:80/"
DEFAULT_SESSION_FILE = "/var/lib/lab-xenserver/local-session"

XE_CLASSES = {
    "vm": "VM", "host": "host", "sr": "SR", "vdi": "VDI", "vbd": "VBD", "vif": "VIF", "network": "network",
    "pif": "PIF", "pool": "pool", "patch": "pool_patch", "update": "pool_update", "pbd": "PBD",
    "host-cpu": "host_cpu", "template": "VM",
}
# What `xe <class>-list` implies unless the command line says otherwise: vm-list hides templates and snapshots.
IMPLIED_FILTERS = {
    "vm": {"is-a-template": "false", "is-a-snapshot": "false"},
    "template": {"is-a-template": "true", "is-a-snapshot": "false"},
}
DEFAULT_PARAMS = {
    "VM": ["uuid", "name-label", "power-state"],
    "host": ["uuid", "name-label", "name-description"],
    "SR": ["uuid", "name-label", "name-description", "host", "type", "content-type"],
    "VDI": ["uuid", "name-label", "name-description", "sr-uuid", "virtual-size", "sharable", "read-only"],
    "VBD": ["uuid", "vm-uuid", "vm-name-label", "vdi-uuid", "empty", "device"],
    "VIF": ["uuid", "vm-uuid", "device"],
    "network": ["uuid", "name-label", "name-description", "bridge"],
    "PIF": ["uuid", "device", "currently-attached", "VLAN", "network-uuid"],
    "pool": ["uuid", "name-label", "name-description", "master", "default-SR"],
    "pool_patch": ["uuid", "name-label", "name-description", "size", "hosts", "after-apply-guidance"],
    "pool_update": ["uuid", "name-label", "name-description", "version", "installation-size", "hosts",
                    "after-apply-guidance"],
    "PBD": ["uuid", "host-uuid", "sr-uuid", "device-config", "currently-attached"],
    "host_cpu": ["uuid", "number", "vendor", "speed", "modelname"],
}
# Scalar reference fields whose xe name says what the uuid is of.
REF_NAMES = {"VM": "vm-uuid", "VDI": "vdi-uuid", "SR": "sr-uuid", "network": "network-uuid", "host": "host-uuid"}
RENAMES = {"domid": "dom-id", "cpu_info": "cpu_info"}
LOWERCASE_ENUMS = {"power_state"}  # xe prints enum values in lower case
WRITABLE = {"name-label", "name-description", "other-config", "xenstore-data", "tags", "platform"}

ERROR_TEXT = {
    "UUID_INVALID": "The uuid you supplied was invalid.",
    "HANDLE_INVALID": "You gave an invalid object reference.  The object may have recently been deleted.",
    "XENAPI_MISSING_PLUGIN": "The requested plugin could not be found.",
    "XENAPI_PLUGIN_FAILURE": "There was a failure communicating with the plugin.",
    "UPDATE_ALREADY_EXISTS": "The uploaded update already exists",
    "UPDATE_ALREADY_APPLIED": "This update has already been applied.",
    "INVALID_UPDATE": "The uploaded update package is invalid.",
    "SESSION_AUTHENTICATION_FAILED": "The credentials given by the user are incorrect, so access has been denied, "
                                     "and you have not been issued a session handle.",
}
ERROR_PARAMS = {
    "UUID_INVALID": ["type", "uuid"], "XENAPI_MISSING_PLUGIN": ["plugin"], "UPDATE_ALREADY_EXISTS": ["uuid"],
    "UPDATE_ALREADY_APPLIED": ["update"], "XENAPI_PLUGIN_FAILURE": ["status", "stdout", "stderr"],
    "SESSION_AUTHENTICATION_FAILED": [],
}


class XeError(Exception):
    """A message xe prints on stderr before exiting 1."""


@dataclass
class Args:
    command: str
    params: dict[str, str] = field(default_factory=dict)
    maps: dict[str, dict[str, str]] = field(default_factory=dict)  # name:key=value
    flags: set[str] = field(default_factory=set)
    positional: list[str] = field(default_factory=list)


def parse_args(argv: list[str]) -> tuple[Args, dict[str, str]]:
    connection: dict[str, str] = {}
    rest = list(argv)
    while rest and rest[0] in ("-s", "-p", "-u", "-pwf"):
        connection[rest[0][1:]] = rest[1]
        rest = rest[2:]
    if not rest:
        raise XeError("Usage: xe <command> [args]")
    args = Args(rest[0])
    for word in rest[1:]:
        if word.startswith("--"):
            args.flags.add(word[2:])
        elif "=" in word:
            key, value = word.split("=", 1)
            if ":" in key:
                name, sub = key.split(":", 1)
                args.maps.setdefault(name, {})[sub] = value
            else:
                args.params[key] = value
        else:
            args.positional.append(word)
    return args, connection


def connect(connection: dict[str, str]) -> XenAPI.Session:
    if "s" in connection:
        url = f"http://{connection['s']}:{connection.get('p', '80')}/"
        session = XenAPI.Session(url)
        password = Path(connection["pwf"]).read_text().strip() if "pwf" in connection else ""
        session.login_with_password(connection.get("u", "root"), password, "2.0", "xe")
        return session
    session = XenAPI.Session(os.environ.get("LAB_XENAPI_URL", DEFAULT_URL))
    session_file = Path(os.environ.get("LAB_XE_SESSION_FILE", DEFAULT_SESSION_FILE))
    try:
        session._session = session_file.read_text().strip()
    except OSError as error:
        raise XeError(f"Error: Connection refused (no local session at {session_file}: {error.strerror})") from None
    return session


def xe_name(api_field: str, value: Any) -> str:
    if api_field in RENAMES:
        return RENAMES[api_field]
    if api_field in REF_NAMES and isinstance(value, str) and value.startswith("OpaqueRef:"):
        return REF_NAMES[api_field]
    return api_field.replace("_", "-")


class _LazyRecords(dict):
    """class -> {ref: record}, each class fetched with <class>.get_all_records on first use."""

    def __init__(self, api: Any, classes: list[str]) -> None:
        super().__init__()
        self.api = api
        self.classes = classes

    def __missing__(self, cls: str) -> dict[str, dict[str, Any]]:
        self[cls] = getattr(self.api, cls).get_all_records()
        return self[cls]


class Objects:
    """The records xe shows, fetched once per command as needed; refs are shown as uuids."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.platform = tuple(int(p) for p in self._host_version()["platform_version"].split("."))
        classes = [c for c in sorted(set(XE_CLASSES.values()) | {"host_metrics", "host_patch"})
                   if c != "pool_update" or self.platform >= (2, 2, 0)]
        self.records: dict[str, dict[str, dict[str, Any]]] = _LazyRecords(api, classes)

    def uuid_of(self, ref: str) -> str:
        """The uuid behind a reference, loading classes until one holds it (most output needs few)."""
        for cls in list(self.records) + [c for c in self.records.classes if c not in self.records]:
            if ref in self.records[cls]:
                return self.records[cls][ref].get("uuid", ref)
        return ref

    def _host_version(self) -> dict[str, str]:
        pool = self.api.pool.get_all()[0]
        return self.api.host.get_software_version(self.api.pool.get_master(pool))

    def render(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str) and value.startswith("OpaqueRef:"):
            return "<not in database>" if value == NULL_REF else self.uuid_of(value)
        if isinstance(value, list):
            return "; ".join(self.render(v) for v in value)
        if isinstance(value, dict):
            return "; ".join(f"{k}: {self.render(v)}" for k, v in value.items())
        return str(value)

    def fields(self, cls: str, ref: str) -> dict[str, tuple[Any, str]]:
        """xe field name -> (raw value, kind) where kind is '', 'S' (set) or 'M' (map)."""
        record = self.records[cls][ref]
        out: dict[str, tuple[Any, str]] = {}
        for api_field in FIELDS[cls]:
            if api_field in record:
                value = record[api_field]
                kind = "M" if isinstance(value, dict) else "S" if isinstance(value, list) else ""
                if api_field in LOWERCASE_ENUMS:
                    value = value.lower()
                out[xe_name(api_field, value)] = (value, kind)
        for name, value in self._extra(cls, record).items():
            out[name] = (value, "S" if isinstance(value, list) else "")
        first = [n for n in ("uuid", "name-label", "name-description") if n in out]
        return {name: out[name] for name in first + [n for n in out if n not in first]}

    def _extra(self, cls: str, record: dict[str, Any]) -> dict[str, Any]:
        def label(ref: str, of: str) -> str:
            return self.records[of].get(ref, {}).get("name_label", "")

        if cls in ("VIF", "VBD"):
            extra = {"vm-name-label": label(record["VM"], "VM")}
            if cls == "VIF":
                extra["network-name-label"] = label(record["network"], "network")
            return extra
        if cls == "host":
            metrics = self.records["host_metrics"].get(record["metrics"], {})
            total, free = int(metrics.get("memory_total", "0")), int(metrics.get("memory_free", "0"))
            return {"memory-total": str(total), "memory-free": str(free), "memory-free-computed": str(free),
                    "memory-overhead": record["memory_overhead"]}
        if cls == "pool_patch":
            return {"hosts": [self.records["host_patch"][hp]["host"] for hp in record["host_patches"]
                              if hp in self.records["host_patch"]]}
        if cls == "SR":
            hosts = [self.records["PBD"][p]["host"] for p in record["PBDs"] if p in self.records["PBD"]]
            return {"host": label(hosts[0], "host") if hosts and not record["shared"] else "<shared>"}
        return {}


def _class_for(command: str) -> tuple[str, str]:
    """xe command -> (XenAPI class, verb): "vm-param-get" -> ("VM", "param-get")."""
    for prefix in sorted(XE_CLASSES, key=len, reverse=True):
        if command.startswith(prefix + "-"):
            return XE_CLASSES[prefix], command[len(prefix) + 1:]
    raise XeError(f"Unknown command: {command}")


def format_records(objects: Objects, cls: str, refs: list[str], params: list[str] | None) -> str:
    blocks = []
    for ref in refs:
        fields = objects.fields(cls, ref)
        names = list(fields) if params is None else [p for p in params if p in fields]
        if "uuid" in names:
            names.remove("uuid")
            names.insert(0, "uuid")
        labels = []
        for name in names:
            _, kind = fields[name]
            access = "RW" if name in WRITABLE else "RO"
            labels.append(f"{name} ({kind or ' '}{access})" if kind else f"{name} ( {access})")
        width = max((len(label) for label in labels), default=0)
        lines = []
        for index, (name, label) in enumerate(zip(names, labels, strict=True)):
            text = objects.render(fields[name][0])
            lines.append(f"{label:<{width}}: {text}" if index == 0 else f"{label:>{width}}: {text}")
        blocks.append("\n".join(lines) + "\n")
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def find_ref(objects: Objects, cls: str, uuid: str) -> str:
    for ref, rec in objects.records[cls].items():
        if rec.get("uuid") == uuid:
            return ref
    raise XenAPI.Failure(["UUID_INVALID", cls, uuid])


def cmd_list(objects: Objects, cls: str, args: Args) -> str:
    wanted = args.params.pop("params", None)
    xe_class = args.command[: -len("-list")]
    args.params = {**IMPLIED_FILTERS.get(xe_class, {}), **args.params}
    params = None if wanted == "all" else (wanted.split(",") if wanted else DEFAULT_PARAMS.get(cls, ["uuid"]))
    refs = []
    for ref in objects.records[cls]:
        fields = objects.fields(cls, ref)
        if all(name in fields and objects.render(fields[name][0]) == value for name, value in args.params.items()):
            refs.append(ref)
    if "minimal" in args.flags:
        first = (params or ["uuid"])[0]
        return ",".join(objects.render(objects.fields(cls, ref)[first][0]) for ref in refs) + "\n"
    return format_records(objects, cls, refs, params)


def cmd_param_get(objects: Objects, cls: str, args: Args) -> str:
    ref = find_ref(objects, cls, args.params["uuid"])
    fields = objects.fields(cls, ref)
    name = args.params.get("param-name", "")
    if name not in fields:
        raise XeError(f"Error: Unknown field '{name}'")
    value = fields[name][0]
    if "param-key" in args.params:
        key = args.params["param-key"]
        if not isinstance(value, dict) or key not in value:
            raise XeError(f"Error: Key {key} not found in map")
        value = value[key]
    return objects.render(value) + "\n"


def cmd_param_set(objects: Objects, cls: str, args: Args) -> str:
    ref = find_ref(objects, cls, args.params.pop("uuid"))
    api = getattr(objects.api, cls)
    api_names = {xe_name(f, v): f for f, v in objects.records[cls][ref].items()}
    for name, value in args.params.items():
        if name not in WRITABLE or name not in api_names:
            raise XeError(f"Error: field '{name}' is read-only or unknown")
        getattr(api, f"set_{api_names[name]}")(ref, value)
    for name, pairs in args.maps.items():
        if name not in api_names:
            raise XeError(f"Error: Unknown field '{name}'")
        for key, value in pairs.items():
            getattr(api, f"remove_from_{api_names[name]}")(ref, key)
            getattr(api, f"add_to_{api_names[name]}")(ref, key, value)
    return ""


def cmd_param_remove(objects: Objects, cls: str, args: Args) -> str:
    ref = find_ref(objects, cls, args.params["uuid"])
    api_names = {xe_name(f, v): f for f, v in objects.records[cls][ref].items()}
    name = args.params.get("param-name", "")
    if name not in api_names:
        raise XeError(f"Error: Unknown field '{name}'")
    getattr(getattr(objects.api, cls), f"remove_from_{api_names[name]}")(ref, args.params["param-key"])
    return ""


def cmd_call_plugin(objects: Objects, args: Args) -> str:
    host = find_ref(objects, "host", args.params["host-uuid"])
    result = objects.api.host.call_plugin(host, args.params["plugin"], args.params["fn"], args.maps.get("args", {}))
    return f"{result}\n"


def _require_updates(objects: Objects, command: str) -> None:
    if objects.platform < (2, 2, 0):
        raise XeError(f"Unknown command: {command}")


def cmd_update_upload(session: XenAPI.Session, objects: Objects, args: Args) -> str:
    _require_updates(objects, args.command)
    path = Path(args.params.get("file-name", ""))
    if not path.is_file():
        raise XeError(f"Error: cannot read file {path}")
    api = objects.api
    sr = find_ref(objects, "SR", args.params["sr-uuid"]) if "sr-uuid" in args.params else \
        api.pool.get_default_SR(api.pool.get_all()[0])
    data = path.read_bytes()
    vdi = api.VDI.create({"name_label": path.name, "SR": sr, "virtual_size": str(len(data)), "type": "user",
                          "read_only": True, "sharable": False, "other_config": {}})
    url = session._ServerProxy__host  # xmlrpc.client keeps "host:port" here
    request = urllib.request.Request(
        f"http://{url}/import_raw_vdi?session_id={session._session}&vdi={vdi}&format=raw", data=data, method="PUT")
    with urllib.request.urlopen(request, timeout=60):
        pass
    try:
        update = api.pool_update.introduce(vdi)
    except XenAPI.Failure:
        api.VDI.destroy(vdi)
        raise
    return api.pool_update.get_uuid(update) + "\n"


def cmd_update_apply(objects: Objects, args: Args) -> str:
    _require_updates(objects, args.command)
    update = find_ref(objects, "pool_update", args.params.get("uuid", ""))
    host = find_ref(objects, "host", args.params["host-uuid"]) if "host-uuid" in args.params else \
        objects.api.pool.get_master(objects.api.pool.get_all()[0])
    objects.api.pool_update.apply(update, host)
    return ""


def cmd_install_supplemental_pack(objects: Objects, args: Args) -> str:
    if len(args.positional) != 1 or not Path(args.positional[0]).is_file():
        raise XeError("Usage: xe-install-supplemental-pack <iso>")
    host = objects.api.pool.get_master(objects.api.pool.get_all()[0])
    root = Path(os.environ.get("LAB_DOM0_ROOT", "/"))
    try:
        pack = updates.read_checked_pack(Path(args.positional[0]), objects.api.host.get_software_version(host),
                                         expect="legacy")
    except updates.PackError as error:
        raise XenAPI.Failure(error.details) from None
    out = [f"Installing '{pack.description}'...", ""]
    updates.packs_module().install_payload(pack, root=str(root))
    updates.record_installed(pack, root)
    objects.api.host.refresh_pack_info(host)
    out.append("Pack installation successful.")
    return "\n".join(out) + "\n"


def run(argv: list[str]) -> str:
    args, connection = parse_args(argv)
    session = connect(connection)
    objects = Objects(session.xenapi)
    if args.command == "install-supplemental-pack":
        return cmd_install_supplemental_pack(objects, args)
    if args.command == "host-call-plugin":
        return cmd_call_plugin(objects, args)
    if args.command == "update-upload":
        return cmd_update_upload(session, objects, args)
    if args.command == "update-apply":
        return cmd_update_apply(objects, args)
    cls, verb = _class_for(args.command)
    if cls == "pool_update":
        _require_updates(objects, args.command)
    if verb == "list":
        return cmd_list(objects, cls, args)
    if verb == "param-list":
        return format_records(objects, cls, [find_ref(objects, cls, args.params["uuid"])], None)
    if verb == "param-get":
        return cmd_param_get(objects, cls, args)
    if verb == "param-set":
        return cmd_param_set(objects, cls, args)
    if verb == "param-remove":
        return cmd_param_remove(objects, cls, args)
    if cls == "SR" and verb == "scan":
        objects.api.SR.scan(find_ref(objects, "SR", args.params["uuid"]))
        return ""
    raise XeError(f"Unknown command: {args.command}")


def describe_failure(details: list[str]) -> str:
    code, params = details[0], details[1:]
    if code == "SUPPACK_INSTALL_FAILED":  # xe-install-supplemental-pack is a script: it prints just its message
        return "\n".join(params)
    lines = [ERROR_TEXT.get(code, f"{code}")]
    names = ERROR_PARAMS.get(code)
    if names is not None:
        lines += [f"{name}: {value}" for name, value in zip(names, params, strict=False)]
    elif params:
        lines += [f"{p}" for p in params]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    try:
        sys.stdout.write(run(sys.argv[1:] if argv is None else argv))
    except XeError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    except XenAPI.Failure as failure:
        sys.stderr.write(describe_failure([str(d) for d in failure.details]) + "\n")
        return 1
    except xmlrpc.client.Fault as fault:  # the SDK's answer to SESSION_INVALID with nothing to log in with
        sys.stderr.write(f"Error: the XenAPI server refused xe's session ({fault.faultString}); "
                         "is the local session file from an older server state?\n")
        return 1
    except OSError as error:
        sys.stderr.write(f"Error: Connection refused ({error})\n")
        return 1
    except KeyError as error:
        sys.stderr.write(f"Error: missing argument {error.args[0]}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
