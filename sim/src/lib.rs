//! flaskcache-sim: tools around the engine. So far: the tagged JSON form of Python values
//! ([`pyjson`]) and the golden key vectors recorded from the real Flask-Caching
//! ([`vectors`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod pyjson;
pub mod vectors;
