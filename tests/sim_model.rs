//! State-machine property test: random histories of the simulated app (calls, deletes of
//! every form, database writes, backend proxies, clock ticks and jumps, lost version keys,
//! injected backend failures) run on the engine (the system under test) and on the
//! reference model (`flaskcache_sim::model`), compared after every transition: outcomes,
//! cache contents, the store bound, and "no hit older than an effective invalidation".
//! proptest shrinks a failing history to its shortest form.

use flaskcache::engine::Profile;
use flaskcache_sim::explore::run::{execute, ExecOptions};
use flaskcache_sim::workload::{
    Action, AppKnobs, BackendCall, Env, Form, Jump, RowChange, RunSetup, Target, FORMS, FUNCS,
    VIEWS,
};
use proptest::prelude::*;

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        3 => (0..FUNCS.len(), 0..3u8, 0..6u8).prop_map(|(f, inst, arg)| Target::Memo {
            func: FUNCS[f],
            inst,
            arg,
        }),
        2 => (0..VIEWS.len(), 0..6u8).prop_map(|(v, arg)| Target::Page { view: VIEWS[v], arg }),
    ]
}

fn env() -> impl Strategy<Value = Env> {
    (
        prop_oneof![4 => Just(0u8), 1 => 0..16u8],
        prop_oneof![6 => Just(0u32), 1 => any::<u32>().prop_map(|f| f & f.rotate_left(7))],
    )
        .prop_map(|(hooks, faults)| Env { hooks, faults })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => (target(), any::<bool>(), env()).prop_map(|(target, via, env)| Action::Call { target, via, env }),
        4 => (target(), 0..FORMS.len(), env()).prop_map(|(target, f, env)| Action::Invalidate {
            target,
            form: FORMS[f],
            env,
        }),
        2 => (0..4u8, prop_oneof![Just(RowChange::Rename), Just(RowChange::Remove), Just(RowChange::Restore)])
            .prop_map(|(row, change)| Action::WriteRow { row, change }),
        1 => (0..8u8, 0..8u8, 0..8u8, env()).prop_map(|(which, a, b, env)| Action::Backend {
            call: match which {
                0 => BackendCall::Get(a),
                1 => BackendCall::Has(a),
                2 => BackendCall::Set(a, b),
                3 => BackendCall::Add(a, b),
                4 => BackendCall::GetMany(a, b),
                5 => BackendCall::SetMany(a, b),
                6 => BackendCall::DeleteMany(a, b),
                _ => BackendCall::Clear,
            },
            env,
        }),
        3 => (0..400_000u32).prop_map(|millis| Action::Tick { millis }),
        1 => prop_oneof![Just(Jump::Hour), Just(Jump::Day), Just(Jump::Year), Just(Jump::FarFuture), Just(Jump::EndOfTime)]
            .prop_map(|jump| Action::ClockJump { jump }),
        1 => any::<u8>().prop_map(|pick| Action::LoseVersionKey { pick }),
    ]
}

fn setup() -> impl Strategy<Value = RunSetup> {
    (
        prop_oneof![
            Just(Profile::FlaskCaching25),
            Just(Profile::FlaskCaching24),
            Just(Profile::FlaskCache013)
        ],
        prop_oneof![Just(2usize), Just(4), Just(8), Just(500)],
        any::<bool>(),
        prop_oneof![
            Just(Some(600i64)),
            Just(Some(2)),
            Just(Some(0)),
            Just(None),
            Just(Some(-1))
        ],
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(profile, threshold, debug, timeout, hooks, version_seed)| {
                let mut s = RunSetup::plain(profile);
                s.threshold = threshold;
                s.debug = debug;
                s.knobs = AppKnobs {
                    get_student_timeout: timeout,
                    hooks,
                };
                s.version_seed = version_seed;
                s
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    /// The engine agrees with the model after every transition.
    #[test]
    fn engine_matches_model(setup in setup(), actions in prop::collection::vec(action(), 1..60)) {
        let report = execute(&setup, &actions, &ExecOptions::default());
        prop_assert!(report.divergence.is_none(), "{}", report.divergence.map(|d| d.to_string()).unwrap_or_default());
    }

    /// The same history gives the same steps.
    #[test]
    fn same_history_same_steps(setup in setup(), actions in prop::collection::vec(action(), 1..40)) {
        let first = execute(&setup, &actions, &ExecOptions::default());
        let again = execute(&setup, &actions, &ExecOptions { record: false, expect_digests: Some(first.digests.clone()) });
        prop_assert!(again.divergence.is_none());
        prop_assert_eq!(first.stats, again.stats);
    }
}

/// A form that does not apply to a target falls back to the documented one.
#[test]
fn inapplicable_forms_fall_back() {
    let t = Target::Page {
        view: flaskcache_sim::workload::View::All,
        arg: 0,
    };
    assert_eq!(Form::ClassmethodNoCls.for_target(t), Form::RawKey);
}
