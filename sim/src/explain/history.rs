//! The history of one trace as `flaskcache explain` sees it: a replay observer that keeps,
//! for every live key, which call stored which value; writes each event's timeline row;
//! and, after every delete-like call and every hit, asks whether something went wrong.

use super::finding::{Candidate, Finding, StaleRead};
use super::probe::Probe;
use super::python::Names;
use super::relate;
use super::rule::Rule;
use crate::replay::{has_address, without_addresses, ReplayObserver};
use crate::trace::{Event, EventSites, Site, TraceCommand, TraceConfig};
use flaskcache_engine::engine::{CacheEvent, Outcome};
use flaskcache_engine::error::PyError;
use flaskcache_engine::function::{Binding, Receiver};
use flaskcache_engine::keys::QueryArgs;
use flaskcache_engine::profile::CachingIdPolicy;
use flaskcache_engine::store::Timestamp;
use flaskcache_engine::store::{MemoryStore, StoreOp, StoreReply};
use flaskcache_engine::Profile;
use flaskcache_engine::{PythonVersion, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// One line of the timeline: an event and what the cache did for it.
#[derive(Clone, Debug)]
pub struct Row {
    /// The event's number.
    pub event: u64,
    /// How deep it is nested in other calls' bodies (0: called by the app directly).
    pub depth: usize,
    /// The virtual time.
    pub at: Timestamp,
    /// Where the app made the call.
    pub site: Option<Site>,
    /// The call, in Python.
    pub call: String,
    /// What the cache did.
    pub effect: String,
    /// The finding whose missed delete this hit was served past (a stale read).
    pub stale_of: Option<usize>,
    /// The findings reported at this event.
    pub findings: Vec<usize>,
}

/// The value a key holds: which call stored it, and which value of the key it is.
#[derive(Clone, Debug)]
struct Entry {
    /// The event that stored it.
    event: u64,
    /// The decorated call that stored it (`None`: stored by a direct `cache.set`, or a
    /// version key).
    call: Option<TraceCommand>,
    /// 1 for the first value ever stored under the key, 2 for the next, ...
    serial: u32,
    /// When the value expires (the store's `expires`).
    expires: i128,
}

/// What an event in progress did so far.
#[derive(Debug, Default)]
struct Open {
    row: usize,
    /// Keys its deletes removed while they were alive.
    removed_live: Vec<String>,
    /// Keys its deletes named that held no live value.
    missed: Vec<String>,
    /// Version keys it created where none was (a `delete_memoized` with arguments creates
    /// one when the namespace it derived has none).
    minted_versions: Vec<String>,
    /// Version keys it found missing although a value had been stored under them.
    lost_versions: Vec<String>,
    /// The store before it ran, kept for a whole-function invalidation (its corrected
    /// call is tried there).
    snapshot: Option<MemoryStore>,
    /// Before a write: the store's size, the number of keys it adds, and the invalidations
    /// whose orphans were in the store (a write that leaves it smaller pruned it).
    before_write: Option<(usize, usize, Vec<usize>)>,
    /// The keys of the operation in progress: alive, and present at all, before it.
    op_keys_before: Vec<(String, bool, bool)>,
    /// The keys in the store before a `clear()`.
    before_clear: Vec<String>,
}

/// A whole-function invalidation (`delete_memoized(f)` or `delete_memoized_verhash(f)`)
/// and what became of the live entries it made unreachable.
struct Invalidation {
    row: usize,
    event: u64,
    at: Timestamp,
    rule: Rule,
    snapshot: MemoryStore,
    orphans: Vec<Orphan>,
    /// Live entries SimpleCache pruned while orphans of this invalidation took room in it.
    crowded_out: Vec<String>,
}

/// A live entry a whole-function invalidation made unreachable.
struct Orphan {
    key: String,
    /// The event that stored it.
    event: u64,
    call: TraceCommand,
    value: Value,
    /// Set when the same call was computed again: whether the value changed.
    changed: Option<bool>,
}

/// Calls of one memoized function whose keys showed a memory address.
#[derive(Debug, Default)]
struct AddressedCalls {
    first_event: u64,
    calls: usize,
    hits: usize,
    keys: HashSet<String>,
    /// The calls' arguments with the addresses taken out: the calls a stable repr would
    /// have made one.
    stable: HashSet<String>,
    would_hit: usize,
    class: String,
    /// The objects (their reprs) that put an address in a key.
    objects: HashSet<String>,
}

/// The observer, and what it found.
pub struct History<'t> {
    names: &'t Names,
    sites: &'t EventSites,
    config: &'t TraceConfig,
    probe: Probe,
    /// The same functions on the other side of Python 3.12's `OrderedDict` repr change,
    /// for a backend that other processes share (Redis).
    other_python: Option<(PythonVersion, Probe)>,
    /// Functions (with the keyword names of a call) whose key was already compared across
    /// Pythons.
    compared: HashSet<String>,
    stack: Vec<Open>,
    entries: HashMap<String, Entry>,
    serials: HashMap<String, u32>,
    /// Keys whose value a faulty delete left in place: the finding, and the value's serial.
    watches: HashMap<String, Vec<(usize, u32)>>,
    /// Version keys a value was stored under, and when the latest expires (the store's
    /// `expires`): a version key found missing before then was evicted, not expired.
    versions: HashMap<String, i128>,
    addressed: BTreeMap<String, AddressedCalls>,
    invalidations: Vec<Invalidation>,
    collided: HashSet<String>,
    /// The app's source, for what a trace cannot tell (how a call was written).
    pub sources: super::source::Sources,
    /// Per delete finding: its candidates that the app removed later itself (by another
    /// delete or a reset) before any read was served them.
    resolved: HashMap<usize, HashSet<String>>,
    /// The timeline.
    pub rows: Vec<Row>,
    /// The findings, in the order they were made.
    pub findings: Vec<Finding>,
}

fn alive(store: &MemoryStore, key: &str, at: Timestamp) -> bool {
    store.has(key, at)
}

fn is_decorated(command: &TraceCommand) -> bool {
    matches!(
        command,
        TraceCommand::Call { .. } | TraceCommand::Request { .. }
    )
}

impl<'t> History<'t> {
    /// An empty history for a trace with these declarations, sites and configuration.
    pub fn new(
        names: &'t Names,
        sites: &'t EventSites,
        config: &'t TraceConfig,
        probe: Probe,
        other_python: Option<(PythonVersion, Probe)>,
    ) -> Self {
        History {
            names,
            sites,
            config,
            probe,
            other_python,
            compared: HashSet::new(),
            stack: Vec::new(),
            entries: HashMap::new(),
            serials: HashMap::new(),
            watches: HashMap::new(),
            versions: HashMap::new(),
            addressed: BTreeMap::new(),
            invalidations: Vec::new(),
            collided: HashSet::new(),
            sources: Default::default(),
            resolved: HashMap::new(),
            rows: Vec::new(),
            findings: Vec::new(),
        }
    }

    fn site(&self, event: u64) -> Option<Site> {
        self.sites.get(&event).cloned()
    }

    fn describe_entry(&self, key: &str) -> String {
        match self.entries.get(key) {
            Some(e) => format!("value {} of the key, stored by event {}", e.serial, e.event),
            None => "a value stored before the trace began".to_owned(),
        }
    }

    fn add_finding(&mut self, finding: Finding, row: usize) -> usize {
        let index = self.findings.len();
        self.findings.push(finding);
        self.rows[row].findings.push(index);
        index
    }

    /// Records the end of the trace: the per-function findings; and drops the delete
    /// findings the app made good itself: every candidate removed by a later delete or reset
    /// of its own before any read was served it (a redundant or precautionary delete).
    pub fn finish(&mut self) {
        let made_good: HashSet<usize> = self
            .findings
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                f.stale_reads.is_empty()
                    && !f.candidates.is_empty()
                    && self
                        .resolved
                        .get(i)
                        .is_some_and(|keys| f.candidates.iter().all(|c| keys.contains(&c.key)))
            })
            .map(|(i, _)| i)
            .collect();
        if !made_good.is_empty() {
            let mut new_index = Vec::with_capacity(self.findings.len());
            let mut next = 0;
            for i in 0..self.findings.len() {
                new_index.push((!made_good.contains(&i)).then(|| {
                    next += 1;
                    next - 1
                }));
            }
            let mut i = 0;
            self.findings.retain(|_| {
                i += 1;
                !made_good.contains(&(i - 1))
            });
            for row in &mut self.rows {
                row.findings = row.findings.iter().filter_map(|&f| new_index[f]).collect();
                row.stale_of = row.stale_of.and_then(|f| new_index[f]);
            }
            for list in self.watches.values_mut() {
                list.retain(|(f, _)| new_index[*f].is_some());
                for (f, _) in list.iter_mut() {
                    if let Some(n) = new_index[*f] {
                        *f = n;
                    }
                }
            }
        }
        for invalidation in std::mem::take(&mut self.invalidations) {
            self.broad_invalidation(invalidation);
        }
        let profile = self.config.profile;
        let addressed = std::mem::take(&mut self.addressed);
        for (function, calls) in addressed {
            // One object used throughout hits its own entries: only objects that come and
            // go (one per request, say) leave entries nothing reaches again.
            if calls.objects.len() < 2 {
                continue;
            }
            let Some(row) = self.rows.iter().position(|r| r.event == calls.first_event) else {
                continue;
            };
            let name = self
                .names
                .function(&function)
                .map_or(function.clone(), |(f, _)| f.qualname.clone());
            let caching_id = if profile == Profile::FlaskCaching25 {
                " (or `__caching_id__`)"
            } else {
                ""
            };
            let finding = Finding {
                rule: Rule::DefaultReprKey,
                event: calls.first_event,
                site: self.site(calls.first_event),
                call: self.rows[row].call.clone(),
                targeted_keys: {
                    let mut keys: Vec<String> = calls.keys.iter().cloned().collect();
                    keys.sort();
                    keys
                },
                candidates: Vec::new(),
                fix: Some(format!(
                    "give {} a `__repr__`{caching_id} that names what {name}'s result depends on, or list the parameter in `args_to_ignore`",
                    calls.class
                )),
                verified: false,
                fix_replaces_call: false,
                verification: String::new(),
                detail: format!(
                    "{name}: {} calls on {} objects, {} entries, {} hits: the key holds the object's memory address, so each object gets its own entry, which no other object hits and no delete naming another object reaches; with a repr without the address, {} of the misses would have shared an entry with an earlier call (whether they should depends on what the repr leaves out)",
                    calls.calls,
                    calls.objects.len(),
                    calls.keys.len(),
                    calls.hits,
                    calls.would_hit
                ),
                stale_reads: Vec::new(),
            };
            self.add_finding(finding, row);
        }
        let _ = profile;
    }

    /// The memoize call `event` (a `Call` command) went through: note an address in its
    /// key.
    fn note_addresses(&mut self, event: &Event, outcome: &Outcome) {
        let TraceCommand::Call {
            function,
            bound_to,
            args,
            kwargs,
        } = &event.command
        else {
            return;
        };
        let Some((descriptor, options)) = self.names.function(function) else {
            return;
        };
        let honoured = self.config.profile.caching_id() == CachingIdPolicy::Honoured;
        let keyed = |v: &Value| match v {
            Value::Object(o) => has_address(&o.repr) && !(honoured && o.caching_id.is_some()),
            _ => false,
        };
        let mut named: Vec<(&str, Value)> = Vec::new();
        let (receiver, rest) = relate::split_receiver(descriptor, bound_to, args);
        let mut params = descriptor.params.iter();
        if let Some(r) = receiver {
            if let Some(p) = params.next() {
                named.push((&p.name, r));
            }
        }
        for (p, v) in params.clone().zip(rest) {
            named.push((&p.name, v.clone()));
        }
        for (k, v) in kwargs {
            named.push((k, v.clone()));
        }
        let culprit = named
            .iter()
            .find(|(name, v)| keyed(v) && !options.args_to_ignore.iter().any(|i| i == name));
        let Some((_, Value::Object(object))) = culprit else {
            return;
        };
        // A function or a class is one object for the life of the process: its key is
        // stable, and a delete naming it reaches the entry.
        if object.class.module == "builtins"
            && matches!(
                object.class.qualname.as_str(),
                "function" | "builtin_function_or_method" | "type" | "method"
            )
        {
            return;
        }
        let object_repr = object.repr.clone();
        let class = object.class.qualname.clone();
        let stable = named
            .iter()
            .map(|(n, v)| format!("{n}={}", without_addresses(&v.repr(self.names.py))))
            .collect::<Vec<_>>()
            .join(",");
        let calls = self.addressed.entry(function.clone()).or_default();
        if calls.calls == 0 {
            calls.first_event = event.number;
            calls.class = class;
        }
        calls.calls += 1;
        calls.objects.insert(object_repr);
        let fresh = calls.stable.insert(stable);
        match &outcome.event {
            CacheEvent::Hit { .. } => calls.hits += 1,
            CacheEvent::Miss { key, .. } => {
                calls.keys.insert(key.clone());
                if !fresh {
                    calls.would_hit += 1;
                }
            }
            _ => {}
        }
    }

    /// A whole-function invalidation, judged by what followed: when some of the entries it
    /// made unreachable were computed again with the same value and others with a new one,
    /// the app meant the changed calls only. The fix deletes exactly those, tried on the
    /// store as it was before the invalidation: the changed calls must miss, the others
    /// still hit.
    fn broad_invalidation(&mut self, inv: Invalidation) {
        let changed: Vec<&Orphan> = inv
            .orphans
            .iter()
            .filter(|o| o.changed == Some(true))
            .collect();
        let unchanged: Vec<&Orphan> = inv
            .orphans
            .iter()
            .filter(|o| o.changed == Some(false))
            .collect();
        if changed.is_empty() || unchanged.is_empty() {
            return;
        }
        // A reset of every call is the documented way to invalidate a function; unchanged
        // values alone do not say the app meant fewer calls. It is a finding when the
        // orphans it left did harm: live entries pruned to make room while they stayed.
        // Or when it was written as `obj.method.delete_memoized()` (the app's own line
        // says so; a trace cannot): that resets every instance, not `obj`'s.
        let through_instance = self.reset_through_instance(&inv);
        if inv.rule == Rule::VersionResetOrphans && inv.crowded_out.is_empty() && !through_instance
        {
            return;
        }
        let mut fixes = Vec::new();
        let mut rule = inv.rule;
        let receiver = |o: &Orphan| match &o.call {
            TraceCommand::Call {
                bound_to: Some(r @ Receiver::Instance(_)),
                ..
            } => Some(r.clone()),
            _ => None,
        };
        let meant = receiver(changed[0]);
        let one_instance = through_instance
            && meant.is_some()
            && changed.iter().all(|o| receiver(o) == meant)
            && unchanged.iter().any(|o| receiver(o) != meant);
        if let (true, Some(instance), TraceCommand::Call { function, .. }) =
            (one_instance, &meant, &changed[0].call)
        {
            rule = Rule::MethodDeleteResetsAllInstances;
            fixes.push(TraceCommand::DeleteMemoized {
                function: function.clone(),
                bound_to: Some(instance.clone()),
                args: Vec::new(),
                kwargs: Vec::new(),
            });
        }
        let per_call = if fixes.is_empty() { &changed[..] } else { &[] };
        for orphan in per_call {
            match self.delete_of_call(&orphan.call) {
                Some(fix) => fixes.push(fix),
                None => return,
            }
        }
        let mut copy = inv.snapshot.clone();
        for fix in &fixes {
            if !matches!(
                self.probe.run(fix, &mut copy, inv.at),
                Some(Outcome { result: Ok(_), .. })
            ) {
                return;
            }
        }
        let verified = changed
            .iter()
            .all(|o| !self.probe.hits(&o.call, &copy, inv.at))
            && unchanged
                .iter()
                .all(|o| self.probe.hits(&o.call, &copy, inv.at));
        if !verified {
            return;
        }
        let fix = fixes
            .iter()
            .map(|f| self.names.call(f))
            .collect::<Vec<_>>()
            .join("; ");
        let again: Vec<String> = unchanged.iter().map(|o| self.names.call(&o.call)).collect();
        let crowded = if inv.crowded_out.is_empty() {
            String::new()
        } else {
            let mut pruned = inv.crowded_out.clone();
            pruned.sort();
            pruned.dedup();
            format!(
                "; while the orphans took room in the cache, SimpleCache pruned live entries: {}",
                quoted(self.names, &pruned)
            )
        };
        let what = match rule {
            Rule::VersionKeyLost => "deleted the version key",
            _ => "wrote a new version",
        };
        let call = match (rule, self.site(inv.event)) {
            (Rule::MethodDeleteResetsAllInstances, Some(site)) => self
                .sources
                .line(&site.file, site.line)
                .map(|l| l.split('#').next().unwrap_or(l).trim().to_owned())
                .unwrap_or_else(|| self.rows[inv.row].call.clone()),
            _ => self.rows[inv.row].call.clone(),
        };
        let finding = Finding {
            rule,
            event: inv.event,
            site: self.site(inv.event),
            call,
            targeted_keys: inv.orphans.iter().map(|o| o.key.clone()).collect(),
            candidates: changed
                .iter()
                .map(|o| {
                    let origin = o.event;
                    Candidate {
                        key: o.key.clone(),
                        call: self.names.call(&o.call),
                        event: origin,
                        site: self.site(origin),
                        fix: None,
                    }
                })
                .collect(),
            fix: Some(fix),
            verified: true,
            fix_replaces_call: true,
            verification: "tried on a copy of the cache as it was before the invalidation: afterwards the changed calls miss and the others still hit".to_owned(),
            detail: format!(
                "it {what}, so all {} live entries became unreachable (orphaned until their own timeout), but only {} changed: {} computed again with the same value{crowded}",
                inv.orphans.len(),
                changed.len(),
                again.join(", ")
            ),
            stale_reads: Vec::new(),
        };
        self.add_finding(finding, inv.row);
    }

    /// Whether the invalidation's line calls `obj.method.delete_memoized()` on an instance.
    fn reset_through_instance(&mut self, inv: &Invalidation) -> bool {
        let Some(TraceCommand::Call { function, .. }) = inv.orphans.first().map(|o| &o.call) else {
            return false;
        };
        let Some((descriptor, _)) = self.names.function(function) else {
            return false;
        };
        if descriptor.binding != Binding::InstanceMethod {
            return false;
        }
        let (class, method) = descriptor
            .qualname
            .rsplit_once('.')
            .unwrap_or(("", descriptor.qualname.as_str()));
        let class = class.rsplit('.').next().unwrap_or(class).to_owned();
        let method = method.to_owned();
        let Some(site) = self.site(inv.event) else {
            return false;
        };
        self.sources
            .line(&site.file, site.line)
            .is_some_and(|line| super::source::resets_through_an_instance(line, &method, &class))
    }

    /// A write left the store smaller than it should be: SimpleCache pruned it. The entries
    /// it removed (`entries` holds only what the store holds) leave the history; the live
    /// ones among them count against the invalidations whose orphans took room.
    fn note_pruning(&mut self, event: &Event, store: &MemoryStore, crowded: &[usize]) {
        let flavor = store.flavor();
        let pruned: Vec<(String, bool)> = self
            .entries
            .iter()
            .filter(|(k, _)| store.peek(k).is_none())
            .map(|(k, e)| {
                (
                    k.clone(),
                    e.call.is_some() && flavor.is_alive(e.expires, event.at),
                )
            })
            .collect();
        let orphans: HashSet<String> = self
            .invalidations
            .iter()
            .flat_map(|inv| inv.orphans.iter().map(|o| o.key.clone()))
            .collect();
        let mut live: Vec<String> = pruned
            .iter()
            .filter(|(k, live)| *live && !orphans.contains(k))
            .map(|(k, _)| k.clone())
            .collect();
        live.sort();
        for (key, _) in &pruned {
            self.entries.remove(key);
            self.watches.remove(key);
        }
        for &i in crowded {
            if let Some(inv) = self.invalidations.get_mut(i) {
                inv.crowded_out.extend(live.iter().cloned());
            }
        }
    }

    /// A whole-function invalidation ran: note the live entries it made unreachable.
    fn note_invalidation(&mut self, event: &Event, outcome: &Outcome, open: &mut Open) {
        let (function, bound_to) = match &event.command {
            TraceCommand::DeleteMemoized {
                function,
                bound_to,
                args,
                kwargs,
            } if args.is_empty() && kwargs.is_empty() => (function, bound_to),
            TraceCommand::DeleteMemoizedVerhash { function, bound_to } => (function, bound_to),
            _ => return,
        };
        let rule = match outcome.event {
            CacheEvent::VersionReset { .. } => Rule::VersionResetOrphans,
            CacheEvent::VersionDeleted { .. } => Rule::VersionKeyLost,
            _ => return,
        };
        let Some(snapshot) = open.snapshot.take() else {
            return;
        };
        let only = bound_to.as_ref().map(Receiver::to_value);
        let mut orphans = Vec::new();
        for (key, entry) in &self.entries {
            let Some(
                call @ TraceCommand::Call {
                    function: f,
                    bound_to: b,
                    ..
                },
            ) = &entry.call
            else {
                continue;
            };
            if f != function || (only.is_some() && b.as_ref().map(Receiver::to_value) != only) {
                continue;
            }
            let Some((_, value)) = snapshot.peek(key) else {
                continue;
            };
            if alive(&snapshot, key, event.at) && self.probe.hits(call, &snapshot, event.at) {
                orphans.push(Orphan {
                    key: key.clone(),
                    event: entry.event,
                    call: call.clone(),
                    value: value.clone(),
                    changed: None,
                });
            }
        }
        for orphan in &orphans {
            for (finding, _) in self.watches.remove(&orphan.key).unwrap_or_default() {
                self.resolved
                    .entry(finding)
                    .or_default()
                    .insert(orphan.key.clone());
            }
        }
        if orphans.is_empty() {
            return;
        }
        orphans.sort_by(|a, b| a.key.cmp(&b.key));
        self.invalidations.push(Invalidation {
            row: open.row,
            event: event.number,
            at: event.at,
            rule,
            snapshot,
            orphans,
            crowded_out: Vec::new(),
        });
    }

    /// A call computed and stored `key` again: if an invalidation orphaned the same call,
    /// note whether the value changed.
    fn note_recompute(&mut self, event: &Event, key: &str, store: &MemoryStore) {
        let Some((_, value)) = store.peek(key) else {
            return;
        };
        for inv in self.invalidations.iter_mut().rev() {
            if let Some(orphan) = inv
                .orphans
                .iter_mut()
                .find(|o| o.changed.is_none() && o.call == event.command)
            {
                orphan.changed = Some(orphan.value != *value);
                return;
            }
        }
    }

    /// A memoized call on a shared backend: would a process on the other Python compute
    /// the same key? (Once per function.)
    fn compare_across_pythons(
        &mut self,
        event: &Event,
        outcome: &Outcome,
        store: &MemoryStore,
        row: usize,
    ) {
        let TraceCommand::Call {
            function, kwargs, ..
        } = &event.command
        else {
            return;
        };
        let key = match &outcome.event {
            CacheEvent::Hit { key } | CacheEvent::Miss { key, .. } => key.clone(),
            _ => return,
        };
        // Once per function and set of keyword names: a call without keywords keys alike
        // on every Python, and another call with the same keywords would too.
        let mut names: Vec<&str> = kwargs.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        let shape = format!("{function}({})", names.join(","));
        if self.other_python.is_none() || kwargs.is_empty() || !self.compared.insert(shape) {
            return;
        }
        let Some((python, probe)) = self.other_python.as_mut() else {
            return;
        };
        let python = *python;
        let Some(theirs) = probe.key_of(&event.command, store, event.at) else {
            return;
        };
        if theirs == key {
            return;
        }
        // The fix, tried: the keywords that went into `**kwargs` (or keyword-only
        // parameters) as named parameters, keyed by position; both Pythons must agree.
        let fix = self.named_parameters_fix(event, function, kwargs, store, python);
        let (mine, other) = (self.names.py.as_str(), python.as_str());
        let advice = "or run every process that shares this cache on one Python minor version";
        let finding = Finding {
            rule: Rule::OrderedDictReprAcrossPythons,
            event: event.number,
            site: self.site(event.number),
            call: self.names.call(&event.command),
            targeted_keys: vec![key.clone(), theirs.clone()],
            candidates: Vec::new(),
            verified: fix.is_some(),
            fix_replaces_call: false,
            verification: match &fix {
                Some(_) => format!(
                    "the call keyed by the engine under Python {mine} and {other} with those parameters: one key"
                ),
                None => String::new(),
            },
            fix: Some(match fix {
                Some(signature) => format!(
                    "give {} named parameters for them: `def {signature}` ({advice})",
                    self.names.call(&event.command).split('(').next().unwrap_or_default()
                ),
                None => format!("pass these values to named parameters of the function, {advice}"),
            }),
            detail: format!(
                "on Python {mine} this call's key is {}; a process on Python {other} sharing this backend computes {} for the same call (the keyword arguments are keyed by `repr(OrderedDict(...))`, which Python 3.12 changed), so it neither reads nor deletes this entry",
                self.names.key(&key),
                self.names.key(&theirs)
            ),
            stale_reads: Vec::new(),
        };
        self.add_finding(finding, row);
    }

    /// The function of `event` with a named parameter for each keyword of the call that it
    /// does not name (a `**kwargs` one), or that is keyword-only: declared on probes for both
    /// Pythons and the call keyed on each. Its signature (`report(year, fmt=None, **opts)`)
    /// when the two keys agree.
    fn named_parameters_fix(
        &mut self,
        event: &Event,
        function: &str,
        kwargs: &[(String, Value)],
        store: &MemoryStore,
        python: PythonVersion,
    ) -> Option<String> {
        use flaskcache_engine::function::{FunctionDescriptor, Param, ParamKind};
        let (descriptor, options) = self.names.function(function)?;
        let named = |p: &Param| {
            matches!(
                p.kind,
                ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword
            )
        };
        let moved: Vec<&str> = kwargs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !descriptor.params.iter().any(|p| p.name == *k && named(p)))
            .collect();
        if moved.is_empty() {
            return None;
        }
        let mut params: Vec<Param> = Vec::new();
        let mut inserted = false;
        for p in &descriptor.params {
            if moved.contains(&p.name.as_str()) {
                continue; // a keyword-only parameter, named below
            }
            if !named(p) && !inserted {
                params.extend(
                    moved
                        .iter()
                        .map(|k| Param::new(*k, ParamKind::PositionalOrKeyword, Some(Value::None))),
                );
                inserted = true;
            }
            params.push(p.clone());
        }
        if !inserted {
            params.extend(
                moved
                    .iter()
                    .map(|k| Param::new(*k, ParamKind::PositionalOrKeyword, Some(Value::None))),
            );
        }
        let variant = FunctionDescriptor::new(
            descriptor.module.clone(),
            descriptor.qualname.clone(),
            params,
            descriptor.binding,
        )
        .ok()?;
        let id = format!("{function}~named");
        let record = crate::trace::Record::Memoize {
            id: id.clone(),
            function: variant.clone(),
            options: options.clone(),
        };
        let TraceCommand::Call { bound_to, args, .. } = &event.command else {
            return None;
        };
        let call = TraceCommand::Call {
            function: id,
            bound_to: bound_to.clone(),
            args: args.clone(),
            kwargs: kwargs.to_vec(),
        };
        self.probe.declare(&record).ok()?;
        let (_, other) = self.other_python.as_mut()?;
        other.declare(&record).ok()?;
        let mine = self.probe.key_of(&call, store, event.at)?;
        let theirs = other.key_of(&call, store, event.at)?;
        let _ = python;
        (mine == theirs).then(|| signature(&variant, self.names.py))
    }

    /// A hit of `key` by `event`: which value it was served, and whether a faulty delete
    /// should have removed it, or another call stored it.
    fn served(&mut self, event: &Event, key: &str, row: usize, store: &MemoryStore) {
        self.rows[row].effect =
            format!("hit {} ({})", self.names.key(key), self.describe_entry(key));
        let Some(entry) = self.entries.get(key).cloned() else {
            return;
        };
        // The faulty deletes that left this value in place.
        let watching: Vec<usize> = self
            .watches
            .get(key)
            .map(|list| {
                list.iter()
                    .filter(|(_, serial)| *serial == entry.serial)
                    .map(|(f, _)| *f)
                    .collect()
            })
            .unwrap_or_default();
        // The last of them is the one that failed to prevent it.
        if let Some(&latest) = watching.last() {
            let site = self.site(event.number);
            self.findings[latest].stale_reads.push(StaleRead {
                event: event.number,
                site,
            });
            self.rows[row].stale_of = Some(latest);
        }
        self.check_collision(event, key, &entry, row, store);
    }

    /// A memoize hit served a value that a call with other arguments stored.
    fn check_collision(
        &mut self,
        event: &Event,
        key: &str,
        entry: &Entry,
        row: usize,
        store: &MemoryStore,
    ) {
        let (
            TraceCommand::Call {
                function,
                bound_to,
                args,
                kwargs,
            },
            Some(TraceCommand::Call {
                function: stored_by,
                bound_to: their_bound,
                args: their_args,
                kwargs: their_kwargs,
            }),
        ) = (&event.command, &entry.call)
        else {
            return;
        };
        if function != stored_by || self.collided.contains(key) {
            return;
        }
        let Some((descriptor, options)) = self.names.function(function) else {
            return;
        };
        let (mine_r, mine) = relate::split_receiver(descriptor, bound_to, args);
        let (theirs_r, theirs) = relate::split_receiver(descriptor, their_bound, their_args);
        let receiver_ignored = descriptor
            .params
            .first()
            .is_some_and(|p| options.args_to_ignore.contains(&p.name));
        if mine_r != theirs_r && !receiver_ignored {
            return;
        }
        let params = relate::params_after_receiver(descriptor);
        let Some(diff) = relate::compare_args(
            params,
            (mine, kwargs),
            (theirs, their_kwargs),
            &options.args_to_ignore,
            relate::Defaults::Bound,
            self.names.py,
        ) else {
            return;
        };
        if !diff.value && !diff.form {
            return;
        }
        let positional_only = params
            .iter()
            .any(|p| p.kind == flaskcache_engine::function::ParamKind::PositionalOnly);
        let rule = if positional_only {
            Rule::PositionalOnlyCollision
        } else if self.config.profile == Profile::FlaskCaching24 {
            Rule::FalsyDefaultCollision
        } else {
            return;
        };
        self.collided.insert(key.to_owned());
        let stored_call = self
            .names
            .call(entry.call.as_ref().unwrap_or(&event.command));
        // The fix: the same call spelled out positionally (every default too, where 2.4
        // drops a falsy one), tried on a copy of the cache: it must get a key of its own.
        let fixed = relate::spelled_out(params, mine, kwargs, rule == Rule::FalsyDefaultCollision)
            .map(|(spelled, rest)| {
                let mut args: Vec<Value> = match (&mine_r, bound_to) {
                    (Some(r), None) => vec![r.clone()],
                    _ => Vec::new(),
                };
                args.extend(spelled);
                TraceCommand::Call {
                    function: function.clone(),
                    bound_to: bound_to.clone(),
                    args,
                    kwargs: rest,
                }
            })
            .filter(|fixed| *fixed != event.command);
        let verified_fix = fixed.filter(|fixed| {
            let mut copy = store.clone();
            match self.probe.run(fixed, &mut copy, event.at) {
                Some(Outcome {
                    event: CacheEvent::Hit { key: k } | CacheEvent::Miss { key: k, .. },
                    ..
                }) => k != key,
                _ => false,
            }
        });
        let advice = match rule {
            Rule::PositionalOnlyCollision => {
                "pass every argument positionally (a keyword argument to a function with positional-only parameters is keyed at the wrong position), or drop the `/`"
            }
            _ => {
                "pass the defaulted argument explicitly (Flask-Caching 2.4 leaves a falsy default out of the key), or upgrade to Flask-Caching 2.5"
            }
        };
        let finding = Finding {
            rule,
            event: event.number,
            site: self.site(event.number),
            call: self.names.call(&event.command),
            targeted_keys: vec![key.to_owned()],
            candidates: vec![Candidate {
                key: key.to_owned(),
                call: stored_call.clone(),
                event: entry.event,
                site: self.site(entry.event),
                fix: None,
            }],
            fix: Some(match &verified_fix {
                Some(fixed) => self.names.call(fixed),
                None => advice.to_owned(),
            }),
            verified: verified_fix.is_some(),
            fix_replaces_call: verified_fix.is_some(),
            verification: match verified_fix {
                Some(_) => {
                    "tried on a copy of the cache at this moment: the call gets a key of its own"
                        .to_owned()
                }
                None => String::new(),
            },
            detail: format!(
                "served the value that `{stored_call}` stored at event {}: both calls have the key {}; {advice}",
                entry.event,
                self.names.key(key)
            ),
            stale_reads: Vec::new(),
        };
        self.add_finding(finding, row);
    }

    /// Live entries of decorated calls that a delete which removed nothing may have meant,
    /// with the rule that relates them to it.
    fn related_entries(&self, event: &Event, open: &Open) -> Vec<(String, Rule, TraceCommand)> {
        let mut out = Vec::new();
        let py = self.names.py;
        for (key, entry) in &self.entries {
            let Some(call) = &entry.call else { continue };
            let rule = match (&event.command, call) {
                (TraceCommand::Backend(_), TraceCommand::Request { view, request, .. }) => {
                    let Some((name, options)) = self.names.view(view) else {
                        continue;
                    };
                    open.missed.iter().find_map(|target| {
                        relate::backend_delete(
                            target,
                            key,
                            (name, options),
                            request.as_ref(),
                            self.config.key_prefix.as_deref(),
                        )
                    })
                }
                (
                    TraceCommand::DeleteCached {
                        view,
                        path,
                        query_args,
                        ..
                    },
                    TraceCommand::Request {
                        view: live_view,
                        request,
                        ..
                    },
                ) if view == live_view && open.removed_live.is_empty() => {
                    let Some((_, options)) = self.names.view(view) else {
                        continue;
                    };
                    relate::delete_cached(
                        path.as_deref(),
                        query_args.as_ref(),
                        request.as_ref(),
                        options,
                        py,
                    )
                }
                (
                    TraceCommand::DeleteMemoized {
                        function,
                        bound_to,
                        args,
                        kwargs,
                    },
                    TraceCommand::Call {
                        function: live_function,
                        bound_to: live_bound,
                        args: live_args,
                        kwargs: live_kwargs,
                    },
                ) if function == live_function
                    && open.removed_live.is_empty()
                    && !(args.is_empty() && kwargs.is_empty()) =>
                {
                    let Some((descriptor, _)) = self.names.function(function) else {
                        continue;
                    };
                    relate::delete_memoized(
                        descriptor,
                        (bound_to, args, kwargs),
                        (live_bound, live_args, live_kwargs),
                        self.config.profile,
                        py,
                    )
                }
                _ => None,
            };
            if let Some(rule) = rule {
                out.push((key.clone(), rule, call.clone()));
            }
        }
        // Most recently stored first: the entry the user most likely meant.
        out.sort_by_key(|(key, _, _)| {
            std::cmp::Reverse(self.entries.get(key).map_or(0, |e| e.event))
        });
        out
    }

    /// The corrected calls to try for a live entry `key` stored by `call` and related to the
    /// faulty call by `rule`, best first.
    fn fixes_for(
        &self,
        faulty: &TraceCommand,
        rule: Option<Rule>,
        key: &str,
        call: &TraceCommand,
    ) -> Vec<TraceCommand> {
        if let (Some(Rule::DefaultReprKey), TraceCommand::Call { function, .. }) = (rule, call) {
            // The object's address cannot be named: only a new version reaches the entry.
            return vec![TraceCommand::DeleteMemoized {
                function: function.clone(),
                bound_to: None,
                args: Vec::new(),
                kwargs: Vec::new(),
            }];
        }
        let by_key = TraceCommand::Backend(StoreOp::Delete {
            key: key.to_owned(),
        });
        match (faulty, call) {
            (_, TraceCommand::Request { view, request, .. }) => {
                let mut fixes = Vec::new();
                let explicit_path = self.config.profile.has_explicit_path_api();
                if let (Some((path, args)), true, false) = (
                    request,
                    explicit_path,
                    matches!(faulty, TraceCommand::Backend(_)) && !self.query_string(view),
                ) {
                    fixes.push(TraceCommand::DeleteCached {
                        view: view.clone(),
                        path: Some(path.clone()),
                        query_args: (!args.is_empty()).then(|| {
                            QueryArgs::Pairs(
                                args.iter()
                                    .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
                                    .collect(),
                            )
                        }),
                        url_for: None,
                        prefix_result: None,
                        current_request: None,
                    });
                }
                if matches!(faulty, TraceCommand::Backend(_)) {
                    fixes.insert(0, by_key);
                } else {
                    fixes.push(by_key);
                }
                fixes
            }
            (_, TraceCommand::Call { .. }) => self.delete_of_call(call).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// `cache.delete_memoized(...)` of exactly the memoized call `call`: the receiver passed
    /// first (a classmethod reached through its class, an instance method through its
    /// class), then the call's own arguments.
    fn delete_of_call(&self, call: &TraceCommand) -> Option<TraceCommand> {
        let TraceCommand::Call {
            function,
            bound_to,
            args,
            kwargs,
        } = call
        else {
            return None;
        };
        let (descriptor, _) = self.names.function(function)?;
        let (receiver, rest) = relate::split_receiver(descriptor, bound_to, args);
        let mut fix_args: Vec<Value> = receiver.into_iter().collect();
        fix_args.extend(rest.iter().cloned());
        let fix_bound = match (descriptor.binding, bound_to) {
            (Binding::ClassMethod, Some(Receiver::Class(c))) => Some(Receiver::Class(c.clone())),
            _ => None,
        };
        Some(TraceCommand::DeleteMemoized {
            function: function.clone(),
            bound_to: fix_bound,
            args: fix_args,
            kwargs: kwargs.clone(),
        })
    }

    fn query_string(&self, view: &str) -> bool {
        self.names
            .view(view)
            .is_some_and(|(_, o)| o.key.query_string)
    }

    /// After a delete-like call: when it removed nothing live that it was after, find the
    /// live entries it most likely meant, and the corrected call, tried on a copy.
    fn diagnose_delete(&mut self, event: &Event, store: &MemoryStore, open: &Open) {
        let targets_something = match &event.command {
            TraceCommand::Backend(StoreOp::Delete { .. } | StoreOp::DeleteMany { .. }) => {
                !open.missed.is_empty()
            }
            TraceCommand::DeleteCached { .. } => open.removed_live.is_empty(),
            TraceCommand::DeleteMemoized { args, kwargs, .. } => {
                open.removed_live.is_empty() && !(args.is_empty() && kwargs.is_empty())
            }
            _ => false,
        };
        if !targets_something {
            return;
        }
        let related = self.related_entries(event, open);
        let mut candidates = Vec::new();
        let mut rule = None;
        let mut fix = None;
        for (key, candidate_rule, call) in related {
            if !alive(store, &key, event.at) || !self.probe.hits(&call, store, event.at) {
                continue;
            }
            let verified = self
                .fixes_for(&event.command, Some(candidate_rule), &key, &call)
                .into_iter()
                .find(|f| self.probe.fix_works(f, &[&call], store, event.at));
            let Some(verified) = verified else { continue };
            let fix_text = self.names.call(&verified);
            let entry = self.entries.get(&key).cloned();
            let origin = entry.as_ref().map_or(0, |e| e.event);
            candidates.push(Candidate {
                key: key.clone(),
                call: self.names.call(&call),
                event: origin,
                site: self.site(origin),
                fix: Some(fix_text.clone()),
            });
            if rule.is_none() {
                rule = Some(candidate_rule);
                fix = Some(fix_text);
            }
        }
        let Some(rule) = rule else { return };
        let mut targeted: Vec<String> = open.missed.clone();
        targeted.extend(open.minted_versions.iter().cloned());
        if let TraceCommand::DeleteMemoized { .. } = &event.command {
            targeted.clear();
            targeted.extend(open.missed.iter().cloned());
            targeted.extend(open.minted_versions.iter().cloned());
        }
        let mut detail = format!(
            "the live entry {} ({}) survived",
            self.names.key(&candidates[0].key),
            self.describe_entry(&candidates[0].key)
        );
        if let Some(junk) = open.minted_versions.first() {
            detail.push_str(&format!(
                "; the call also wrote the version key {}",
                self.names.key(junk)
            ));
        }
        if let Err(e) = &event.result {
            detail.push_str(&format!(
                "; the call raised {}: {}",
                e.kind.as_str(),
                e.message
            ));
        }
        let finding = Finding {
            rule,
            event: event.number,
            site: self.site(event.number),
            call: self.names.call(&event.command),
            targeted_keys: targeted,
            candidates,
            fix,
            verified: true,
            fix_replaces_call: true,
            verification: "tried on a copy of the cache at this moment: it returns without raising, and afterwards the entry's own call misses".to_owned(),
            detail,
            stale_reads: Vec::new(),
        };
        let keys: Vec<String> = finding.candidates.iter().map(|c| c.key.clone()).collect();
        let index = self.add_finding(finding, open.row);
        for key in keys {
            if let Some(entry) = self.entries.get(&key) {
                self.watches
                    .entry(key)
                    .or_default()
                    .push((index, entry.serial));
            }
        }
    }

    /// A version key a value had been stored under was found missing by `event`: every
    /// entry of the function under the old version is now unreachable.
    fn version_lost(&mut self, event: &Event, keys: &[String], store: &MemoryStore, row: usize) {
        let TraceCommand::Call { function, .. } = &event.command else {
            return;
        };
        let orphaned: Vec<String> = self
            .entries
            .iter()
            .filter(|(k, e)| {
                matches!(&e.call, Some(TraceCommand::Call { function: f, .. }) if f == function)
                    && alive(store, k, event.at)
            })
            .map(|(k, _)| k.clone())
            .collect();
        if orphaned.is_empty() {
            return;
        }
        let name = self
            .names
            .function(function)
            .map_or(function.clone(), |(f, _)| f.qualname.clone());
        let finding = Finding {
            rule: Rule::VersionKeyLost,
            event: event.number,
            site: self.site(event.number),
            call: self.names.call(&event.command),
            targeted_keys: keys.to_vec(),
            candidates: Vec::new(),
            fix: Some(format!(
                "keep the version key alive: raise CACHE_THRESHOLD (now {}) above the number of entries the app stores, or use a backend that does not evict it",
                self.config.threshold
            )),
            verified: false,
            fix_replaces_call: false,
            verification: String::new(),
            detail: format!(
                "the version key {} of {name} was evicted before its timeout (SimpleCache prunes when it holds more than CACHE_THRESHOLD entries) while {} of its entries were cached: a new version was written and every one of them became unreachable",
                quoted(self.names, keys),
                orphaned.len()
            ),
            stale_reads: Vec::new(),
        };
        self.add_finding(finding, row);
    }

    fn effect(&self, event: &Event, outcome: &Outcome, open: &Open) -> String {
        let py = self.names.py;
        let raised = |e: &PyError| format!("raised {}: {}", e.kind.as_str(), e.message);
        match &outcome.event {
            CacheEvent::Hit { key } => format!("hit {}", self.names.key(key)),
            CacheEvent::Miss { key, stored: true } => format!(
                "miss {}: computed and stored as value {} of the key",
                self.names.key(key),
                self.entries.get(key).map_or(0, |e| e.serial)
            ),
            CacheEvent::Miss { key, stored: false } => {
                format!("miss {}: computed, not stored", self.names.key(key))
            }
            CacheEvent::Bypassed => "bypassed (unless)".to_owned(),
            CacheEvent::Uncached { error } => {
                format!("ran uncached: {}", raised(error))
            }
            CacheEvent::Deleted { key } => {
                if open.removed_live.iter().any(|k| k == key) {
                    format!("deleted {}", self.names.key(key))
                } else {
                    format!("deleted nothing: no live entry {}", self.names.key(key))
                }
            }
            CacheEvent::VersionReset { key } => format!(
                "new version under {}: every earlier entry of the function is unreachable",
                self.names.key(key)
            ),
            CacheEvent::VersionDeleted { key } => format!(
                "deleted the version key {}: every entry of the function is unreachable",
                self.names.key(key)
            ),
            CacheEvent::Direct => match (&event.command, &outcome.result) {
                (_, Err(e)) => raised(e),
                (TraceCommand::Backend(StoreOp::Delete { .. } | StoreOp::DeleteMany { .. }), _) => {
                    let mut parts = Vec::new();
                    if !open.removed_live.is_empty() {
                        parts.push(format!(
                            "deleted {}",
                            quoted(self.names, &open.removed_live)
                        ));
                    }
                    if !open.missed.is_empty() {
                        parts.push(format!(
                            "no live entry {}",
                            quoted(self.names, &open.missed)
                        ));
                    }
                    parts.join("; ")
                }
                (TraceCommand::Backend(StoreOp::Clear), _) => "cleared the cache".to_owned(),
                (TraceCommand::Tick(_), _) => "the clock advanced".to_owned(),
                (_, Ok(v)) => format!("returned {}", v.repr(py)),
            },
        }
    }
}

fn quoted(names: &Names, keys: &[String]) -> String {
    keys.iter()
        .map(|k| names.key(k))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ReplayObserver for History<'_> {
    fn before_event(&mut self, event: &Event, store: &MemoryStore) {
        let row = self.rows.len();
        self.rows.push(Row {
            event: event.number,
            depth: self.stack.len(),
            at: event.at,
            site: self.site(event.number),
            call: self.names.call(&event.command),
            effect: String::new(),
            stale_of: None,
            findings: Vec::new(),
        });
        let whole_function = match &event.command {
            TraceCommand::DeleteMemoized { args, kwargs, .. } => {
                args.is_empty() && kwargs.is_empty()
            }
            TraceCommand::DeleteMemoizedVerhash { .. } => true,
            _ => false,
        };
        self.stack.push(Open {
            row,
            snapshot: whole_function.then(|| store.clone()),
            ..Open::default()
        });
    }

    fn before_op(&mut self, event: &Event, op: &StoreOp, store: &MemoryStore) {
        let crowded: Vec<usize> = match op {
            StoreOp::Set { .. } | StoreOp::Add { .. } | StoreOp::SetMany { .. } => self
                .invalidations
                .iter()
                .enumerate()
                .filter(|(_, inv)| inv.orphans.iter().any(|o| store.peek(&o.key).is_some()))
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        };
        let Some(open) = self.stack.last_mut() else {
            return;
        };
        open.op_keys_before = op
            .keys()
            .map(|k| {
                (
                    k.to_owned(),
                    alive(store, k, event.at),
                    store.peek(k).is_some(),
                )
            })
            .collect();
        match op {
            StoreOp::Set { .. } | StoreOp::Add { .. } | StoreOp::SetMany { .. } => {
                let new_keys = open
                    .op_keys_before
                    .iter()
                    .filter(|(_, _, present)| !present)
                    .count();
                open.before_write = Some((store.len(), new_keys, crowded));
            }
            StoreOp::Clear => open.before_clear = store.keys().map(str::to_owned).collect(),
            _ => {}
        }
    }

    fn after_op(
        &mut self,
        event: &Event,
        op: &StoreOp,
        reply: &Result<StoreReply, PyError>,
        store: &MemoryStore,
    ) {
        // What the operation did is read from the store, not from the reply: a call can
        // raise after part of it took effect, or fail without touching anything.
        let (before, before_write, before_clear) = match self.stack.last_mut() {
            Some(open) => (
                std::mem::take(&mut open.op_keys_before),
                open.before_write.take(),
                std::mem::take(&mut open.before_clear),
            ),
            None => (Vec::new(), None, Vec::new()),
        };
        if let Some((len, new_keys, crowded)) = before_write {
            if store.len() < len + new_keys {
                self.note_pruning(event, store, &crowded);
            }
        }
        let deleting = matches!(op, StoreOp::Delete { .. } | StoreOp::DeleteMany { .. });
        for (key, was_alive, was_present) in &before {
            let present = store.peek(key).is_some();
            if deleting && !present {
                // A version key deleted on purpose (`delete_memoized_verhash`, or by its
                // name) is not lost.
                self.versions.remove(key);
            }
            if let Some(open) = self.stack.last_mut() {
                if deleting && *was_alive && !present {
                    open.removed_live.push(key.clone());
                } else if deleting && !*was_alive {
                    open.missed.push(key.clone());
                }
            }
            let written = match op {
                StoreOp::Set { .. } | StoreOp::Add { .. } => {
                    alive(store, key, event.at)
                        && match reply {
                            Ok(StoreReply::Bool(false)) => false,
                            Ok(_) => true,
                            Err(_) => !*was_present,
                        }
                }
                StoreOp::SetMany { .. } => alive(store, key, event.at),
                _ => false,
            };
            if written {
                let set_many = matches!(op, StoreOp::SetMany { .. });
                let serial = self.serials.entry(key.clone()).or_insert(0);
                *serial = serial.saturating_add(1);
                let call =
                    (is_decorated(&event.command) && !set_many).then(|| event.command.clone());
                let expires = store.peek(key).map_or(0, |(e, _)| e);
                self.entries.insert(
                    key.clone(),
                    Entry {
                        event: event.number,
                        call,
                        serial: *serial,
                        expires,
                    },
                );
                if set_many {
                    self.versions.insert(key.clone(), expires);
                    if !*was_alive && matches!(event.command, TraceCommand::DeleteMemoized { .. }) {
                        if let Some(open) = self.stack.last_mut() {
                            open.minted_versions.push(key.clone());
                        }
                    }
                }
            }
            if !present {
                self.entries.remove(key);
                for (finding, _) in self.watches.remove(key).unwrap_or_default() {
                    if deleting {
                        self.resolved
                            .entry(finding)
                            .or_default()
                            .insert(key.clone());
                    }
                }
            }
        }
        if let (
            StoreOp::GetMany { keys },
            TraceCommand::Call { .. },
            Ok(StoreReply::Values(values)),
        ) = (op, &event.command, reply)
        {
            for (key, value) in keys.iter().zip(values) {
                let evicted = self
                    .versions
                    .get(key)
                    .is_some_and(|&expires| store.flavor().is_alive(expires, event.at));
                if matches!(value, Value::None) && evicted {
                    // Taken out at once: the new version this call writes is watched anew.
                    self.versions.remove(key);
                    if let Some(open) = self.stack.last_mut() {
                        open.lost_versions.push(key.clone());
                    }
                }
            }
        }
        if matches!(op, StoreOp::Clear) && store.is_empty() {
            if let Some(open) = self.stack.last_mut() {
                open.removed_live.extend(before_clear);
            }
            self.versions.clear();
            self.entries.clear();
            for (key, list) in self.watches.drain() {
                for (finding, _) in list {
                    self.resolved
                        .entry(finding)
                        .or_default()
                        .insert(key.clone());
                }
            }
        }
    }

    fn after_event(&mut self, event: &Event, outcome: &Outcome, store: &MemoryStore) {
        let Some(mut open) = self.stack.pop() else {
            return;
        };
        let row = open.row;
        self.rows[row].effect = self.effect(event, outcome, &open);
        if let CacheEvent::Hit { key } = &outcome.event {
            let key = key.clone();
            self.served(event, &key, row, store);
        }
        let mut lost = open.lost_versions.clone();
        lost.sort();
        lost.dedup();
        if !lost.is_empty() {
            self.version_lost(event, &lost, store, row);
        }
        if matches!(event.command, TraceCommand::Call { .. }) {
            self.note_addresses(event, outcome);
            self.compare_across_pythons(event, outcome, store, row);
            if let CacheEvent::Miss { key, stored: true } = &outcome.event {
                self.note_recompute(event, key, store);
            }
        }
        self.note_invalidation(event, outcome, &mut open);
        self.diagnose_delete(event, store, &open);
    }
}

/// `name(a, b=None, *args, c, **kw)`, as the function would be written (the method's own
/// name only).
fn signature(f: &flaskcache_engine::function::FunctionDescriptor, py: PythonVersion) -> String {
    use flaskcache_engine::function::ParamKind;
    let name = f.qualname.rsplit('.').next().unwrap_or(&f.qualname);
    let mut parts = Vec::new();
    let mut star = false;
    for (i, p) in f.params.iter().enumerate() {
        let default = p
            .default
            .as_ref()
            .map(|d| format!("={}", d.repr(py)))
            .unwrap_or_default();
        match p.kind {
            ParamKind::VarPositional => {
                star = true;
                parts.push(format!("*{}", p.name));
            }
            ParamKind::VarKeyword => parts.push(format!("**{}", p.name)),
            ParamKind::KeywordOnly => {
                if !star {
                    parts.push("*".to_owned());
                    star = true;
                }
                parts.push(format!("{}{default}", p.name));
            }
            _ => parts.push(format!("{}{default}", p.name)),
        }
        let last_positional_only = p.kind == ParamKind::PositionalOnly
            && f.params
                .get(i + 1)
                .is_none_or(|q| q.kind != ParamKind::PositionalOnly);
        if last_positional_only {
            parts.push("/".to_owned());
        }
    }
    format!("{name}({})", parts.join(", "))
}
