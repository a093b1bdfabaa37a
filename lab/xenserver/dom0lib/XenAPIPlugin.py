# ruff: noqa: N818, N999, UP004, UP031, BLE001 - Dom0 module names and Python 2.7 idioms
"""Dom0's XenAPIPlugin module as XenServer plugins import it (runs under Dom0's Python 2.7, and 3).

xapi runs a plugin with one argument, an XML-RPC methodCall (session ref, args map); `dispatch` calls the
named function with a XenAPI session bound to that ref and prints the XML-RPC methodResponse xapi reads back.
"""

import sys

try:
    import xmlrpclib
except ImportError:  # Python 3
    import xmlrpc.client as xmlrpclib

import XenAPI


class Failure(Exception):
    """Raised by a plugin function to answer with a specific XenAPI error: Failure(code, [params])."""

    def __init__(self, code, params):
        Exception.__init__(self, code, params)
        self.code = code
        self.params = params

    def __str__(self):
        return "Failure(%s, %s)" % (self.code, self.params)


def _response(struct):
    return xmlrpclib.dumps((struct,), None, True)


def success_message(result):
    return _response({"Status": "Success", "Value": result})


def failure_message(description):
    return _response({"Status": "Failure", "ErrorDescription": [str(d) for d in description]})


def dispatch(fn_table):
    if len(sys.argv) != 2:
        raise SystemExit("usage: %s <xml-rpc methodCall>" % sys.argv[0])
    params, methodname = xmlrpclib.loads(sys.argv[1])
    session_ref, args = params[0], params[1]
    if methodname not in fn_table:
        sys.stdout.write(failure_message(["UNKNOWN_XENAPI_PLUGIN_FUNCTION", methodname]))
        return
    session = XenAPI.xapi_local()
    session._session = session_ref
    try:
        result = fn_table[methodname](session, args)
    except Failure as failure:
        sys.stdout.write(failure_message([failure.code] + list(failure.params)))
    except SystemExit:
        raise
    except Exception as error:  # every other error reaches the caller as XENAPI_PLUGIN_FAILURE
        sys.stdout.write(failure_message(
            ["XENAPI_PLUGIN_FAILURE", methodname, error.__class__.__name__, str(error)]))
    else:
        sys.stdout.write(success_message(result))
