//! flaskcache-sim: the tools around the engine, and the `flaskcache` command.
//!
//! - [`pyjson`]: the tagged JSON form of Python values and function descriptors;
//! - [`vectors`]: golden key vectors recorded from the real library, and their check;
//! - [`transcript`]: engine calls rendered as the Python calls Flask-Caching makes;
//! - [`trace`] and [`replay`]: traces of real apps (written by `sim/recorder`) and their
//!   step-by-step replay through the engine;
//! - [`oracle`]: random workloads run in the real library and replayed;
//! - [`model`], [`workload`], [`explore`]: the reference model, simulated apps, and seeded
//!   exploration with fault injection and shrinking;
//! - [`fuzzing`]: the bodies of the fuzz targets in `fuzz/`;
//! - [`redis_tool`]: `flaskcache redis`, the tool for a Flask app's Redis cache;
//! - [`explain`]: `flaskcache explain`, why a delete missed, with the call that works.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
pub mod explain;
pub mod explore;
pub mod fuzzing;
pub mod model;
pub mod oracle;
pub mod pyjson;
pub mod redis_tool;
pub mod replay;
pub mod trace;
pub mod transcript;
pub mod vectors;
pub mod workload;
