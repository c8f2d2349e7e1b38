//! The command-line edge: parse arguments, resolve them into a `Config`, run
//! the pipeline once and hand the outcome to the sink the command names.
//! Errors become a message on standard error and an exit code from
//! `exit.rs`; a closed standard output (`pinpatch diff | head`) is not an
//! error.

pub mod args;
pub mod exit;

use crate::pipeline::{self, Config, Outcome};
use crate::rule::{RulePack, Target};
use crate::sink;
use args::{Args, Command, Format, RunArgs, TargetArg};
use clap::Parser;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};

/// Runs pinpatch with the given arguments; returns the exit code.
pub fn run(argv: impl IntoIterator<Item = OsString>) -> u8 {
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(args) {
        Ok(code) => code,
        Err(Failure { code, message }) => {
            eprintln!("pinpatch: {message}");
            code
        }
    }
}

struct Failure {
    code: u8,
    message: String,
}

fn fail(code: u8, message: impl std::fmt::Display) -> Failure {
    Failure {
        code,
        message: message.to_string(),
    }
}

fn load_rules(dir: Option<&std::path::Path>) -> Result<RulePack, Failure> {
    match dir {
        Some(d) => RulePack::load_dir(d).map_err(|e| fail(exit::RULES, e)),
        None => RulePack::builtin().map_err(|e| fail(exit::RULES, e)),
    }
}

fn run_pipeline(run: &RunArgs) -> Result<Outcome, Failure> {
    let pack = load_rules(run.rules.as_deref())?;
    let target = match run.target {
        TargetArg::Unpin => Target::Unpin,
        TargetArg::PutUserPage => Target::PutUserPage,
    };
    let config = Config {
        path: run.path.clone(),
        target,
    };
    let bar = (!run.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} files {wide_bar} {elapsed}",
            )
            .expect("the template is valid"),
        );
        bar
    });
    let progress = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let outcome = pipeline::run(&config, &pack, &progress).map_err(|e| fail(exit::INPUT, e));
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    outcome
}

/// Reports skipped files on standard error; returns the exit code they imply.
fn report_skipped(outcome: &Outcome) -> u8 {
    for s in &outcome.skipped {
        eprintln!("pinpatch: skipped {}: {}", s.path, s.reason);
    }
    if outcome.skipped.is_empty() {
        exit::SUCCESS
    } else {
        exit::INPUT
    }
}

fn write_stdout(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut lock = std::io::BufWriter::new(stdout.lock());
    match f(&mut lock).and_then(|_| lock.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(fail(
            exit::OUTPUT,
            format!("cannot write to standard output: {e}"),
        )),
    }
}

fn dispatch(args: Args) -> Result<u8, Failure> {
    match args.command {
        Command::Diff(run) => {
            let outcome = run_pipeline(&run)?;
            write_stdout(|out| sink::print::write_diff(out, &outcome))?;
            eprintln!("{}", sink::print::summary_line(&outcome));
            Ok(report_skipped(&outcome))
        }
        Command::Apply(run) => {
            let outcome = run_pipeline(&run)?;
            let written = sink::files::apply(&outcome).map_err(|e| fail(exit::OUTPUT, e))?;
            eprintln!("{}", sink::print::summary_line(&outcome));
            eprintln!("pinpatch: {written} files written");
            Ok(report_skipped(&outcome))
        }
        Command::Report { run, format } => {
            let outcome = run_pipeline(&run)?;
            write_stdout(|out| match format {
                Format::Text => sink::print::write_report_text(out, &outcome),
                Format::Json => sink::print::write_report_json(out, &outcome),
            })?;
            Ok(report_skipped(&outcome))
        }
        Command::Rules { rules } => {
            let pack = load_rules(rules.as_deref())?;
            write_stdout(|out| {
                for r in &pack.rules {
                    writeln!(out, "{} ({:?}): {}", r.id, r.kind, r.title)?;
                }
                Ok(())
            })?;
            Ok(exit::SUCCESS)
        }
    }
}
