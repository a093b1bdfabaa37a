# ruff: noqa: N818, N999, UP004, UP031, BLE001 - Dom0 module names and Python 2.7 idioms
"""Dom0's XenAPI module as plugins see it (Python 2.7 and 3).

`xapi_local()` reaches the lab's XenAPI server over loopback (LAB_XENAPI_URL, set by the server when it runs a
plugin; XenServer itself uses a Unix socket). Session/Failure follow the XenAPI SDK's behaviour.
"""

import os

try:
    import xmlrpclib
except ImportError:  # Python 3
    import xmlrpc.client as xmlrpclib

API_VERSION_1_1 = "1.1"
API_VERSION_1_2 = "1.2"


class Failure(Exception):
    def __init__(self, details):
        Exception.__init__(self, details)
        self.details = details

    def __str__(self):
        return str(self.details)

    def _details_map(self):
        return dict((str(i), d) for i, d in enumerate(self.details))


def _parse_result(result):
    if not isinstance(result, dict) or "Status" not in result:
        raise xmlrpclib.Fault(500, "Missing Status in response from server")
    if result["Status"] == "Success":
        return result.get("Value")
    raise Failure(result.get("ErrorDescription", ["INTERNAL_ERROR"]))


class _Dispatcher(object):
    def __init__(self, send, name):
        self.__send = send
        self.__name = name

    def __getattr__(self, name):
        if self.__name is None:
            return _Dispatcher(self.__send, name)
        return _Dispatcher(self.__send, "%s.%s" % (self.__name, name))

    def __call__(self, *args):
        return self.__send(self.__name, args)


class Session(xmlrpclib.ServerProxy):
    def __init__(self, uri, transport=None, encoding=None, verbose=0, allow_none=1):
        xmlrpclib.ServerProxy.__init__(self, uri, transport, encoding, verbose, allow_none)
        self._session = None

    def _request(self, methodname, params):
        if methodname in ("logout", "session.logout"):
            try:
                return _parse_result(getattr(self, "session.logout")(self._session))
            finally:
                self._session = None
        return _parse_result(getattr(self, methodname)(*((self._session,) + tuple(params))))

    def _login(self, method, params):
        self._session = _parse_result(getattr(self, "session.%s" % method)(*params))

    def __getattr__(self, name):
        if name == "handle":
            return self._session
        if name == "xenapi":
            return _Dispatcher(self._request, None)
        if name.startswith("login") or name.startswith("slave_local"):
            return lambda *params: self._login(name, params)
        if name == "logout":
            return lambda: self._request("logout", ())
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return xmlrpclib.ServerProxy.__getattr__(self, name)


def xapi_local():
    return Session(os.environ.get("LAB_XENAPI_URL", "http://127.0.0.1:80/"))
