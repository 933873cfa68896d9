//! The simulated application and its workload.
//!
//! The app is a small Flask app over a database of students whose rows change: `@cached`
//! views with each `key_prefix` style (default `view/%s`, a literal key, a callable, a
//! `query_string` view), memoized plain functions, an instance method on several
//! instances, a classmethod and a staticmethod. Every function result is derived from the
//! database rows it reads and carries a generation number (`'Ann r2 #17'`), so a hit that
//! returns an old row is recognisable.
//!
//! A run's history is a list of [`Action`]s drawn by [`generate()`] from a seed: calls,
//! database writes, invalidations in every form (the right ones and the well-known wrong
//! ones: a bare path, a literal-prefix confusion, a classmethod without `cls`, an instance
//! method through the class, ...), direct backend calls, clock ticks and jumps, and lost
//! version keys. Swarm testing: each run ([`RunSetup::new`]) switches some kinds of action,
//! some delete forms and some fault kinds off, and weighs the rest at random.
//!
//! One module per concept: [`target`] (the calls), [`action`] (what a history is made
//! of), [`db`] (the database and the functions' bodies), [`app`] (the app and the commands
//! it issues), [`describe`] (commands as Python calls) and [`mod@generate`] (setups and
//! histories).

pub mod action;
pub mod app;
pub mod db;
pub mod describe;
pub mod generate;
pub mod rng;
pub mod target;

pub use action::{
    Action, ActionKind, BackendCall, Env, Form, Jump, RowChange, ACTION_KINDS, FAULT_SLOTS, FORMS,
};
pub use app::{student, App, AppKnobs, Declaration};
pub use db::{generation, Db, Dep, Row};
pub use describe::{describe_command, py_str};
pub use generate::{generate, RunSetup};
pub use target::{Func, Target, View, FUNCS, INSTANCES, ROWS, VIEWS};
