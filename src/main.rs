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

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(pinpatch::cli::run(std::env::args_os()))
}
