"""Python values, exceptions and functions in the tagged JSON form of docs/vectors.md."""

import inspect
import re
import sys
from collections import OrderedDict

from .errors import RecorderError

# A memory address as CPython prints it in default reprs (`<Foo object at 0x7f3a...>`).
ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{9,}")


class _Addresses(object):
    """How many recorded texts showed a memory address, and the first of them."""

    def __init__(self):
        self.count = 0
        self.example = None


ADDRESSES = _Addresses()

KIND_NAMES = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}

HASH_NAMES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


def check_text(text, what):
    """`text`, counted in `ADDRESSES` when it shows a memory address: such a text (a
    default repr, a function's repr) is what the library saw, but it differs from run to
    run, and so does the trace."""
    if ADDRESS.search(text):
        ADDRESSES.count += 1
        if ADDRESSES.example is None:
            ADDRESSES.example = text if len(text) <= 80 else text[:77] + "..."
    return text


def int_text(v):
    """`str(v)` for an int of any size. CPython refuses ints of more than
    `sys.get_int_max_str_digits()` digits; the app sees that limit (it is what its keys hit),
    but the trace must hold the value, so the recorder lifts it for this one conversion."""
    limit = getattr(sys, "get_int_max_str_digits", None)
    if limit is None or limit() == 0:
        return str(v)
    old = limit()
    sys.set_int_max_str_digits(0)
    try:
        return str(v)
    finally:
        sys.set_int_max_str_digits(old)


def value(v):
    """The tagged form of `v` (`{"t": "int", "v": "12"}`, ...)."""
    return _value(v, [])


def _value(v, stack):
    t = type(v)
    if v is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": v}
    if t is int:
        return {"t": "int", "v": int_text(v)}
    if t is float:
        return {"t": "float", "v": repr(v)}
    if t is str:
        return {"t": "str", "v": v}
    if t is bytes:
        return {"t": "bytes", "v": "".join("%02x" % b for b in bytearray(v))}
    if t in (tuple, list, dict, OrderedDict):
        if any(item is v for item in stack):
            raise RecorderError("a value contains itself (%s); it cannot be recorded" % t.__name__)
        stack.append(v)
        try:
            if t is tuple:
                return {"t": "tuple", "v": [_value(x, stack) for x in v]}
            if t is list:
                return {"t": "list", "v": [_value(x, stack) for x in v]}
            pairs = [[_value(k, stack), _value(x, stack)] for k, x in v.items()]
            return {"t": "odict" if t is OrderedDict else "dict", "v": pairs}
        finally:
            stack.pop()
    if isinstance(v, type):
        return {"t": "class", "module": v.__module__, "qualname": v.__qualname__}
    if _is_http_exception(v):
        # A werkzeug HTTPException held as a value: what 2.5's @cached stores when the view
        # aborts (FC-1.1.8). Known as the exception it is raised as on a hit.
        tagged = {"t": "exception"}
        tagged.update(error(v))
        return tagged
    return _object(v, t)


def _is_http_exception(v):
    """Whether `v` is a `werkzeug.exceptions.HTTPException` (werkzeug is not imported for it:
    an app that never imported it has none)."""
    module = sys.modules.get("werkzeug.exceptions")
    return module is not None and isinstance(v, module.HTTPException)


# Types `value` writes natively; any other value is an "object" known by its repr.
NATIVE_TYPES = (type(None), bool, int, float, str, bytes, tuple, list, dict, OrderedDict)


def key_problem(k, redis):
    """Why the trace cannot record `k` as a backend key, or None. A `str` is written as it
    is, any other value tagged (docs/trace-format.md), and the replay compares such a key as
    the backend does: a SimpleCache (a dict) by Python equality, which the trace shows for
    numbers, strings, bytes, tuples and classes, and for objects only by identity, when their
    repr shows their address (a function's does); a RedisCache by `f"{key}"`, which must be
    the repr."""
    if isinstance(k, str):
        return None
    return _key_problem(k, top=True, redis=redis)


def _key_problem(k, top, redis):
    """Why the replay could not compare key `k` (or its item) as the backend does, or None."""
    t = type(k)
    if t in (tuple, list):
        items = k
    elif t in (dict, OrderedDict):
        items = [x for pair in k.items() for x in pair]
    else:
        items = ()
    for item in items:
        problem = _key_problem(item, False, redis)
        if problem is not None:
            return problem
    if redis:
        if top and t not in NATIVE_TYPES and format(k, "") != repr(k):
            return ("RedisCache names the key f\"{key}\" (%r), which is not its repr (%r); the "
                    "trace records the repr only" % (format(k, ""), repr(k)))
        return None
    if t is float and k != k:
        return "a NaN key: a dict finds it only as the very same float object"
    if t in NATIVE_TYPES:
        return None
    kind = type(k)
    if kind.__eq__ is not object.__eq__ or kind.__hash__ is not object.__hash__:
        return ("%s.%s defines its own equality; SimpleCache (a dict) compares keys with it, "
                "which the trace cannot show" % (kind.__module__, kind.__qualname__))
    if not isinstance(k, type) and not ADDRESS.search(repr(k)):
        return ("SimpleCache (a dict) compares a %s.%s key by identity, and its repr %r does "
                "not show which object it is (the default repr does)"
                % (kind.__module__, kind.__qualname__, repr(k)))
    return None


def _object(v, t):
    what = "the repr of a %s.%s value" % (t.__module__, t.__qualname__)
    try:
        text = check_text(repr(v), what)
    except RecursionError:
        raise RecorderError("%s recurses without end; it cannot be recorded" % what)
    except Exception as exc:  # noqa: BLE001 - reported with its cause
        raise RecorderError("%s raised %s: %s" % (what, type(exc).__name__, exc))
    if not isinstance(text, str):
        raise RecorderError("%s is not a str" % what)
    caching_id = None
    if getattr(t, "__caching_id__", None) is not None:
        try:
            caching_id = str(v.__caching_id__())
        except Exception as exc:  # noqa: BLE001 - reported with its cause
            raise RecorderError(
                "%s.%s.__caching_id__() raised %s: %s" % (t.__module__, t.__qualname__,
                                                          type(exc).__name__, exc)
            )
        check_text(caching_id, "the __caching_id__ of a %s.%s value" % (t.__module__, t.__qualname__))
    return {
        "t": "object",
        "module": t.__module__,
        "qualname": t.__qualname__,
        "repr": text,
        "caching_id": caching_id,
    }


def error(exc):
    """`{"type": "ValueError", "message": "..."}` for an exception; a werkzeug
    `HTTPException` also has `"http": {"module", "qualname", "code", "repr"}`."""
    name = type(exc).__name__
    message = str(exc)
    check_text(message, "the message of a %s" % name)
    if not _is_http_exception(exc):
        return {"type": name, "message": message}
    t = type(exc)
    code = getattr(exc, "code", None)
    if type(code) is not int or not 0 <= code <= 65535:
        raise RecorderError(
            "an HTTPException %s.%s with code %r (not a status code: abort(response) or a "
            "bare HTTPException()) cannot be recorded" % (t.__module__, t.__qualname__, code)
        )
    text = repr(exc)
    check_text(text, "the repr of a %s" % name)
    return {"type": name, "message": message, "http": {
        "module": t.__module__, "qualname": t.__qualname__, "code": code, "repr": text}}


def raises(exc):
    return {"raises": error(exc)}


def result(v):
    return {"value": value(v)}


def receiver(obj):
    """`bound_to` for an object a method is bound to: `{"class": V}` or `{"instance": V}`."""
    if inspect.isclass(obj):
        return {"class": value(obj)}
    return {"instance": value(obj)}


def kwargs_pairs(kwargs):
    return [[name, value(v)] for name, v in kwargs.items()]


def describe_function(f, follow_wrapped=True):
    """The function descriptor of `f` (module, qualname, binding, params)."""
    module = getattr(f, "__module__", None)
    qualname = getattr(f, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise RecorderError("cannot describe %r: it has no __module__/__qualname__" % (f,))
    try:
        signature = inspect.signature(f, follow_wrapped=follow_wrapped)
    except (TypeError, ValueError) as exc:
        raise RecorderError("cannot read the signature of %s.%s: %s" % (module, qualname, exc))
    params = []
    for p in signature.parameters.values():
        if p.default is inspect.Parameter.empty:
            default = None
        else:
            default = value(p.default)
        params.append({"name": p.name, "kind": KIND_NAMES[p.kind], "default": default})
    return {"module": module, "qualname": qualname, "binding": binding(qualname, signature),
            "params": params}


def binding(qualname, signature):
    """`function`, `instance_method`, `classmethod` or `staticmethod`, from where the
    function is defined (its qualname) and the name of its first parameter."""
    parts = qualname.split(".")
    in_class = len(parts) >= 2 and parts[-2] != "<locals>"
    if not in_class:
        return "function"
    first = None
    for p in signature.parameters.values():
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            first = p.name
        break
    if first == "self":
        return "instance_method"
    if first == "cls":
        return "classmethod"
    return "staticmethod"


def hash_name(hash_method):
    """The hashlib name of a hash constructor (`hashlib.md5` -> `"md5"`)."""
    try:
        name = hash_method().name
    except Exception as exc:  # noqa: BLE001 - reported with its cause
        raise RecorderError("cannot tell which hash %r is: %s" % (hash_method, exc))
    if name not in HASH_NAMES:
        raise RecorderError(
            "hash method %r (%s) is not one of %s" % (hash_method, name, ", ".join(HASH_NAMES))
        )
    return name


def make_name_template(make_name):
    """`make_name` as a template with `{}` for the namespace (`lambda n: "x-" + n` ->
    `"x-{}"`), checked on a second namespace."""
    try:
        probe = make_name("\x00")
        check = make_name("flaskcache_probe.ns_1")
    except Exception as exc:  # noqa: BLE001 - reported with its cause
        raise RecorderError("make_name=%r raised %s: %s when probed" % (make_name, type(exc).__name__, exc))
    ok = isinstance(probe, str) and probe.count("\x00") == 1 and "{}" not in probe
    template = probe.replace("\x00", "{}") if ok else None
    if not ok or check != template.replace("{}", "flaskcache_probe.ns_1"):
        raise RecorderError(
            "make_name=%r is not of the form prefix + name + suffix (it maps '\\x00' to %r and "
            "'flaskcache_probe.ns_1' to %r); the trace can only record such templates"
            % (make_name, probe, check)
        )
    return template


def query_args(q):
    """`(json, q_to_pass)`: the `Q` of docs/vectors.md for `delete_cached(query_args=q)`,
    and the object to hand on to Flask-Caching (an iterator is turned into a list so that
    recording it does not consume it)."""
    if q is None:
        return None, None
    if isinstance(q, str):
        return {"string": q}, q
    items_multi = getattr(q, "items", None)
    try:
        from werkzeug.datastructures import MultiDict
    except ImportError:  # pragma: no cover
        MultiDict = ()
    try:
        from collections.abc import Mapping
    except ImportError:  # pragma: no cover
        from collections import Mapping
    if MultiDict and isinstance(q, MultiDict):
        pairs = list(q.items(multi=True))
        kind = "pairs"
    elif isinstance(q, Mapping) and items_multi is not None:
        pairs = list(q.items())
        kind = "mapping"
    else:
        try:
            pairs = [tuple(p) for p in q]
        except TypeError:
            raise RecorderError("query_args=%r is neither a string, a mapping nor pairs" % (q,))
        if not isinstance(q, (list, tuple)):
            q = pairs
        kind = "pairs"
    out = []
    for pair in pairs:
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise RecorderError("query_args=%r: expected (str, value) pairs" % (q,))
        out.append([pair[0], value(pair[1])])
    return {kind: out}, q
