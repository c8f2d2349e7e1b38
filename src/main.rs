//! The `pinpatch` binary: hands the arguments to `cli::run` and exits with
//! the code it returns, with jemalloc as the allocator of the whole process.
//!
//! A run makes and drops millions of small allocations from several threads
//! (tree-sitter's subtrees, the analysis' names and node lists); jemalloc
//! serves them in less time than the C library's allocator and in no more
//! memory (BENCHMARKS.md). It replaces `malloc()` and `free()` too, so the
//! parser's C code allocates from it as well.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main()`: one arena for every thread.
/// With one arena per thread, the memory the workers free (a file's text
/// and word filter once read, a round's parse trees) stays with them while
/// the analysis, on the main thread, takes more from the system; shared,
/// it is used again (whole Linux tree: 3-5 MB less at the peak, `explain`
/// 16-20 MB less, in the same time).
#[unsafe(no_mangle)]
#[used]
static malloc_conf: Option<&'static u8> = Some(&MALLOC_OPTIONS[0]);

/// `malloc_conf`'s text, ended by a NUL as C reads it.
static MALLOC_OPTIONS: [u8; 10] = *b"narenas:1\0";

fn main() -> std::process::ExitCode {
    pinpatch::memory::set_return(return_freed_memory);
    std::process::ExitCode::from(pinpatch::cli::run(std::env::args_os()))
}

/// Gives the pages of every arena's freed memory back to the system
/// (`arena.<MALLCTL_ARENAS_ALL>.purge`). jemalloc otherwise keeps them
/// resident for ten seconds, as long as a whole-tree run, where the next
/// allocations may never take them again.
fn return_freed_memory() {
    // SAFETY: the name is a NUL-ended string jemalloc knows; the command
    // reads and writes no value.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}
