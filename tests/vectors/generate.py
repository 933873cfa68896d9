#!/usr/bin/env python3
"""Golden key vectors: run the real Flask-Caching and record what it did.

Usage:

    python tests/vectors/generate.py --seed N [--memoize COUNT] [--view COUNT] --out FILE
    python tests/vectors/generate.py --selfcheck

The output layout is described in docs/vectors.md. Every key in the output was
produced by the installed Flask-Caching (through a SimpleCache whose methods are
traced); nothing here derives a key on its own. The script installs nothing, runs
under whichever interpreter invokes it and detects the Flask-Caching profile
("2.5" for 2.5.x, "2.4" for 2.4.x, "0.13" for Flask-Cache 0.13.x, which runs on
Python 3.7) and the Python minor version.

Profile 0.13 generates only what that release has: memoize cases use `timeout` and
`make_name` (md5 is fixed, so `options.hash_method` is null; no `args_to_ignore`, no
`source_check`), view cases are requests with a literal, `%s` or callable
`key_prefix` and no `query_string`/`hash_method`/`source_check` (`request.args` is
still recorded; the keys ignore it). Generated sources have no positional-only
parameters before Python 3.8.

Determinism: the same seed, library and Python give byte-identical output. All
randomness comes from `random.Random(seed)`; `uuid.uuid4` is replaced by a
generator drawing from a per-case stream; generated classes define `__repr__`, so
no memory address reaches a key or the output.
"""

import argparse
import collections
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import random
import shutil
import struct
import sys
import tempfile
import time
import types
import unicodedata
import uuid
import warnings
from collections import OrderedDict
from urllib.parse import quote, unquote

FORMAT = "flaskcache-key-vectors/1"
HASH_NAMES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
TRACED_METHODS = ("get", "get_many", "set", "set_many", "delete", "delete_many", "has", "add")

sys.dont_write_bytecode = True
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)

from flask import Blueprint, Flask, request  # noqa: E402

try:
    import flask_caching as extension  # noqa: E402
except ImportError:
    import flask_cache as extension  # noqa: E402

Cache = extension.Cache


def detect_profile():
    if extension.__name__ == "flask_cache":
        version = extension.__version__
        parts = version.split(".")
        if parts[0] == "0" and parts[1] == "13":
            return "0.13", version
        raise SystemExit("unsupported Flask-Cache version %s (need 0.13.x)" % version)
    import importlib.metadata

    version = importlib.metadata.version("flask-caching")
    parts = version.split(".")
    if parts[0] == "2" and parts[1] == "5":
        profile = "2.5"
    elif parts[0] == "2" and parts[1] == "4":
        profile = "2.4"
    else:
        raise SystemExit("unsupported Flask-Caching version %s (need 2.4.x or 2.5.x)" % version)
    return profile, version


PROFILE, FC_VERSION = detect_profile()
PYTHON = "%d.%d" % sys.version_info[:2]
# Flask-Cache 0.13: memoize(timeout, make_name, unless), cached(timeout, key_prefix,
# unless), md5 only, `getargspec`-based keys.
LEGACY_0_13 = PROFILE == "0.13"
# `def f(a, /)` is a syntax error before Python 3.8.
POSITIONAL_ONLY_SYNTAX = sys.version_info >= (3, 8)


# --------------------------------------------------------------------------------------
# Per-case recording: backend calls, uuid4 draws, bytes fed to the hash objects.
# --------------------------------------------------------------------------------------


class Recorder:
    def __init__(self, uuid_rng=None, fixed_uuids=None):
        self.ops = []
        self.uuids = []
        self.hash_inputs = []
        self.prefix_results = []
        self.depth = 0
        self.uuid_rng = uuid_rng
        self.fixed_uuids = list(fixed_uuids or [])

    def next_uuid(self):
        if self.fixed_uuids:
            u = uuid.UUID(hex=self.fixed_uuids.pop(0))
        else:
            u = uuid.UUID(int=self.uuid_rng.getrandbits(128), version=4)
        self.uuids.append(u.hex)
        return u


REC = Recorder(uuid_rng=random.Random(0))


def _fake_uuid4():
    return REC.next_uuid()


uuid.uuid4 = _fake_uuid4


class RecordingHash:
    """Behaves like a hashlib object and records every chunk it is fed."""

    def __init__(self, name, data=None, _inner=None):
        self._name = name
        self._h = _inner if _inner is not None else getattr(hashlib, name)()
        if data is not None:
            self.update(data)

    def update(self, data):
        REC.hash_inputs.append(bytes(data))
        self._h.update(data)

    def digest(self):
        return self._h.digest()

    def hexdigest(self):
        return self._h.hexdigest()

    def copy(self):
        return RecordingHash(self._name, _inner=self._h.copy())

    @property
    def name(self):
        return self._h.name

    @property
    def digest_size(self):
        return self._h.digest_size

    @property
    def block_size(self):
        return self._h.block_size


def recording_constructor(name):
    def constructor(data=None, **_kwargs):
        return RecordingHash(name, data)

    constructor.__name__ = "openssl_" + name
    constructor.__qualname__ = constructor.__name__
    return constructor


# Stands in for the `hashlib` module inside generated modules, so that their source
# reads `hash_method=hashlib.sha1` while the hash objects record what they get.
RECORDING_HASHLIB = types.SimpleNamespace(**{n: recording_constructor(n) for n in HASH_NAMES})

if LEGACY_0_13:
    # 0.13 calls `hashlib.md5()` itself; no decorator argument reaches it.
    extension.hashlib = RECORDING_HASHLIB


def _describe_call(name, args, kwargs):
    def arg(i, kw, default=None):
        if len(args) > i:
            return args[i]
        return kwargs.get(kw, default)

    if name in ("get", "has", "delete"):
        return [name, arg(0, "key")]
    if name in ("get_many", "delete_many"):
        return [name, list(args)]
    if name in ("set", "add"):
        return [name, arg(0, "key"), repr(arg(1, "value")), arg(2, "timeout")]
    if name == "set_many":
        mapping = arg(0, "mapping")
        return [name, [[k, repr(v)] for k, v in dict(mapping).items()], arg(1, "timeout")]
    raise AssertionError(name)


def trace_backend(backend):
    """Log every outer call of the traced methods into REC.ops (inner calls the
    backend makes to itself, e.g. get_many -> get, are not logged)."""
    cls = type(backend)

    def make(name):
        original = getattr(cls, name)

        def traced(*args, **kwargs):
            if REC.depth == 0:
                REC.ops.append(_describe_call(name, args, kwargs))
            REC.depth += 1
            try:
                return original(backend, *args, **kwargs)
            finally:
                REC.depth -= 1

        return traced

    for name in TRACED_METHODS:
        setattr(backend, name, make(name))


class DecoratorProxy:
    """The `cache` object generated modules see. In the 2.4 profile the default
    `hash_method=hashlib.md5` is a default parameter of `memoize`/`cached`, so the
    recording md5 is passed explicitly when the decorator does not name one."""

    def __init__(self, cache, default_hash):
        self._cache = cache
        self._default_hash = default_hash

    def memoize(self, *args, **kwargs):
        if self._default_hash is not None and "hash_method" not in kwargs:
            kwargs["hash_method"] = self._default_hash
        return self._cache.memoize(*args, **kwargs)

    def cached(self, *args, **kwargs):
        if self._default_hash is not None and "hash_method" not in kwargs:
            kwargs["hash_method"] = self._default_hash
        return self._cache.cached(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._cache, name)


def new_app(root):
    app = Flask("vectors", root_path=root)
    app.debug = True
    app.testing = True
    if LEGACY_0_13:
        # The Jinja extension of 0.13 imports `flask.ext`, gone in Flask 1.0.
        cache = Cache(app, with_jinja2_ext=False, config={"CACHE_TYPE": "simple"})
        trace_backend(app.extensions["cache"][cache])
        return app, cache, DecoratorProxy(cache, None)
    config = {"CACHE_TYPE": "SimpleCache"}
    if PROFILE == "2.5":
        config["CACHE_HASH_METHOD"] = RECORDING_HASHLIB.sha256
    cache = Cache(app, config=config)
    trace_backend(app.extensions["cache"][cache])
    proxy = DecoratorProxy(cache, RECORDING_HASHLIB.md5 if PROFILE == "2.4" else None)
    return app, cache, proxy


class ModuleLoader:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fcvec-")
        self.count = 0

    def load(self, modname, source, namespace, register=True):
        self.count += 1
        path = os.path.join(self.dir, "m%06d.py" % self.count)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(source)
        spec = importlib.util.spec_from_file_location(modname, path)
        module = importlib.util.module_from_spec(spec)
        module.__dict__.update(namespace)
        previous = sys.modules.get(modname)
        if register:
            sys.modules[modname] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            self.release(modname, previous, register)
            raise
        return module, (modname, previous, register)

    @staticmethod
    def release(modname, previous, register):
        if not register:
            return
        if previous is None:
            sys.modules.pop(modname, None)
        else:
            sys.modules[modname] = previous

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def error_of(exc):
    if exc is None:
        return None
    return {"type": type(exc).__name__, "message": str(exc)}


# --------------------------------------------------------------------------------------
# Value encoding (docs/vectors.md, "Values").
# --------------------------------------------------------------------------------------


def enc(v):
    t = type(v)
    if v is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": v}
    if t is int:
        return {"t": "int", "v": str(v)}
    if t is float:
        return {"t": "float", "v": repr(v)}
    if t is str:
        return {"t": "str", "v": v}
    if t is bytes:
        return {"t": "bytes", "v": v.hex()}
    if t is tuple:
        return {"t": "tuple", "v": [enc(x) for x in v]}
    if t is list:
        return {"t": "list", "v": [enc(x) for x in v]}
    if t is OrderedDict:
        return {"t": "odict", "v": [[enc(k), enc(x)] for k, x in v.items()]}
    if t is dict:
        return {"t": "dict", "v": [[enc(k), enc(x)] for k, x in v.items()]}
    if isinstance(v, type):
        return {"t": "class", "module": v.__module__, "qualname": v.__qualname__}
    caching_id = None
    if getattr(t, "__caching_id__", None) is not None:
        caching_id = str(v.__caching_id__())
    return {
        "t": "object",
        "module": t.__module__,
        "qualname": t.__qualname__,
        "repr": repr(v),
        "caching_id": caching_id,
    }


KIND_NAMES = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


def describe_params(fn):
    out = []
    for p in inspect.signature(fn).parameters.values():
        default = None if p.default is inspect.Parameter.empty else enc(p.default)
        out.append({"name": p.name, "kind": KIND_NAMES[p.kind], "default": default})
    return out


# --------------------------------------------------------------------------------------
# Random data.
# --------------------------------------------------------------------------------------

ASCII_NAMES = [
    "a", "b", "c", "d", "x", "y", "z", "n", "k", "name", "limit", "offset", "page",
    "flag", "user_id", "term", "query", "opts", "value", "key", "items", "mode", "depth",
    "detailed", "with_courses", "sid", "_hidden", "A1",
]
UNICODE_NAMES = [
    "café", "函数", "données", "straße", "naïve", "ñandú", "παράδειγμα", "функция",
    "計算", "résumé", "über", "ключ", "値", "Ωmega",
]
FUNC_NAMES = [
    "get_student", "compute", "lookup", "fetch_items", "total", "render", "add", "search",
    "load", "price_for", "grades", "get_number", "f", "g", "_private", "run2",
]
CLASS_NAMES = ["Calc", "Student", "User", "Account", "Repo", "Point", "Node", "Thing", "Order", "Box"]
UNICODE_CLASS_NAMES = ["Café", "Größe", "計算機", "Ящик", "Δelta"]
MODULE_NAMES = [
    "app.services", "billing.core", "app.models.user", "svc", "reports", "demo.students",
    "api.v2.handlers", "app.views", "pkg_1.sub_2", "shop.cart", "données.vues",
    "模块.核心", "my-app.views", "app.café", "app v2.api", "tools",
]

SPECIAL_STRINGS = [
    "", " ", "it's", 'say "hi"', "both ' and \"", "back\\slash", "\\", "\\'", "tab\tnew\nline",
    "\r\n", "\x00", "\x1b[0m", "\x7f", "\x80", "\x85", "\x9f", "\xa0", "\xad", "é", "e\u0301",
    "\u200b", "\u200d", "\u2028", "\u2029", "\ufeff", "\ue000", "\uffff", "\U0001f600",
    "\U0001f1fa\U0001f1f8", "\U0001faf8", "\U0001fae8", "\U0001f6dc", "\U00011f00",
    "\U00031350", "中文", "日本語", "\u0378", "\U000e0001", "\U0010ffff", "\ufffd",
    "%s", "{}", "OrderedDict()", "None", "(1,)", "ß", "ǅ", "\u0600", "\u180e", "\u00ff",
    "\u0100", "Ā", "ǰ", "𝔘", "\u3000",
]
CHAR_POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" !#$%&()*+,-./:;<=>?@[]^_`{|}~")
    + ["'", '"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "\x85", "\xa0", "é", "ß", "ÿ",
       "\u0301", "\u200b", "\u2028", "\ufeff", "中", "語", "\U0001f600", "\U0001faf8",
       "\U0001fae8", "\ue000", "\u0378", "Ω", "я", "ع", "\u05d0"]
)
SPECIAL_FLOATS = [
    0.0, -0.0, 1.0, -1.5, 0.1, 0.5, 1e16, 1e-5, 1e-4, 1e22, 1e23, 5e-324, 2.0 ** 53,
    1.7976931348623157e308, 123456789.125, 3.141592653589793, -2.5e-10, 1e15, 9.999999999999999e15,
    float("inf"), float("-inf"), float("nan"),
]


# Identifiers are NFKC-normalised by the compiler; the pools hold only names that
# survive it unchanged, so the source text and `__qualname__` agree.
assert all(unicodedata.normalize("NFKC", n) == n and n.isidentifier()
           for n in ASCII_NAMES + UNICODE_NAMES + FUNC_NAMES + CLASS_NAMES + UNICODE_CLASS_NAMES)


def random_codepoint(rng):
    while True:
        c = rng.randint(0x80, 0x10FFFF)
        if not 0xD800 <= c <= 0xDFFF:
            return chr(c)


def gen_str(rng):
    r = rng.random()
    if r < 0.3:
        return rng.choice(SPECIAL_STRINGS)
    if r < 0.45:
        return rng.choice(ASCII_NAMES + UNICODE_NAMES)
    n = rng.randint(0, 8)
    out = []
    for _ in range(n):
        if rng.random() < 0.08:
            out.append(random_codepoint(rng))
        else:
            out.append(rng.choice(CHAR_POOL))
    return "".join(out)


def gen_int(rng):
    r = rng.random()
    if r < 0.55:
        return rng.randint(-5, 300)
    if r < 0.7:
        return rng.choice([0, 1, -1, 2 ** 31, 2 ** 63 - 1, 2 ** 63, 2 ** 64, -(2 ** 64) - 1, 10 ** 20])
    if r < 0.85:
        return rng.randint(-(10 ** 9), 10 ** 9)
    bits = rng.randint(65, 220)
    return rng.getrandbits(bits) * rng.choice([1, -1])


def gen_float(rng):
    r = rng.random()
    if r < 0.45:
        return rng.choice(SPECIAL_FLOATS)
    if r < 0.75:
        return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
    return round(rng.uniform(-1000, 1000), rng.randint(0, 6))


def gen_bytes(rng):
    if rng.random() < 0.3:
        return rng.choice([b"", b"'", b'"', b"'\"", b"\x00a", b"\\", b"abc", b"\xff\xfe", b"\x7f\x80"])
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 6)))


class ValueGen:
    """Random argument values. `instances` are live objects of generated classes,
    `classes` are class objects that may appear as values."""

    def __init__(self, rng, instances=(), classes=()):
        self.rng = rng
        self.instances = list(instances)
        self.classes = list(classes)

    def scalar(self):
        rng = self.rng
        r = rng.random()
        if r < 0.07:
            return None
        if r < 0.13:
            return rng.random() < 0.5
        if r < 0.38:
            return gen_int(rng)
        if r < 0.52:
            return gen_float(rng)
        if r < 0.82:
            return gen_str(rng)
        if r < 0.88:
            return gen_bytes(rng)
        if r < 0.95 and self.instances:
            return rng.choice(self.instances)
        if self.classes:
            return rng.choice(self.classes)
        return gen_str(rng)

    def key(self, depth):
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            return gen_str(rng)
        if r < 0.7:
            return gen_int(rng)
        if r < 0.75:
            return None
        if r < 0.8:
            return rng.random() < 0.5
        if r < 0.85:
            return gen_float(rng)
        if r < 0.9:
            return gen_bytes(rng)
        if r < 0.95 and depth < 3:
            return tuple(self.scalar_hashable() for _ in range(rng.randint(0, 2)))
        if self.classes:
            return rng.choice(self.classes)
        return gen_str(rng)

    def scalar_hashable(self):
        v = self.scalar()
        return v if not isinstance(v, (list, dict)) else gen_str(self.rng)

    def value(self, depth=1):
        rng = self.rng
        if depth >= 3 or rng.random() < 0.62:
            return self.scalar()
        kind = rng.random()
        n = rng.choice([0, 1, 1, 2, 2, 3])
        if kind < 0.35:
            return tuple(self.value(depth + 1) for _ in range(n))
        if kind < 0.6:
            return [self.value(depth + 1) for _ in range(n)]
        d = OrderedDict() if kind >= 0.85 else {}
        for _ in range(n):
            d[self.key(depth + 1)] = self.value(depth + 1)
        return d


_UNPRINTABLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"}


def str_literal(s):
    """A Python string literal for `s` that does not depend on the interpreter's
    Unicode database (unlike `repr`): non-ASCII characters are kept as they are only
    when Unicode 3.2 already had them printable, and escaped otherwise. Generated
    sources and chosen repr texts are then the same on every Python version."""
    q = "'" if "'" not in s or '"' in s else '"'
    out = [q]
    for ch in s:
        o = ord(ch)
        if ch in ("\\", q):
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        elif o >= 0xA0 and unicodedata.ucd_3_2_0.category(ch) not in _UNPRINTABLE_CATEGORIES:
            out.append(ch)
        elif o <= 0xFF:
            out.append("\\x%02x" % o)
        elif o <= 0xFFFF:
            out.append("\\u%04x" % o)
        else:
            out.append("\\U%08x" % o)
    out.append(q)
    return "".join(out)


def py_src(v):
    """Source text evaluating to `v` (for parameter defaults)."""
    t = type(v)
    if t is str:
        return str_literal(v)
    if v is None or t in (bool, int, bytes):
        return repr(v)
    if t is float:
        if v != v:
            return "float('nan')"
        if v in (float("inf"), float("-inf")):
            return "float(%r)" % repr(v)
        return repr(v)
    if t is tuple:
        if len(v) == 1:
            return "(%s,)" % py_src(v[0])
        return "(%s)" % ", ".join(py_src(x) for x in v)
    if t is list:
        return "[%s]" % ", ".join(py_src(x) for x in v)
    if t is OrderedDict:
        return "OrderedDict([%s])" % ", ".join("(%s, %s)" % (py_src(k), py_src(x)) for k, x in v.items())
    if t is dict:
        return "{%s}" % ", ".join("%s: %s" % (py_src(k), py_src(x)) for k, x in v.items())
    raise TypeError(t)


def gen_default(rng):
    r = rng.random()
    if r < 0.45:
        return rng.choice([0, False, "", (), None, 0.0, b"", [], {}, -0.0])
    if r < 0.75:
        return rng.choice([1, 2, 5, -1, True, "x", "it's", "é", 1.5, (1,), (1, 2), "default", 10 ** 20])
    vg = ValueGen(rng)
    v = vg.value(2)
    try:
        py_src(v)
    except TypeError:
        return 3
    return v


def unique_names(rng, count, taken, unicode_rate=0.08):
    names = []
    while len(names) < count:
        pool = UNICODE_NAMES if rng.random() < unicode_rate else ASCII_NAMES
        n = rng.choice(pool)
        if n not in taken and n not in names and n not in ("self", "cls"):
            names.append(n)
    return names


def gen_repr_text(rng, clsname):
    n = rng.randint(0, 99)
    r = rng.random()
    if r < 0.3:
        return "%s(%d)" % (clsname, n)
    if r < 0.45:
        return "%s()" % clsname
    if r < 0.6:
        return "%s(id=%d, name=%s)" % (clsname, n, str_literal(gen_str(rng)))
    if r < 0.7:
        return "<%s #%d>" % (clsname, n)
    if r < 0.73:
        return ""
    return gen_str(rng)


def gen_caching_id(rng):
    r = rng.random()
    if r < 0.5:
        return "obj-%d" % rng.randint(0, 99)
    if r < 0.7:
        return rng.randint(-5, 10 ** 6)
    if r < 0.75:
        return None
    if r < 0.8:
        return ""
    return gen_str(rng)


# --------------------------------------------------------------------------------------
# Memoize cases.
# --------------------------------------------------------------------------------------

PO = inspect.Parameter.POSITIONAL_ONLY
POK = inspect.Parameter.POSITIONAL_OR_KEYWORD
VARP = inspect.Parameter.VAR_POSITIONAL
KWO = inspect.Parameter.KEYWORD_ONLY
VARK = inspect.Parameter.VAR_KEYWORD


def choose_weighted(rng, table):
    total = sum(w for _, w in table)
    x = rng.random() * total
    for item, w in table:
        x -= w
        if x < 0:
            return item
    return table[-1][0]


def plan_params(rng, first):
    """Parameter plan: list of (name, kind, default_or_empty, is_receiver).
    `first` is the receiver name ('self', 'cls', 'this') or None. Parameters before a
    `/` are positional-only, so a method with positional-only parameters has a
    positional-only receiver too."""
    EMPTY = inspect.Parameter.empty
    if first is None:
        n_po = rng.choice([0] * 7 + [1, 1, 2])
    else:
        n_po = rng.choice([0] * 28 + [-1, 1])  # -1: only the receiver is positional-only
    n_pok = rng.choice([0, 1, 1, 2, 2, 2, 3, 3, 4])
    has_varp = rng.random() < 0.22
    n_kwo = rng.choice([0] * 6 + [1, 1, 2])
    has_vark = rng.random() < 0.25
    if not POSITIONAL_ONLY_SYNTAX:
        n_po = 0
    receiver_po = first is not None and n_po != 0
    n_po = max(n_po, 0)
    names = unique_names(rng, n_po + n_pok + n_kwo, set())
    # Rarely, the parameter after the receiver (or the second one of a plain function)
    # is itself named self or cls: a bound method's signature then starts with it.
    if n_pok >= 2 and rng.random() < 0.04:
        names[n_po if first is not None else n_po + 1] = "cls" if first == "self" else "self"
    positional = []
    if first is not None:
        positional.append([first, PO if receiver_po else POK, EMPTY, True])
    for i in range(n_po):
        positional.append([names[i], PO, EMPTY, False])
    for i in range(n_pok):
        positional.append([names[n_po + i], POK, EMPTY, False])
    # Defaults: a suffix of the non-receiver positional parameters.
    candidates = [i for i, p in enumerate(positional) if not p[3]]
    if candidates:
        start = rng.choice(candidates + [len(positional)] * 2)
        for i in range(start, len(positional)):
            positional[i][2] = gen_default(rng)
    params = [tuple(p) for p in positional]
    if has_varp:
        params.append((rng.choice(["args", "rest", "extra"]), VARP, EMPTY, False))
    for i in range(n_kwo):
        d = gen_default(rng) if rng.random() < 0.5 else EMPTY
        params.append((names[n_po + n_pok + i], KWO, d, False))
    if has_vark:
        params.append((rng.choice(["kwargs", "kw", "options"]), VARK, EMPTY, False))
    return params


def params_src(params):
    parts = []
    seen_po = False
    star_done = False
    for name, kind, default, _first in params:
        if kind == PO:
            seen_po = True
        elif seen_po:
            parts.append("/")
            seen_po = False
        if kind == KWO and not star_done:
            parts.append("*")
            star_done = True
        if kind == VARP:
            star_done = True
            parts.append("*" + name)
            continue
        if kind == VARK:
            parts.append("**" + name)
            continue
        if default is inspect.Parameter.empty:
            parts.append(name)
        else:
            parts.append("%s=%s" % (name, py_src(default)))
    if seen_po:
        parts.append("/")
    return ", ".join(parts)


def class_src(name, has_cid, indent, body_lines=()):
    pad = " " * indent
    lines = [
        "%sclass %s:" % (pad, name),
        "%s    def __init__(self, r, cid=None):" % pad,
        "%s        self._r = r" % pad,
        "%s        self._cid = cid" % pad,
        "",
        "%s    def __repr__(self):" % pad,
        "%s        return self._r" % pad,
    ]
    if has_cid:
        lines += [
            "",
            "%s    def __caching_id__(self):" % pad,
            "%s        return self._cid" % pad,
        ]
    if body_lines:
        lines.append("")
        lines.extend(body_lines)
    return lines


def gen_memo_options(rng, param_names):
    opts = []
    record = {"hash_method": None, "make_name": None, "args_to_ignore": [], "source": None}
    if rng.random() < 0.5:
        opts.append("timeout=%s" % rng.choice(["None", "0", "30", "60", "300", "600", "3600", "86400"]))
    if rng.random() < 0.22:
        prefix = rng.choice(["custom-", "v2:", "", "pré/", "ns.", "x'y\"", "名前-", "\\", "a b "])
        suffix = ""
        if rng.random() < 0.2:
            suffix = rng.choice(["-sfx", "!", "·", ""])
        if suffix:
            opts.append("make_name=lambda n: %s + n + %s" % (str_literal(prefix), str_literal(suffix)))
        else:
            opts.append("make_name=lambda n: %s + n" % str_literal(prefix))
        record["make_name"] = prefix + "{}" + suffix
    if LEGACY_0_13:
        rng.shuffle(opts)
        return "@cache.memoize(%s)" % ", ".join(opts), record, False
    if rng.random() < 0.4:
        name = rng.choice(HASH_NAMES)
        opts.append("hash_method=hashlib.%s" % name)
        record["hash_method"] = name
    if rng.random() < 0.2:
        pool = list(param_names) + ["self", "zz_unused", "kw_x"]
        ignore = []
        for _ in range(rng.randint(1, 3)):
            n = rng.choice(pool)
            if n not in ignore:
                ignore.append(n)
        opts.append("args_to_ignore=[%s]" % ", ".join(str_literal(n) for n in ignore))
        record["args_to_ignore"] = ignore
    source_check = False
    r = rng.random()
    if r < 0.18:
        opts.append("source_check=True")
        source_check = True
    elif r < 0.25:
        opts.append("source_check=False")
    rng.shuffle(opts)
    return "@cache.memoize(%s)" % ", ".join(opts), record, source_check


class MemoPlan:
    pass


def plan_memo(rng):
    p = MemoPlan()
    p.binding = choose_weighted(rng, [
        ("function", 30), ("nested", 5), ("self_function", 4), ("cls_function", 2),
        ("instance_method", 28), ("classmethod", 16), ("staticmethod", 15),
    ])
    p.modname = rng.choice(MODULE_NAMES)
    p.fname = rng.choice(UNICODE_NAMES) if rng.random() < 0.08 else rng.choice(FUNC_NAMES)
    # Value classes (instances and class objects used as argument values).
    n_value_classes = rng.choice([1, 1, 2, 2, 3])
    cls_names = []
    while len(cls_names) < n_value_classes + 1:
        pool = UNICODE_CLASS_NAMES if rng.random() < 0.1 else CLASS_NAMES
        n = rng.choice(pool)
        if n not in cls_names:
            cls_names.append(n)
    p.host_name = cls_names[0]
    p.value_classes = [(n, rng.random() < 0.3) for n in cls_names[1:]]
    p.host_cid = rng.random() < 0.2
    p.host_nested = rng.random() < 0.1
    p.has_sub = rng.random() < 0.3
    first = {
        "instance_method": "self", "classmethod": "cls", "self_function": "self",
        "cls_function": "cls",
    }.get(p.binding)
    if p.binding == "instance_method" and rng.random() < 0.05:
        first = "this"
    if p.binding == "classmethod":
        # Classes that define `__caching_id__` only appear through their instances:
        # `get_id(cls)` would call the unbound method, and the encoding of a class
        # value carries no flag for it.
        p.host_cid = False
    p.params = plan_params(rng, first)
    p.decorator, p.options, p.source_check = gen_memo_options(
        rng, [x[0] for x in p.params])
    return p


def memo_source(p):
    target = []
    is_method = p.binding in ("instance_method", "classmethod", "staticmethod")
    ind = 0
    if is_method:
        ind = 8 if p.host_nested else 4
    pad = " " * ind
    if p.binding == "nested":
        pad = "    "
    if p.binding == "classmethod":
        target.append(pad + "@classmethod")
    if p.binding == "staticmethod":
        target.append(pad + "@staticmethod")
    target.append(pad + p.decorator)
    target.append("%sdef %s(%s):" % (pad, p.fname, params_src(p.params)))
    target.append(pad + "    return 1")

    lines = ["from collections import OrderedDict", "", ""]
    for name, cid in p.value_classes:
        lines += class_src(name, cid, 0) + ["", ""]
    if is_method:
        if p.host_nested:
            lines.append("class Outer:")
            lines += class_src(p.host_name, p.host_cid, 4, target)
        else:
            lines += class_src(p.host_name, p.host_cid, 0, target)
        lines += ["", ""]
        if p.has_sub:
            host = "Outer." + p.host_name if p.host_nested else p.host_name
            lines += ["class Sub(%s):" % host, "    pass", "", ""]
    elif p.binding == "nested":
        lines.append("def outer():")
        lines += target
        lines.append("    return %s" % p.fname)
        lines += ["", "", "%s = outer()" % p.fname]
    else:
        lines += target
    lines.append("")
    return "\n".join(lines)


# Keyword arguments with these names collide with the parameters of Flask-Caching's own
# wrappers (`decorated_function` -> `_bypass_cache(self, unless, f, ...)`,
# `delete_memoized(self, f, ...)`, `_memoize_kwargs_to_args` pops `args_to_ignore`), which
# raise before any key is built; they are never passed by keyword.
RESERVED_KWARGS = {"self", "f", "unless", "args_to_ignore"}


def gen_call_args(rng, params, vg):
    """Arguments for the parameters `params` (receiver excluded). Usually they fit the
    signature; sometimes they do not (the body then raises after the key was built)."""
    positional = [p for p in params if p[1] in (PO, POK)]
    kwonly = [p for p in params if p[1] == KWO]
    has_varp = any(p[1] == VARP for p in params)
    has_vark = any(p[1] == VARK for p in params)
    EMPTY = inspect.Parameter.empty
    n_pos = rng.randint(0, len(positional))
    if rng.random() < 0.4:
        n_pos = len(positional)
    args = [vg.value() for _ in range(n_pos)]
    kwargs = []
    for name, kind, default, _f in positional[n_pos:]:
        if kind != POK or name in RESERVED_KWARGS:
            continue
        if default is EMPTY:
            if rng.random() < 0.85:
                kwargs.append((name, vg.value()))
        elif rng.random() < 0.4:
            kwargs.append((name, vg.value()))
    if has_varp and n_pos == len(positional) and rng.random() < 0.6:
        args += [vg.value() for _ in range(rng.randint(1, 3))]
    for name, kind, default, _f in kwonly:
        if rng.random() < (0.85 if default is EMPTY else 0.5):
            kwargs.append((name, vg.value()))
    taken = {p[0] for p in params if p[1] in (POK, KWO)}
    if has_vark and rng.random() < 0.65:
        pool = ASCII_NAMES + UNICODE_NAMES + ["a b", "", "9lives", "kw_x", "é"]
        pool += [p[0] for p in params if p[1] == PO]
        for _ in range(rng.randint(1, 3)):
            n = rng.choice(pool)
            if n not in taken and n not in [k for k, _ in kwargs]:
                kwargs.append((n, vg.value()))
    if rng.random() < 0.04:
        if rng.random() < 0.5:
            args.append(vg.value())
        else:
            n = "unexpected_kw"
            if n not in [k for k, _ in kwargs]:
                kwargs.append((n, vg.value()))
    if rng.random() < 0.3:
        rng.shuffle(kwargs)
    return args, kwargs


def ensure_nonempty(rng, params, vg, args, kwargs):
    if args or kwargs:
        return args, kwargs
    names = [p[0] for p in params if p[1] in (POK, KWO) and p[0] not in RESERVED_KWARGS]
    if names and rng.random() < 0.4:
        return args, [(rng.choice(names), vg.value())]
    return [vg.value()], kwargs


def pick_op(rng):
    return choose_weighted(rng, [("call", 45), ("delete", 30), ("reset", 15), ("verhash", 10)])


def run_memo_case(case_id, rng, loader):
    plan = plan_memo(rng)
    source = memo_source(plan)
    app, cache, proxy = new_app(loader.dir)
    namespace = {"cache": proxy, "hashlib": RECORDING_HASHLIB}
    module, handle = loader.load(plan.modname, source, namespace)
    try:
        return build_memo_case(case_id, rng, plan, module, app, cache)
    finally:
        ModuleLoader.release(*handle)


def build_memo_case(case_id, rng, plan, module, app, cache):
    global REC
    value_classes = [getattr(module, n) for n, _ in plan.value_classes]
    host = None
    sub = None
    if plan.binding in ("instance_method", "classmethod", "staticmethod"):
        host = getattr(module.Outer, plan.host_name) if plan.host_nested else getattr(module, plan.host_name)
        if plan.has_sub:
            sub = module.Sub
    # Objects used as values, and classes used as values (never the ones that define
    # __caching_id__, see plan_memo).
    instances = []
    for cls in value_classes + ([host] if host is not None else []):
        for _ in range(rng.randint(1, 2)):
            has_cid = getattr(cls, "__caching_id__", None) is not None
            obj = cls(gen_repr_text(rng, cls.__name__), gen_caching_id(rng) if has_cid else None)
            if json.dumps(enc(obj)) not in [json.dumps(enc(o)) for o in instances]:
                instances.append(obj)
    value_class_objs = [c for c in value_classes + ([host, sub] if host is not None else [])
                        if c is not None and getattr(c, "__caching_id__", None) is None]
    value_class_objs += [int, str, OrderedDict, bytes]
    vg = ValueGen(rng, instances, value_class_objs)

    encodings = [json.dumps(enc(o)) for o in instances]

    def new_instance(cls):
        # Distinct objects get distinct encodings, so that `args[0] is instance`
        # (delete_memoized on a bound method) can be told from the data.
        has_cid = getattr(cls, "__caching_id__", None) is not None
        while True:
            obj = cls(gen_repr_text(rng, cls.__name__), gen_caching_id(rng) if has_cid else None)
            e = json.dumps(enc(obj))
            if e not in encodings:
                encodings.append(e)
                return obj

    if plan.binding in ("function", "nested", "self_function", "cls_function"):
        decorated = getattr(module, plan.fname)
        raw = decorated.uncached
        binding = "function"
    elif plan.binding == "staticmethod":
        decorated = host.__dict__[plan.fname].__func__
        raw = decorated.uncached
        binding = "staticmethod"
    elif plan.binding == "classmethod":
        decorated = host.__dict__[plan.fname].__func__
        raw = decorated.uncached
        binding = "classmethod"
    else:
        decorated = host.__dict__[plan.fname]
        raw = decorated.uncached
        binding = "instance_method"
    all_params = plan.params
    rest_params = all_params[1:] if all_params and all_params[0][3] else all_params
    has_receiver = bool(all_params and all_params[0][3])

    op = pick_op(rng)
    # Instances of the subclass only when the host class has no __caching_id__: in 2.4
    # the error message names the class that defines it, which the encoding of an
    # instance of the subclass does not carry.
    obj_cls = host
    if sub is not None and rng.random() < 0.3 and getattr(host, "__caching_id__", None) is None:
        obj_cls = sub
    callee = None
    bound_to = None
    args, kwargs = gen_call_args(rng, rest_params, vg)

    if binding == "instance_method":
        obj = new_instance(obj_cls)
        vg.instances.append(obj)
        bound = getattr(obj, plan.fname)
        if op == "call":
            if rng.random() < 0.85:
                callee, bound_to = bound, {"instance": enc(obj)}
            else:
                callee = decorated
                args = [obj if rng.random() < 0.8 else vg.value()] + args
        elif op == "delete":
            form = choose_weighted(rng, [("bound", 30), ("bound_self", 20), ("bound_other", 5),
                                         ("unbound_self", 20), ("unbound_noself", 15),
                                         ("unbound_kwonly", 10)])
            if form.startswith("bound"):
                callee, bound_to = bound, {"instance": enc(obj)}
                if form == "bound_self":
                    args = [obj] + args
                elif form == "bound_other":
                    args = [new_instance(host)] + args
                else:
                    args, kwargs = ensure_nonempty(rng, rest_params, vg, args, kwargs)
            else:
                callee = decorated
                if form == "unbound_self":
                    args = [obj] + args
                elif form == "unbound_noself":
                    args, kwargs = ensure_nonempty(rng, rest_params, vg, args, kwargs)
                    if not args:
                        args = [vg.value()]
                else:
                    args = []
                    if not kwargs:
                        names = [p[0] for p in rest_params
                                 if p[1] in (POK, KWO) and p[0] not in RESERVED_KWARGS] or ["n"]
                        kwargs = [(rng.choice(names), vg.value())]
        else:
            if rng.random() < 0.6:
                callee, bound_to = bound, {"instance": enc(obj)}
            else:
                callee = decorated
    elif binding == "classmethod":
        via = choose_weighted(rng, [("class", 55), ("instance", 20), ("sub", 15 if sub else 0), ("raw", 10)])
        if via == "class":
            callee, bound_to = getattr(host, plan.fname), {"class": enc(host)}
        elif via == "sub":
            callee, bound_to = getattr(sub, plan.fname), {"class": enc(sub)}
        elif via == "instance":
            obj = new_instance(obj_cls)
            callee, bound_to = getattr(obj, plan.fname), {"class": enc(type(obj))}
        else:
            callee = decorated
        if op == "call":
            if via == "raw":
                args = [rng.choice([host, sub or host, vg.value()])] + args
        elif op == "delete":
            form = choose_weighted(rng, [("with_class", 50), ("without", 35), ("other_class", 15)])
            if form == "with_class":
                args = [host] + args
            elif form == "other_class":
                args = [rng.choice(value_class_objs)] + args
            else:
                args, kwargs = ensure_nonempty(rng, rest_params, vg, args, kwargs)
    elif binding == "staticmethod":
        if rng.random() < 0.6:
            callee = getattr(host, plan.fname)
        else:
            callee = getattr(new_instance(obj_cls), plan.fname)
        if op == "delete":
            args, kwargs = ensure_nonempty(rng, rest_params, vg, args, kwargs)
    else:
        callee = decorated
        if has_receiver:
            first = all_params[0][0]
            if first == "self":
                lead = new_instance(rng.choice(value_classes)) if rng.random() < 0.75 else vg.value()
            else:
                lead = rng.choice(value_class_objs) if rng.random() < 0.75 else vg.value()
            if op in ("call", "delete") and rng.random() < 0.92:
                args = [lead] + args
        if op == "delete":
            args, kwargs = ensure_nonempty(rng, all_params, vg, args, kwargs)

    if op in ("reset", "verhash"):
        args, kwargs = [], []

    # Run the operation against a fresh cache.
    REC = Recorder(uuid_rng=random.Random(rng.getrandbits(64)))
    exc = None
    kw = dict(kwargs)
    with app.app_context():
        try:
            if op == "call":
                callee(*args, **kw)
            elif op == "delete":
                cache.delete_memoized(callee, *args, **kw)
            elif op == "reset":
                cache.delete_memoized(callee)
            else:
                cache.delete_memoized_verhash(callee)
        except Exception as e:  # noqa: BLE001 - recorded as the expected outcome
            exc = e
    rec = REC
    ops = rec.ops
    names = [o[0] for o in ops]
    if op == "call":
        key = next((o[1] for o in ops if o[0] == "get"), None)
        error = exc if key is None else None
    elif op == "delete":
        key = next((o[1] for o in ops if o[0] == "delete"), None)
        error = exc
    elif op == "reset":
        writes = [o for o in ops if o[0] == "set_many"]
        key = writes[-1][1][-1][0] if writes and exc is None else None
        error = exc
    else:
        dels = [o for o in ops if o[0] == "delete_many"]
        key = dels[0][1][-1] if dels and exc is None else None
        error = exc
    if exc is not None and error is None:
        # The body ran after the key was read; only TypeErrors from misfit arguments.
        assert isinstance(exc, TypeError), (case_id, exc)
    version_keys = next((o[1] for o in ops if o[0] == "get_many"), None)
    text = rec.hash_inputs[0].decode("utf-8") if rec.hash_inputs else None

    options = dict(plan.options)
    if plan.source_check:
        options["source"] = inspect.getsource(raw)
        if len(rec.hash_inputs) > 1:
            assert rec.hash_inputs[1] == options["source"].encode("utf-8"), case_id
    assert "get" in names or op != "call" or error is not None, (case_id, names, exc)

    return {
        "id": case_id,
        "function": {
            "module": raw.__module__,
            "qualname": raw.__qualname__,
            "binding": binding,
            "params": describe_params(raw),
        },
        "options": options,
        "op": op,
        "bound_to": bound_to,
        "args": [enc(a) for a in args],
        "kwargs": [[k, enc(v)] for k, v in kwargs],
        "uuids": rec.uuids,
        "ops": ops,
        "expect": {
            "version_keys": version_keys,
            "text": text,
            "key": key,
            "error": error_of(error),
        },
    }


# --------------------------------------------------------------------------------------
# View cases.
# --------------------------------------------------------------------------------------

STATIC_SEGMENTS = [
    "users", "api", "v1", "items", "demo", "student", "all", "works", "p", "search",
    "café", "日本", "данные", "naïve", "a b", "hello world", "a-b", "x_y", "v1.2", "a+b",
    "it's", "(x)", "~me", "a@b", "$x", "!", "é é", "a,b", ";x", "=", "\u00a0", "emoji\U0001f600",
]
PATH_VALUES = [
    "42", "bob", "café", "a b", "a+b", "it's", "中文", "x%y", "\u00a0", "e\u0301", "\U0001f600",
    "a%20b", "%", "~", "ü", "--", "..x", "q?x", "#frag", "\ufffd",
]
TEMPLATES_OK = ["view/%s", "%s", "v1:%s", "api/%s/x", "%s%%", "100%%/%s", "%%s%s", "%%%s",
                "pré/%s", "k:%s:k", "view//%s", "%%q%s", "%s%%d"]
TEMPLATES_LITERAL = ["res_student_all", "lit-é", "view/%5s", "%r", "50%", "%(x)s", "view/%-8s",
                     "%.3s", "%c", "plain key", "%d", "", "%q"]
TEMPLATES_BAD = ["%s/%d", "%s-%s", "%r%s", "%(x)s/%s", "%s%", "%s%q", "%c%s", "%.3s%s",
                 "%5s/%s", "%-8s%s", "%%s", "%s %", "%s%(x)s", "%*s%s", "%s%z", "%q%s", "%d%s",
                 "a%zb/%s"]


def encode_segment(rng, text):
    """Percent-encode one path segment: everything, everything but the sub-delimiters,
    or everything with lower-case hex digits in the escapes."""
    r = rng.random()
    if r < 0.55:
        return quote(text, safe="")
    if r < 0.8:
        return quote(text, safe="!$&'()*+,;=:@~")
    out = quote(text, safe="")
    res = []
    i = 0
    while i < len(out):
        if out[i] == "%":
            res.append(out[i:i + 3].lower())
            i += 3
        else:
            res.append(out[i])
            i += 1
    return "".join(res)


def gen_query_token(rng, for_key):
    r = rng.random()
    if r < 0.35:
        return rng.choice(["a", "b", "limit", "mock", "q", "page", "x", "z", "A", "_"] if for_key
                          else ["1", "2", "15", "true", "True", "x", "0", "-1", "foo"])
    if r < 0.45:
        return ""
    if r < 0.6:
        return quote(gen_str(rng), safe="")
    if r < 0.7:
        return rng.choice(["a+b", "a%20b", "+", "%2B", "%26", "%3D", "a=b", "%zz", "%C3%28",
                           "%FF", "%", "%E4%B8%AD", "caf%C3%A9", "caf%c3%a9", "%00", "%25s", "'", "%22"])
    return quote(rng.choice(UNICODE_NAMES + SPECIAL_STRINGS[:30]), safe="")


def gen_query_string(rng):
    n = rng.choice([0, 1, 1, 2, 2, 3, 4, 5])
    parts = []
    keys = []
    for _ in range(n):
        r = rng.random()
        if keys and r < 0.2:
            k = rng.choice(keys)
        else:
            k = gen_query_token(rng, True)
            keys.append(k)
        form = rng.random()
        if form < 0.75:
            parts.append("%s=%s" % (k, gen_query_token(rng, False)))
        elif form < 0.85:
            parts.append(k)
        elif form < 0.92:
            parts.append("%s=" % k)
        else:
            parts.append("")
    return "&".join(parts)


def gen_rule(rng, names_taken):
    parts = []
    variables = []
    n = rng.choice([1, 1, 2, 2, 3])
    for i in range(n):
        r = rng.random()
        last = i == n - 1
        if r < 0.55 or len(variables) >= 2:
            parts.append(("static", rng.choice(STATIC_SEGMENTS)))
        else:
            name = rng.choice([x for x in ["name", "uid", "slug", "item_id", "rest", "key"]
                               if x not in names_taken and x not in [v for v, _ in variables]])
            conv = choose_weighted(rng, [("string", 5), ("int", 3), ("path", 2 if last else 0)])
            variables.append((name, conv))
            parts.append((conv, name))
    return parts, variables


def rule_text(parts):
    out = []
    for kind, text in parts:
        if kind == "static":
            out.append(text)
        elif kind == "string":
            out.append("<%s>" % text)
        else:
            out.append("<%s:%s>" % (kind, text))
    return "/" + "/".join(out)


def url_path_for(rng, parts, bp_prefix):
    segs = []
    for kind, text in parts:
        if kind == "static":
            segs.append(encode_segment(rng, text))
        elif kind == "int":
            v = rng.choice([str(rng.randint(0, 10 ** 6)), "007", "0", str(10 ** 25), "42"])
            segs.append(v)
        elif kind == "string":
            v = rng.choice(PATH_VALUES) if rng.random() < 0.6 else gen_str(rng).replace("/", "") or "x"
            seg = encode_segment(rng, v)
            if rng.random() < 0.06:
                seg += rng.choice(["%C3%28", "%FF", "%e9"])  # invalid UTF-8
            segs.append(seg)
        else:
            k = rng.randint(1, 3)
            vals = [rng.choice(PATH_VALUES) for _ in range(k)]
            segs.append("/".join(encode_segment(rng, v) for v in vals))
    prefix = quote(bp_prefix, safe="/") if bp_prefix else ""
    return prefix + "/" + "/".join(segs)


def gen_query_args(rng):
    kind = choose_weighted(rng, [("string", 45), ("mapping", 25), ("pairs", 20), ("none", 10)])
    if kind == "none":
        return None, None
    if kind == "string":
        qs = gen_query_string(rng)
        lead = rng.choice(["", "", "", "?", "??"])
        s = lead + qs
        return s, {"string": s}

    def qv():
        r = rng.random()
        if r < 0.4:
            return gen_str(rng)
        if r < 0.6:
            return gen_int(rng)
        if r < 0.72:
            return rng.random() < 0.5
        if r < 0.8:
            return None
        return gen_float(rng)

    def qk():
        return rng.choice(["a", "b", "limit", "mock", "q", "", "é", "a b"]) if rng.random() < 0.6 else gen_str(rng)

    n = rng.choice([0, 1, 2, 2, 3, 4])
    if kind == "mapping":
        m = {}
        for _ in range(n):
            m[qk()] = qv()
        return m, {"mapping": [[k, enc(v)] for k, v in m.items()]}
    pairs = []
    for _ in range(n):
        k = rng.choice([p[0] for p in pairs]) if pairs and rng.random() < 0.25 else qk()
        pairs.append((k, qv()))
    return pairs, {"pairs": [[k, enc(v)] for k, v in pairs]}


def run_view_case(case_id, rng, loader):
    global REC
    app, _cache, proxy = new_app(loader.dir)
    use_bp = rng.random() < 0.3
    bp_prefix = rng.choice(["/api/v1", "/bp", "/api/café", "/x y", "/v2/it's"]) if use_bp else ""
    fname = rng.choice(["view", "student_all", "items", "works", "show", "detail", "café_view", "視圖"])
    parts, variables = gen_rule(rng, set())
    rule = rule_text(parts)

    kp_kind = choose_weighted(rng, [("default", 25), ("ok", 20), ("literal", 15), ("bad", 15), ("callable", 25)])
    opts = []
    spec_prefix = None
    prefix_fn = None
    if kp_kind == "default":
        spec_prefix = {"template": "view/%s"}
    elif kp_kind == "callable":
        spec_prefix = {"callable": True}
        base = rng.choice(["cb:", "user-", "", "é/", "k%s", "x'y"])
        uses_request = rng.random() < 0.4
        const = base + gen_str(rng) if rng.random() < 0.5 else base

        def prefix_fn(_const=const, _uses_request=uses_request):
            value = _const
            if _uses_request and request:
                value = _const + request.path
            REC.prefix_results.append(value)
            return value

        opts.append("key_prefix=make_prefix")
    else:
        template = rng.choice({"ok": TEMPLATES_OK, "literal": TEMPLATES_LITERAL, "bad": TEMPLATES_BAD}[kp_kind])
        spec_prefix = {"template": template}
        opts.append("key_prefix=%s" % str_literal(template))
    query_string = False
    hash_name = None
    source_check = False
    if not LEGACY_0_13:
        query_string = rng.random() < 0.5
        if query_string:
            opts.append("query_string=True")
        elif rng.random() < 0.2:
            opts.append("query_string=False")
        if rng.random() < 0.4:
            hash_name = rng.choice(HASH_NAMES)
            opts.append("hash_method=hashlib.%s" % hash_name)
        r = rng.random()
        if r < 0.25:
            source_check = True
            opts.append("source_check=True")
        elif r < 0.3:
            opts.append("source_check=False")
    if rng.random() < 0.5:
        opts.append("timeout=%d" % rng.choice([0, 10, 50, 300]))
    rng.shuffle(opts)

    # `make_cache_key(path=, query_args=)` exists from 2.5.0 on; in 2.4 those cases are
    # requests. The op-specific inputs come from their own stream, so that every other
    # input is the same in both profiles.
    op = "make_cache_key" if rng.random() < 0.35 and PROFILE == "2.5" else "request"
    op_rng = random.Random(rng.getrandbits(64))

    router = "bp" if use_bp else "app"
    modname = rng.choice(MODULE_NAMES)
    source = "\n".join([
        "@%s.route(%s)" % (router, str_literal(rule)),
        "@cache.cached(%s)" % ", ".join(opts),
        "def %s(%s):" % (fname, ", ".join(v for v, _ in variables)),
        "    return 'ok'",
        "",
    ])
    namespace = {"cache": proxy, "hashlib": RECORDING_HASHLIB, "app": app}
    bp = None
    if use_bp:
        bp = Blueprint(rng.choice(["bp", "api", "shop"]), "vectors", url_prefix=bp_prefix)
        namespace["bp"] = bp
    if prefix_fn is not None:
        namespace["make_prefix"] = prefix_fn
    module, _ = loader.load(modname, source, namespace, register=False)
    if bp is not None:
        app.register_blueprint(bp)
    view = getattr(module, fname)
    seen = {}

    @app.before_request
    def _seen():
        seen["path"] = request.path
        seen["args"] = [[k, v] for k, v in request.args.items(multi=True)]

    REC = Recorder(uuid_rng=random.Random(rng.getrandbits(64)))
    case = {
        "id": case_id,
        "spec": {
            "key_prefix": spec_prefix,
            "query_string": query_string,
            "hash_method": hash_name,
            "source_check": source_check,
        },
        "source": inspect.getsource(view.uncached) if source_check else None,
        "op": op,
        "url": None,
        "request": None,
        "prefix_result": None,
        "path": None,
        "query_args": None,
        "expect": None,
    }
    exc = None
    key = None
    if op == "request":
        url = url_path_for(op_rng, parts, bp_prefix)
        if op_rng.random() < 0.75:
            qs = gen_query_string(op_rng)
            if qs or op_rng.random() < 0.3:
                url += "?" + qs
        case["url"] = url
        client = app.test_client()
        resp = None
        try:
            resp = client.get(url)
        except Exception as e:  # noqa: BLE001 - recorded as the expected outcome
            exc = e
        assert resp is None or resp.status_code == 200, (case_id, url, rule, resp.status_code)
        assert "path" in seen, (case_id, url, rule)
        case["request"] = {"path": seen["path"], "args": seen["args"]}
        key = next((o[1] for o in REC.ops if o[0] == "get"), None)
        if exc is None:
            assert key is not None, case_id
    else:
        if op_rng.random() < 0.7:
            path = unquote(url_path_for(op_rng, parts, bp_prefix))
        else:
            path = "/" + gen_str(op_rng)
        if query_string and op_rng.random() < 0.1:
            qa, qa_json = None, None
        else:
            qa, qa_json = gen_query_args(op_rng)
        case["path"] = path
        case["query_args"] = qa_json
        try:
            key = view.make_cache_key(path=path, query_args=qa)
        except Exception as e:  # noqa: BLE001
            exc = e
            key = None
    if exc is not None:
        key = None
    if prefix_fn is not None and REC.prefix_results:
        case["prefix_result"] = REC.prefix_results[0]
    if source_check and REC.hash_inputs:
        assert REC.hash_inputs[-1] == case["source"].encode("utf-8"), case_id
    case["expect"] = {"key": key, "error": error_of(exc)}
    return case


# --------------------------------------------------------------------------------------
# Self-check against the worked examples of the semantics notes.
# --------------------------------------------------------------------------------------

SELFCHECK_MEMO = '''\
from collections import OrderedDict


@cache.memoize()
def add(a, b=2, *args, c=None, **kw):
    return 1
'''

SELFCHECK_STUDENTS = '''\
@cache.memoize(timeout=600)
def get_student(sid, with_courses=False):
    return 1


class Student:
    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return "Student(%d)" % self.n

    @cache.memoize(timeout=600)
    def grades(self, term, detailed=False):
        return 1
'''

SELFCHECK_VIEW = '''\
@app.route("/works")
@cache.cached(query_string=True)
def works():
    return "ok"
'''


def selfcheck_flask_caching(loader, check):
    global REC
    app, _cache, proxy = new_app(loader.dir)
    mod, h = loader.load("__main__", SELFCHECK_MEMO, {"cache": proxy, "hashlib": RECORDING_HASHLIB},
                         register=False)
    with app.app_context():
        REC = Recorder(fixed_uuids=["0123456789abcdef0123456789abcdef"])
        mod.add(1)
    key = next(o[1] for o in REC.ops if o[0] == "get")
    check("__main__.add(1) text", REC.hash_inputs[0].decode(), "__main__.add(1, 2)OrderedDict()")
    if PROFILE == "2.5":
        check("__main__.add(1) key", key, "4xYLP2jW2xvJjgx1ASNFZ4")
    else:
        check("__main__.add(1) version suffix", key[16:], "ASNFZ4")

    app, _cache, proxy = new_app(loader.dir)
    mod, h = loader.load("demo.students", SELFCHECK_STUDENTS,
                         {"cache": proxy, "hashlib": RECORDING_HASHLIB})
    with app.app_context():
        REC = Recorder(fixed_uuids=["0123456789abcdef0123456789abcdef",
                                    "fedcba9876543210fedcba9876543210",
                                    "00112233445566778899aabbccddeeff"])
        mod.get_student(7)
        mod.Student(3).grades("2024S")
    keys = [o[1] for o in REC.ops if o[0] == "get"]
    texts = [b.decode() for b in REC.hash_inputs]
    ModuleLoader.release(*h)
    if PROFILE == "2.5":
        check("get_student(7) key", keys[0], "7qsJ2jOiVZmCHN7mASNFZ4")
        check("Student(3).grades('2024S') key", keys[1], "ObX6fJ3JKbHNT/fA/ty6mHABEiM0")
    else:
        check("get_student(7) text (2.4: falsy default)", texts[0],
              "demo.students.get_student(7, None)OrderedDict()")
    check("grades text", texts[1],
          "demo.students.Student.grades('Student(3)', '2024S', %s)OrderedDict()"
          % ("False" if PROFILE == "2.5" else "None"))

    app, _cache, proxy = new_app(loader.dir)
    mod, h = loader.load("demo.works", SELFCHECK_VIEW,
                         {"cache": proxy, "hashlib": RECORDING_HASHLIB, "app": app}, register=False)
    REC = Recorder(uuid_rng=random.Random(0))
    app.test_client().get("/works?limit=15&mock=true")
    key = next(o[1] for o in REC.ops if o[0] == "get")
    if PROFILE == "2.5":
        check("GET /works?limit=15&mock=true", key,
              "view//works9ee2cc3f4d4622525119577cca5bbacfe65c679b55702c595ebd993da764088d")
        check("make_cache_key(dict)", mod.works.make_cache_key(
            path="/works", query_args={"mock": "true", "limit": 15}), key)
    else:
        check("GET /works?limit=15&mock=true", key, "/works4fc537e67634ad597186e0a1756ada51")


SELFCHECK_MEMO_0_13 = '''\
@cache.memoize()
def add(a, b=2):
    return 1


@cache.memoize()
def kwo(a, *, c=1):
    return 1
'''

SELFCHECK_VIEW_0_13 = '''\
@app.route("/demo/student/all")
@cache.cached(timeout=50)
def student_all():
    return "ok"
'''


def selfcheck_0_13(loader, check):
    """The Flask-Cache 0.13.1 examples of the semantics notes (section 5)."""
    global REC
    app, _cache, proxy = new_app(loader.dir)
    mod, h = loader.load("__main__", SELFCHECK_MEMO_0_13, {"cache": proxy}, register=False)
    with app.app_context():
        REC = Recorder(fixed_uuids=["0123456789abcdef0123456789abcdef"])
        mod.add(1)
        key = next(o[1] for o in REC.ops if o[0] == "get")
        check("__main__.add(1) text", REC.hash_inputs[0].decode(), "__main__.add(1, 2){}")
        check("__main__.add(1) key", key, "ZEdfRGVN4K+PTmygASNFZ4")
        check("make_cache_key(uncached, 1, c=3)", mod.add.make_cache_key(mod.add.uncached, 1, c=3), key)
        REC = Recorder(uuid_rng=random.Random(0))
        try:
            mod.kwo(1)
            error = None
        except ValueError as e:
            error = str(e)
        check("kwo(1) (keyword-only parameter)", error,
              "Function has keyword-only parameters or annotations, use getfullargspec() API "
              "which can support them")

    app, _cache, proxy = new_app(loader.dir)
    mod, h = loader.load("demo.students", SELFCHECK_STUDENTS, {"cache": proxy})
    with app.app_context():
        REC = Recorder(fixed_uuids=["0123456789abcdef0123456789abcdef",
                                    "fedcba9876543210fedcba9876543210",
                                    "00112233445566778899aabbccddeeff"])
        mod.get_student(7)
        mod.Student(3).grades("2024S")
    version_keys = [o[1] for o in REC.ops if o[0] == "get_many"]
    texts = [b.decode() for b in REC.hash_inputs]
    ModuleLoader.release(*h)
    check("get_student(7) text", texts[0], "demo.students.get_student(7, False){}")
    check("grades text", texts[1], "demo.students.Student.grades('Student(3)', '2024S', False){}")
    check("grades version keys", version_keys[1],
          ["demo.students.Student.grades_memver", "demo.students.Student.grades.Student(3)_memver"])

    app, _cache, proxy = new_app(loader.dir)
    loader.load("demo.views", SELFCHECK_VIEW_0_13, {"cache": proxy, "app": app}, register=False)
    REC = Recorder(uuid_rng=random.Random(0))
    app.test_client().get("/demo/student/all?ignored=1")
    key = next(o[1] for o in REC.ops if o[0] == "get")
    check("GET /demo/student/all?ignored=1", key, "view//demo/student/all")


def selfcheck():
    loader = ModuleLoader()
    failures = []

    def check(label, got, want):
        status = "ok" if got == want else "MISMATCH"
        if got != want:
            failures.append(label)
        print("%-44s %s  got %r  want %r" % (label, status, got, want))

    try:
        if LEGACY_0_13:
            selfcheck_0_13(loader, check)
        else:
            selfcheck_flask_caching(loader, check)
    finally:
        loader.close()
    print("profile %s, Flask-Caching %s, Python %s: %s" % (
        PROFILE, FC_VERSION, PYTHON, "FAILED: " + ", ".join(failures) if failures else "all ok"))
    return 1 if failures else 0


# --------------------------------------------------------------------------------------


def generate(seed, n_memo, n_view):
    master = random.Random(seed)
    memo_seeds = [master.getrandbits(64) for _ in range(n_memo)]
    view_seeds = [master.getrandbits(64) for _ in range(n_view)]
    loader = ModuleLoader()
    try:
        memo = [run_memo_case(i, random.Random(s), loader) for i, s in enumerate(memo_seeds)]
        view = [run_view_case(i, random.Random(s), loader) for i, s in enumerate(view_seeds)]
    finally:
        loader.close()
    return memo, view


def dump(seed, memo, view):
    head = OrderedDict([
        ("format", FORMAT), ("seed", seed), ("profile", PROFILE), ("python", PYTHON),
        ("flask_caching", FC_VERSION),
    ])
    out = [json.dumps(head, ensure_ascii=True)[:-1] + ",\n"]
    for name, cases, last in (("memoize", memo, False), ("view", view, True)):
        out.append('"%s": [\n' % name)
        out.append(",\n".join(json.dumps(c, ensure_ascii=True) for c in cases))
        out.append("\n]" + ("}\n" if last else ",\n"))
    return "".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int)
    parser.add_argument("--memoize", type=int, default=600)
    parser.add_argument("--view", type=int, default=250)
    parser.add_argument("--out")
    parser.add_argument("--selfcheck", action="store_true")
    ns = parser.parse_args(argv)
    if ns.selfcheck:
        return selfcheck()
    if ns.seed is None or not ns.out:
        parser.error("--seed and --out are required")
    started = time.monotonic()
    memo, view = generate(ns.seed, ns.memoize, ns.view)
    text = dump(ns.seed, memo, view)
    json.loads(text)
    with open(ns.out, "w", encoding="ascii", newline="\n") as fh:
        fh.write(text)
    counts = collections.Counter(c["op"] for c in memo)
    vcounts = collections.Counter(c["op"] for c in view)
    print("%s: profile %s, Python %s, %d memoize %s, %d view %s, %.1fs" % (
        ns.out, PROFILE, PYTHON, len(memo), dict(sorted(counts.items())), len(view),
        dict(sorted(vcounts.items())), time.monotonic() - started), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
