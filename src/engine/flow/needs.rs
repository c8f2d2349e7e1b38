//! What the analysis would like to read next (`Needs`), which units wait on
//! each `Need`, which flows wait on none (`SettledFlows`), and what stays
//! open once the pipeline has read what it could: functions in the flow
//! that do not parse, callers too widely used to read, fields whose readers
//! and writers were not all read.

use super::collect::{AcquireSite, BrokenFunction};
use super::ids::{FuncId, UnitId};
use super::{push_unique, FlowContext, Loc};
use crate::engine::hash::HashSet;
use crate::engine::reason::{Blocker, Limit, Origin};
use crate::engine::{FileFindings, SkippedFunction};
use std::collections::BTreeSet;

/// One thing the analysis waits on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Need {
    /// The definition of a function the pages are passed to.
    Definition(String),
    /// The callers of a function whose parameters or return value hold pages.
    Callers(String),
    /// The readers and writers of a struct field that holds pages.
    Field(String, String),
    /// The definitions of the structs that embed a struct whose field holds
    /// pages (`struct kvm_vcpu_arch arch;` in `struct kvm_vcpu`): code may
    /// reach the field through them without naming the struct
    /// (`vcpu->arch.dtl.pinned_addr`), and only their definitions tell.
    Holders(String),
}

/// Most headers naming a struct that the pipeline searches for the structs
/// embedding it (`Need::Holders`): a struct named more widely (`page`,
/// `device`, `kvm`) is not followed into the headers that embed it, whose
/// search would read thousands of files in every round
/// (`Limit::HolderSearch`). The headers are counted by their bytes as the
/// search reads them, so what a word filter lets through never changes
/// which structs are followed.
pub const MAX_HOLDER_HEADERS: usize = 128;

impl Need {
    /// The name the pipeline reports a need under when too many files
    /// offer it (`Needs::overflow`).
    pub fn overflow_name(&self) -> String {
        match self {
            Need::Definition(n) | Need::Callers(n) => n.clone(),
            Need::Field(s, f) => format!("{s}::{f}"),
            Need::Holders(s) => format!("struct {s}"),
        }
    }
}

/// What the analysis would like to read next: files that mention these.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Functions whose definitions matter (pages are passed to them).
    pub definitions: BTreeSet<String>,
    /// Functions whose callers matter (their parameters or return values
    /// hold pages).
    pub callers: BTreeSet<String>,
    /// (struct, field) pairs whose readers and writers matter.
    pub fields: BTreeSet<(String, String)>,
    /// Names the pipeline did not follow because too many files use them.
    pub overflow: BTreeSet<String>,
    /// `static` functions of `.c` files whose callers matter: they are all in
    /// files already read, but must take part in the next analysis.
    pub local_callers: BTreeSet<String>,
    /// Fields of structs defined in a `.c` file, likewise.
    pub local_fields: BTreeSet<(String, String)>,
    /// Structs (defined in headers) whose embedders matter: their fields
    /// hold pages.
    pub holders: BTreeSet<String>,
}

impl Needs {
    pub fn is_empty(&self) -> bool {
        self.definitions.is_empty()
            && self.callers.is_empty()
            && self.fields.is_empty()
            && self.local_callers.is_empty()
            && self.local_fields.is_empty()
            && self.holders.is_empty()
    }
    pub fn extend(&mut self, other: &Needs) {
        self.definitions.extend(other.definitions.iter().cloned());
        self.callers.extend(other.callers.iter().cloned());
        self.fields.extend(other.fields.iter().cloned());
        self.local_callers
            .extend(other.local_callers.iter().cloned());
        self.local_fields.extend(other.local_fields.iter().cloned());
        self.holders.extend(other.holders.iter().cloned());
    }
    /// Whether the pipeline stopped searching for `need` because too many
    /// files offer it (`Need::overflow_name`).
    pub fn overflowed(&self, need: &Need) -> bool {
        self.overflow.contains(&need.overflow_name())
    }
    /// Whether a function is needed at all.
    pub fn mentions_function(&self, name: &str) -> bool {
        self.definitions.contains(name) || self.callers.contains(name)
    }
    /// Adds a field need, local when the struct is defined in a `.c` file.
    pub(crate) fn add_field(&mut self, strukt: String, field: String, file_local: bool) {
        if file_local {
            self.local_fields.insert((strukt, field));
        } else {
            self.fields.insert((strukt, field));
        }
    }
    /// Adds a callers need, local for a `static` function of a `.c` file.
    pub(crate) fn add_callers(&mut self, function: String, file_local: bool) {
        if file_local {
            self.local_callers.insert(function);
        } else {
            self.callers.insert(function);
        }
    }
    /// Every need, as the analysis records which units wait on it.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Need> + '_ {
        let callers = self.callers.iter().chain(&self.local_callers);
        let fields = self.fields.iter().chain(&self.local_fields);
        (self.definitions.iter().map(|f| Need::Definition(f.clone())))
            .chain(callers.map(|f| Need::Callers(f.clone())))
            .chain(fields.map(|(s, f)| Need::Field(s.clone(), f.clone())))
            .chain(self.holders.iter().map(|s| Need::Holders(s.clone())))
    }
    /// What of `self` is not in `scanned`.
    fn minus(&self, scanned: &Needs) -> Needs {
        let mut unmet = self.clone();
        unmet
            .definitions
            .retain(|f| !scanned.definitions.contains(f));
        unmet.callers.retain(|f| !scanned.callers.contains(f));
        unmet.fields.retain(|f| !scanned.fields.contains(f));
        unmet
            .local_callers
            .retain(|f| !scanned.local_callers.contains(f));
        unmet
            .local_fields
            .retain(|f| !scanned.local_fields.contains(f));
        unmet.holders.retain(|s| !scanned.holders.contains(s));
        unmet
    }
}

/// An acquire call named by where it is: the path of its file and the byte
/// its match starts at. A file's text never changes between rounds, so the
/// name stays that of the same call in every round.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AcquireAt {
    pub path: String,
    pub at: usize,
}

/// The acquires whose flows wait on nothing still to be read: every need of
/// the flow (merged with every flow it met) was searched for, or the flow is
/// blocked and follows nothing more. A round between the first and the last
/// follows only the other flows: its analysis serves to find what to read
/// next, and only an analysis of every flow decides units.
///
/// Left out, a settled flow's pages are values from elsewhere to a flow
/// that meets them later, and a flow that would merge with a blocked one
/// keeps asking: the open flows alone may then ask for other files than
/// every flow would. That changes what is read, never what a decision
/// knows: each is made by an analysis of every flow with nothing left to
/// read (or the rounds run out), and once such an analysis asks for more
/// than the open flows did, the rounds analyse every flow (`pipeline.rs`).
/// On the fixtures and on the Debian 5.10, 6.1 and 6.12 trees the files read
/// and the outcome are those of rounds that analyse every flow.
#[derive(Clone, Debug, Default)]
pub struct SettledFlows {
    acquires: HashSet<AcquireAt>,
}

impl SettledFlows {
    pub fn is_empty(&self) -> bool {
        self.acquires.is_empty()
    }
    pub fn contains(&self, acquire: &AcquireAt) -> bool {
        self.acquires.contains(acquire)
    }
    pub fn extend(&mut self, other: SettledFlows) {
        self.acquires.extend(other.acquires);
    }
}

/// The acquires of `sites` whose flows wait on no need of `unmet`.
/// `representatives` maps each unit to its merged flow.
pub(crate) fn settled_flows(
    cx: &FlowContext,
    representatives: &[UnitId],
    sites: &[AcquireSite],
    unmet: &Needs,
) -> SettledFlows {
    let flow = |u: UnitId| representatives[u.index()];
    let open: HashSet<UnitId> = unmet
        .iter()
        .filter_map(|need| cx.need_units.get(&need))
        .flat_map(|units| units.iter().map(|&u| flow(u)))
        .collect();
    let mut settled = SettledFlows::default();
    for site in sites {
        if site.unit.is_some_and(|u| open.contains(&flow(u))) {
            continue;
        }
        settled.acquires.insert(AcquireAt {
            path: cx.file(cx.funcs[site.func].file).path.to_string(),
            at: site.matched.start,
        });
    }
    settled
}

/// Keeps the needs of units that may still convert, reports broken
/// functions in the flow and what stays open, and returns the needs not yet
/// scanned. `representatives` maps each unit to its merged flow.
pub(crate) fn settle(
    cx: &mut FlowContext,
    representatives: &[UnitId],
    scanned: &Needs,
    final_round: bool,
    broken: &[BrokenFunction],
    out_files: &mut [FileFindings],
) -> Needs {
    keep_hopeful_needs(cx, representatives);
    let unmet = cx.needs.minus(scanned);
    if cx
        .needs
        .holders
        .iter()
        .any(|s| scanned.overflowed(&Need::Holders(s.clone())))
    {
        cx.hit(Limit::HolderSearch(MAX_HOLDER_HEADERS));
    }
    report_broken(cx, representatives, broken, out_files);
    open_callers(cx, representatives, scanned, final_round, &unmet);
    unmet
}

/// Needs only matter for units that may still convert (or be checked for a
/// mismatch); a unit already blocked is not followed further.
fn keep_hopeful_needs(cx: &mut FlowContext, representatives: &[UnitId]) {
    let hopeless: Vec<bool> = representatives
        .iter()
        .map(|&r| !cx.units[r].blockers.is_empty())
        .collect();
    let wanted = |need: Need, cx: &FlowContext| {
        cx.need_units
            .get(&need)
            .is_some_and(|us| us.iter().any(|&u| !hopeless[u.index()]))
    };
    let definition = |f: &String| wanted(Need::Definition(f.clone()), cx);
    let callers = |f: &String| wanted(Need::Callers(f.clone()), cx);
    let field = |(s, f): &(String, String)| wanted(Need::Field(s.clone(), f.clone()), cx);
    let holders = |s: &String| wanted(Need::Holders(s.clone()), cx);
    let needs = Needs {
        definitions: cx
            .needs
            .definitions
            .iter()
            .filter(|f| definition(f))
            .cloned()
            .collect(),
        callers: cx
            .needs
            .callers
            .iter()
            .filter(|f| callers(f))
            .cloned()
            .collect(),
        fields: cx
            .needs
            .fields
            .iter()
            .filter(|f| field(f))
            .cloned()
            .collect(),
        overflow: BTreeSet::new(),
        local_callers: cx
            .needs
            .local_callers
            .iter()
            .filter(|f| callers(f))
            .cloned()
            .collect(),
        local_fields: cx
            .needs
            .local_fields
            .iter()
            .filter(|f| field(f))
            .cloned()
            .collect(),
        holders: cx
            .needs
            .holders
            .iter()
            .filter(|s| holders(s))
            .cloned()
            .collect(),
    };
    cx.needs = needs;
}

/// Functions in the flow that could not be parsed block their units; they
/// are reported when they mention an acquire or something the flow needs.
fn report_broken(
    cx: &mut FlowContext,
    representatives: &[UnitId],
    broken: &[BrokenFunction],
    out_files: &mut [FileFindings],
) {
    for b in broken {
        let file = cx.file(b.file);
        let src: &[u8] = &file.parsed.original;
        let body = &src[b.def.node.byte_range()];
        let has = |w: &str| memchr::memmem::find(body, w.as_bytes()).is_some();
        let mentions_acquire = cx.engine.acquire_names().iter().any(|a| has(a));
        let mut hit: BTreeSet<UnitId> = BTreeSet::new();
        for (need, units) in &cx.need_units {
            let touches = match need {
                Need::Definition(f) => b.name == *f,
                Need::Callers(f) => b.name == *f || has(&format!("{f}(")),
                Need::Field(s, f) => has(s) && has(f),
                Need::Holders(_) => false,
            };
            if touches {
                hit.extend(units.iter().copied());
            }
        }
        if mentions_acquire || !hit.is_empty() {
            out_files[b.file.index()].skipped.push(SkippedFunction {
                function: b.name.clone(),
                line: b.line,
                reason: format!("parse error at line {}", b.error_line),
            });
        }
        let why = Blocker::Unparsed {
            function: b.name.clone(),
            place: format!("{}:{}", file.path, b.line),
        };
        for u in hit {
            let r = representatives[u.index()];
            push_unique(&mut cx.units[r].escapes, why.clone());
        }
    }
}

/// Callers that were searched for but not all read (too widely used, or the
/// search stopped) leave the parameters they feed open.
fn open_callers(
    cx: &mut FlowContext,
    representatives: &[UnitId],
    scanned: &Needs,
    final_round: bool,
    unmet: &Needs,
) {
    let open: Vec<String> = cx
        .needs
        .callers
        .iter()
        .filter(|c| {
            scanned.overflowed(&Need::Callers(c.to_string()))
                || (final_round && unmet.callers.contains(*c))
        })
        .cloned()
        .collect();
    for name in open {
        let why = Blocker::UnreadCallers {
            function: name.clone(),
        };
        // A forwarding macro's unread callers are its function's.
        let function = match cx.by_name.contains_key(&name) {
            true => name.clone(),
            false => cx.forward_end(&name),
        };
        let defs: Vec<FuncId> = cx.by_name.get(&function).cloned().unwrap_or_default();
        for g in defs {
            let mut units = BTreeSet::new();
            for prm in cx.funcs[g].params.iter() {
                if let Some(i) = cx.locs.get(&Loc::Var(g, prm.clone())) {
                    units.extend(i.arrays.iter().chain(&i.pages).copied());
                }
            }
            if let Some(i) = cx.locs.get(&Loc::Ret(g)) {
                units.extend(i.arrays.iter().chain(&i.pages).copied());
            }
            for u in units {
                let r = representatives[u.index()];
                push_unique(&mut cx.units[r].escapes, why.clone());
            }
        }
    }
}

/// Fields whose readers and writers were not all read (too widely named,
/// or still unread when the rounds end) are open: whatever the files not
/// read store there is a value from elsewhere, which travels with the
/// values (`escapes::spread_others`) and blocks a release that reads it.
/// Run before the releases are tied, so that they see it.
pub(crate) fn open_fields(cx: &mut FlowContext, scanned: &Needs, final_round: bool) {
    let open: Vec<(String, String)> = cx
        .needs
        .fields
        .iter()
        .filter(|&pair| {
            scanned.overflowed(&Need::Field(pair.0.clone(), pair.1.clone()))
                || (final_round && !scanned.fields.contains(pair))
        })
        .cloned()
        .collect();
    if open.is_empty() {
        return;
    }
    // The field's own location, or the location of a field of the same
    // name in a struct `s` holds (the need was asked under the holder's
    // name, `need_field`).
    let fields: Vec<(String, String)> = cx
        .locs
        .keys()
        .filter_map(|l| match l {
            Loc::Field(s, f) => Some((s.clone(), f.clone())),
            _ => None,
        })
        .collect();
    for (s, f) in open {
        for (held, field) in &fields {
            let spelled = *field == f || cx.types.spellings(held, field).contains(&f);
            if !spelled || (*held != s && !cx.types.holders(held).contains(&s)) {
                continue;
            }
            let info = cx
                .locs
                .get_mut(&Loc::Field(held.clone(), field.clone()))
                .expect("listed");
            info.others.add(Origin::UnreadStores {
                strukt: s.clone(),
                field: f.clone(),
            });
        }
    }
}
