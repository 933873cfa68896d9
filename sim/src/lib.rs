//! flaskcache-sim: tools around the engine. The tagged JSON form of Python values ([`pyjson`]),
//! the golden key vectors recorded from the real Flask-Caching ([`vectors`]), and
//! transcripts of engine calls in the form the Python recorder writes ([`transcript`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod explore;
pub mod fuzzing;
pub mod model;
pub mod oracle;
pub mod pyjson;
pub mod replay;
pub mod trace;
pub mod transcript;
pub mod vectors;
pub mod workload;
