//! The simulated application and its workload.
//!
//! The app is a small Flask app over a database of students whose rows change: `@cached`
//! views with each `key_prefix` style (default `view/%s`, a literal key, a callable, a
//! `query_string` view), memoized plain functions, an instance method on several
//! instances, a classmethod and a staticmethod. Every function result is derived from the
//! database rows it reads and carries a generation number (`'Ann r2 #17'`), so a hit that
//! returns an old row is recognisable.
//!
//! A run's history is a list of [`Action`]s drawn by [`generate`] from a seed: calls,
//! database writes, invalidations in every form (the right ones and the well-known wrong
//! ones: a bare path, a literal-prefix confusion, a classmethod without `cls`, an instance
//! method through the class, ...), direct backend calls, clock ticks and jumps, and lost
//! version keys. Swarm testing: each run ([`RunSetup::new`]) switches some kinds of action,
//! some delete forms and some fault kinds off, and weighs the rest at random.

pub mod rng;

use arbitrary::Arbitrary;
use flaskcache_engine::engine::{
    CachedId, CachedOptions, Command, Hooks, MemoizeOptions, MemoizedId, Request,
};
use flaskcache_engine::error::{PyError, PyExceptionType};
use flaskcache_engine::function::{Binding, FunctionDescriptor, Param, ParamKind, Receiver};
use flaskcache_engine::keys::{
    view_key, CachedKeySpec, KeyPrefix, QueryArgs, RequestInfo, ViewKeyInput, ViewKeyMode,
};
use flaskcache_engine::profile::Feature;
use flaskcache_engine::store::{StoreOp, Timestamp};
use flaskcache_engine::value::repr_str_into;
use flaskcache_engine::{ClassRef, Profile, PyObject, PythonVersion, Value};
use rng::SplitMix64;

/// Rows in the students table.
pub const ROWS: u8 = 4;
/// `Student` instances whose `grades` method is memoized.
pub const INSTANCES: u8 = 3;
/// Backend calls whose `k`-th occurrence (k < this) can be planned to fail.
pub const FAULT_SLOTS: usize = 3;

const NAMES: [&str; 8] = ["Ann", "Bob", "Cy", "Di", "Eve", "Flo", "Gus", "Hal"];
const TERMS: [&str; 2] = ["2024S", "2024F"];
const QUERIES: [&str; 2] = ["a", "o"];

/// The app's memoized functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Arbitrary)]
pub enum Func {
    /// `demo.students.get_student(sid, with_courses=False)`, `cache_none=True`: `None`
    /// for a missing student.
    GetStudent,
    /// `demo.models.Student.grades(self, term)`, an instance method.
    Grades,
    /// `demo.models.Calc.get_number(cls, n)`, a classmethod.
    GetNumber,
    /// `demo.models.Calc.stat(n)`, a staticmethod.
    Stat,
    /// `demo.students.search(q, *, limit=10)`: a keyword-only parameter (`forced_update`
    /// hook where supported).
    Search,
    /// `demo.students.count()`: no arguments (`unless`, `is_stale`, `response_filter`
    /// hooks where supported).
    Count,
}

/// The app's `@cached` views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Arbitrary)]
pub enum View {
    /// `/demo/student/all`, default `key_prefix` (`view//demo/student/all`).
    All,
    /// `/demo/student/lit`, `key_prefix="res_student_all"` (the whole key).
    Lit,
    /// `/demo/student/<sid>`, default prefix, `response_filter` where supported.
    Page,
    /// `/works?limit=N[&mock=true]`, `query_string=True` (2.4 and later).
    Works,
    /// `/call?x=N`, `key_prefix=lambda: "callable_" + request.args["x"]`, `unless` hook.
    Call,
}

/// Every memoized function of the app, in registration order.
pub const FUNCS: [Func; 6] = [
    Func::GetStudent,
    Func::Grades,
    Func::GetNumber,
    Func::Stat,
    Func::Search,
    Func::Count,
];
/// Every view of the app, in registration order.
pub const VIEWS: [View; 5] = [View::All, View::Lit, View::Page, View::Works, View::Call];

/// A logical call of the app: what a user asks for, whatever the versions are. Fields are
/// reduced into range by [`Target::normalized`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Arbitrary)]
pub enum Target {
    /// A memoized function; `inst` picks the receiver, `arg` the argument.
    Memo {
        /// The function.
        func: Func,
        /// The `Student` instance (for `grades`).
        inst: u8,
        /// The argument selector.
        arg: u8,
    },
    /// A view; `arg` picks the path or query.
    Page {
        /// The view.
        view: View,
        /// The path or query selector.
        arg: u8,
    },
}

impl Target {
    /// The same call with every selector reduced into its range (unused ones zeroed).
    pub fn normalized(self) -> Target {
        match self {
            Target::Memo { func, inst, arg } => {
                let (inst, arg) = match func {
                    Func::GetStudent => (0, arg % (ROWS + 1)),
                    Func::Grades => (inst % INSTANCES, arg % TERMS.len() as u8),
                    Func::GetNumber | Func::Stat => (0, arg % ROWS),
                    Func::Search => (0, arg % (2 * QUERIES.len() as u8)),
                    Func::Count => (0, 0),
                };
                Target::Memo { func, inst, arg }
            }
            Target::Page { view, arg } => {
                let arg = match view {
                    View::All | View::Lit => 0,
                    View::Page => arg % (ROWS + 1),
                    View::Works => arg % 6,
                    View::Call => arg % ROWS,
                };
                Target::Page { view, arg }
            }
        }
    }

    /// The database rows the call reads.
    pub fn rows(self) -> Vec<u8> {
        match self.normalized() {
            Target::Memo { func, inst, arg } => match func {
                Func::GetStudent | Func::GetNumber | Func::Stat => {
                    (arg < ROWS).then_some(arg).into_iter().collect()
                }
                Func::Grades => vec![inst],
                Func::Search | Func::Count => (0..ROWS).collect(),
            },
            Target::Page { view, arg } => match view {
                View::All | View::Lit | View::Works => (0..ROWS).collect(),
                View::Page | View::Call => (arg < ROWS).then_some(arg).into_iter().collect(),
            },
        }
    }

    /// The call as Python spells it: `get_student(3)`, `GET /demo/student/all`.
    pub fn describe(self) -> String {
        let t = self.normalized();
        match t {
            Target::Memo { func, inst, arg } => match func {
                Func::GetStudent => format!("get_student({arg})"),
                Func::Grades => format!("Student({inst}).grades({})", py_str(term(arg))),
                Func::GetNumber => format!("Calc.get_number({arg})"),
                Func::Stat => format!("Calc.stat({arg})"),
                Func::Search => match search_limit(arg) {
                    Some(l) => format!("search({}, limit={l})", py_str(search_q(arg))),
                    None => format!("search({})", py_str(search_q(arg))),
                },
                Func::Count => "count()".into(),
            },
            Target::Page { .. } => {
                let (path, args) = request_of(t);
                let mut s = format!("GET {path}");
                for (i, (k, v)) in args.iter().enumerate() {
                    s.push(if i == 0 { '?' } else { '&' });
                    s.push_str(&format!("{k}={v}"));
                }
                s
            }
        }
    }
}

fn term(arg: u8) -> &'static str {
    TERMS.get(usize::from(arg)).copied().unwrap_or("2024S")
}

fn search_q(arg: u8) -> &'static str {
    QUERIES
        .get(usize::from(arg) % QUERIES.len())
        .copied()
        .unwrap_or("a")
}

fn search_limit(arg: u8) -> Option<i64> {
    (usize::from(arg) >= QUERIES.len()).then_some(5)
}

/// `repr(str)` under Python 3.11.
pub fn py_str(s: &str) -> String {
    let mut out = String::new();
    repr_str_into(s, &mut out, PythonVersion::Py311);
    out
}

/// The request path and query pairs of a view call.
fn request_of(t: Target) -> (String, Vec<(String, String)>) {
    match t.normalized() {
        Target::Page { view, arg } => match view {
            View::All => ("/demo/student/all".into(), vec![]),
            View::Lit => ("/demo/student/lit".into(), vec![]),
            View::Page => (format!("/demo/student/{arg}"), vec![]),
            View::Works => {
                let mut args = vec![("limit".to_owned(), (arg % 3 + 1).to_string())];
                if arg >= 3 {
                    args.push(("mock".into(), "true".into()));
                }
                ("/works".into(), args)
            }
            View::Call => ("/call".into(), vec![("x".into(), arg.to_string())]),
        },
        Target::Memo { .. } => (String::new(), vec![]),
    }
}

/// How an invalidation is written. Which forms apply to which target is
/// [`Form::applies`]; a form that does not apply falls back to the documented one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Arbitrary)]
pub enum Form {
    /// `delete_memoized(f, *args)` as documented for the binding: `(get_student, 3)`,
    /// `(Student.grades, s, '2024S')`, `(Calc.get_number, Calc, 2)`, `(Calc.stat, 2)`.
    Exact,
    /// `delete_memoized(get_student, sid=3)`.
    Keyword,
    /// `delete_memoized(s.grades, '2024S')`: works since 2.5.0, silently misses before.
    Bound,
    /// `delete_memoized(s.grades, s, '2024S')`.
    BoundWithSelf,
    /// `delete_memoized(Student.grades, '2024S')`: the instance method through the class,
    /// `self` missing (silent, plants a junk version key).
    SelfViaClass,
    /// `delete_memoized(Calc.get_number, 2)`: the classmethod without `cls` (`ValueError`;
    /// silent in 0.13).
    ClassmethodNoCls,
    /// `delete_memoized(get_student, '3')`: the route argument as a string.
    StrArg,
    /// `delete_memoized(get_student, 3, False)`: the falsy default spelled out (misses in
    /// ≤2.4, which keys `get_student(3)` as `(3, None)`).
    FalsyDefault,
    /// `delete_memoized(f)`: a fresh version for every call.
    Reset,
    /// `delete_memoized(s.grades)`: a fresh version for one instance.
    ResetInstance,
    /// `delete_memoized_verhash(f)`.
    Verhash,
    /// `cache.delete(<the view's real key>)`.
    RawKey,
    /// `cache.delete_cached(view, path=..., query_args=...)` (2.5.0 and later).
    DeleteCached,
    /// `cache.delete('/demo/student/all')`: the bare path.
    BarePath,
    /// `cache.delete('view/demo/student/all')`: one slash.
    SingleSlash,
    /// `cache.delete('view//demo/student/lit')` for a view whose `key_prefix` is literal.
    PathKeyForLiteral,
    /// `cache.delete('view//works')` for a `query_string=True` view.
    PathKeyForQuery,
    /// `cache.clear()`.
    Clear,
}

/// Every form.
pub const FORMS: [Form; 18] = [
    Form::Exact,
    Form::Keyword,
    Form::Bound,
    Form::BoundWithSelf,
    Form::SelfViaClass,
    Form::ClassmethodNoCls,
    Form::StrArg,
    Form::FalsyDefault,
    Form::Reset,
    Form::ResetInstance,
    Form::Verhash,
    Form::RawKey,
    Form::DeleteCached,
    Form::BarePath,
    Form::SingleSlash,
    Form::PathKeyForLiteral,
    Form::PathKeyForQuery,
    Form::Clear,
];

impl Form {
    /// Whether the form can be written for `target`.
    pub fn applies(self, target: Target) -> bool {
        match target.normalized() {
            Target::Memo { func, .. } => match self {
                Form::Exact | Form::Reset | Form::Verhash | Form::Clear => true,
                Form::Keyword | Form::FalsyDefault => func == Func::GetStudent,
                Form::StrArg => matches!(func, Func::GetStudent | Func::Stat),
                Form::Bound | Form::BoundWithSelf | Form::SelfViaClass | Form::ResetInstance => {
                    func == Func::Grades
                }
                Form::ClassmethodNoCls => func == Func::GetNumber,
                _ => false,
            },
            Target::Page { view, .. } => match self {
                Form::RawKey | Form::DeleteCached | Form::BarePath | Form::Clear => true,
                Form::SingleSlash => matches!(view, View::All | View::Page),
                Form::PathKeyForLiteral => view == View::Lit,
                Form::PathKeyForQuery => view == View::Works,
                _ => false,
            },
        }
    }

    /// The form used for `target`: this one if it applies, else the documented one.
    pub fn for_target(self, target: Target) -> Form {
        if self.applies(target) {
            self
        } else {
            match target {
                Target::Memo { .. } => Form::Exact,
                Target::Page { .. } => Form::RawKey,
            }
        }
    }

    /// The cause a stale read is attributed to when this form removed nothing.
    pub fn cause(self) -> &'static str {
        match self {
            Form::Exact => "delete_memoized(f, *args) missed",
            Form::Keyword => "delete_memoized(f, **kwargs) missed",
            Form::Bound => "bound method, self not inserted (<=2.4)",
            Form::BoundWithSelf => "bound method with self missed",
            Form::SelfViaClass => "instance method through the class",
            Form::ClassmethodNoCls => "classmethod without cls",
            Form::StrArg => "argument type confusion",
            Form::FalsyDefault => "falsy default spelled out (<=2.4)",
            Form::Reset => "delete_memoized(f) missed",
            Form::ResetInstance => "per-instance reset missed",
            Form::Verhash => "delete_memoized_verhash missed",
            Form::RawKey => "cache.delete(key) missed",
            Form::DeleteCached => "delete_cached unavailable (<2.5)",
            Form::BarePath => "bare path",
            Form::SingleSlash => "single slash after view/",
            Form::PathKeyForLiteral => "literal-prefix confusion",
            Form::PathKeyForQuery => "query string ignored",
            Form::Clear => "clear missed",
        }
    }

    /// Whether the form is one of the well-known mistakes (on any profile).
    pub fn is_pitfall(self) -> bool {
        matches!(
            self,
            Form::SelfViaClass
                | Form::ClassmethodNoCls
                | Form::StrArg
                | Form::FalsyDefault
                | Form::BarePath
                | Form::SingleSlash
                | Form::PathKeyForLiteral
                | Form::PathKeyForQuery
                | Form::Bound
        )
    }
}

/// A database change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Arbitrary)]
pub enum RowChange {
    /// The student is renamed.
    Rename,
    /// The student is deleted.
    Remove,
    /// The student is (re)created.
    Restore,
}

/// A direct call of a backend proxy (`cache.get(...)`, ...). Keys are picked from a small
/// space that includes real cache keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Arbitrary)]
pub enum BackendCall {
    /// `cache.get(k)`.
    Get(u8),
    /// `cache.has(k)`.
    Has(u8),
    /// `cache.set(k, v, timeout)`.
    Set(u8, u8),
    /// `cache.add(k, v, timeout)`.
    Add(u8, u8),
    /// `cache.get_many(k1, k2)`.
    GetMany(u8, u8),
    /// `cache.set_many({k1: v, k2: v}, timeout)`.
    SetMany(u8, u8),
    /// `cache.delete_many(k1, k2)`.
    DeleteMany(u8, u8),
    /// `cache.clear()`.
    Clear,
}

const BACKEND_KEYS: [&str; 6] = [
    "k0",
    "k1",
    "k2",
    "view//demo/student/all",
    "res_student_all",
    "view//demo/student/1",
];
const BACKEND_TIMEOUTS: [Option<i64>; 5] = [None, Some(0), Some(5), Some(60), Some(-1)];

fn backend_key(i: u8) -> String {
    BACKEND_KEYS
        .get(usize::from(i) % BACKEND_KEYS.len())
        .copied()
        .unwrap_or("k0")
        .to_owned()
}

fn backend_timeout(i: u8) -> Option<i64> {
    BACKEND_TIMEOUTS
        .get(usize::from(i) % BACKEND_TIMEOUTS.len())
        .copied()
        .flatten()
}

/// A big step of the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Arbitrary)]
pub enum Jump {
    /// An hour.
    Hour,
    /// A day.
    Day,
    /// A year.
    Year,
    /// To where the float clock is coarser than a microsecond (2^33 s ahead).
    FarFuture,
    /// To the end of representable time (the clock saturates).
    EndOfTime,
}

impl Jump {
    /// The jump in microseconds.
    pub fn micros(self) -> i64 {
        match self {
            Jump::Hour => 3_600_000_000,
            Jump::Day => 86_400_000_000,
            Jump::Year => 31_536_000_000_000,
            Jump::FarFuture => (1i64 << 33).saturating_mul(1_000_000),
            Jump::EndOfTime => i64::MAX,
        }
    }
}

/// What the world does to one call: hook answers and planned backend failures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Arbitrary)]
pub struct Env {
    /// Hook answers: bit 0 `unless` is `True`, bit 1 `forced_update` is `True`, bit 2
    /// `is_stale` is `True`, bit 3 `response_filter` rejects.
    pub hooks: u8,
    /// Planned failures: bit `FAULT_SLOTS * kind + k` fails the `k`-th call of that
    /// backend method ([`crate::model::OpKind::ALL`] order) with `ConnectionError`.
    pub faults: u32,
}

/// One step of a history.
#[derive(Clone, Debug, PartialEq, Eq, Arbitrary)]
pub enum Action {
    /// The app calls a memoized function or serves a view. `via` picks the other spelling
    /// (`get_student(sid=3)`; `Calc().get_number(2)`; `/demo/student/all?ignored=1`).
    Call {
        /// What is called.
        target: Target,
        /// The alternative spelling.
        via: bool,
        /// Hooks and faults.
        env: Env,
    },
    /// The app invalidates `target` (what the developer meant) with `form` (what they
    /// wrote).
    Invalidate {
        /// The call meant.
        target: Target,
        /// The delete written.
        form: Form,
        /// Hooks and faults.
        env: Env,
    },
    /// A direct backend proxy call.
    Backend {
        /// The call.
        call: BackendCall,
        /// Faults.
        env: Env,
    },
    /// A row of the database changes.
    WriteRow {
        /// The row.
        row: u8,
        /// How.
        change: RowChange,
    },
    /// `time.sleep(millis / 1000)`.
    Tick {
        /// Milliseconds.
        millis: u32,
    },
    /// The clock jumps ahead.
    ClockJump {
        /// How far.
        jump: Jump,
    },
    /// A `_memver` key vanishes from the backend (eviction by another process, a restart):
    /// the `pick`-th one in store order.
    LoseVersionKey {
        /// Which one.
        pick: u8,
    },
}

/// The kinds of action, for weights and counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionKind {
    /// Memoized calls.
    CallMemoized,
    /// View requests.
    CallView,
    /// Invalidations.
    Invalidate,
    /// Database writes.
    WriteRow,
    /// Backend proxies other than `clear`.
    Backend,
    /// `cache.clear()` through the proxy.
    Clear,
    /// Small clock steps.
    Tick,
    /// Clock jumps.
    ClockJump,
    /// Lost version keys.
    LoseVersionKey,
}

/// Every action kind.
pub const ACTION_KINDS: [ActionKind; 9] = [
    ActionKind::CallMemoized,
    ActionKind::CallView,
    ActionKind::Invalidate,
    ActionKind::WriteRow,
    ActionKind::Backend,
    ActionKind::Clear,
    ActionKind::Tick,
    ActionKind::ClockJump,
    ActionKind::LoseVersionKey,
];

impl ActionKind {
    /// The kind's name in summaries.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::CallMemoized => "call memoized",
            ActionKind::CallView => "request view",
            ActionKind::Invalidate => "invalidate",
            ActionKind::WriteRow => "db write",
            ActionKind::Backend => "backend proxy",
            ActionKind::Clear => "cache.clear()",
            ActionKind::Tick => "tick",
            ActionKind::ClockJump => "clock jump",
            ActionKind::LoseVersionKey => "lose version key",
        }
    }

    fn base_weight(self) -> u32 {
        match self {
            ActionKind::CallMemoized => 30,
            ActionKind::CallView => 20,
            ActionKind::Invalidate => 10,
            ActionKind::WriteRow => 8,
            ActionKind::Backend => 5,
            ActionKind::Clear => 1,
            ActionKind::Tick => 12,
            ActionKind::ClockJump => 1,
            ActionKind::LoseVersionKey => 2,
        }
    }
}

impl Action {
    /// The action's kind.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Call {
                target: Target::Memo { .. },
                ..
            } => ActionKind::CallMemoized,
            Action::Call { .. } => ActionKind::CallView,
            Action::Invalidate { .. } => ActionKind::Invalidate,
            Action::Backend {
                call: BackendCall::Clear,
                ..
            } => ActionKind::Clear,
            Action::Backend { .. } => ActionKind::Backend,
            Action::WriteRow { .. } => ActionKind::WriteRow,
            Action::Tick { .. } => ActionKind::Tick,
            Action::ClockJump { .. } => ActionKind::ClockJump,
            Action::LoseVersionKey { .. } => ActionKind::LoseVersionKey,
        }
    }
}

/// One row of the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Index into the name list.
    pub name: u8,
    /// Bumped by every write.
    pub rev: u32,
    /// Whether the student exists.
    pub exists: bool,
}

/// The simulated database: the students table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Db {
    rows: Vec<Row>,
}

impl Default for Db {
    fn default() -> Self {
        Db {
            rows: (0..ROWS)
                .map(|i| Row {
                    name: i,
                    rev: 0,
                    exists: true,
                })
                .collect(),
        }
    }
}

/// A database dependency of a computed value: the row and the revision read.
pub type Dep = (u8, u32);

impl Db {
    /// The row, if it is in the table's range.
    pub fn row(&self, i: u8) -> Option<&Row> {
        self.rows.get(usize::from(i))
    }

    /// The current revision of row `i` (0 outside the table).
    pub fn rev(&self, i: u8) -> u32 {
        self.row(i).map_or(0, |r| r.rev)
    }

    /// Applies a write; returns the new revision.
    pub fn write(&mut self, i: u8, change: RowChange) -> u32 {
        let Some(row) = self.rows.get_mut(usize::from(i % ROWS)) else {
            return 0;
        };
        row.rev = row.rev.saturating_add(1);
        match change {
            RowChange::Rename => row.name = (row.name + 4) % NAMES.len() as u8,
            RowChange::Remove => row.exists = false,
            RowChange::Restore => row.exists = true,
        }
        row.rev
    }

    fn name(&self, i: u8) -> Option<&'static str> {
        let row = self.row(i).filter(|r| r.exists)?;
        NAMES.get(usize::from(row.name)).copied()
    }

    /// The decorated function's body for `target`, generation `gen`: its result and the
    /// rows it read.
    pub fn compute(&self, target: Target, gen: u64) -> (Result<Value, PyError>, Vec<Dep>) {
        let t = target.normalized();
        let deps: Vec<Dep> = t.rows().into_iter().map(|r| (r, self.rev(r))).collect();
        let missing = |i: u8| Err(PyError::new(PyExceptionType::KeyError, i.to_string()));
        let result = match t {
            Target::Memo { func, inst, arg } => match func {
                Func::GetStudent => Ok(match self.name(arg) {
                    Some(n) => Value::Str(format!("{n} r{} #{gen}", self.rev(arg))),
                    None => Value::None,
                }),
                Func::Grades => match self.name(inst) {
                    Some(n) => Ok(Value::Str(format!(
                        "{n} {} r{} #{gen}",
                        term(arg),
                        self.rev(inst)
                    ))),
                    None => missing(inst),
                },
                Func::GetNumber | Func::Stat => match self.name(arg) {
                    Some(n) => Ok(Value::Str(format!("{n}={arg} r{} #{gen}", self.rev(arg)))),
                    None => missing(arg),
                },
                Func::Search => {
                    let q = search_q(arg);
                    let hits = (0..ROWS)
                        .filter_map(|r| self.name(r))
                        .filter(|n| n.to_lowercase().contains(q))
                        .count();
                    Ok(Value::Str(format!("{q}: {hits} hits #{gen}")))
                }
                Func::Count => {
                    let n = (0..ROWS).filter(|r| self.name(*r).is_some()).count();
                    Ok(Value::Str(format!("{n} students #{gen}")))
                }
            },
            Target::Page { view, arg } => Ok(Value::Str(match view {
                View::All | View::Lit => {
                    let names: Vec<&str> = (0..ROWS).filter_map(|r| self.name(r)).collect();
                    format!("{} #{gen}", names.join(","))
                }
                View::Page | View::Call => match self.name(arg) {
                    Some(n) => format!("{n} r{} #{gen}", self.rev(arg)),
                    None => format!("no student {arg} #{gen}"),
                },
                View::Works => format!("works limit {} #{gen}", arg % 3 + 1),
            })),
        };
        (result, deps)
    }
}

/// The generation number a computed value carries (`'Ann r2 #17'` → 17).
pub fn generation(value: &Value) -> Option<u64> {
    match value {
        Value::Str(s) => s.rsplit_once('#').and_then(|(_, g)| g.parse().ok()),
        _ => None,
    }
}

/// The app as registered: ids of its functions and views, and how to spell calls.
#[derive(Clone, Debug)]
pub struct App {
    profile: Profile,
    python: PythonVersion,
    funcs: Vec<MemoizedId>,
    views: Vec<CachedId>,
}

/// A declaration the app makes at import time.
#[derive(Clone, Debug)]
pub enum Declaration {
    /// `@cache.memoize(...)`.
    Memoize(FunctionDescriptor, MemoizeOptions),
    /// `@cache.cached(...)` on the named view function.
    Cached(&'static str, CachedOptions),
}

fn student_class() -> ClassRef {
    ClassRef::new("demo.models", "Student")
}

fn calc_class() -> ClassRef {
    ClassRef::new("demo.models", "Calc")
}

/// `Student(i)`: instance 2 defines `__caching_id__` (honoured in 2.5, a `TypeError` in
/// 2.4, ignored in 0.13).
pub fn student(i: u8) -> PyObject {
    PyObject {
        class: student_class(),
        repr: format!("Student({i})"),
        caching_id: (i == 2).then(|| format!("student-{i}")),
    }
}

fn calc_instance() -> PyObject {
    PyObject {
        class: calc_class(),
        repr: "Calc()".into(),
        caching_id: None,
    }
}

fn int(i: u8) -> Value {
    Value::int(i64::from(i))
}

impl App {
    /// The declarations of the app under `profile`: options a release does not accept
    /// are left out (no hooks and no `cache_none` in 0.13; `query_string` from 2.4 on).
    pub fn declarations(profile: Profile, setup: &AppKnobs) -> Vec<Declaration> {
        let has = |f: Feature| profile.supports(f);
        let hooks = |unless, forced, stale, filter| Hooks {
            unless: unless && setup.hooks,
            forced_update: forced && setup.hooks && has(Feature::ForcedUpdate),
            is_stale: stale && setup.hooks && has(Feature::IsStale),
            response_filter: filter && setup.hooks && has(Feature::ResponseFilter),
        };
        let f = |module: &str, qualname: &str, params: Vec<Param>, binding| {
            FunctionDescriptor::new(module, qualname, params, binding)
        };
        let memo = |timeout, cache_none, hooks| MemoizeOptions {
            timeout,
            cache_none: cache_none && has(Feature::CacheNone),
            hooks,
            ..Default::default()
        };
        let none = Hooks::default();
        let mut out = Vec::new();
        let functions = [
            (
                f(
                    "demo.students",
                    "get_student",
                    vec![
                        Param::required("sid"),
                        Param::with_default("with_courses", Value::Bool(false)),
                    ],
                    Binding::Function,
                ),
                memo(setup.get_student_timeout, true, none),
            ),
            (
                f(
                    "demo.models",
                    "Student.grades",
                    vec![Param::required("self"), Param::required("term")],
                    Binding::InstanceMethod,
                ),
                memo(Some(100), false, none),
            ),
            (
                f(
                    "demo.models",
                    "Calc.get_number",
                    vec![Param::required("cls"), Param::required("n")],
                    Binding::ClassMethod,
                ),
                memo(Some(100), false, none),
            ),
            (
                f(
                    "demo.models",
                    "Calc.stat",
                    vec![Param::required("n")],
                    Binding::StaticMethod,
                ),
                memo(None, false, none),
            ),
            (
                f(
                    "demo.students",
                    "search",
                    vec![
                        Param::required("q"),
                        Param::new("limit", ParamKind::KeywordOnly, Some(Value::int(10))),
                    ],
                    Binding::Function,
                ),
                memo(Some(30), false, hooks(false, true, false, false)),
            ),
            (
                f("demo.students", "count", vec![], Binding::Function),
                memo(Some(20), false, hooks(true, false, true, true)),
            ),
        ];
        for (descriptor, options) in functions {
            if let Ok(d) = descriptor {
                out.push(Declaration::Memoize(d, options));
            }
        }
        let view = |prefix: KeyPrefix, query_string: bool, timeout, hooks| CachedOptions {
            key: CachedKeySpec {
                key_prefix: prefix,
                query_string: query_string && has(Feature::QueryString),
                ..Default::default()
            },
            timeout,
            hooks,
            ..Default::default()
        };
        let default_prefix = KeyPrefix::Template("view/%s".into());
        out.push(Declaration::Cached(
            "student_all",
            view(default_prefix.clone(), false, Some(50), none),
        ));
        out.push(Declaration::Cached(
            "student_lit",
            view(
                KeyPrefix::Template("res_student_all".into()),
                false,
                Some(50),
                none,
            ),
        ));
        out.push(Declaration::Cached(
            "student_page",
            view(
                default_prefix.clone(),
                false,
                Some(30),
                hooks(false, false, false, true),
            ),
        ));
        out.push(Declaration::Cached(
            "works",
            view(default_prefix, true, Some(20), none),
        ));
        out.push(Declaration::Cached(
            "call",
            view(
                KeyPrefix::Callable,
                false,
                None,
                hooks(true, true, false, false),
            ),
        ));
        out
    }

    /// The app once its declarations are registered, in order, as `funcs` and `views`.
    pub fn new(
        profile: Profile,
        python: PythonVersion,
        funcs: Vec<MemoizedId>,
        views: Vec<CachedId>,
    ) -> Self {
        App {
            profile,
            python,
            funcs,
            views,
        }
    }

    fn func(&self, f: Func) -> MemoizedId {
        let i = FUNCS.iter().position(|x| *x == f).unwrap_or(0);
        self.funcs.get(i).copied().unwrap_or(MemoizedId(i))
    }

    fn view(&self, v: View) -> CachedId {
        let i = VIEWS.iter().position(|x| *x == v).unwrap_or(0);
        self.views.get(i).copied().unwrap_or(CachedId(i))
    }

    /// The command of a call of `target`.
    pub fn call(&self, target: Target, via: bool) -> Command {
        let t = target.normalized();
        match t {
            Target::Memo { func, inst, arg } => {
                let (bound_to, args, kwargs) = self.memo_call(func, inst, arg, via);
                Command::CallMemoized {
                    function: self.func(func),
                    bound_to,
                    args,
                    kwargs,
                }
            }
            Target::Page { view, .. } => {
                let (path, mut args) = request_of(t);
                if via && view == View::All {
                    args.push(("ignored".into(), "1".into()));
                }
                Command::CallCached {
                    view: self.view(view),
                    request: Some(Request { path, args }),
                    prefix_result: self.prefix_result(t),
                    custom_key: None,
                }
            }
        }
    }

    fn prefix_result(&self, t: Target) -> Option<String> {
        match t.normalized() {
            Target::Page {
                view: View::Call,
                arg,
            } => Some(format!("callable_{arg}")),
            _ => None,
        }
    }

    /// Receiver, positional and keyword arguments of a memoized call.
    fn memo_call(
        &self,
        func: Func,
        inst: u8,
        arg: u8,
        via: bool,
    ) -> (Option<Receiver>, Vec<Value>, Vec<(String, Value)>) {
        match func {
            Func::GetStudent if via => (None, vec![], vec![("sid".into(), int(arg))]),
            Func::GetStudent | Func::Stat => (None, vec![int(arg)], vec![]),
            Func::Grades => (
                Some(Receiver::Instance(Box::new(student(inst)))),
                vec![Value::str(term(arg))],
                vec![],
            ),
            Func::GetNumber if via => (
                Some(Receiver::Instance(Box::new(calc_instance()))),
                vec![int(arg)],
                vec![],
            ),
            Func::GetNumber => (Some(Receiver::Class(calc_class())), vec![int(arg)], vec![]),
            Func::Search => (
                None,
                vec![Value::str(search_q(arg))],
                search_limit(arg)
                    .map(|l| ("limit".to_owned(), Value::int(l)))
                    .into_iter()
                    .collect(),
            ),
            Func::Count => (None, vec![], vec![]),
        }
    }

    /// The key a view call is stored under (what a developer who read the docs deletes).
    pub fn view_key(&self, target: Target) -> Option<String> {
        let t = target.normalized();
        let Target::Page { view, .. } = t else {
            return None;
        };
        let (path, args) = request_of(t);
        let prefix = self.prefix_result(t);
        let decl = App::declarations(self.profile, &AppKnobs::default());
        let options = decl.iter().filter_map(|d| match d {
            Declaration::Cached(_, o) => Some(o),
            Declaration::Memoize(..) => None,
        });
        let spec = options
            .clone()
            .nth(VIEWS.iter().position(|v| *v == view).unwrap_or(0))?;
        let input = ViewKeyInput {
            request: Some(RequestInfo {
                path: &path,
                args: &args,
            }),
            mode: ViewKeyMode::Request,
            prefix_result: prefix.as_deref(),
        };
        view_key(&spec.key, &input, self.profile, self.python).ok()
    }

    /// The command of an invalidation of `target` written as `form`.
    pub fn invalidate(&self, target: Target, form: Form) -> Command {
        let t = target.normalized();
        let form = form.for_target(t);
        let delete = |key: String| Command::Backend(StoreOp::Delete { key });
        match (t, form) {
            (_, Form::Clear) => Command::Backend(StoreOp::Clear),
            (Target::Memo { func, inst, arg }, form) => {
                let function = self.func(func);
                let class_bound = || Some(Receiver::Class(calc_class()));
                let instance = || Some(Receiver::Instance(Box::new(student(inst))));
                // How `f` itself is spelled: classmethods are always reached bound.
                let reset_receiver = match func {
                    Func::GetNumber => class_bound(),
                    _ => None,
                };
                let dm = |bound_to, args, kwargs| Command::DeleteMemoized {
                    function,
                    bound_to,
                    args,
                    kwargs,
                };
                match form {
                    Form::Reset => dm(reset_receiver, vec![], vec![]),
                    Form::ResetInstance => dm(instance(), vec![], vec![]),
                    Form::Verhash => Command::DeleteMemoizedVerhash {
                        function,
                        bound_to: reset_receiver,
                    },
                    Form::Keyword => dm(None, vec![], vec![("sid".into(), int(arg))]),
                    Form::StrArg => dm(None, vec![Value::str(arg.to_string())], vec![]),
                    Form::FalsyDefault => dm(None, vec![int(arg), Value::Bool(false)], vec![]),
                    Form::Bound => dm(instance(), vec![Value::str(term(arg))], vec![]),
                    Form::BoundWithSelf => dm(
                        instance(),
                        vec![
                            Value::Object(Box::new(student(inst))),
                            Value::str(term(arg)),
                        ],
                        vec![],
                    ),
                    Form::SelfViaClass => dm(None, vec![Value::str(term(arg))], vec![]),
                    Form::ClassmethodNoCls => dm(class_bound(), vec![int(arg)], vec![]),
                    _ => match func {
                        Func::Grades => dm(
                            None,
                            vec![
                                Value::Object(Box::new(student(inst))),
                                Value::str(term(arg)),
                            ],
                            vec![],
                        ),
                        Func::GetNumber => dm(
                            class_bound(),
                            vec![Value::Class(calc_class()), int(arg)],
                            vec![],
                        ),
                        _ => {
                            let (_, args, kwargs) = self.memo_call(func, inst, arg, false);
                            dm(None, args, kwargs)
                        }
                    },
                }
            }
            (Target::Page { view, arg }, form) => {
                let (path, _) = request_of(t);
                match form {
                    Form::DeleteCached => {
                        let (path_arg, query_args) = match view {
                            View::Lit | View::Call => (None, None),
                            View::Works => {
                                let mut q = format!("limit={}", arg % 3 + 1);
                                if arg >= 3 {
                                    q.push_str("&mock=true");
                                }
                                (Some(path.clone()), Some(QueryArgs::String(q)))
                            }
                            View::All | View::Page => (Some(path.clone()), None),
                        };
                        Command::DeleteCached {
                            view: self.view(view),
                            path: path_arg,
                            query_args,
                            url_for: None,
                            prefix_result: self.prefix_result(t),
                            request: None,
                        }
                    }
                    Form::BarePath => delete(path),
                    Form::SingleSlash => delete(format!("view{path}")),
                    Form::PathKeyForLiteral | Form::PathKeyForQuery => {
                        delete(format!("view/{path}"))
                    }
                    _ => delete(self.view_key(t).unwrap_or(path)),
                }
            }
        }
    }

    /// The Python spelling of an invalidation: `cache.delete('/demo/student/all')`.
    pub fn describe_invalidation(&self, target: Target, form: Form) -> String {
        describe_command(&self.invalidate(target, form), self.python)
    }

    /// The command of a backend proxy call.
    pub fn backend(&self, call: BackendCall) -> Command {
        let two = |a: u8, b: u8| vec![backend_key(a), backend_key(b)];
        let value = |i: u8| Value::int(i64::from(i));
        Command::Backend(match call {
            BackendCall::Get(k) => StoreOp::Get {
                key: backend_key(k),
            },
            BackendCall::Has(k) => StoreOp::Has {
                key: backend_key(k),
            },
            BackendCall::Set(k, t) => StoreOp::Set {
                key: backend_key(k),
                value: value(t),
                timeout: backend_timeout(t),
            },
            BackendCall::Add(k, t) => StoreOp::Add {
                key: backend_key(k),
                value: value(t),
                timeout: backend_timeout(t),
            },
            BackendCall::GetMany(a, b) => StoreOp::GetMany { keys: two(a, b) },
            BackendCall::SetMany(a, b) => StoreOp::SetMany {
                items: vec![(backend_key(a), value(a)), (backend_key(b), value(b))],
                timeout: backend_timeout(b),
            },
            BackendCall::DeleteMany(a, b) => StoreOp::DeleteMany { keys: two(a, b) },
            BackendCall::Clear => StoreOp::Clear,
        })
    }
}

/// The names the app's functions and views go by in descriptions.
fn function_name(id: MemoizedId) -> &'static str {
    match FUNCS.get(id.0) {
        Some(Func::GetStudent) => "get_student",
        Some(Func::Grades) => "Student.grades",
        Some(Func::GetNumber) => "Calc.get_number",
        Some(Func::Stat) => "Calc.stat",
        Some(Func::Search) => "search",
        Some(Func::Count) => "count",
        None => "f",
    }
}

fn view_name(id: CachedId) -> &'static str {
    match VIEWS.get(id.0) {
        Some(View::All) => "student_all",
        Some(View::Lit) => "student_lit",
        Some(View::Page) => "student_page",
        Some(View::Works) => "works",
        Some(View::Call) => "call",
        None => "view",
    }
}

fn receiver_prefix(name: &str, bound_to: Option<&Receiver>) -> String {
    match bound_to {
        Some(Receiver::Instance(obj)) => match name.rsplit_once('.') {
            Some((_, method)) => format!("{}.{method}", obj.repr),
            None => format!("{}.{name}", obj.repr),
        },
        _ => name.to_owned(),
    }
}

fn arg_list(args: &[Value], kwargs: &[(String, Value)], py: PythonVersion) -> String {
    let mut parts: Vec<String> = args
        .iter()
        .map(|a| match a {
            Value::Object(o) => o.repr.clone(),
            Value::Class(c) => c.qualname.clone(),
            other => other.repr(py),
        })
        .collect();
    parts.extend(kwargs.iter().map(|(k, v)| format!("{k}={}", v.repr(py))));
    parts.join(", ")
}

/// A command of the app, as the Python call it stands for.
pub fn describe_command(command: &Command, py: PythonVersion) -> String {
    match command {
        Command::CallMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => format!(
            "{}({})",
            receiver_prefix(function_name(*function), bound_to.as_ref()),
            arg_list(args, kwargs, py)
        ),
        Command::CallCached { request, .. } => match request {
            Some(r) => {
                let mut s = format!("GET {}", r.path);
                for (i, (k, v)) in r.args.iter().enumerate() {
                    s.push(if i == 0 { '?' } else { '&' });
                    s.push_str(&format!("{k}={v}"));
                }
                s
            }
            None => "call outside a request".into(),
        },
        Command::DeleteMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => {
            let f = receiver_prefix(function_name(*function), bound_to.as_ref());
            let rest = arg_list(args, kwargs, py);
            if rest.is_empty() {
                format!("delete_memoized({f})")
            } else {
                format!("delete_memoized({f}, {rest})")
            }
        }
        Command::DeleteMemoizedVerhash { function, bound_to } => format!(
            "delete_memoized_verhash({})",
            receiver_prefix(function_name(*function), bound_to.as_ref())
        ),
        Command::DeleteCached {
            view,
            path,
            query_args,
            ..
        } => {
            let mut s = format!("delete_cached({}", view_name(*view));
            if let Some(p) = path {
                s.push_str(&format!(", {}", py_str(p)));
            }
            if let Some(QueryArgs::String(q)) = query_args {
                s.push_str(&format!(", {}", py_str(q)));
            }
            s.push(')');
            s
        }
        Command::Backend(op) => crate::transcript::render_op(op, py),
        Command::Tick => "tick".into(),
    }
}

/// Per-run knobs of the app itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppKnobs {
    /// `get_student`'s memoize timeout.
    pub get_student_timeout: Option<i64>,
    /// Whether the hooks are declared.
    pub hooks: bool,
}

impl Default for AppKnobs {
    fn default() -> Self {
        AppKnobs {
            get_student_timeout: Some(600),
            hooks: true,
        }
    }
}

/// Everything a run's seed decides before the history: the profile and configuration, and
/// the swarm (which kinds of action, delete forms and faults are on, and their weights).
#[derive(Clone, Debug, PartialEq)]
pub struct RunSetup {
    /// The run's index under its seed.
    pub run: u64,
    /// The run's own seed (derived from the explore seed and the index).
    pub seed: u64,
    /// The Flask-Caching release.
    pub profile: Profile,
    /// The Python whose reprs are hashed.
    pub python: PythonVersion,
    /// `app.debug`.
    pub debug: bool,
    /// `CACHE_THRESHOLD`.
    pub threshold: usize,
    /// The app's knobs.
    pub knobs: AppKnobs,
    /// Weights of the action kinds ([`ACTION_KINDS`] order); 0 = off.
    pub weights: [u32; 9],
    /// Delete forms that are on.
    pub forms: Vec<Form>,
    /// Fault kinds that are on ([`crate::model::OpKind::ALL`] order).
    pub fault_kinds: [bool; 9],
    /// Probability that a given backend call fails.
    pub fault_rate: f64,
    /// Probability of each hook answer bit.
    pub hook_rate: f64,
    /// Seed of the memoize version strings.
    pub version_seed: u64,
    /// The clock at the start.
    pub start: Timestamp,
}

impl RunSetup {
    /// The setup of run `run` under `seed`. `profile` fixes the release (else drawn);
    /// `fault_rate` is the probability that a backend call fails.
    pub fn new(seed: u64, run: u64, profile: Option<Profile>, fault_rate: f64) -> RunSetup {
        let run_seed = SplitMix64::fork(seed, run).next_u64();
        let mut r = SplitMix64::new(run_seed);
        let profile = profile.unwrap_or(Profile::ALL[r.index(Profile::ALL.len())]);
        let python = match profile {
            Profile::FlaskCache013 => PythonVersion::Py37,
            _ if r.chance(0.25) => PythonVersion::Py312,
            _ => PythonVersion::Py311,
        };
        let debug = r.chance(0.1);
        let threshold = [3usize, 6, 12, 40, 500][r.index(5)];
        let knobs = AppKnobs {
            get_student_timeout: [Some(600), Some(30), Some(0), None, Some(-1)][r.index(5)],
            hooks: r.chance(0.7),
        };
        let mut weights = [0u32; 9];
        for (w, kind) in weights.iter_mut().zip(ACTION_KINDS) {
            let on = match kind {
                ActionKind::CallMemoized | ActionKind::CallView | ActionKind::Tick => r.chance(0.9),
                _ => r.chance(0.7),
            };
            if on {
                *w = kind.base_weight() * (1 + r.below(4) as u32);
            }
        }
        if weights[0] == 0 && weights[1] == 0 {
            weights[0] = ActionKind::CallMemoized.base_weight();
        }
        let mut forms: Vec<Form> = FORMS.iter().copied().filter(|_| r.chance(0.75)).collect();
        if forms.is_empty() {
            forms.push(Form::Exact);
        }
        let mut fault_kinds = [false; 9];
        for on in fault_kinds.iter_mut() {
            *on = r.chance(0.7);
        }
        let hook_rate = [0.0, 0.1, 0.3][r.index(3)];
        let version_seed = r.next_u64();
        let start = Timestamp::from_micros(1_000_000_250_000 + r.below(1_000_000) as i64);
        RunSetup {
            run,
            seed: run_seed,
            profile,
            python,
            debug,
            threshold,
            knobs,
            weights,
            forms,
            fault_kinds,
            fault_rate,
            hook_rate,
            version_seed,
            start,
        }
    }

    /// A plain setup for curated scenarios: no swarm, no faults, no debug.
    pub fn plain(profile: Profile) -> RunSetup {
        RunSetup {
            run: 0,
            seed: 0,
            profile,
            python: match profile {
                Profile::FlaskCache013 => PythonVersion::Py37,
                _ => PythonVersion::Py311,
            },
            debug: false,
            threshold: 500,
            knobs: AppKnobs {
                get_student_timeout: Some(600),
                hooks: false,
            },
            weights: [1; 9],
            forms: FORMS.to_vec(),
            fault_kinds: [true; 9],
            fault_rate: 0.0,
            hook_rate: 0.0,
            version_seed: 1,
            start: Timestamp::from_micros(1_000_000_250_000),
        }
    }

    /// The swarm's choices, one line.
    pub fn describe(&self) -> String {
        let kinds: Vec<String> = ACTION_KINDS
            .iter()
            .zip(self.weights)
            .filter(|(_, w)| *w > 0)
            .map(|(k, w)| format!("{}={w}", k.name()))
            .collect();
        format!(
            "profile {} python {} debug {} threshold {} get_student timeout {} hooks {}; {}; {} forms; fault rate {}",
            self.profile.as_str(),
            self.python.as_str(),
            if self.debug { "True" } else { "False" },
            self.threshold,
            self.knobs
                .get_student_timeout
                .map_or("None".to_owned(), |t| t.to_string()),
            self.knobs.hooks,
            kinds.join(" "),
            self.forms.len(),
            self.fault_rate,
        )
    }
}

fn random_target(r: &mut SplitMix64, memo: bool) -> Target {
    let arg = r.below(8) as u8;
    if memo {
        Target::Memo {
            func: FUNCS[r.index(FUNCS.len())],
            inst: r.below(u64::from(INSTANCES)) as u8,
            arg,
        }
        .normalized()
    } else {
        Target::Page {
            view: VIEWS[r.index(VIEWS.len())],
            arg,
        }
        .normalized()
    }
}

/// A target that reads `row`, preferably one called recently.
fn target_reading(r: &mut SplitMix64, recent: &[Target], row: u8) -> Target {
    let readers: Vec<Target> = recent
        .iter()
        .copied()
        .filter(|t| t.rows().contains(&row))
        .collect();
    if !readers.is_empty() && r.chance(0.8) {
        return readers[r.index(readers.len())];
    }
    for _ in 0..16 {
        let memo = r.chance(0.6);
        let t = random_target(r, memo);
        if t.rows().contains(&row) {
            return t;
        }
    }
    Target::Memo {
        func: Func::GetStudent,
        inst: 0,
        arg: row % ROWS,
    }
}

/// A target: often one called recently (a hot set), else any.
fn pick_target(r: &mut SplitMix64, recent: &[Target], memo: bool, p_recent: f64) -> Target {
    let hot: Vec<Target> = recent
        .iter()
        .copied()
        .filter(|t| matches!(t, Target::Memo { .. }) == memo)
        .collect();
    if !hot.is_empty() && r.chance(p_recent) {
        return hot[r.index(hot.len())];
    }
    random_target(r, memo)
}

fn env(r: &mut SplitMix64, setup: &RunSetup) -> Env {
    let mut hooks = 0u8;
    for bit in 0..4 {
        let p = if bit == 0 {
            setup.hook_rate / 3.0
        } else {
            setup.hook_rate
        };
        if r.chance(p) {
            hooks |= 1 << bit;
        }
    }
    let mut faults = 0u32;
    if setup.fault_rate > 0.0 {
        for (kind, on) in setup.fault_kinds.iter().enumerate() {
            for k in 0..FAULT_SLOTS {
                if *on && r.chance(setup.fault_rate) {
                    faults |= 1 << (kind * FAULT_SLOTS + k);
                }
            }
        }
    }
    Env { hooks, faults }
}

fn invalidation(r: &mut SplitMix64, setup: &RunSetup, target: Target) -> Action {
    let forms: Vec<Form> = setup
        .forms
        .iter()
        .copied()
        .filter(|f| f.applies(target))
        .collect();
    let form = match forms.len() {
        0 => Form::Exact.for_target(target),
        n => forms[r.index(n)],
    };
    Action::Invalidate {
        target,
        form,
        env: env(r, setup),
    }
}

/// The history of a run: `ops` actions drawn from the setup's seed and swarm.
pub fn generate(setup: &RunSetup, ops: usize) -> Vec<Action> {
    let mut r = SplitMix64::new(setup.seed ^ 0x5157_4152_4d5f_4f50);
    let mut out = Vec::with_capacity(ops);
    let mut recent: Vec<Target> = Vec::new();
    while out.len() < ops {
        let Some(k) = r.weighted(&setup.weights) else {
            break;
        };
        let kind = ACTION_KINDS[k];
        let action = match kind {
            ActionKind::CallMemoized | ActionKind::CallView => {
                let target = pick_target(&mut r, &recent, kind == ActionKind::CallMemoized, 0.5);
                if !recent.contains(&target) {
                    if recent.len() >= 12 {
                        recent.remove(0);
                    }
                    recent.push(target);
                }
                Action::Call {
                    target,
                    via: r.chance(0.2),
                    env: env(&mut r, setup),
                }
            }
            ActionKind::Invalidate => {
                let memo = r.chance(0.6);
                let target = pick_target(&mut r, &recent, memo, 0.8);
                invalidation(&mut r, setup, target)
            }
            ActionKind::WriteRow => {
                let row = r.below(u64::from(ROWS)) as u8;
                let change = match r.below(6) {
                    0 => RowChange::Remove,
                    1 => RowChange::Restore,
                    _ => RowChange::Rename,
                };
                out.push(Action::WriteRow { row, change });
                // Most writes are followed by the app's invalidation of something that
                // reads the row (right or wrong).
                if setup.weights[2] > 0 && r.chance(0.7) && out.len() < ops {
                    let target = target_reading(&mut r, &recent, row);
                    out.push(invalidation(&mut r, setup, target));
                }
                continue;
            }
            ActionKind::Backend => {
                let (a, b) = (r.below(8) as u8, r.below(8) as u8);
                let call = match r.below(7) {
                    0 => BackendCall::Get(a),
                    1 => BackendCall::Has(a),
                    2 => BackendCall::Set(a, b),
                    3 => BackendCall::Add(a, b),
                    4 => BackendCall::GetMany(a, b),
                    5 => BackendCall::SetMany(a, b),
                    _ => BackendCall::DeleteMany(a, b),
                };
                Action::Backend {
                    call,
                    env: env(&mut r, setup),
                }
            }
            ActionKind::Clear => Action::Backend {
                call: BackendCall::Clear,
                env: env(&mut r, setup),
            },
            ActionKind::Tick => Action::Tick {
                millis: {
                    const TICKS: [u32; 6] = [100, 1_000, 5_000, 29_000, 61_000, 301_000];
                    let i = r.weighted(&[5, 5, 3, 2, 1, 1]).unwrap_or(0);
                    TICKS[i % TICKS.len()] + r.below(1_000) as u32
                },
            },
            ActionKind::ClockJump => Action::ClockJump {
                jump: match r.below(20) {
                    0 => Jump::EndOfTime,
                    1 | 2 => Jump::FarFuture,
                    3..=5 => Jump::Year,
                    6..=10 => Jump::Day,
                    _ => Jump::Hour,
                },
            },
            ActionKind::LoseVersionKey => Action::LoseVersionKey {
                pick: r.below(8) as u8,
            },
        };
        out.push(action);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_history() {
        let s = RunSetup::new(7, 3, None, 0.01);
        assert_eq!(generate(&s, 300), generate(&s, 300));
        assert_eq!(s, RunSetup::new(7, 3, None, 0.01));
        assert_ne!(s.seed, RunSetup::new(7, 4, None, 0.01).seed);
    }

    #[test]
    fn every_form_has_a_target() {
        for form in FORMS {
            let any = FUNCS.iter().any(|&func| {
                form.applies(Target::Memo {
                    func,
                    inst: 0,
                    arg: 0,
                })
            }) || VIEWS
                .iter()
                .any(|&view| form.applies(Target::Page { view, arg: 0 }));
            assert!(any, "{form:?}");
        }
    }

    #[test]
    fn view_keys() {
        let app = App::new(
            Profile::FlaskCaching25,
            PythonVersion::Py311,
            vec![],
            vec![],
        );
        let all = Target::Page {
            view: View::All,
            arg: 0,
        };
        assert_eq!(app.view_key(all).as_deref(), Some("view//demo/student/all"));
        assert_eq!(
            app.describe_invalidation(all, Form::BarePath),
            "delete('/demo/student/all')"
        );
    }

    #[test]
    fn generation_numbers() {
        assert_eq!(generation(&Value::str("Ann r2 #17")), Some(17));
        assert_eq!(generation(&Value::int(3)), None);
    }
}
