//! Interrupts while writing. Until something is about to be written,
//! SIGINT, SIGTERM and SIGHUP keep their default action (the process ends,
//! nothing was written). `Guard::install` is called just before the writes
//! start: from then on a signal only sets a flag, which the sinks check
//! between transactions (the files of one flow, one series output, all
//! branches), so a run stops between two whole transactions, removes its
//! temporary files and says what it did. The flag lives here, at the CLI
//! edge, and is handed to the sinks as a closure: nothing below `cli/` reads
//! globals.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Catches SIGINT, SIGTERM and SIGHUP (a closed terminal) for as long as
/// the process runs.
pub struct Guard {
    flag: Arc<AtomicBool>,
}

impl Guard {
    /// Installs the handlers. When they cannot be installed the default
    /// actions stay, which is the behaviour without a guard.
    pub fn install() -> Guard {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
        }
        Guard { flag }
    }

    /// Whether a signal arrived since the guard was installed.
    pub fn interrupted(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}
