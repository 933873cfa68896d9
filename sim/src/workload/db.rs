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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_numbers() {
        assert_eq!(generation(&Value::str("Ann r2 #17")), Some(17));
        assert_eq!(generation(&Value::int(3)), None);
    }
}
