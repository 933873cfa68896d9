//! Keys measured with the real Flask-Caching and quoted in `flask-caching-semantics.md`
//! (the clause and experiment script are named on each test). The full differential
//! coverage is in the workspace's `tests/key_vectors*.rs`.

use flaskcache_engine::error::{DescriptorError, KeyError, PyExceptionType};
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

const V_0123: &str = "ASNFZ4"; // uuid 0123456789abcdef..., FC-2.5.1
const PY311: PythonVersion = PythonVersion::Py311;
const FC25: Profile = Profile::FlaskCaching25;

fn func(module: &str, qualname: &str, params: Vec<Param>, binding: Binding) -> FunctionDescriptor {
    FunctionDescriptor::new(module, qualname, params, binding).expect("valid signature")
}

/// Derives `(text, key)` for a call of `f` with the given receiver, as a fresh cache does.
/// (One argument per input of the key keeps each test's expectations readable.)
#[allow(clippy::too_many_arguments)]
fn memoize_key(
    f: &FunctionDescriptor,
    receiver: Option<&Receiver>,
    args: &[Value],
    kwargs: &[(String, Value)],
    hash: HashMethod,
    make_name: Option<&MakeName>,
    versions: &[&str],
    py: PythonVersion,
) -> (String, String) {
    let full = call_args(f, receiver, args);
    let ns = function_namespace(Callee::unbound(f), Some(&full), FC25, py).expect("namespace");
    let norm = normalize_args(f, &full, kwargs, &[], FC25, py).expect("normalise");
    let alt = make_name.map_or(ns.fname.clone(), |m| m.apply(&ns.fname));
    let mut text = String::new();
    write_key_text(&mut text, &alt, &norm, py);
    let mut key = String::new();
    write_key_body(&mut key, &text, hash, None);
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

/// `worked.py` (FC-2.1): plain function and instance method in module `demo.students`.
#[test]
fn worked_example() {
    let get_student = func(
        "demo.students",
        "get_student",
        vec![
            Param::required("sid"),
            Param::with_default("with_courses", Value::Bool(false)),
        ],
        Binding::Function,
    );
    let (text, key) = memoize_key(
        &get_student,
        None,
        &[Value::int(7)],
        &[],
        HashMethod::Sha256,
        None,
        &[V_0123],
        PY311,
    );
    assert_eq!(text, "demo.students.get_student(7, False)OrderedDict()");
    assert_eq!(key, "7qsJ2jOiVZmCHN7mASNFZ4");

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
    let (text, key) = memoize_key(
        &grades,
        Some(&student),
        &[Value::str("2024S")],
        &[],
        HashMethod::Sha256,
        None,
        &["/ty6mH", "ABEiM0"],
        PY311,
    );
    assert_eq!(
        text,
        "demo.students.Student.grades('Student(3)', '2024S', False)OrderedDict()"
    );
    assert_eq!(key, "ObX6fJ3JKbHNT/fA/ty6mHABEiM0");
    let full = call_args(&grades, Some(&student), &[Value::str("2024S")]);
    let ns =
        function_namespace(Callee::unbound(&grades), Some(&full), FC25, PY311).expect("namespace");
    let keys = ns.version_keys(&[]);
    assert_eq!(keys.function, "demo.students.Student.grades_memver");
    assert_eq!(
        keys.instance.as_deref(),
        Some("demo.students.Student.grades.Student3_memver")
    );
}

/// `memo1.py` (FC-2.1): `def add(a, b=2, *args, c=None, **kw)` in `__main__`.
#[test]
fn argument_normalisation_examples() {
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
    let key = |args: &[Value], kwargs: &[(String, Value)]| {
        memoize_key(
            &add,
            None,
            args,
            kwargs,
            HashMethod::Sha256,
            None,
            &[V_0123],
            PY311,
        )
        .1
    };
    let one = Value::int(1);
    assert_eq!(
        key(std::slice::from_ref(&one), &[]),
        "4xYLP2jW2xvJjgx1ASNFZ4"
    );
    assert_eq!(
        key(&[one.clone(), Value::int(2)], &[]),
        "4xYLP2jW2xvJjgx1ASNFZ4"
    );
    assert_eq!(
        key(&[], &[("a".into(), one.clone())]),
        "4xYLP2jW2xvJjgx1ASNFZ4"
    );
    assert_eq!(
        key(std::slice::from_ref(&one), &[("b".into(), Value::int(2))]),
        "4xYLP2jW2xvJjgx1ASNFZ4"
    );
    assert_eq!(
        key(
            &[one.clone(), Value::int(3), Value::int(4), Value::int(5)],
            &[]
        ),
        "e4do1JDnH8xSt9V1ASNFZ4"
    );
    assert_eq!(
        key(std::slice::from_ref(&one), &[("c".into(), Value::int(9))]),
        "tgxLGx/LEEaEotPyASNFZ4"
    );
    assert_eq!(
        key(
            std::slice::from_ref(&one),
            &[("z".into(), Value::int(1)), ("y".into(), Value::int(2))]
        ),
        "Fzi99Yqu+rn2DkuzASNFZ4"
    );
    assert_eq!(key(&[], &[]), "oESNfjRb2Ml6EbNSASNFZ4");
}

/// FC-2.1 variants (`memo1.py`): md5 and make_name.
#[test]
fn hash_method_and_make_name() {
    let md = func(
        "__main__",
        "md",
        vec![Param::required("a")],
        Binding::Function,
    );
    let (_, key) = memoize_key(
        &md,
        None,
        &[Value::int(1)],
        &[],
        HashMethod::Md5,
        None,
        &[],
        PY311,
    );
    assert_eq!(key, "IywWUyQ8RTmZ+8GJ");
    let h = func(
        "__main__",
        "h",
        vec![Param::required("a")],
        Binding::Function,
    );
    let custom = MakeName("custom-{}".into());
    let (text, key) = memoize_key(
        &h,
        None,
        &[Value::int(1)],
        &[],
        HashMethod::Sha256,
        Some(&custom),
        &[],
        PY311,
    );
    assert_eq!(text, "custom-__main__.h(1,)OrderedDict()");
    assert_eq!(key, "pidgEKjLC7+Dv+k0");
}

/// FC-2.3.1 (`memo_ver.py`): keyword arguments hash differently on 3.11 and 3.12.
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
    let kwargs = [("x".to_string(), Value::int(2))];
    let key = |py| {
        memoize_key(
            &f,
            None,
            &[Value::int(1)],
            &kwargs,
            HashMethod::Sha256,
            None,
            &[V_0123],
            py,
        )
        .1
    };
    assert_eq!(key(PythonVersion::Py311), "av/6XaU/yxNPrvbhASNFZ4");
    assert_eq!(key(PythonVersion::Py312), "i2/o91gvW02JbC9oASNFZ4");
}

/// FC-3.5 (c) and the §7 table (`memo_cls.py`): classmethod, staticmethod, instance method.
#[test]
fn methods_in_class_calc() {
    let get_number = func(
        "__main__",
        "Calc.get_number",
        vec![Param::required("cls"), Param::required("x")],
        Binding::ClassMethod,
    );
    let by_class = Receiver::Class(calc());
    let (text, key) = memoize_key(
        &get_number,
        Some(&by_class),
        &[Value::int(5)],
        &[],
        HashMethod::Sha256,
        None,
        &[],
        PY311,
    );
    assert_eq!(
        text,
        "__main__.Calc.get_number(\"<class '__main__.Calc'>\", 5)OrderedDict()"
    );
    assert_eq!(key, "L6bceZ/XTy8CasYs");

    let stat = func(
        "__main__",
        "Calc.stat",
        vec![Param::required("x")],
        Binding::StaticMethod,
    );
    assert_eq!(
        memoize_key(
            &stat,
            None,
            &[Value::int(5)],
            &[],
            HashMethod::Sha256,
            None,
            &[],
            PY311
        )
        .1,
        "UjqfwVBYqOhuuIQl"
    );

    let inst = func(
        "__main__",
        "Calc.inst",
        vec![Param::required("self"), Param::required("x")],
        Binding::InstanceMethod,
    );
    let c = calc_instance();
    assert_eq!(
        memoize_key(
            &inst,
            Some(&c),
            &[Value::int(5)],
            &[],
            HashMethod::Sha256,
            None,
            &[],
            PY311
        )
        .1,
        "NTSTWgROlYaxULCm"
    );

    // delete_memoized(Calc.get_number, 5): ValueError (FC-2.2.3).
    let err = function_namespace(
        Callee::unbound(&get_number),
        Some(&[Value::int(5)]),
        FC25,
        PY311,
    )
    .expect_err("cls missing");
    assert_eq!(err.kind, PyExceptionType::ValueError);
    assert_eq!(
        err.message,
        "When using `delete_memoized` on a `@classmethod` you must provide the class as the first argument"
    );

    // delete_memoized(c.inst, 5) inserts c in 2.5 (FC-3.3.1), not in 2.4.
    let args = [Value::int(5)];
    let with_self = ensure_self_arg(Callee::bound(&inst, &c), &args, FC25);
    assert_eq!(with_self.len(), 2);
    assert_eq!(
        ensure_self_arg(Callee::bound(&inst, &c), &args, Profile::FlaskCaching24).len(),
        1
    );

    // delete_memoized(Calc.inst, 5): 5 is taken as self, junk version key (FC-3.3.3).
    let ns =
        function_namespace(Callee::unbound(&inst), Some(&args), FC25, PY311).expect("namespace");
    assert_eq!(ns.version_keys(&[]).last(), "__main__.Calc.inst.5_memver");

    // delete_memoized(c.inst): resets the instance key; Calc.inst: the function key.
    let ns = function_namespace(Callee::bound(&inst, &c), None, FC25, PY311).expect("namespace");
    assert_eq!(
        ns.version_keys(&[]).last(),
        "__main__.Calc.inst.Calc_memver"
    );
    let ns = function_namespace(Callee::unbound(&inst), None, FC25, PY311).expect("namespace");
    assert_eq!(ns.version_keys(&[]).last(), "__main__.Calc.inst_memver");
    // 2.4 keeps the parentheses (FC-5.4).
    let ns = function_namespace(
        Callee::bound(&inst, &c),
        None,
        Profile::FlaskCaching24,
        PY311,
    )
    .expect("namespace");
    assert_eq!(
        ns.version_keys(&[]).last(),
        "__main__.Calc.inst.Calc()_memver"
    );
}

/// FC-2.2.5 (`ns.py`).
#[test]
fn namespace_sanitiser() {
    assert_eq!(
        sanitize("__main__.outer.<locals>.inner"),
        "__main__.outer.locals.inner"
    );
    assert_eq!(sanitize("__main__.café"), "__main__.caf");
    assert_eq!(sanitize("__main__.函数"), "__main__.函数");
    assert_eq!(
        sanitize("User(id=42, name='Ann Lee')"),
        "Userid42nameAnnLee"
    );
}

/// FC-2.4.3 (`misc1.py`, `posonly.py`): falsy defaults and positional-only misalignment.
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
    let text = |profile| {
        let args = [Value::int(1)];
        let n = normalize_args(&fz, &args, &[], &[], profile, PY311).expect("normalise");
        let mut t = String::new();
        write_key_text(&mut t, "fz", &n, PY311);
        t
    };
    assert_eq!(text(FC25), "fz(1, 0)OrderedDict()");
    assert_eq!(text(Profile::FlaskCaching24), "fz(1, None)OrderedDict()");

    let p = func(
        "__main__",
        "p",
        vec![
            Param::new("a", ParamKind::PositionalOnly, None),
            Param::with_default("b", Value::int(5)),
        ],
        Binding::Function,
    );
    let kwargs = [("b".to_string(), Value::int(5))];
    for a in [1, 2] {
        let args = [Value::int(a)];
        let n = normalize_args(&p, &args, &kwargs, &[], FC25, PY311).expect("normalise");
        let mut t = String::new();
        write_key_text(&mut t, "p", &n, PY311);
        assert_eq!(t, "p(5,)OrderedDict()", "p({a}, b=5) loses a");
    }
}

/// FC-1.2.3, FC-1.2.4 (`exp1.py`): view keys.
#[test]
fn view_keys() {
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
    let default = CachedKeySpec::default();
    assert_eq!(
        key(&default, "/demo/student/all", &[], FC25)
            .ok()
            .as_deref(),
        Some("view//demo/student/all")
    );
    let literal = CachedKeySpec {
        key_prefix: KeyPrefix::Template("res_student_all".into()),
        ..Default::default()
    };
    assert_eq!(
        key(&literal, "/demo/student/all", &[], FC25)
            .ok()
            .as_deref(),
        Some("res_student_all")
    );

    let qs = CachedKeySpec {
        query_string: true,
        ..Default::default()
    };
    let pairs = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        key(
            &qs,
            "/qs",
            &pairs(&[("b", "2"), ("a", "1"), ("a", "0")]),
            FC25
        )
        .ok()
        .as_deref(),
        Some("view//qs7ae787dc38754b57763f4fbf68f991dd43e8f01c346ec39b529026e9dfa349e2")
    );
    let lit_qs = CachedKeySpec {
        key_prefix: KeyPrefix::Template("lit_qs".into()),
        query_string: true,
        ..Default::default()
    };
    assert_eq!(
        key(&lit_qs, "/qs2", &pairs(&[("z", "1")]), FC25)
            .ok()
            .as_deref(),
        Some("lit_qs3e68657fa5e42fd77479eef0351bedd6e4f8a3a30c1346e60c993f70fa718fad")
    );
    let md5 = CachedKeySpec {
        query_string: true,
        hash_method: Some(HashMethod::Md5),
        ..Default::default()
    };
    assert_eq!(
        key(&md5, "/hm", &pairs(&[("b", "1"), ("a", "2")]), FC25)
            .ok()
            .as_deref(),
        Some("view//hmaa73abcc5b88c890b32be1dd698e2c52")
    );

    // FC-1.3.2: the three query_args shapes for /works.
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
    let works = "view//works9ee2cc3f4d4622525119577cca5bbacfe65c679b55702c595ebd993da764088d";
    assert_eq!(
        explicit(&QueryArgs::String("limit=15&mock=true".into())).as_deref(),
        Some(works)
    );
    assert_eq!(
        explicit(&QueryArgs::String("?mock=true&limit=15".into())).as_deref(),
        Some(works)
    );
    let mapping = QueryArgs::Pairs(vec![
        ("mock".into(), Value::str("true")),
        ("limit".into(), Value::int(15)),
    ]);
    assert_eq!(explicit(&mapping).as_deref(), Some(works));
    let bools = QueryArgs::Pairs(vec![
        ("limit".into(), Value::int(15)),
        ("mock".into(), Value::Bool(true)),
    ]);
    assert_ne!(explicit(&bools).as_deref(), Some(works));

    // FC-5.4: 2.4 keys query strings by path + md5 hex, ignoring the prefix.
    assert_eq!(
        key(
            &qs,
            "/works",
            &pairs(&[("limit", "15"), ("mock", "true")]),
            Profile::FlaskCaching24
        )
        .ok()
        .as_deref(),
        Some("/works4fc537e67634ad597186e0a1756ada51")
    );

    // FC-1.1.6 (`custom_mk.py`): "50%off/%s" raises inside key building.
    let off = CachedKeySpec {
        key_prefix: KeyPrefix::Template("50%off/%s".into()),
        ..Default::default()
    };
    assert!(
        matches!(key(&off, "/x", &[], FC25), Err(ViewKeyError::Python(e)) if e.kind == PyExceptionType::TypeError)
    );
}

/// Bad input is a typed error, never a panic.
#[test]
fn rejects_what_python_rejects() {
    assert_eq!(
        HashMethod::parse("crc32"),
        Err(KeyError::UnknownHashMethod("crc32".into()))
    );
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
    let twice = FunctionDescriptor::new(
        "m",
        "f",
        vec![Param::required("a"), Param::required("a")],
        Binding::Function,
    );
    assert_eq!(twice, Err(DescriptorError::DuplicateParameter("a".into())));
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
    let no_self = FunctionDescriptor::new("m", "C.m", vec![], Binding::InstanceMethod);
    assert!(matches!(
        no_self,
        Err(DescriptorError::MethodWithoutReceiver(_))
    ));
    assert!(Version::parse("ASNFZ").is_none());
}
