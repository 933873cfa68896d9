//! The simulated database (a students table whose rows change) and the bodies of the
//! app's functions over it: every result carries its generation (`'Ann r2 #17'`).

use super::action::RowChange;
use super::target::{search_q, term, Func, Target, View, ROWS};
use flaskcache_engine::error::{PyError, PyExceptionType};
use flaskcache_engine::Value;

const NAMES: [&str; 8] = ["Ann", "Bob", "Cy", "Di", "Eve", "Flo", "Gus", "Hal"];

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
        let rows = t.rows();
        let mut deps: Vec<Dep> = Vec::with_capacity(rows.len());
        for r in rows {
            deps.push((r, self.rev(r)));
        }
        let missing = |i: u8| Err(PyError::new(PyExceptionType::KeyError, i.to_string()));
        // The texts are built piece by piece rather than with `format!` (a body runs on
        // every miss); each comment gives the text as a format string.
        let mut text = String::with_capacity(32);
        let result = match t {
            Target::Memo { func, inst, arg } => match func {
                // `{n} r{rev} #{gen}`
                Func::GetStudent => Ok(match self.name(arg) {
                    Some(n) => Value::Str(self.named(text, &[n], arg, gen)),
                    None => Value::None,
                }),
                // `{n} {term} r{rev} #{gen}`
                Func::Grades => match self.name(inst) {
                    Some(n) => Ok(Value::Str(self.named(
                        text,
                        &[n, " ", term(arg)],
                        inst,
                        gen,
                    ))),
                    None => missing(inst),
                },
                // `{n}={arg} r{rev} #{gen}`
                Func::GetNumber | Func::Stat => match self.name(arg) {
                    Some(n) => {
                        let mut number = String::with_capacity(3);
                        push_number(&mut number, u64::from(arg));
                        Ok(Value::Str(self.named(text, &[n, "=", &number], arg, gen)))
                    }
                    None => missing(arg),
                },
                // `{q}: {hits} hits #{gen}`
                Func::Search => {
                    let q = search_q(arg);
                    let hits = (0..ROWS)
                        .filter_map(|r| self.name(r))
                        .filter(|n| n.to_lowercase().contains(q))
                        .count();
                    text.push_str(q);
                    text.push_str(": ");
                    push_number(&mut text, hits as u64);
                    text.push_str(" hits");
                    Ok(Value::Str(generation_tag(text, gen)))
                }
                // `{n} students #{gen}`
                Func::Count => {
                    let n = (0..ROWS).filter(|r| self.name(*r).is_some()).count();
                    push_number(&mut text, n as u64);
                    text.push_str(" students");
                    Ok(Value::Str(generation_tag(text, gen)))
                }
            },
            Target::Page { view, arg } => Ok(Value::Str(match view {
                // `{names joined by ','} #{gen}`
                View::All | View::Lit => {
                    for (i, name) in (0..ROWS).filter_map(|r| self.name(r)).enumerate() {
                        if i > 0 {
                            text.push(',');
                        }
                        text.push_str(name);
                    }
                    generation_tag(text, gen)
                }
                // `{n} r{rev} #{gen}`, or `no student {arg} #{gen}`
                View::Page | View::Call => match self.name(arg) {
                    Some(n) => self.named(text, &[n], arg, gen),
                    None => {
                        text.push_str("no student ");
                        push_number(&mut text, u64::from(arg));
                        generation_tag(text, gen)
                    }
                },
                // `works limit {arg % 3 + 1} #{gen}`
                View::Works => {
                    text.push_str("works limit ");
                    push_number(&mut text, u64::from(arg % 3 + 1));
                    generation_tag(text, gen)
                }
            })),
        };
        (result, deps)
    }

    /// `{pieces} r{rev of row} #{gen}`, in `text`.
    fn named(&self, mut text: String, pieces: &[&str], row: u8, gen: u64) -> String {
        for piece in pieces {
            text.push_str(piece);
        }
        text.push_str(" r");
        push_number(&mut text, u64::from(self.rev(row)));
        generation_tag(text, gen)
    }
}

/// `n` in decimal, appended.
fn push_number(text: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(d) = digits.get_mut(start) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    for &d in digits.get(start..).unwrap_or_default() {
        text.push(char::from(d));
    }
}

/// `text` followed by ` #{gen}`.
fn generation_tag(mut text: String, gen: u64) -> String {
    text.push_str(" #");
    push_number(&mut text, gen);
    text
}

/// The generation number a computed value carries (`'Ann r2 #17'` → 17).
pub fn generation(value: &Value) -> Option<u64> {
    match value {
        Value::Str(s) => s.rsplit_once('#').and_then(|(_, g)| g.parse().ok()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_decimal() {
        for n in [0u64, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut text = String::new();
            push_number(&mut text, n);
            assert_eq!(text, n.to_string());
        }
    }

    #[test]
    fn generation_numbers() {
        assert_eq!(generation(&Value::str("Ann r2 #17")), Some(17));
        assert_eq!(generation(&Value::int(3)), None);
    }
}
