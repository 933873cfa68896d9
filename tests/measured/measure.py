#!/usr/bin/env python3
"""Measured keys: run the real Flask-Caching on the named examples that
`engine/tests/keys_measured.rs` checks, and record what it did.

Usage:

    python tests/measured/measure.py --out FILE

One file per interpreter: `fc25-py311.json` (Flask-Caching 2.5, Python 3.11),
`fc24-py311.json` (2.4) and `fc25-py312.json` (2.5, Python 3.12). Each case runs
the library (its decorators, `delete_memoized`, `function_namespace`, a test
client request) through the traced SimpleCache of `tests/vectors/generate.py`,
whose `uuid.uuid4` replacement, recording hash objects and module loader are
reused here; nothing in this script derives a key on its own. Every case records:

- `texts`: the chunks fed to the hash objects, in order (decoded);
- `get`, `set`, `delete`: the keys passed to those backend calls, in order;
- `get_many`, `delete_many`: the key lists of those calls, in order;
- `set_many`: the `[key, value]` pairs of each `set_many` call (the values are the
  version strings the library minted or re-wrote);
- `error`: `{"type", "message"}` of the exception raised, or null (`app.debug` is on,
  so nothing is swallowed);
- `result`: what the measured expression returned, when the case is an expression
  (`function_namespace(...)`), else null;
- `make_cache_key_args`: how many positional arguments `delete_memoized` passed to
  `make_cache_key` (after `_ensure_self_arg` in 2.5), when the case measures it.

Versions: the uuid4 values are fixed per group (`0123456789abcdef...`, then the
worked example's sequence), as in the generator's self-check, so the minted version
strings are reproducible. The output is deterministic: sorted keys, one case per
line, ASCII.
"""

import argparse
import ast
import importlib.util
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FORMAT = "flaskcache-measured-keys/1"


def _load_generator():
    path = os.path.join(HERE, os.pardir, "vectors", "generate.py")
    spec = importlib.util.spec_from_file_location("flaskcache_vectors_generate", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()

if gen.LEGACY_0_13:
    raise SystemExit("measure.py covers Flask-Caching 2.4 and 2.5, not Flask-Cache 0.13")

V0123 = "0123456789abcdef0123456789abcdef"
WORKED_UUIDS = [V0123, "fedcba9876543210fedcba9876543210", "00112233445566778899aabbccddeeff"]


def fresh_recorder(uuids):
    """A recorder drawing `uuids` first, then a fixed stream."""
    gen.REC = gen.Recorder(uuid_rng=random.Random(0), fixed_uuids=list(uuids))
    return gen.REC


class Group:
    """One app, one module of decorated functions, one uuid sequence."""

    def __init__(self, loader, modname, source, uuids, register=True, with_app=False):
        self.app, self.cache, proxy = gen.new_app(loader.dir)
        namespace = {"cache": proxy, "hashlib": gen.RECORDING_HASHLIB}
        if with_app:
            namespace["app"] = self.app
        self.module, self.handle = loader.load(modname, source, namespace, register=register)
        self.rec = fresh_recorder(uuids)

    def close(self):
        gen.ModuleLoader.release(*self.handle)


def measure(thunk, rec=None):
    """Runs `thunk` and returns what the library did meanwhile."""
    rec = rec if rec is not None else gen.REC
    ops0, hashes0 = len(rec.ops), len(rec.hash_inputs)
    result, exc = None, None
    try:
        result = thunk()
    except Exception as e:  # noqa: BLE001 - recorded as the measured outcome
        exc = e
    ops = rec.ops[ops0:]

    def keys(name):
        return [o[1] for o in ops if o[0] == name]

    return {
        "texts": [b.decode("utf-8") for b in rec.hash_inputs[hashes0:]],
        "get": keys("get"),
        "set": keys("set"),
        "delete": keys("delete"),
        "get_many": keys("get_many"),
        "delete_many": keys("delete_many"),
        "set_many": [[[k, ast.literal_eval(v)] for k, v in o[1]] for o in ops if o[0] == "set_many"],
        "error": gen.error_of(exc),
        "result": result,
        "make_cache_key_args": None,
    }


def plain(value):
    """JSON form of a measured expression's result (tuples become lists)."""
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


# --------------------------------------------------------------------------------------
# The examples (clauses of flask-caching-semantics.md in brackets).
# --------------------------------------------------------------------------------------

WORKED = gen.SELFCHECK_STUDENTS  # module demo.students [FC-2.1]

ADD = '''\
@cache.memoize()
def add(a, b=2, *args, c=None, **kw):
    return 1
'''

VARIANTS = '''\
@cache.memoize(hash_method=hashlib.md5)
def md(a):
    return 1


@cache.memoize(make_name=lambda n: "custom-" + n)
def h(a):
    return 1


@cache.memoize()
def f(a, **kw):
    return 1


@cache.memoize()
def fz(a, b=0):
    return 1


@cache.memoize()
def p(a, /, b=5):
    return 1
'''

CALC = '''\
class Calc:
    def __repr__(self):
        return "Calc()"

    @classmethod
    @cache.memoize(timeout=100)
    def get_number(cls, x):
        return 1

    @cache.memoize(timeout=100)
    def inst(self, x):
        return 1

    @staticmethod
    @cache.memoize(timeout=100)
    def stat(x):
        return 1


class Nullary:
    def __repr__(self):
        return "Nullary()"

    @cache.memoize()
    def m():
        return 1
'''

NAMES = '''\
def outer():
    def inner(x):
        return x
    return inner


def café(x):
    return x


def 函数(x):
    return x


class U:
    def __repr__(self):
        return "User(id=42, name='Ann Lee')"

    def m(self, x):
        return x
'''

VIEWS = '''\
@app.route("/demo/student/all")
@cache.cached(timeout=50)
def student_all():
    return "ok"


@app.route("/lit")
@cache.cached(key_prefix="res_student_all")
def lit():
    return "ok"


@app.route("/qs")
@cache.cached(query_string=True)
def qs():
    return "ok"


@app.route("/qs2")
@cache.cached(query_string=True, key_prefix="lit_qs")
def qs2():
    return "ok"


@app.route("/hm")
@cache.cached(query_string=True, hash_method=hashlib.md5)
def hm():
    return "ok"


@app.route("/works")
@cache.cached(query_string=True)
def works():
    return "ok"


@app.route("/x")
@cache.cached(key_prefix="50%off/%s")
def off():
    return "ok"
'''

# Signatures the Rust descriptors reject; Python's compiler rejects them too.
BAD_SIGNATURES = {
    "reject.default_before_required": "def f(a=1, b):\n    pass\n",
    "reject.duplicate_parameter": "def f(a, a):\n    pass\n",
    "reject.kind_out_of_order": "def f(**kw, a):\n    pass\n",
}


def run_cases(loader):
    profile25 = gen.PROFILE == "2.5"
    cases = {}

    # FC-2.1: the worked example, uuid4 fixed to WORKED_UUIDS.
    g = Group(loader, "demo.students", WORKED, WORKED_UUIDS)
    with g.app.app_context():
        cases["worked.get_student_7"] = measure(lambda: g.module.get_student(7))
        cases["worked.grades_2024S"] = measure(lambda: g.module.Student(3).grades("2024S"))
    g.close()

    # FC-2.1: argument normalisation of `add` in `__main__`.
    g = Group(loader, "__main__", ADD, [V0123], register=False)
    add = g.module.add
    with g.app.app_context():
        for name, args, kwargs in [
            ("add.1", (1,), {}),
            ("add.1_2", (1, 2), {}),
            ("add.a1", (), {"a": 1}),
            ("add.1_b2", (1,), {"b": 2}),
            ("add.1_3_4_5", (1, 3, 4, 5), {}),
            ("add.1_c9", (1,), {"c": 9}),
            ("add.1_z1_y2", (1,), {"z": 1, "y": 2}),
            # The body raises TypeError (a is missing) after the key was read.
            ("add.none", (), {}),
        ]:
            cases[name] = measure(lambda a=args, k=kwargs: add(*a, **k))
    g.close()

    # FC-2.1 (hash_method, make_name), FC-2.3.1 (OrderedDict repr), FC-2.4.3.
    g = Group(loader, "__main__", VARIANTS, [V0123] * 5, register=False)
    m = g.module
    with g.app.app_context():
        cases["md.1"] = measure(lambda: m.md(1))
        cases["h.1"] = measure(lambda: m.h(1))
        cases["f.1_x2"] = measure(lambda: m.f(1, x=2))
        cases["fz.1"] = measure(lambda: m.fz(1))
        cases["p.1_b5"] = measure(lambda: m.p(1, b=5))
        cases["p.2_b5"] = measure(lambda: m.p(2, b=5))
    g.close()

    # FC-2.2.3, FC-3.3, FC-3.5 (c), FC-5.4: methods of class Calc in `__main__`.
    g = Group(loader, "__main__", CALC, [V0123] * 5, register=False)
    Calc = g.module.Calc
    c = Calc()
    inst = Calc.__dict__["inst"]
    counts = []
    original_mck = inst.make_cache_key

    def counting_mck(fn, *args, **kwargs):
        counts.append(len(args))
        return original_mck(fn, *args, **kwargs)

    with g.app.app_context():
        cases["calc.get_number_5"] = measure(lambda: Calc.get_number(5))
        cases["calc.stat_5"] = measure(lambda: Calc.stat(5))
        cases["calc.inst_5"] = measure(lambda: c.inst(5))
        cases["calc.delete_get_number_5"] = measure(lambda: g.cache.delete_memoized(Calc.get_number, 5))
        inst.make_cache_key = counting_mck
        case = measure(lambda: g.cache.delete_memoized(c.inst, 5))
        inst.make_cache_key = original_mck
        case["make_cache_key_args"] = counts[-1] if counts else None
        cases["calc.delete_bound_inst_5"] = case
        cases["calc.delete_unbound_inst_5"] = measure(lambda: g.cache.delete_memoized(Calc.inst, 5))
        cases["calc.reset_bound_inst"] = measure(lambda: g.cache.delete_memoized(c.inst))
        cases["calc.reset_unbound_inst"] = measure(lambda: g.cache.delete_memoized(Calc.inst))
        cases["reject.method_without_receiver"] = measure(lambda: g.module.Nullary().m())
    g.close()

    # FC-2.2.5: the namespace sanitiser, through `function_namespace`.
    from flask_caching.utils import function_namespace

    g = Group(loader, "__main__", NAMES, [], register=False)
    n = g.module
    for name, fn in [
        ("ns.outer_locals_inner", lambda: n.outer()),
        ("ns.cafe", lambda: n.café),
        ("ns.cjk", lambda: n.函数),
        ("ns.user_repr", lambda: n.U().m),
    ]:
        case = measure(lambda fn=fn: function_namespace(fn()))
        case["result"] = plain(case["result"])
        cases[name] = case
    g.close()

    # FC-1.1.6, FC-1.2.3, FC-1.2.4, FC-1.3.2, FC-5.4: view keys.
    g = Group(loader, "demo.views", VIEWS, [], register=False, with_app=True)
    client = g.app.test_client()
    for name, url in [
        ("view.default", "/demo/student/all"),
        ("view.literal", "/lit"),
        ("view.qs", "/qs?b=2&a=1&a=0"),
        ("view.literal_qs", "/qs2?z=1"),
        ("view.md5_qs", "/hm?b=1&a=2"),
        ("view.works_request", "/works?limit=15&mock=true"),
        ("view.percent_off", "/x"),
    ]:
        cases[name] = measure(lambda u=url: client.get(u).status_code)
    if profile25:
        works = g.module.works
        for name, qa in [
            ("view.works_string", "limit=15&mock=true"),
            ("view.works_string_question_mark", "?mock=true&limit=15"),
            ("view.works_mapping", {"mock": "true", "limit": 15}),
            ("view.works_mapping_bool", {"limit": 15, "mock": True}),
        ]:
            cases[name] = measure(lambda q=qa: works.make_cache_key(path="/works", query_args=q))
    g.close()

    # What Python itself rejects (the Rust descriptors reject the same inputs).
    for name, source in BAD_SIGNATURES.items():
        cases[name] = measure(lambda s=source: compile(s, "<measured>", "exec") and None)
    cases["reject.hash_crc32"] = measure(lambda: getattr(__import__("hashlib"), "crc32") and None)

    return cases


def dump(cases):
    head = {"format": FORMAT, "profile": gen.PROFILE, "python": gen.PYTHON,
            "flask_caching": gen.FC_VERSION}
    out = [json.dumps(head, ensure_ascii=True, sort_keys=True)[:-1] + ',\n"cases": {\n']
    out.append(",\n".join(
        "%s: %s" % (json.dumps(name, ensure_ascii=True), json.dumps(cases[name], ensure_ascii=True, sort_keys=True))
        for name in sorted(cases)))
    out.append("\n}}\n")
    return "".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    ns = parser.parse_args(argv)
    loader = gen.ModuleLoader()
    try:
        cases = run_cases(loader)
    finally:
        loader.close()
    text = dump(cases)
    json.loads(text)
    with open(ns.out, "w", encoding="ascii", newline="\n") as fh:
        fh.write(text)
    print("%s: profile %s, Python %s, %d cases" % (ns.out, gen.PROFILE, gen.PYTHON, len(cases)),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
