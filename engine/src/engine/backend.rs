//! Typed backend calls: each checks that the reply has the shape the operation returns.
//! Compiled twice with the flows (`super` is `stepped` or `immediate`, see `mod.rs`).

use super::{flow, Effects};
use crate::engine::effects::{unexpected, Flow};
use crate::store::{StoreError, StoreOp, StoreReply};
use crate::value::Value;

fn shape(expected: &'static str) -> Flow {
    unexpected(expected)
}

/// `cache.get(key)`: the key is lent to the backend.
#[flow]
pub(crate) async fn get(
    fx: &mut impl Effects,
    key: &mut String,
) -> Result<Result<Value, StoreError>, Flow> {
    match fx.get(key).await? {
        Ok(StoreReply::Value(v)) => Ok(Ok(v)),
        Ok(_) => Err(shape("StoreReply::Value for get")),
        Err(e) => Ok(Err(e)),
    }
}

/// `cache.has(key)`.
#[flow]
pub(crate) async fn has(
    fx: &mut impl Effects,
    key: &str,
) -> Result<Result<bool, StoreError>, Flow> {
    match fx
        .store(&StoreOp::Has {
            key: key.to_owned(),
        })
        .await?
    {
        Ok(reply) => reply
            .flag()
            .map(Ok)
            .ok_or_else(|| shape("StoreReply::Bool for has")),
        Err(e) => Ok(Err(e)),
    }
}

/// `cache.get_many(*keys)` when only stored `str`s are wanted: `Ok(None)` when each key
/// held one and they were appended to `joined`, else the values (one per key).
#[flow]
pub(crate) async fn get_many_joined(
    fx: &mut impl Effects,
    keys: &[&str],
    joined: &mut String,
) -> Result<Result<Option<Vec<Value>>, StoreError>, Flow> {
    match fx.get_many_joined(keys, joined).await? {
        Ok(None) => Ok(Ok(None)),
        Ok(Some(StoreReply::Values(v))) if v.len() == keys.len() => Ok(Ok(Some(v))),
        Ok(Some(_)) => Err(shape(
            "StoreReply::Values with one value per key for get_many",
        )),
        Err(e) => Ok(Err(e)),
    }
}

/// `cache.get_many(*keys)`: one value per key.
#[flow]
pub(crate) async fn get_many(
    fx: &mut impl Effects,
    keys: &[&str],
) -> Result<Result<Vec<Value>, StoreError>, Flow> {
    let op = StoreOp::get_many_of(keys);
    match fx.store_owned(op).await? {
        Ok(StoreReply::Values(v)) if v.len() == keys.len() => Ok(Ok(v)),
        Ok(_) => Err(shape(
            "StoreReply::Values with one value per key for get_many",
        )),
        Err(e) => Ok(Err(e)),
    }
}

/// Any write whose reply the flow ignores (`set`, `set_many`, `delete`, ...): only the
/// failure matters.
#[flow]
pub(crate) async fn write(
    fx: &mut impl Effects,
    op: StoreOp,
) -> Result<Result<StoreReply, StoreError>, Flow> {
    fx.store_owned(op).await
}
