"""XenAPI semantics over the state: sessions, generic per-class calls, and the few calls with behaviour.

`XenAPIService.call(method, params)` returns what goes on the wire: {'Status': 'Success', 'Value': ...} or
{'Status': 'Failure', 'ErrorDescription': [code, ...]}. Every call is appended to a call log (method name and
outcome only; never arguments, which may hold the password) so tests can prove the lab answered everything.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.xenserver import plugins
from lab.xenserver.config import HostConfig
from lab.xenserver.filters import FilterSyntaxError, compile_filter
from lab.xenserver.schema import INTRODUCED_IN, NULL_REF, canonical_class
from lab.xenserver.state import NoSuchObjectError, State

LOG = logging.getLogger("lab.xenserver")
LOCAL_SESSION_MARK = "lab_local_superuser"
MAX_SESSIONS_PER_ORIGINATOR = 500
# Classes whose generic <class>.create(record) / <class>.destroy(ref) XenAPI offers (task.create is special).
CREATABLE = {"VM", "VDI", "VBD", "VIF", "network", "PBD"}
DESTROYABLE = {"task", "pool_update", "pool_patch"}


def local_session_path(state_path: Path) -> Path:
    """Where the server leaves the session Dom0-local tools (xe) use, next to the state."""
    return state_path.parent / "local-session"


class XenAPIError(Exception):
    def __init__(self, *details: str) -> None:
        super().__init__(*details)
        self.details = [str(d) for d in details]


@dataclass
class ServerSettings:
    plugins_dir: Path = Path("/etc/xapi.d/plugins")
    dom0_python: str = "python2.7"
    xapi_url: str = "http://127.0.0.1:80/"
    state_path: Path | None = None
    call_log: Path | None = None
    dom0_root: Path = Path("/")
    data_dir: Path | None = None  # VDI contents (uploaded update ISOs); defaults to the state's directory


def _void() -> str:
    return ""


class XenAPIService:
    def __init__(self, config: HostConfig, state: State, settings: ServerSettings) -> None:
        self.config = config
        self.state = state
        self.settings = settings
        self.lock = threading.RLock()
        self._special: dict[tuple[str, str], Callable[..., Any]] = {
            ("session", "get_this_host"): self._session_get_this_host,
            ("session", "get_this_user"): lambda session, ref: "OpaqueRef:root-user",
            ("host", "call_plugin"): self._host_call_plugin,
            ("host", "get_servertime"): lambda session, host: time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime()),
            ("host", "get_management_interface"): self._host_management_interface,
            ("task", "create"): self._task_create,
            ("SR", "scan"): lambda session, sr: self._check(("SR", sr)) or _void(),
            ("VBD", "plug"): lambda session, vbd: self._set_attached("VBD", vbd, True),
            ("VBD", "unplug"): lambda session, vbd: self._set_attached("VBD", vbd, False),
        }
        # Hook for pool_update and friends (lab/xenserver/updates.py registers its calls here).
        from lab.xenserver import updates

        updates.register(self)

    def register_call(self, cls: str, name: str, handler: Callable[..., Any]) -> None:
        self._special[(cls, name)] = handler

    def vdi_path(self, vdi: str) -> Path:
        base = self.settings.data_dir or (self.settings.state_path.parent if self.settings.state_path else None)
        if base is None:
            raise XenAPIError("INTERNAL_ERROR", "the lab server has no data directory")
        return base / "vdis" / f"{self.state.get('VDI', vdi)['uuid']}.raw"

    def import_raw_vdi(self, session: str, vdi: str, data: bytes) -> int:
        """HTTP PUT /import_raw_vdi: store a VDI's content; returns the HTTP status."""
        with self.lock:
            if session not in self.state.records("session"):
                self._log("PUT /import_raw_vdi", "Failure", "SESSION_INVALID")
                return 401
            if vdi not in self.state.records("VDI"):
                self._log("PUT /import_raw_vdi", "Failure", "HANDLE_INVALID")
                return 404
            path = self.vdi_path(vdi)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            record = self.state.get("VDI", vdi)
            record["physical_utilisation"] = str(len(data))
            if int(record["virtual_size"]) < len(data):
                record["virtual_size"] = str(len(data))
            self.save()
        self._log("PUT /import_raw_vdi", "Success", None)
        return 200

    # -- entry point -----------------------------------------------------------------------------------------
    def call(self, method: str, params: tuple[Any, ...]) -> dict[str, Any]:
        try:
            value = self._dispatch(method, params)
        except (XenAPIError, plugins.PluginCallError) as error:
            self._log(method, "Failure", error.details[0])
            return {"Status": "Failure", "ErrorDescription": error.details}
        except Exception as error:  # noqa: BLE001 - xapi answers its own bugs with INTERNAL_ERROR, so do we
            LOG.exception("%s failed", method)
            self._log(method, "Failure", "INTERNAL_ERROR")
            return {"Status": "Failure", "ErrorDescription": ["INTERNAL_ERROR", f"{type(error).__name__}: {error}"]}
        self._log(method, "Success", None)
        return {"Status": "Success", "Value": value}

    def _log(self, method: str, status: str, error: str | None) -> None:
        if self.settings.call_log is None:
            return
        line = json.dumps({"time": round(time.time(), 3), "method": method, "status": status, "error": error})
        with self.lock, open(self.settings.call_log, "a") as stream:
            stream.write(line + "\n")

    def _dispatch(self, method: str, params: tuple[Any, ...]) -> Any:
        if method.startswith("Async."):
            return self._async(method[len("Async."):], params)
        cls_name, _, name = method.partition(".")
        cls = canonical_class(cls_name)
        if cls is None or not name or not self._class_available(cls):
            raise XenAPIError("MESSAGE_METHOD_UNKNOWN", method)
        if cls == "session" and name in ("login_with_password", "slave_local_login_with_password"):
            return self._bind(method, self._login, params)
        if cls == "session" and name in ("logout", "local_logout"):
            return self._bind(method, self._logout, params)
        special = self._special.get((cls, name))
        if special is not None and getattr(special, "unlocked", False):
            self._require_session(params)
            return self._bind(method, special, params)
        with self.lock:
            self._require_session(params)
            handler = special or self._generic(cls, name)
            if handler is None:
                raise XenAPIError("MESSAGE_METHOD_UNKNOWN", method)
            result = self._bind(method, handler, params)
            if not (name.startswith("get_") or name in ("scan",)):
                self.save()
            return copy.deepcopy(result)

    def _async(self, method: str, params: tuple[Any, ...]) -> str:
        """Async.<call>: XenServer returns a task at once; the lab runs the call first, so the task is finished."""
        self._require_session(params)
        answer = self.call(method, params)
        now = time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime())
        with self.lock:
            task = self.state.add("task", name_label=f"Async.{method}", created=now, finished=now, progress=1.0,
                                  resident_on=self.state.host_ref)
            record = self.state.get("task", task)
            if answer["Status"] == "Success":
                value = answer["Value"]
                record.update(status="success", result=value if isinstance(value, str) else "")
            else:
                record.update(status="failure", error_info=answer["ErrorDescription"])
            self.save()
        return task

    def _class_available(self, cls: str) -> bool:
        since = INTRODUCED_IN.get(cls)
        return since is None or self.state.platform_version() >= since

    @staticmethod
    def _bind(method: str, handler: Callable[..., Any], params: tuple[Any, ...]) -> Any:
        signature = inspect.signature(handler)
        try:
            signature.bind(*params)
        except TypeError:
            expected = len(signature.parameters)
            raise XenAPIError("MESSAGE_PARAMETER_COUNT_MISMATCH", method, str(expected), str(len(params))) from None
        try:
            return handler(*params)
        except NoSuchObjectError as missing:
            raise XenAPIError("HANDLE_INVALID", *missing.args) from None

    def save(self) -> None:
        if self.settings.state_path is not None:
            with self.lock:
                self.state.save(self.settings.state_path)

    # -- sessions --------------------------------------------------------------------------------------------
    def _login(self, username: str, password: str, version: str = "1.0", originator: str = "") -> str:
        if username != self.config.username or not self.config.password_matches(password):
            raise XenAPIError("SESSION_AUTHENTICATION_FAILED", username, "Authentication failure")
        return self.new_session(originator=originator, username=username)

    def new_session(self, originator: str = "", username: str = "root", local: bool = False) -> str:
        with self.lock:
            self._expire_sessions(originator)
            ref = self.state.add(
                "session", this_host=self.state.host_ref, this_user="OpaqueRef:root-user", originator=originator,
                last_active=time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime()), auth_user_name=username,
                other_config={LOCAL_SESSION_MARK: "true"} if local else {},
            )
            self.save()
            return ref

    def _expire_sessions(self, originator: str) -> None:
        """Like xapi, keep at most MAX_SESSIONS_PER_ORIGINATOR sessions per originator, dropping the oldest."""
        mine = [ref for ref, rec in self.state.records("session").items()
                if rec["originator"] == originator and LOCAL_SESSION_MARK not in rec["other_config"]]
        for ref in mine[: max(0, len(mine) - MAX_SESSIONS_PER_ORIGINATOR + 1)]:
            self.state.remove("session", ref)

    def _logout(self, session: str) -> str:
        with self.lock:
            self._require_session((session,))
            self.state.remove("session", session)
            self.save()
        return ""

    def _require_session(self, params: tuple[Any, ...]) -> str:
        session = params[0] if params else None
        if not isinstance(session, str) or session not in self.state.records("session"):
            raise XenAPIError("SESSION_INVALID", str(session))
        return session

    def _session_get_this_host(self, session: str, ref: str) -> str:
        return self.state.get("session", ref)["this_host"]

    # -- generic per-class calls -----------------------------------------------------------------------------
    def _check(self, *pairs: tuple[str, str]) -> None:
        for cls, ref in pairs:
            if ref not in self.state.records(cls):
                raise XenAPIError("HANDLE_INVALID", cls, str(ref))

    def _generic(self, cls: str, name: str) -> Callable[..., Any] | None:
        state = self.state
        fields = set(_fields(cls))

        def record(ref: str) -> dict[str, Any]:
            self._check((cls, ref))
            return state.get(cls, ref)

        def get_by_uuid(session: str, uuid: str) -> str:
            try:
                return state.ref_by_uuid(cls, uuid)
            except NoSuchObjectError:
                raise XenAPIError("UUID_INVALID", cls, uuid) from None

        def get_all_records_where(session: str, expr: str) -> dict[str, Any]:
            try:
                predicate = compile_filter(expr)
            except FilterSyntaxError as error:
                raise XenAPIError("INTERNAL_ERROR", f"Db_filter.Expression_error: {error}") from None
            return {ref: rec for ref, rec in state.records(cls).items() if predicate(rec)}

        generic: dict[str, Callable[..., Any]] = {
            "get_all": lambda session: list(state.records(cls)),
            "get_all_records": lambda session: dict(state.records(cls)),
            "get_all_records_where": get_all_records_where,
            "get_record": lambda session, ref: record(ref),
            "get_by_uuid": get_by_uuid,
        }
        if cls in CREATABLE:
            generic["create"] = lambda session, values: self._create(cls, values)
        if cls in CREATABLE or cls in DESTROYABLE:
            generic["destroy"] = lambda session, ref: self._destroy(cls, ref)
        if "name_label" in fields:
            generic["get_by_name_label"] = lambda session, label: state.find(cls, name_label=label)
        if name in generic:
            return generic[name]
        for prefix in ("get_", "set_", "add_to_", "remove_from_", "add_", "remove_"):
            field = name[len(prefix):]
            if name.startswith(prefix) and field in fields:
                return self._field_accessor(cls, prefix, field, record)
        return None

    def _field_accessor(
        self, cls: str, prefix: str, field: str, record: Callable[[str], dict[str, Any]]
    ) -> Callable[..., Any] | None:
        is_set = isinstance(_fields(cls)[field], list)

        def get(session: str, ref: str) -> Any:
            return record(ref)[field]

        def set_(session: str, ref: str, value: Any) -> str:
            record(ref)[field] = value
            return ""

        def add_to(session: str, ref: str, key: str, value: str) -> str:
            return self._map_add(cls, record(ref), ref, field, key, value)

        def remove_from(session: str, ref: str, key: str) -> str:
            record(ref)[field].pop(key, None)
            return ""

        def add(session: str, ref: str, value: str) -> str:
            if value not in record(ref)[field]:
                record(ref)[field].append(value)
            return ""

        def remove(session: str, ref: str, value: str) -> str:
            if value in record(ref)[field]:
                record(ref)[field].remove(value)
            return ""

        accessors: dict[str, Callable[..., Any]] = {"get_": get, "set_": set_}
        if isinstance(_fields(cls)[field], dict):
            accessors.update({"add_to_": add_to, "remove_from_": remove_from})
        if is_set:
            accessors.update({"add_": add, "remove_": remove})
        return accessors.get(prefix)

    def _map_add(self, cls: str, record: dict[str, Any], ref: str, field: str, key: str, value: str) -> str:
        if key in record[field]:
            raise XenAPIError("MAP_DUPLICATE_KEY", cls, field, ref, key)
        record[field][key] = value
        return ""

    def _create(self, cls: str, values: dict[str, Any]) -> str:
        known = _fields(cls)
        unknown = set(values) - set(known)
        if unknown:
            raise XenAPIError("FIELD_TYPE_ERROR", sorted(unknown)[0])
        ref = self.state.add(cls, **values)
        record = self.state.get(cls, ref)
        for value in record.values():  # keep the other end of each reference in step
            if isinstance(value, str) and value.startswith("OpaqueRef:") and value != NULL_REF:
                other_cls = self.state.class_of(value)
                back = _back_reference(cls, other_cls)
                if back:
                    self.state.link(other_cls, value, back, ref)
        return ref

    def _destroy(self, cls: str, ref: str) -> str:
        self._check((cls, ref))
        if cls == "VDI" and any(self.state.get("VBD", vbd)["currently_attached"]
                                for vbd in self.state.get("VDI", ref)["VBDs"]):
            raise XenAPIError("VDI_IN_USE", ref, "destroy")
        self.state.remove(cls, ref)
        return ""

    def _set_attached(self, cls: str, ref: str, attached: bool) -> str:
        self._check((cls, ref))
        record = self.state.get(cls, ref)
        if record["currently_attached"] == attached:
            raise XenAPIError("DEVICE_ALREADY_ATTACHED" if attached else "DEVICE_ALREADY_DETACHED", ref)
        record["currently_attached"] = attached
        if attached and cls == "VBD" and record["device"] == "":
            record["device"] = "xvd" + "bcdefghijklmnop"[len(self.state.find("VBD", VM=record["VM"])) % 15]
        return ""

    def _task_create(self, session: str, label: str, description: str) -> str:
        now = time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime())
        return self.state.add("task", name_label=label, name_description=description, created=now,
                              resident_on=self.state.host_ref)

    def _host_management_interface(self, session: str, host: str) -> str:
        self._check(("host", host))
        return next(iter(self.state.find("PIF", host=host, management=True)), NULL_REF)

    # -- plugins ---------------------------------------------------------------------------------------------
    def _host_call_plugin(self, session: str, host: str, plugin: str, fn: str, args: dict[str, str]) -> str:
        with self.lock:
            self._check(("host", host))
        if not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values()):
            raise XenAPIError("FIELD_TYPE_ERROR", "args")
        return plugins.run_plugin(
            self.settings.plugins_dir, self.settings.dom0_python, plugin, fn, session, args, self.settings.xapi_url,
            local_session_path(self.settings.state_path) if self.settings.state_path else None,
        )

    _host_call_plugin.unlocked = True  # type: ignore[attr-defined]  # the plugin calls back into the server


def _fields(cls: str) -> dict[str, Any]:
    from lab.xenserver.schema import FIELDS

    return FIELDS[cls]


_BACK_REFERENCES = {
    ("VBD", "VM"): "VBDs", ("VBD", "VDI"): "VBDs", ("VIF", "VM"): "VIFs", ("VIF", "network"): "VIFs",
    ("VDI", "SR"): "VDIs", ("PBD", "SR"): "PBDs", ("PBD", "host"): "PBDs", ("PIF", "network"): "PIFs",
}


def _back_reference(cls: str, other_cls: str | None) -> str | None:
    return _BACK_REFERENCES.get((cls, other_cls or ""))
