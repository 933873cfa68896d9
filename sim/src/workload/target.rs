//! The app's calls: its memoized functions and views, and [`Target`], a logical call
//! (what a user asks for), with the arguments and request each one is spelled with.

use super::describe::py_str;
use arbitrary::Arbitrary;

/// Rows in the students table.
pub const ROWS: u8 = 4;
/// `Student` instances whose `grades` method is memoized.
pub const INSTANCES: u8 = 3;

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

    /// Whether the call reads row `row`: `rows().contains(&row)`, without the list.
    pub fn reads(self, row: u8) -> bool {
        match self.normalized() {
            Target::Memo { func, inst, arg } => match func {
                Func::GetStudent | Func::GetNumber | Func::Stat => arg < ROWS && arg == row,
                Func::Grades => inst == row,
                Func::Search | Func::Count => row < ROWS,
            },
            Target::Page { view, arg } => match view {
                View::All | View::Lit | View::Works => row < ROWS,
                View::Page | View::Call => arg < ROWS && arg == row,
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

pub(super) fn term(arg: u8) -> &'static str {
    TERMS.get(usize::from(arg)).copied().unwrap_or("2024S")
}

pub(super) fn search_q(arg: u8) -> &'static str {
    QUERIES
        .get(usize::from(arg) % QUERIES.len())
        .copied()
        .unwrap_or("a")
}

pub(super) fn search_limit(arg: u8) -> Option<i64> {
    (usize::from(arg) >= QUERIES.len()).then_some(5)
}

/// The request path and query pairs of a view call.
pub(super) fn request_of(t: Target) -> (String, Vec<(String, String)>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_is_rows_contains() {
        for sel in 0..12u8 {
            let memo = FUNCS.iter().map(|&func| Target::Memo {
                func,
                inst: sel,
                arg: sel.wrapping_mul(7),
            });
            let pages = VIEWS.iter().map(|&view| Target::Page { view, arg: sel });
            for t in memo.chain(pages) {
                for row in 0..=ROWS + 1 {
                    assert_eq!(t.reads(row), t.rows().contains(&row), "{t:?} row {row}");
                }
            }
        }
    }
}
