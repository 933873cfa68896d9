//! Delta debugging over a failing history: the smallest list of actions (1-minimal: no
//! single action can be dropped) that still breaks the same invariant.

use super::run::{execute_guarded_on, Divergence, ExecOptions, StoreSpec};
use crate::workload::{Action, RunSetup};

/// The result of shrinking.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The minimal history.
    pub actions: Vec<Action>,
    /// The divergence it produces.
    pub divergence: Divergence,
    /// Histories executed while shrinking.
    pub tries: usize,
}

/// Whether `actions` still fails the same way (same invariant).
fn fails(
    setup: &RunSetup,
    store: &StoreSpec,
    actions: &[Action],
    kind: &str,
    tries: &mut usize,
) -> Option<Divergence> {
    *tries += 1;
    let report = execute_guarded_on(setup, store, actions, &ExecOptions::default());
    report.divergence.filter(|d| d.kind == kind)
}

/// Shrinks `actions`, which fail with `divergence`, within `budget` executions.
pub fn shrink(
    setup: &RunSetup,
    actions: &[Action],
    divergence: &Divergence,
    budget: usize,
) -> Shrunk {
    shrink_on(setup, &StoreSpec::Simple, actions, divergence, budget)
}

/// [`shrink`] with the engine over `store`.
pub fn shrink_on(
    setup: &RunSetup,
    store: &StoreSpec,
    actions: &[Action],
    divergence: &Divergence,
    budget: usize,
) -> Shrunk {
    let kind = divergence.kind.clone();
    let mut tries = 0usize;
    // Nothing after the failing step matters.
    let end = (divergence.step + 1).min(actions.len());
    let mut current: Vec<Action> = actions.get(..end).unwrap_or(actions).to_vec();
    let mut best = divergence.clone();
    if let Some(d) = fails(setup, store, &current, &kind, &mut tries) {
        best = d;
    } else {
        current = actions.to_vec();
    }
    // ddmin: try removing chunks, halving the chunk size when nothing can go.
    let mut chunks = 2usize;
    while current.len() >= 2 && tries < budget {
        let size = current.len().div_ceil(chunks);
        let mut removed_any = false;
        let mut start = 0usize;
        while start < current.len() && tries < budget {
            let end = (start + size).min(current.len());
            let mut candidate = Vec::with_capacity(current.len() - (end - start));
            candidate.extend_from_slice(&current[..start]);
            candidate.extend_from_slice(&current[end..]);
            if let Some(d) = fails(setup, store, &candidate, &kind, &mut tries) {
                // Keep the prefix up to the new failing step only.
                let keep = (d.step + 1).min(candidate.len());
                candidate.truncate(keep);
                current = candidate;
                best = d;
                removed_any = true;
            } else {
                start = end;
            }
        }
        if removed_any {
            chunks = chunks.saturating_sub(1).max(2);
        } else if size <= 1 {
            break;
        } else {
            chunks = (chunks * 2).min(current.len());
        }
    }
    Shrunk {
        actions: current,
        divergence: best,
        tries,
    }
}
