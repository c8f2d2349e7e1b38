//! Why a unit or a site is not converted, and what was decided for a unit,
//! as data. The sinks render them to text (`sink::reason`); the engine and
//! the pipeline only build and compare them.

/// A value that may reach a location besides a unit's pages: what makes the
/// location *mixed*.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A plain assignment of another value (`x = y` at `place`).
    Assigned { value: String, place: String },
    /// An argument a caller passes for a parameter that holds pages.
    Argument {
        value: String,
        callee: String,
        caller: String,
        place: String,
    },
    /// Whatever the files the pipeline did not read store in a field.
    UnreadStores { strukt: String, field: String },
    /// Calls through a pointer to a function whose parameters hold pages.
    AddressTaken { function: String, place: String },
}

/// Values from elsewhere that reach storage a unit's release reads, and
/// why they do not block the unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Separation {
    /// The objects differ (`engine/flow/objects.rs`): the store writes
    /// into objects of some allocations, the releases read objects of
    /// others.
    Objects {
        /// The store, as the blocker it would have been.
        store: Blocker,
        /// Where the objects written to were allocated (`file:line`).
        store_objects: Vec<String>,
        /// The releases told apart from it (`file:line`).
        releases: Vec<String>,
        /// Where the objects those releases read were allocated.
        release_objects: Vec<String>,
    },
    /// The release runs under a test of a flag that the places handing
    /// over the other values fail (`engine/flow/guards.rs`).
    Flag {
        /// The release (`file:line`).
        release: String,
        /// The flag as the test reads it (`put`, `f->user`).
        flag: String,
        /// Whether the release runs when the flag is set.
        set: bool,
        /// The values left out, where they are handed over.
        left_out: Vec<Origin>,
    },
    /// The store is in one branch of an `if` whose test cannot change
    /// while its function runs, and the releases run only after the other
    /// branch (`engine/flow/guards.rs`).
    Branch {
        /// The store, as the blocker it would have been.
        store: Blocker,
        /// The test of the `if`, as written.
        condition: String,
        /// Whether the store runs when the test holds.
        set: bool,
        /// The releases told apart from it (`file:line`).
        releases: Vec<String>,
    },
}

/// A reason a unit (or a site outside any unit) is not converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocker {
    /// The acquire rule matched but its pages argument was not found.
    NoPagesArgument,
    /// The pages argument is `NULL`: the call only faults pages in.
    NullPages,
    /// The pages argument is neither a variable nor a known field.
    PagesNotLocation { pages: String },
    /// One array is filled both by a pinning and a non-pinning acquire.
    MixedFamilyArray,
    /// One flow holds pages of a pinning and a non-pinning acquire.
    MixedFamilyFlow,
    /// `FOLL_GET` is already in the flags of the acquire at `line`.
    FollGet { line: usize },
    /// The rule asks for a human for this target, with its own words.
    RuleManual { why: String },
    /// The rewrite calls a function the tree's `include/linux/mm.h` does
    /// not declare.
    MissingApi { call: String },
    /// A release may also see values from elsewhere.
    MixedRelease { place: String, others: Vec<Origin> },
    /// A blocker that waits on files or definitions the last round did not
    /// read, because its unit was blocked already (a blocked unit's needs
    /// are not followed) or the rounds ran out: it may not hold.
    Unsettled(Box<Blocker>),
    /// A function in the flow does not parse.
    Unparsed { function: String, place: String },
    /// A function holding pages has callers the pipeline did not read.
    UnreadCallers { function: String },
    /// The pages are stored where the analysis cannot follow them.
    StoredUnfollowed { target: String, place: String },
    /// An element of the unit's array is assigned another value.
    ElementAssigned {
        array: String,
        value: String,
        place: String,
    },
    /// An element of the unit's container is set to another page.
    ElementSet {
        container: String,
        value: String,
        place: String,
    },
    /// The pages are passed to a call through a pointer.
    IndirectCall { place: String },
    /// A reference is taken on the pages besides the acquire's.
    ExtraReference { call: String, place: String },
    /// The pages are released by a call no rule converts.
    UnconvertedRelease { call: String, place: String },
    /// The pages are passed to a function with several definitions.
    PassedToAmbiguous { call: String, place: String },
    /// The pages are passed to a function the analysis cannot read.
    PassedTo { call: String, place: String },
    /// The pages, or what holds them, head a loop through an iterator
    /// macro the analysis does not know: what the loop hands its other
    /// arguments is unknown.
    WalkedBy { iterator: String, place: String },
    /// A struct field holding the pages is named inside the body of a
    /// function-like macro used with the field's struct (`PUT_ALL(buf)`
    /// whose body releases `(b)->pages[i]`): what the body does with them
    /// is not followed.
    ReachedInMacro {
        field: String,
        macro_name: String,
        place: String,
    },
    /// A field holding the pages is named through an expression whose
    /// struct the analysis cannot tell (a macro's result).
    UntypedFieldRead { expression: String, place: String },
    /// The offset of a struct field holding the pages is taken
    /// (`offsetof(struct s, pages)`): code may reach the field through a
    /// pointer to the struct and that offset, which is not followed.
    FieldOffsetTaken { field: String, place: String },
    /// A struct holding the pages is read as another struct, through a
    /// cast of its pointer (`(struct view *)dev`) or a copy of its bytes
    /// (`memcpy(&view, dev, ...)`): its fields may be reached under the
    /// other struct's names, which are not followed.
    StructPunned {
        from: String,
        to: String,
        place: String,
    },
    /// No release of the pages was found.
    NoRelease,
    /// The pages come from `pin_user_pages*()`.
    AlreadyPinned,
    /// A plain rewrite rule has no template for the target.
    NoTemplate { rule: String },
    /// A rule of the unit cannot rewrite for the unpin target.
    NoUnpinRewrite { rule: String },
    /// Only struct page is looked at, by the calls named: a reference is
    /// enough (case 4).
    StructPageOnly { uses: Vec<String> },
    /// The page is released before its address is used: the call only
    /// looks the page up.
    LookupOnly { release: String, use_place: String },
    /// Pages of another address space, accessed and released within one
    /// file, never stored, with no sign of DMA or long-term use: a brief
    /// access such as ptrace's, which a reference serves.
    RemoteAccess { mm: String, function: String },
    /// No evidence for a pin, and the driver registers an MMU notifier
    /// (`call` at `place`): it drops its references when the memory goes
    /// away, so a reference is enough (case 3).
    MmuNotifier { call: String, place: String },
    /// Nothing shows whether the pages need a pin: no use of the pages at
    /// all is seen, neither of their data nor of their struct page.
    NeedsDecision,
    /// A bound of the analysis was reached.
    LimitReached(Limit),
    /// A file the pipeline skipped mentions a name the flow goes through.
    SkippedFileMentions {
        path: String,
        name: String,
        reason: String,
    },
    /// A file the pipeline could not read at all may use anything.
    SkippedFileUnread { path: String, reason: String },
    /// A function the engine did not analyse mentions a name the flow goes
    /// through.
    SkippedFunctionMentions {
        function: String,
        place: String,
        name: String,
        reason: String,
    },
    /// The unit's rewrite overlaps another unit's.
    RewriteOverlap,
    /// The diff of a file does not reproduce its rewritten text.
    SelfCheckFailed { path: String, why: String },
    /// The unit's rewrite alone would break the parse of a file.
    RewriteParseError { path: String },
    /// The rewrites of a file together would break its parse.
    RewritesParseError { path: String },
}

/// A bound of the analysis. Reaching one means values may be missing, so
/// every unit of the analysis is blocked with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Limit {
    /// The propagation did not settle within this many rounds.
    FixpointRounds(usize),
    /// An expression nested deeper than this many operands was not followed.
    ExpressionDepth(usize),
    /// A callee summary nested deeper than this many calls was not read
    /// (the identity it is given is taken as kept).
    SummaryDepth(usize),
    /// A trace of the objects a pointer may point at visited more than this
    /// many expressions (the objects are taken as unknown, so a store into
    /// a shared field stays mixed).
    ObjectTrace(usize),
    /// A flag passed on as a parameter was not followed to callers more
    /// than this many calls away (what those callers pass is all kept, so
    /// a release under the flag may still see values the flag would have
    /// left out).
    GuardDepth(usize),
    /// A call's name was not followed through more than this many macros
    /// that forward their arguments (the last one is taken as a macro, so
    /// what it is given escapes).
    ForwardDepth(usize),
    /// The structs embedding a struct that more than this many headers name
    /// were not searched for (`Need::Holders`), so code reaching its fields
    /// through one of them, naming neither, is not seen.
    HolderSearch(usize),
    /// A local variable's address was not followed into the parameters of
    /// calls more than this many calls deep (the local is then no object
    /// of its own, so what is stored in it may be seen anywhere).
    LocalAddressDepth(usize),
}

impl Limit {
    /// Whether reaching the limit may lose a store or a value, so that no
    /// unit may convert; a limit that only follows pages further than
    /// needed (`SummaryDepth`: the identity is taken as kept and followed
    /// into the callee) costs conversions, not correctness, and is only
    /// reported.
    pub fn blocks_units(&self) -> bool {
        match self {
            Limit::FixpointRounds(_) | Limit::ExpressionDepth(_) => true,
            Limit::SummaryDepth(_)
            | Limit::ObjectTrace(_)
            | Limit::GuardDepth(_)
            | Limit::ForwardDepth(_)
            | Limit::HolderSearch(_)
            | Limit::LocalAddressDepth(_) => false,
        }
    }
}

/// Where something was seen: a line of a file and the function holding
/// it. Ordered by file, then line. Shown as `path:line` in reports; a
/// commit message names the function instead, as line numbers rot.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Place {
    pub path: String,
    pub line: usize,
    pub function: String,
}

impl Place {
    /// The place a `path:line` text names, in `function`.
    pub fn parse(at: &str, function: &str) -> Place {
        let (path, line) = at.rsplit_once(':').unwrap_or((at, ""));
        Place {
            path: path.to_string(),
            line: line.parse().unwrap_or(0),
            function: function.to_string(),
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path, self.line)
    }
}

/// What shows that a unit's pages need a pin. The variants are ordered as
/// the report lists them: the flag, the calls by name, then the stores.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Evidence {
    /// `FOLL_LONGTERM` among the acquire's flags.
    LongTermFlag,
    /// A call of the vocabulary's evidence (`dma_map_sg`), by name.
    Call(String),
    /// A store of a page into a container element's field
    /// (`bvec[i].bv_page = page`).
    ContainerElement,
    /// A store into a struct field, named `STRUCT::FIELD`.
    StoredIn(String),
}

/// The case of `Documentation/core-api/pin_user_pages.rst` a unit falls
/// under, with the piece of evidence that shows it and where it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinCase {
    /// Case 1 (direct I/O): the pages are handed to a device or to
    /// direct I/O while the call runs.
    Dma { evidence: Evidence, at: Place },
    /// Case 2 (RDMA): the pages are handed to a device and kept long-term:
    /// `kept` is the struct field (`STRUCT::FIELD`) they stay in beyond the
    /// acquiring call, with where, or `None` for `FOLL_LONGTERM`.
    LongTermDma {
        evidence: Evidence,
        at: Place,
        kept: Option<(String, Place)>,
    },
    /// The pages are kept long-term (`FOLL_LONGTERM`, or stored in a
    /// struct field and released in another function) with no DMA or
    /// write seen: a reference held that long needs a pin.
    LongTerm { evidence: Evidence, at: Place },
    /// Case 3: the driver registers an MMU notifier and shows no other
    /// need for a pin.
    MmuNotifier { call: String, at: String },
    /// Case 4: only `struct page` is looked at.
    StructPageOnly,
    /// Case 5: the CPU writes to the pages' data.
    WriteData { evidence: Evidence, at: Place },
    /// The CPU reaches the pages' data (`kmap()` and the like) and nothing
    /// else shows a need: FOLL_PIN "is for short term pins on pages whose
    /// data *will* get accessed" (the document's last section), as against
    /// case 4's struct page only.
    DataAccess { call: String, at: Place },
    /// Not a pin: the page is released before its address is used.
    Lookup,
    /// Not a pin: a brief access to another process's pages.
    BriefRemoteAccess,
}

/// What the engine decided for a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Every acquire and release of the unit is rewritten.
    Convert,
    /// Left on `get_user_pages*()` on purpose: the acquire policy says a
    /// reference is enough, for this reason (`StructPageOnly`, `LookupOnly`).
    Keep(Blocker),
    /// The pages are pinned already; `also` lists what else was found.
    AlreadyPinned { also: Vec<Blocker> },
    /// Left for a human, for these reasons (possibly none, when no rule of
    /// the unit has a rewrite for the target).
    Manual(Vec<Blocker>),
}

impl Decision {
    /// The reasons a report shows for the decision, in order.
    pub fn reasons(&self) -> Vec<Blocker> {
        match self {
            Decision::Convert => Vec::new(),
            Decision::Keep(why) => vec![why.clone()],
            Decision::AlreadyPinned { also } => {
                let mut out = vec![Blocker::AlreadyPinned];
                out.extend(also.iter().cloned());
                out
            }
            Decision::Manual(blockers) => blockers.clone(),
        }
    }
}
