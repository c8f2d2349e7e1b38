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
    /// List the rules of the pack with their documentation.
    Rules {
        /// Load rules from this directory instead of the built-in pack.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
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
    /// Never show a progress bar.
    #[arg(long)]
    pub quiet: bool,
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
