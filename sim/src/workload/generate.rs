//! The generator: a run's setup and swarm ([`RunSetup`]) drawn from its seed, and its
//! history ([`generate`]).

use super::action::{
    Action, ActionKind, BackendCall, Env, Form, Jump, RowChange, ACTION_KINDS, FAULT_SLOTS, FORMS,
};
use super::app::AppKnobs;
use super::rng::SplitMix64;
use super::target::{Func, Target, FUNCS, INSTANCES, ROWS, VIEWS};
use flaskcache_engine::store::Timestamp;
use flaskcache_engine::{Profile, PythonVersion};

/// Everything a run's seed decides before the history: the profile and configuration, and
/// the swarm (which kinds of action, delete forms and faults are on, and their weights).
#[derive(Clone, Debug, PartialEq)]
pub struct RunSetup {
    /// The run's index under its seed.
    pub run: u64,
    /// The run's own seed (derived from the explore seed and the index).
    pub seed: u64,
    /// The Flask-Caching release.
    pub profile: Profile,
    /// The Python whose reprs are hashed.
    pub python: PythonVersion,
    /// `app.debug`.
    pub debug: bool,
    /// `CACHE_THRESHOLD`.
    pub threshold: usize,
    /// The app's knobs.
    pub knobs: AppKnobs,
    /// Weights of the action kinds ([`ACTION_KINDS`] order); 0 = off.
    pub weights: [u32; 9],
    /// Delete forms that are on.
    pub forms: Vec<Form>,
    /// Fault kinds that are on ([`crate::model::OpKind::ALL`] order).
    pub fault_kinds: [bool; 9],
    /// Probability that a given backend call fails.
    pub fault_rate: f64,
    /// Probability of each hook answer bit.
    pub hook_rate: f64,
    /// Seed of the memoize version strings.
    pub version_seed: u64,
    /// The clock at the start.
    pub start: Timestamp,
}

impl RunSetup {
    /// The setup of run `run` under `seed`. `profile` fixes the release (else drawn);
    /// `fault_rate` is the probability that a backend call fails.
    pub fn new(seed: u64, run: u64, profile: Option<Profile>, fault_rate: f64) -> RunSetup {
        let run_seed = SplitMix64::fork(seed, run).next_u64();
        let mut r = SplitMix64::new(run_seed);
        let profile = profile.unwrap_or(Profile::ALL[r.index(Profile::ALL.len())]);
        let python = match profile {
            Profile::FlaskCache013 => PythonVersion::Py37,
            _ if r.chance(0.25) => PythonVersion::Py312,
            _ => PythonVersion::Py311,
        };
        let debug = r.chance(0.1);
        let threshold = [3usize, 6, 12, 40, 500][r.index(5)];
        let knobs = AppKnobs {
            get_student_timeout: [Some(600), Some(30), Some(0), None, Some(-1)][r.index(5)],
            hooks: r.chance(0.7),
        };
        let mut weights = [0u32; 9];
        for (w, kind) in weights.iter_mut().zip(ACTION_KINDS) {
            let on = match kind {
                ActionKind::CallMemoized | ActionKind::CallView | ActionKind::Tick => r.chance(0.9),
                _ => r.chance(0.7),
            };
            if on {
                *w = kind.base_weight() * (1 + r.below(4) as u32);
            }
        }
        if weights[0] == 0 && weights[1] == 0 {
            weights[0] = ActionKind::CallMemoized.base_weight();
        }
        let mut forms: Vec<Form> = FORMS.iter().copied().filter(|_| r.chance(0.75)).collect();
        if forms.is_empty() {
            forms.push(Form::Exact);
        }
        let mut fault_kinds = [false; 9];
        for on in fault_kinds.iter_mut() {
            *on = r.chance(0.7);
        }
        let hook_rate = [0.0, 0.1, 0.3][r.index(3)];
        let version_seed = r.next_u64();
        let start = Timestamp::from_micros(1_000_000_250_000 + r.below(1_000_000) as i64);
        RunSetup {
            run,
            seed: run_seed,
            profile,
            python,
            debug,
            threshold,
            knobs,
            weights,
            forms,
            fault_kinds,
            fault_rate,
            hook_rate,
            version_seed,
            start,
        }
    }

    /// A plain setup for curated scenarios: no swarm, no faults, no debug.
    pub fn plain(profile: Profile) -> RunSetup {
        RunSetup {
            run: 0,
            seed: 0,
            profile,
            python: match profile {
                Profile::FlaskCache013 => PythonVersion::Py37,
                _ => PythonVersion::Py311,
            },
            debug: false,
            threshold: 500,
            knobs: AppKnobs {
                get_student_timeout: Some(600),
                hooks: false,
            },
            weights: [1; 9],
            forms: FORMS.to_vec(),
            fault_kinds: [true; 9],
            fault_rate: 0.0,
            hook_rate: 0.0,
            version_seed: 1,
            start: Timestamp::from_micros(1_000_000_250_000),
        }
    }

    /// The swarm's choices, one line.
    pub fn describe(&self) -> String {
        let kinds: Vec<String> = ACTION_KINDS
            .iter()
            .zip(self.weights)
            .filter(|(_, w)| *w > 0)
            .map(|(k, w)| format!("{}={w}", k.name()))
            .collect();
        format!(
            "profile {} python {} debug {} threshold {} get_student timeout {} hooks {}; {}; {} forms; fault rate {}",
            self.profile.as_str(),
            self.python.as_str(),
            if self.debug { "True" } else { "False" },
            self.threshold,
            self.knobs
                .get_student_timeout
                .map_or("None".to_owned(), |t| t.to_string()),
            self.knobs.hooks,
            kinds.join(" "),
            self.forms.len(),
            self.fault_rate,
        )
    }
}

fn random_target(r: &mut SplitMix64, memo: bool) -> Target {
    let arg = r.below(8) as u8;
    if memo {
        Target::Memo {
            func: FUNCS[r.index(FUNCS.len())],
            inst: r.below(u64::from(INSTANCES)) as u8,
            arg,
        }
        .normalized()
    } else {
        Target::Page {
            view: VIEWS[r.index(VIEWS.len())],
            arg,
        }
        .normalized()
    }
}

/// A target that reads `row`, preferably one called recently.
fn target_reading(r: &mut SplitMix64, recent: &[Target], row: u8) -> Target {
    let reads = |t: &Target| t.reads(row);
    if let Some(t) = pick_among(r, recent, reads, 0.8) {
        return t;
    }
    for _ in 0..16 {
        let memo = r.chance(0.6);
        let t = random_target(r, memo);
        if t.reads(row) {
            return t;
        }
    }
    Target::Memo {
        func: Func::GetStudent,
        inst: 0,
        arg: row % ROWS,
    }
}

/// A target: often one called recently (a hot set), else any.
fn pick_target(r: &mut SplitMix64, recent: &[Target], memo: bool, p_recent: f64) -> Target {
    let hot = |t: &Target| matches!(t, Target::Memo { .. }) == memo;
    pick_among(r, recent, hot, p_recent).unwrap_or_else(|| random_target(r, memo))
}

/// With probability `p`, one of the `items` that `accept` takes, uniformly; `None` when it
/// takes none (nothing is drawn then). Draws what `p` = 1 picking from the filtered list
/// would, without building it.
fn pick_among<T: Copy>(
    r: &mut SplitMix64,
    items: &[T],
    accept: impl Fn(&T) -> bool,
    p: f64,
) -> Option<T> {
    let n = items.iter().filter(|t| accept(t)).count();
    // `p` = 1 is certain: no draw, as indexing the filtered list directly.
    if n == 0 || (p < 1.0 && !r.chance(p)) {
        return None;
    }
    items.iter().filter(|t| accept(t)).nth(r.index(n)).copied()
}

fn env(r: &mut SplitMix64, setup: &RunSetup) -> Env {
    let mut hooks = 0u8;
    for bit in 0..4 {
        let p = if bit == 0 {
            setup.hook_rate / 3.0
        } else {
            setup.hook_rate
        };
        if r.chance(p) {
            hooks |= 1 << bit;
        }
    }
    let mut faults = 0u32;
    if setup.fault_rate > 0.0 {
        for (kind, on) in setup.fault_kinds.iter().enumerate() {
            for k in 0..FAULT_SLOTS {
                if *on && r.chance(setup.fault_rate) {
                    faults |= 1 << (kind * FAULT_SLOTS + k);
                }
            }
        }
    }
    Env { hooks, faults }
}

fn invalidation(r: &mut SplitMix64, setup: &RunSetup, target: Target) -> Action {
    let applies = |f: &Form| f.applies(target);
    let form =
        pick_among(r, &setup.forms, applies, 1.0).unwrap_or_else(|| Form::Exact.for_target(target));
    Action::Invalidate {
        target,
        form,
        env: env(r, setup),
    }
}

/// The history of a run: `ops` actions drawn from the setup's seed and swarm.
pub fn generate(setup: &RunSetup, ops: usize) -> Vec<Action> {
    let mut r = SplitMix64::new(setup.seed ^ 0x5157_4152_4d5f_4f50);
    let mut out = Vec::with_capacity(ops);
    let mut recent: Vec<Target> = Vec::new();
    while out.len() < ops {
        let Some(k) = r.weighted(&setup.weights) else {
            break;
        };
        let kind = ACTION_KINDS[k];
        let action = match kind {
            ActionKind::CallMemoized | ActionKind::CallView => {
                let target = pick_target(&mut r, &recent, kind == ActionKind::CallMemoized, 0.5);
                if !recent.contains(&target) {
                    if recent.len() >= 12 {
                        recent.remove(0);
                    }
                    recent.push(target);
                }
                Action::Call {
                    target,
                    via: r.chance(0.2),
                    env: env(&mut r, setup),
                }
            }
            ActionKind::Invalidate => {
                let memo = r.chance(0.6);
                let target = pick_target(&mut r, &recent, memo, 0.8);
                invalidation(&mut r, setup, target)
            }
            ActionKind::WriteRow => {
                let row = r.below(u64::from(ROWS)) as u8;
                let change = match r.below(6) {
                    0 => RowChange::Remove,
                    1 => RowChange::Restore,
                    _ => RowChange::Rename,
                };
                out.push(Action::WriteRow { row, change });
                // Most writes are followed by the app's invalidation of something that
                // reads the row (right or wrong).
                if setup.weights[2] > 0 && r.chance(0.7) && out.len() < ops {
                    let target = target_reading(&mut r, &recent, row);
                    out.push(invalidation(&mut r, setup, target));
                }
                continue;
            }
            ActionKind::Backend => {
                let (a, b) = (r.below(8) as u8, r.below(8) as u8);
                let call = match r.below(7) {
                    0 => BackendCall::Get(a),
                    1 => BackendCall::Has(a),
                    2 => BackendCall::Set(a, b),
                    3 => BackendCall::Add(a, b),
                    4 => BackendCall::GetMany(a, b),
                    5 => BackendCall::SetMany(a, b),
                    _ => BackendCall::DeleteMany(a, b),
                };
                Action::Backend {
                    call,
                    env: env(&mut r, setup),
                }
            }
            ActionKind::Clear => Action::Backend {
                call: BackendCall::Clear,
                env: env(&mut r, setup),
            },
            ActionKind::Tick => Action::Tick {
                millis: {
                    const TICKS: [u32; 6] = [100, 1_000, 5_000, 29_000, 61_000, 301_000];
                    let i = r.weighted(&[5, 5, 3, 2, 1, 1]).unwrap_or(0);
                    TICKS[i % TICKS.len()] + r.below(1_000) as u32
                },
            },
            ActionKind::ClockJump => Action::ClockJump {
                jump: match r.below(20) {
                    0 => Jump::EndOfTime,
                    1 | 2 => Jump::FarFuture,
                    3..=5 => Jump::Year,
                    6..=10 => Jump::Day,
                    _ => Jump::Hour,
                },
            },
            ActionKind::LoseVersionKey => Action::LoseVersionKey {
                pick: r.below(8) as u8,
            },
        };
        out.push(action);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_history() {
        let s = RunSetup::new(7, 3, None, 0.01);
        assert_eq!(generate(&s, 300), generate(&s, 300));
        assert_eq!(s, RunSetup::new(7, 3, None, 0.01));
        assert_ne!(s.seed, RunSetup::new(7, 4, None, 0.01).seed);
    }
}
