//! The vocabulary of a history: [`Action`]s and what they are made of (delete forms,
//! database changes, backend proxy calls, clock jumps, hook answers and planned faults).

use super::target::{Func, Target, View};
use arbitrary::Arbitrary;

/// Backend calls whose `k`-th occurrence (k < this) can be planned to fail.
pub const FAULT_SLOTS: usize = 3;

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

pub(super) fn backend_key(i: u8) -> String {
    BACKEND_KEYS
        .get(usize::from(i) % BACKEND_KEYS.len())
        .copied()
        .unwrap_or("k0")
        .to_owned()
}

pub(super) fn backend_timeout(i: u8) -> Option<i64> {
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

    pub(super) fn base_weight(self) -> u32 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{FUNCS, VIEWS};

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
}
