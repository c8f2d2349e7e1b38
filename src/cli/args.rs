//! The command line as parsed by clap, before it is resolved into a
//! `pipeline::Config`.

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Rewrite kernel C the way Coccinelle does: convert put_page() releases of
/// get_user_pages*() pages to unpin_user_page*() (or put_user_page*()),
/// following the pages from acquire to release.
#[derive(Debug, Parser)]
#[command(name = "pinpatch", version, about, long_about = None)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the changes as a unified diff (git style); nothing is written.
    Diff(RunArgs),
    /// Write the changes into the files, atomically.
    Apply(RunArgs),
    /// List every acquire and release site, what it becomes or why not.
    Report {
        #[command(flatten)]
        run: RunArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write the conversion as patch series (git format-patch mbox files),
    /// one per complexity class and area, one patch per subsystem.
    Series {
        #[command(flatten)]
        series: SeriesArgs,
        /// Directory to write the series into (one subdirectory per series).
        #[arg(long, value_name = "DIR", required_unless_present = "dry_run")]
        out: Option<PathBuf>,
        /// Print the plan (series, patches, files, recipients); write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Commit each series onto a branch pinpatch/<series> of the repository
    /// at PATH; HEAD, the index and the working tree are not touched.
    Commit {
        #[command(flatten)]
        series: SeriesArgs,
    },
    /// For CI: list unconverted GUP releases and mismatches (pinned pages
    /// released with put_page(), or the reverse); exit 1 when some are not in
    /// the baseline.
    Check {
        #[command(flatten)]
        run: RunArgs,
        /// Findings already known (one per line, as --write-baseline writes them).
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// Record the current findings in FILE and exit 0.
        #[arg(long, value_name = "FILE")]
        write_baseline: Option<PathBuf>,
    },
    /// Explain the acquire or release call at FILE:LINE: its flow, class and
    /// why it was or was not converted.
    Explain {
        /// FILE:LINE, FILE relative to --root.
        location: String,
        /// The tree the file belongs to (default: the current directory).
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// The API to convert to.
        #[arg(long, value_enum, default_value_t = TargetArg::Unpin)]
        target: TargetArg,
        /// Which acquires the unpin target converts.
        #[arg(long, value_enum, default_value_t = PolicyArg::Evidence)]
        policy: PolicyArg,
        /// Load rules from this directory instead of the built-in pack.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Keep an index of the tree in FILE between runs: files unchanged
        /// since (same inode, size and times) are not read again to be
        /// searched.
        #[arg(long, value_name = "FILE")]
        index: Option<PathBuf>,
    },
    /// List the rules of the pack with their documentation.
    Rules {
        /// Load rules from this directory instead of the built-in pack.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Run the examples, counterexamples and isomorphism cases of a rule
    /// pack and print a pass/fail table; exit 1 when one fails.
    TestRules {
        /// A pack directory, or a directory of packs (each subdirectory with
        /// rule files is tested as a pack, with the directory's iso.toml).
        /// Default: the built-in pack.
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, ClapArgs)]
pub struct RunArgs {
    /// A C file or a directory tree (default: the current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The API to convert to.
    #[arg(long, value_enum, default_value_t = TargetArg::Unpin)]
    pub target: TargetArg,
    /// Load rules from this directory instead of the built-in pack.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Which acquires the unpin target converts.
    #[arg(long, value_enum, default_value_t = PolicyArg::Evidence)]
    pub policy: PolicyArg,
    /// Analysis rounds at most: each round reads the files the flows lead
    /// to; fewer rounds are faster and leave longer flows for a human.
    #[arg(long, value_name = "N", default_value_t = crate::pipeline::MAX_ROUNDS)]
    pub max_rounds: usize,
    /// Keep an index of the tree in FILE between runs: files unchanged since
    /// (same inode, size and times) are not read again to be searched.
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// Never show a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PolicyArg {
    /// Only pages seen used for DMA, written, kept long-term or whose data the CPU reaches are pinned.
    Evidence,
    /// Every acquire whose releases all convert is pinned.
    All,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TargetArg {
    /// pin_user_pages*() and unpin_user_page*() (Linux 5.6 and later).
    Unpin,
    /// put_user_page*() releases, acquires unchanged (the 2018 plan, Linux 5.2-5.5).
    #[value(name = "put_user_page")]
    PutUserPage,
}

#[derive(Debug, ClapArgs)]
pub struct SeriesArgs {
    /// The top of the kernel tree (where MAINTAINERS is).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The API to convert to.
    #[arg(long, value_enum, default_value_t = TargetArg::Unpin)]
    pub target: TargetArg,
    /// Load rules from this directory instead of the built-in pack.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Which acquires the unpin target converts.
    #[arg(long, value_enum, default_value_t = PolicyArg::Evidence)]
    pub policy: PolicyArg,
    /// Analysis rounds at most: each round reads the files the flows lead
    /// to; fewer rounds are faster and leave longer flows for a human.
    #[arg(long, value_name = "N", default_value_t = crate::pipeline::MAX_ROUNDS)]
    pub max_rounds: usize,
    /// Add Signed-off-by: with the author identity (never added otherwise).
    #[arg(long, short = 's')]
    pub signoff: bool,
    /// Author as "Name <email>" (default: git config user.name/user.email).
    #[arg(long, value_name = "IDENT")]
    pub author: Option<String>,
    /// The revision the series apply to (default: HEAD when PATH is a git repository).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Replace an existing output directory or branch.
    #[arg(long)]
    pub force: bool,
    /// Keep an index of the tree in FILE between runs: files unchanged since
    /// (same inode, size and times) are not read again to be searched.
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// Never show a progress bar.
    #[arg(long)]
    pub quiet: bool,
}
