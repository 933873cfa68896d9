//! Keys of the named examples in `flask-caching-semantics.md` (the clause is named on each
//! test). Every expected value is read by case name from the files that
//! `tests/measured/measure.py` records with the real Flask-Caching (`fc25-py311.json`,
//! `fc24-py311.json`, `fc25-py312.json` in `tests/measured/`; CI re-records them and
//! compares the bytes). The inputs stay here. The full differential coverage is in the
//! workspace's `tests/key_vectors*.rs`.

use std::sync::OnceLock;

use flaskcache_engine::error::{DescriptorError, KeyError};
use flaskcache_engine::function::{
    Binding, Callee, FunctionDescriptor, Param, ParamKind, Receiver,
};
use flaskcache_engine::keys::{
    call_args, ensure_self_arg, function_namespace, normalize_args, sanitize, view_key,
    write_key_body, write_key_text, CachedKeySpec, HashMethod, KeyPrefix, MakeName, QueryArgs,
    RequestInfo, Version, ViewKeyError, ViewKeyInput, ViewKeyMode,
};
use flaskcache_engine::value::{ClassRef, PyObject, Value};
use flaskcache_engine::{Profile, PythonVersion};

const PY311: PythonVersion = PythonVersion::Py311;
const FC25: Profile = Profile::FlaskCaching25;
const FC24: Profile = Profile::FlaskCaching24;

// ---- The recorded files ---------------------------------------------------------------

/// A JSON value, as `measure.py` writes them (no booleans, no floats: anything else is a
/// parse error).
#[derive(Debug)]
enum Json {
    Null,
    Int(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser { text, pos: 0 };
        let value = p.value()?;
        p.ws();
        if p.pos != text.len() {
            return Err(format!("trailing data at byte {}", p.pos));
        }
        Ok(value)
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn ws(&mut self) {
        let trimmed = self.rest().trim_start_matches([' ', '\n', '\r', '\t']);
        self.pos = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn need(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected {token:?} at byte {}", self.pos))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        if self.eat("null") {
            return Ok(Json::Null);
        }
        if self.rest().starts_with('"') {
            return self.string().map(Json::Str);
        }
        if self.eat("[") {
            let mut items = Vec::new();
            if !self.eat("]") {
                loop {
                    items.push(self.value()?);
                    if self.eat("]") {
                        break;
                    }
                    self.need(",")?;
                }
            }
            return Ok(Json::Arr(items));
        }
        if self.eat("{") {
            let mut members = Vec::new();
            if !self.eat("}") {
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.need(":")?;
                    members.push((key, self.value()?));
                    if self.eat("}") {
                        break;
                    }
                    self.need(",")?;
                }
            }
            return Ok(Json::Obj(members));
        }
        let end = self
            .rest()
            .find(|c: char| !(c == '-' || c.is_ascii_digit()))
            .unwrap_or(self.rest().len());
        let number = &self.rest()[..end];
        let n = number
            .parse()
            .map_err(|_| format!("unexpected input at byte {}", self.pos))?;
        self.pos += end;
        Ok(Json::Int(n))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.rest().get(..4).ok_or("short \\u escape")?;
        let n = u32::from_str_radix(digits, 16).map_err(|_| "bad \\u escape".to_string())?;
        self.pos += 4;
        Ok(n)
    }

    fn string(&mut self) -> Result<String, String> {
        self.need("\"")?;
        let mut out = String::new();
        loop {
            let c = self.rest().chars().next().ok_or("unterminated string")?;
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = self.rest().chars().next().ok_or("unterminated escape")?;
                    self.pos += 1;
                    match e {
                        '"' | '\\' | '/' => out.push(e),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                self.need("\\u")?;
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3ff)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).ok_or("bad code point")?);
                        }
                        other => return Err(format!("bad escape \\{other}")),
                    }
                }
                c => out.push(c),
            }
        }
    }
}

impl Json {
    fn field(&self, name: &str) -> &Json {
        match self {
            Json::Obj(members) => members
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("measured file: no field {name:?}")),
            other => panic!("measured file: {other:?} is not an object (looking for {name:?})"),
        }
    }

    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            other => panic!("measured file: {other:?} is not a string"),
        }
    }

    fn opt_str(&self) -> Option<&str> {
        match self {
            Json::Null => None,
            other => Some(other.str()),
        }
    }

    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(items) => items,
            other => panic!("measured file: {other:?} is not an array"),
        }
    }

    fn strs(&self) -> Vec<&str> {
        self.arr().iter().map(Json::str).collect()
    }
}

/// One recorded interpreter: Flask-Caching profile and Python version.
struct Measured {
    file: &'static str,
    root: Json,
}

/// What the library did in one case (fields described in `measure.py`).
struct Case<'a> {
    name: String,
    json: &'a Json,
}

impl Measured {
    fn load(file: &'static str, text: &str, profile: &str, python: &str) -> Measured {
        let root = Parser::parse(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let m = Measured { file, root };
        assert_eq!(
            m.root.field("format").str(),
            "flaskcache-measured-keys/1",
            "{file}"
        );
        // Which recording this is, so that the files are never mixed up.
        assert_eq!(m.root.field("profile").str(), profile, "{file}");
        assert_eq!(m.root.field("python").str(), python, "{file}");
        m
    }

    fn case(&self, name: &str) -> Case<'_> {
        let json = match self.root.field("cases") {
            Json::Obj(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        };
        Case {
            name: name.to_owned(),
            json: json.unwrap_or_else(|| panic!("{}: no case {name:?}", self.file)),
        }
    }
}

impl<'a> Case<'a> {
    fn list(&self, field: &str) -> &'a [Json] {
        self.json.field(field).arr()
    }

    fn first(&self, field: &str) -> &'a Json {
        self.list(field)
            .first()
            .unwrap_or_else(|| panic!("case {}: no {field} recorded", self.name))
    }

    /// The first text fed to the hash.
    fn text(&self) -> &'a str {
        self.first("texts").str()
    }

    /// The first key read with `get` (a call's memoize or view key).
    fn get(&self) -> &'a str {
        self.first("get").str()
    }

    /// The first key deleted with `delete`.
    fn delete(&self) -> &'a str {
        self.first("delete").str()
    }

    /// The keys of the first `get_many` (the version keys).
    fn version_keys(&self) -> Vec<&'a str> {
        self.first("get_many").strs()
    }

    /// The keys and the values of the first `set_many` (version keys written).
    fn set_many(&self) -> Vec<(&'a str, &'a str)> {
        self.first("set_many")
            .arr()
            .iter()
            .map(|pair| match pair.arr() {
                [k, v] => (k.str(), v.str()),
                other => panic!("case {}: set_many entry {other:?}", self.name),
            })
            .collect()
    }

    /// The version strings the library minted for the case's first call.
    fn versions(&self) -> Vec<&'a str> {
        self.set_many().into_iter().map(|(_, v)| v).collect()
    }

    /// `(type, message)` of the exception raised.
    fn error(&self) -> Option<(&'a str, &'a str)> {
        match self.json.field("error") {
            Json::Null => None,
            e => Some((e.field("type").str(), e.field("message").str())),
        }
    }

    fn result(&self) -> &'a Json {
        self.json.field("result")
    }

    fn make_cache_key_args(&self) -> Option<usize> {
        match self.json.field("make_cache_key_args") {
            Json::Int(n) => usize::try_from(*n).ok(),
            _ => None,
        }
    }
}

fn fc25() -> &'static Measured {
    static M: OnceLock<Measured> = OnceLock::new();
    M.get_or_init(|| {
        let text = include_str!("../../tests/measured/fc25-py311.json");
        Measured::load("fc25-py311.json", text, "2.5", "3.11")
    })
}

fn fc24() -> &'static Measured {
    static M: OnceLock<Measured> = OnceLock::new();
    M.get_or_init(|| {
        let text = include_str!("../../tests/measured/fc24-py311.json");
        Measured::load("fc24-py311.json", text, "2.4", "3.11")
    })
}

fn fc25_py312() -> &'static Measured {
    static M: OnceLock<Measured> = OnceLock::new();
    M.get_or_init(|| {
        let text = include_str!("../../tests/measured/fc25-py312.json");
        Measured::load("fc25-py312.json", text, "2.5", "3.12")
    })
}

// ---- Key derivation -------------------------------------------------------------------

fn func(module: &str, qualname: &str, params: Vec<Param>, binding: Binding) -> FunctionDescriptor {
    FunctionDescriptor::new(module, qualname, params, binding).expect("valid signature")
}

/// The inputs of one memoized call besides the function and the versions.
#[derive(Clone, Copy)]
struct Call<'a> {
    receiver: Option<&'a Receiver>,
    args: &'a [Value],
    kwargs: &'a [(String, Value)],
    hash: HashMethod,
    make_name: Option<&'a MakeName>,
    profile: Profile,
    py: PythonVersion,
}

impl Default for Call<'_> {
    fn default() -> Self {
        Call {
            receiver: None,
            args: &[],
            kwargs: &[],
            hash: HashMethod::Sha256,
            make_name: None,
            profile: FC25,
            py: PY311,
        }
    }
}

/// Derives `(text, key)` for a call of `f`, with the version strings the cache holds.
fn memoize_key(f: &FunctionDescriptor, call: Call<'_>, versions: &[&str]) -> (String, String) {
    let full = call_args(f, call.receiver, call.args);
    let ns = function_namespace(Callee::unbound(f), Some(&full), call.profile, call.py)
        .expect("namespace");
    let norm =
        normalize_args(f, &full, call.kwargs, &[], call.profile, call.py).expect("normalise");
    let alt = call
        .make_name
        .map_or(ns.fname.clone(), |m| m.apply(&ns.fname));
    let mut text = String::new();
    write_key_text(&mut text, &alt, &norm, call.py);
    let mut key = String::new();
    write_key_body(&mut key, &text, call.hash, None);
    for v in versions {
        key.push_str(v);
    }
    (text, key)
}

fn calc() -> ClassRef {
    ClassRef::new("__main__", "Calc")
}

fn calc_instance() -> Receiver {
    Receiver::Instance(Box::new(PyObject {
        class: calc(),
        repr: "Calc()".into(),
        caching_id: None,
    }))
}

// ---- The examples ---------------------------------------------------------------------

/// FC-2.1: plain function and instance method in module `demo.students` (cases `worked.*`).
#[test]
fn worked_example() {
    let m = fc25();
    let get_student = func(
        "demo.students",
        "get_student",
        vec![
            Param::required("sid"),
            Param::with_default("with_courses", Value::Bool(false)),
        ],
        Binding::Function,
    );
    let case = m.case("worked.get_student_7");
    let args = [Value::int(7)];
    let call = Call {
        args: &args,
        ..Call::default()
    };
    let (text, key) = memoize_key(&get_student, call, &case.versions());
    assert_eq!(text, case.text());
    assert_eq!(key, case.get());

    let grades = func(
        "demo.students",
        "Student.grades",
        vec![
            Param::required("self"),
            Param::required("term"),
            Param::with_default("detailed", Value::Bool(false)),
        ],
        Binding::InstanceMethod,
    );
    let student = Receiver::Instance(Box::new(PyObject {
        class: ClassRef::new("demo.students", "Student"),
        repr: "Student(3)".into(),
        caching_id: None,
    }));
    let case = m.case("worked.grades_2024S");
    let args = [Value::str("2024S")];
    let call = Call {
        receiver: Some(&student),
        args: &args,
        ..Call::default()
    };
    let (text, key) = memoize_key(&grades, call, &case.versions());
    assert_eq!(text, case.text());
    assert_eq!(key, case.get());
    let full = call_args(&grades, Some(&student), &args);
    let ns =
        function_namespace(Callee::unbound(&grades), Some(&full), FC25, PY311).expect("namespace");
    let keys = ns.version_keys(&[]);
    assert_eq!(keys.iter().collect::<Vec<_>>(), case.version_keys());
    assert!(keys.instance.is_some(), "an instance version key");
}

/// FC-2.1: `def add(a, b=2, *args, c=None, **kw)` in `__main__` (cases `add.*`).
#[test]
fn argument_normalisation_examples() {
    let m = fc25();
    let add = func(
        "__main__",
        "add",
        vec![
            Param::required("a"),
            Param::with_default("b", Value::int(2)),
            Param::new("args", ParamKind::VarPositional, None),
            Param::new("c", ParamKind::KeywordOnly, Some(Value::None)),
            Param::new("kw", ParamKind::VarKeyword, None),
        ],
        Binding::Function,
    );
    // The first call minted the version; the others find it in the cache.
    let versions = m.case("add.1").versions();
    let one = Value::int(1);
    type Kwargs = Vec<(String, Value)>;
    let cases: [(&str, Vec<Value>, Kwargs); 8] = [
        ("add.1", vec![one.clone()], vec![]),
        ("add.1_2", vec![one.clone(), Value::int(2)], vec![]),
        ("add.a1", vec![], vec![("a".into(), one.clone())]),
        (
            "add.1_b2",
            vec![one.clone()],
            vec![("b".into(), Value::int(2))],
        ),
        (
            "add.1_3_4_5",
            vec![one.clone(), Value::int(3), Value::int(4), Value::int(5)],
            vec![],
        ),
        (
            "add.1_c9",
            vec![one.clone()],
            vec![("c".into(), Value::int(9))],
        ),
        (
            "add.1_z1_y2",
            vec![one.clone()],
            vec![("z".into(), Value::int(1)), ("y".into(), Value::int(2))],
        ),
        // The key is read before the body raises (`a` missing).
        ("add.none", vec![], vec![]),
    ];
    for (name, args, kwargs) in &cases {
        let case = m.case(name);
        let call = Call {
            args,
            kwargs,
            ..Call::default()
        };
        let (text, key) = memoize_key(&add, call, &versions);
        assert_eq!(text, case.text(), "{name}");
        assert_eq!(key, case.get(), "{name}");
    }
}

/// FC-2.1 variants: md5 and make_name (cases `md.1`, `h.1`).
#[test]
fn hash_method_and_make_name() {
    let m = fc25();
    let args = [Value::int(1)];
    let md = func(
        "__main__",
        "md",
        vec![Param::required("a")],
        Binding::Function,
    );
    let case = m.case("md.1");
    let call = Call {
        args: &args,
        hash: HashMethod::Md5,
        ..Call::default()
    };
    let (text, key) = memoize_key(&md, call, &case.versions());
    assert_eq!(text, case.text());
    assert_eq!(key, case.get());

    let h = func(
        "__main__",
        "h",
        vec![Param::required("a")],
        Binding::Function,
    );
    let custom = MakeName("custom-{}".into());
    let case = m.case("h.1");
    let call = Call {
        args: &args,
        make_name: Some(&custom),
        ..Call::default()
    };
    let (text, key) = memoize_key(&h, call, &case.versions());
    assert_eq!(text, case.text());
    assert_eq!(key, case.get());
}

/// FC-2.3.1: keyword arguments hash differently on 3.11 and 3.12 (case `f.1_x2`).
#[test]
fn ordered_dict_repr_depends_on_python_version() {
    let f = func(
        "__main__",
        "f",
        vec![
            Param::required("a"),
            Param::new("kw", ParamKind::VarKeyword, None),
        ],
        Binding::Function,
    );
    let args = [Value::int(1)];
    let kwargs = [("x".to_string(), Value::int(2))];
    let mut keys = Vec::new();
    for (m, py) in [
        (fc25(), PythonVersion::Py311),
        (fc25_py312(), PythonVersion::Py312),
    ] {
        let case = m.case("f.1_x2");
        let call = Call {
            args: &args,
            kwargs: &kwargs,
            py,
            ..Call::default()
        };
        let (text, key) = memoize_key(&f, call, &case.versions());
        assert_eq!(text, case.text(), "{}", m.file);
        assert_eq!(key, case.get(), "{}", m.file);
        keys.push(key);
    }
    assert_ne!(keys[0], keys[1], "the Python version is part of the key");
}

/// FC-3.5 (c), FC-2.2.3, FC-3.3 and the §7 table: classmethod, staticmethod, instance
/// method of `Calc` (cases `calc.*`).
#[test]
fn methods_in_class_calc() {
    let m = fc25();
    let five = [Value::int(5)];
    let get_number = func(
        "__main__",
        "Calc.get_number",
        vec![Param::required("cls"), Param::required("x")],
        Binding::ClassMethod,
    );
    let by_class = Receiver::Class(calc());
    let case = m.case("calc.get_number_5");
    let call = Call {
        receiver: Some(&by_class),
        args: &five,
        ..Call::default()
    };
    let (text, key) = memoize_key(&get_number, call, &case.versions());
    assert_eq!(text, case.text());
    assert_eq!(key, case.get());

    let stat = func(
        "__main__",
        "Calc.stat",
        vec![Param::required("x")],
        Binding::StaticMethod,
    );
    let case = m.case("calc.stat_5");
    let call = Call {
        args: &five,
        ..Call::default()
    };
    let (text, key) = memoize_key(&stat, call, &case.versions());
    assert_eq!(text, case.text());
    assert_eq!(key, case.get());

    let inst = func(
        "__main__",
        "Calc.inst",
        vec![Param::required("self"), Param::required("x")],
        Binding::InstanceMethod,
    );
    let c = calc_instance();
    let case = m.case("calc.inst_5");
    let inst_versions = case.versions();
    let call = Call {
        receiver: Some(&c),
        args: &five,
        ..Call::default()
    };
    let (text, key) = memoize_key(&inst, call, &inst_versions);
    assert_eq!(text, case.text());
    assert_eq!(key, case.get());

    // delete_memoized(Calc.get_number, 5): ValueError (FC-2.2.3).
    let err = function_namespace(Callee::unbound(&get_number), Some(&five), FC25, PY311)
        .expect_err("cls missing");
    let case = m.case("calc.delete_get_number_5");
    assert_eq!(
        Some((err.kind.as_str(), err.message.as_str())),
        case.error()
    );

    // delete_memoized(c.inst, 5) inserts c in 2.5 (FC-3.3.1), not in 2.4: the number of
    // arguments make_cache_key received, and in 2.5 the key deleted is the call's key.
    let case = m.case("calc.delete_bound_inst_5");
    let with_self = ensure_self_arg(Callee::bound(&inst, &c), &five, FC25);
    assert_eq!(Some(with_self.len()), case.make_cache_key_args());
    let call = Call {
        args: &with_self,
        ..Call::default()
    };
    let (_, key) = memoize_key(&inst, call, &inst_versions);
    assert_eq!(key, case.delete());
    let case24 = fc24().case("calc.delete_bound_inst_5");
    assert_eq!(
        Some(ensure_self_arg(Callee::bound(&inst, &c), &five, FC24).len()),
        case24.make_cache_key_args()
    );

    // delete_memoized(Calc.inst, 5): 5 is taken as self, junk version key (FC-3.3.3).
    let ns =
        function_namespace(Callee::unbound(&inst), Some(&five), FC25, PY311).expect("namespace");
    assert_eq!(
        ns.version_keys(&[]).iter().collect::<Vec<_>>(),
        m.case("calc.delete_unbound_inst_5").version_keys()
    );

    // delete_memoized(c.inst): resets the instance key; Calc.inst: the function key;
    // 2.4 keeps the parentheses (FC-5.4).
    for (measured, profile, name, callee) in [
        (m, FC25, "calc.reset_bound_inst", Callee::bound(&inst, &c)),
        (m, FC25, "calc.reset_unbound_inst", Callee::unbound(&inst)),
        (
            fc24(),
            FC24,
            "calc.reset_bound_inst",
            Callee::bound(&inst, &c),
        ),
    ] {
        let case = measured.case(name);
        let ns = function_namespace(callee, None, profile, PY311).expect("namespace");
        let keys = ns.version_keys(&[]);
        assert_eq!(
            keys.iter().collect::<Vec<_>>(),
            case.version_keys(),
            "{} {name}",
            measured.file
        );
        let written: Vec<&str> = case.set_many().into_iter().map(|(k, _)| k).collect();
        assert_eq!(vec![keys.last()], written, "{} {name}", measured.file);
    }
}

/// FC-2.2.5: the namespace sanitiser, as `function_namespace` applies it (cases `ns.*`).
#[test]
fn namespace_sanitiser() {
    let m = fc25();
    let x = || vec![Param::required("x")];
    let user = Receiver::Instance(Box::new(PyObject {
        class: ClassRef::new("__main__", "U"),
        repr: "User(id=42, name='Ann Lee')".into(),
        caching_id: None,
    }));
    let method = func(
        "__main__",
        "U.m",
        vec![Param::required("self"), Param::required("x")],
        Binding::InstanceMethod,
    );
    let functions = [
        (
            "ns.outer_locals_inner",
            func("__main__", "outer.<locals>.inner", x(), Binding::Function),
        ),
        ("ns.cafe", func("__main__", "café", x(), Binding::Function)),
        ("ns.cjk", func("__main__", "函数", x(), Binding::Function)),
    ];
    for (name, f) in &functions {
        let result = m.case(name).result().arr();
        let ns = function_namespace(Callee::unbound(f), None, FC25, PY311).expect("namespace");
        assert_eq!(ns.fname, result[0].str(), "{name}");
        assert_eq!(ns.instance_fname.as_deref(), result[1].opt_str(), "{name}");
        assert_eq!(
            sanitize(&format!("{}.{}", f.module, f.qualname)),
            result[0].str(),
            "{name}"
        );
    }
    let result = m.case("ns.user_repr").result().arr();
    let ns =
        function_namespace(Callee::bound(&method, &user), None, FC25, PY311).expect("namespace");
    assert_eq!(ns.fname, result[0].str());
    assert_eq!(ns.instance_fname.as_deref(), result[1].opt_str());
    assert_eq!(
        Some(format!("__main__.U.m.{}", sanitize("User(id=42, name='Ann Lee')")).as_str()),
        result[1].opt_str()
    );
}

/// FC-2.4.3: falsy defaults and positional-only misalignment (cases `fz.1`, `p.*`).
#[test]
fn normalisation_quirks() {
    let fz = func(
        "__main__",
        "fz",
        vec![
            Param::required("a"),
            Param::with_default("b", Value::int(0)),
        ],
        Binding::Function,
    );
    let args = [Value::int(1)];
    // 2.5 keeps the falsy default; 2.4 keys it as None (and hashes with md5).
    for (m, profile, hash) in [
        (fc25(), FC25, HashMethod::Sha256),
        (fc24(), FC24, HashMethod::Md5),
    ] {
        let case = m.case("fz.1");
        let call = Call {
            args: &args,
            hash,
            profile,
            ..Call::default()
        };
        let (text, key) = memoize_key(&fz, call, &case.versions());
        assert_eq!(text, case.text(), "{}", m.file);
        assert_eq!(key, case.get(), "{}", m.file);
    }

    // p(1, b=5) and p(2, b=5) share a key that has lost `a`.
    let m = fc25();
    let p = func(
        "__main__",
        "p",
        vec![
            Param::new("a", ParamKind::PositionalOnly, None),
            Param::with_default("b", Value::int(5)),
        ],
        Binding::Function,
    );
    let versions = m.case("p.1_b5").versions();
    let kwargs = [("b".to_string(), Value::int(5))];
    for (name, a) in [("p.1_b5", 1), ("p.2_b5", 2)] {
        let case = m.case(name);
        let args = [Value::int(a)];
        let call = Call {
            args: &args,
            kwargs: &kwargs,
            ..Call::default()
        };
        let (text, key) = memoize_key(&p, call, &versions);
        assert_eq!(text, case.text(), "{name}");
        assert_eq!(key, case.get(), "{name}");
    }
}

/// FC-1.2.3, FC-1.2.4, FC-1.3.2, FC-1.1.6, FC-5.4: view keys (cases `view.*`).
#[test]
fn view_keys() {
    let m = fc25();
    let key = |spec: &CachedKeySpec, path: &str, args: &[(String, String)], profile| {
        view_key(
            spec,
            &ViewKeyInput {
                request: Some(RequestInfo { path, args }),
                mode: ViewKeyMode::Request,
                prefix_result: None,
            },
            profile,
            PY311,
        )
    };
    let pairs = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let default = CachedKeySpec::default();
    let literal = CachedKeySpec {
        key_prefix: KeyPrefix::Template("res_student_all".into()),
        ..Default::default()
    };
    let qs = CachedKeySpec {
        query_string: true,
        ..Default::default()
    };
    let lit_qs = CachedKeySpec {
        key_prefix: KeyPrefix::Template("lit_qs".into()),
        query_string: true,
        ..Default::default()
    };
    let md5 = CachedKeySpec {
        query_string: true,
        hash_method: Some(HashMethod::Md5),
        ..Default::default()
    };
    let requests = [
        ("view.default", &default, "/demo/student/all", pairs(&[])),
        ("view.literal", &literal, "/lit", pairs(&[])),
        (
            "view.qs",
            &qs,
            "/qs",
            pairs(&[("b", "2"), ("a", "1"), ("a", "0")]),
        ),
        ("view.literal_qs", &lit_qs, "/qs2", pairs(&[("z", "1")])),
        ("view.md5_qs", &md5, "/hm", pairs(&[("b", "1"), ("a", "2")])),
        (
            "view.works_request",
            &qs,
            "/works",
            pairs(&[("limit", "15"), ("mock", "true")]),
        ),
    ];
    for (name, spec, path, args) in &requests {
        assert_eq!(
            key(spec, path, args, FC25).ok().as_deref(),
            Some(m.case(name).get()),
            "{name}"
        );
    }

    // FC-1.3.2: the query_args shapes for /works.
    let explicit = |q: &QueryArgs| {
        view_key(
            &qs,
            &ViewKeyInput {
                request: None,
                mode: ViewKeyMode::Explicit {
                    path: Some("/works"),
                    query_args: Some(q),
                    url_for: None,
                },
                prefix_result: None,
            },
            FC25,
            PY311,
        )
        .ok()
    };
    let shapes = [
        (
            "view.works_string",
            QueryArgs::String("limit=15&mock=true".into()),
        ),
        (
            "view.works_string_question_mark",
            QueryArgs::String("?mock=true&limit=15".into()),
        ),
        (
            "view.works_mapping",
            QueryArgs::Pairs(vec![
                ("mock".into(), Value::str("true")),
                ("limit".into(), Value::int(15)),
            ]),
        ),
        (
            "view.works_mapping_bool",
            QueryArgs::Pairs(vec![
                ("limit".into(), Value::int(15)),
                ("mock".into(), Value::Bool(true)),
            ]),
        ),
    ];
    for (name, q) in &shapes {
        assert_eq!(
            explicit(q).as_deref(),
            Some(m.case(name).result().str()),
            "{name}"
        );
    }

    // FC-5.4: 2.4 keys query strings by path + md5 hex, ignoring the prefix.
    assert_eq!(
        key(
            &qs,
            "/works",
            &pairs(&[("limit", "15"), ("mock", "true")]),
            FC24
        )
        .ok()
        .as_deref(),
        Some(fc24().case("view.works_request").get())
    );

    // FC-1.1.6: "50%off/%s" raises inside key building.
    let off = CachedKeySpec {
        key_prefix: KeyPrefix::Template("50%off/%s".into()),
        ..Default::default()
    };
    let expected = m.case("view.percent_off").error();
    match key(&off, "/x", &[], FC25) {
        Err(ViewKeyError::Python(e)) => {
            assert_eq!(Some((e.kind.as_str(), e.message.as_str())), expected)
        }
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

/// Bad input is a typed error, never a panic. The error variants are flaskcache's own
/// (Python has no such types), so they stay literal here; the cases `reject.*` record that
/// Python refuses the same inputs.
#[test]
fn rejects_what_python_rejects() {
    let m = fc25();
    let refused =
        |name: &str| assert!(m.case(name).error().is_some(), "{name}: Python accepted it");
    // `hashlib.crc32` does not exist.
    refused("reject.hash_crc32");
    assert_eq!(
        HashMethod::parse("crc32"),
        Err(KeyError::UnknownHashMethod("crc32".into()))
    );
    // `def f(a=1, b)`, `def f(a, a)`, `def f(**kw, a)` are syntax errors.
    refused("reject.default_before_required");
    let default_first = FunctionDescriptor::new(
        "m",
        "f",
        vec![
            Param::with_default("a", Value::int(1)),
            Param::required("b"),
        ],
        Binding::Function,
    );
    assert_eq!(
        default_first,
        Err(DescriptorError::NonDefaultAfterDefault("b".into()))
    );
    refused("reject.duplicate_parameter");
    let twice = FunctionDescriptor::new(
        "m",
        "f",
        vec![Param::required("a"), Param::required("a")],
        Binding::Function,
    );
    assert_eq!(twice, Err(DescriptorError::DuplicateParameter("a".into())));
    refused("reject.kind_out_of_order");
    let order = FunctionDescriptor::new(
        "m",
        "f",
        vec![
            Param::new("kw", ParamKind::VarKeyword, None),
            Param::required("a"),
        ],
        Binding::Function,
    );
    assert_eq!(order, Err(DescriptorError::KindOutOfOrder("a".into())));
    // A method without parameters compiles, but calling it through an instance raises.
    refused("reject.method_without_receiver");
    let no_self = FunctionDescriptor::new("m", "C.m", vec![], Binding::InstanceMethod);
    assert!(matches!(
        no_self,
        Err(DescriptorError::MethodWithoutReceiver(_))
    ));
    // Versions are the six characters the library mints: every recorded one parses,
    // and none shortened by one character does.
    let minted = m.case("worked.grades_2024S").versions();
    assert!(!minted.is_empty());
    for v in minted {
        assert_eq!(
            Version::parse(v).map(|p| p.as_str().to_owned()).as_deref(),
            Some(v)
        );
        let mut shorter = v.chars();
        shorter.next_back();
        assert!(Version::parse(shorter.as_str()).is_none(), "{v}");
    }
}
