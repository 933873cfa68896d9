//! Curated invalidation scenarios, one per pitfall and per profile, run through the
//! simulator (engine and model side by side) and snapshotted as readable timelines: every
//! backend call, function run and result, and the simulator's findings (`! ineffective:`
//! for a delete that removed nothing, `! stale read (...)` for a hit older than the
//! database, with its cause). Each scenario must also run without a divergence.

use flaskcache::engine::Profile;
use flaskcache_sim::explore::run::{execute, ExecOptions};
use flaskcache_sim::workload::{
    Action, BackendCall, Env, Form, Func, Jump, RowChange, RunSetup, Target, View,
};

fn memo(func: Func, inst: u8, arg: u8) -> Target {
    Target::Memo { func, inst, arg }
}

fn page(view: View, arg: u8) -> Target {
    Target::Page { view, arg }
}

fn call(target: Target) -> Action {
    Action::Call {
        target,
        via: false,
        env: Env::default(),
    }
}

fn invalidate(target: Target, form: Form) -> Action {
    Action::Invalidate {
        target,
        form,
        env: Env::default(),
    }
}

fn write(row: u8) -> Action {
    Action::WriteRow {
        row,
        change: RowChange::Rename,
    }
}

fn tick(millis: u32) -> Action {
    Action::Tick { millis }
}

/// Cache, change the row, invalidate the wrong way, read (stale), invalidate the right
/// way, read (fresh).
fn wrong_then_right(target: Target, row: u8, wrong: Form, right: Form) -> Vec<Action> {
    vec![
        call(target),
        write(row),
        invalidate(target, wrong),
        tick(1_000),
        call(target),
        invalidate(target, right),
        call(target),
    ]
}

fn scenarios() -> Vec<(&'static str, RunSetup, Vec<Action>)> {
    let all = page(View::All, 0);
    let lit = page(View::Lit, 0);
    let works = page(View::Works, 1);
    let number = memo(Func::GetNumber, 0, 1);
    let grades = memo(Func::Grades, 1, 0);
    let student = memo(Func::GetStudent, 0, 1);
    let mut out = Vec::new();
    for profile in Profile::ALL {
        let plain = RunSetup::plain(profile);
        let mut push = |name: &'static str, setup: RunSetup, actions: Vec<Action>| {
            out.push((name, setup, actions));
        };
        push(
            "bare_path",
            plain.clone(),
            wrong_then_right(all, 1, Form::BarePath, Form::RawKey),
        );
        push(
            "single_slash",
            plain.clone(),
            wrong_then_right(all, 1, Form::SingleSlash, Form::DeleteCached),
        );
        push(
            "literal_prefix",
            plain.clone(),
            wrong_then_right(lit, 2, Form::PathKeyForLiteral, Form::RawKey),
        );
        push(
            "query_string",
            plain.clone(),
            wrong_then_right(works, 0, Form::PathKeyForQuery, Form::DeleteCached),
        );
        push(
            "classmethod_without_cls",
            plain.clone(),
            wrong_then_right(number, 1, Form::ClassmethodNoCls, Form::Exact),
        );
        push(
            "instance_method_through_class",
            plain.clone(),
            wrong_then_right(grades, 1, Form::SelfViaClass, Form::BoundWithSelf),
        );
        push(
            "bound_method",
            plain.clone(),
            wrong_then_right(grades, 1, Form::Bound, Form::ResetInstance),
        );
        push(
            "falsy_default",
            plain.clone(),
            wrong_then_right(student, 1, Form::FalsyDefault, Form::Keyword),
        );
        push(
            "argument_type",
            plain.clone(),
            wrong_then_right(student, 1, Form::StrArg, Form::Reset),
        );
        push(
            "fault_in_delete",
            plain.clone(),
            vec![
                call(student),
                write(1),
                Action::Invalidate {
                    target: student,
                    form: Form::Exact,
                    // The first `delete` fails.
                    env: Env {
                        hooks: 0,
                        faults: 1 << (3 * 6),
                    },
                },
                call(student),
                invalidate(student, Form::Verhash),
                call(student),
            ],
        );
        push(
            "lost_version_key",
            plain.clone(),
            vec![
                call(student),
                call(student),
                Action::LoseVersionKey { pick: 0 },
                call(student),
            ],
        );
        let mut small = plain.clone();
        small.threshold = 3;
        push(
            "threshold_pruning",
            small,
            vec![
                call(student),
                call(memo(Func::Stat, 0, 2)),
                Action::Backend {
                    call: BackendCall::Set(0, 3),
                    env: Env::default(),
                },
                call(student),
                call(memo(Func::Stat, 0, 2)),
            ],
        );
        push(
            "clock_jump_far_future",
            plain.clone(),
            vec![
                call(student),
                call(all),
                Action::ClockJump {
                    jump: Jump::FarFuture,
                },
                call(student),
                call(all),
                call(all),
            ],
        );
    }
    out
}

#[test]
fn invalidation_scenarios() {
    for (name, setup, actions) in scenarios() {
        let report = execute(
            &setup,
            &actions,
            &ExecOptions {
                record: true,
                expect_digests: None,
            },
        );
        let snapshot = format!(
            "{name}, profile {}, threshold {}\n{}\n",
            setup.profile.as_str(),
            setup.threshold,
            report.timeline.join("\n")
        );
        insta::assert_snapshot!(format!("{name}.{}", setup.profile.as_str()), snapshot);
        assert!(
            report.divergence.is_none(),
            "{name} ({}): {:?}",
            setup.profile.as_str(),
            report.divergence
        );
    }
}
