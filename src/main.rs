//! The `pinpatch` binary: hands the arguments to `cli::run` and exits with
//! the code it returns. Nothing else lives here.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(pinpatch::cli::run(std::env::args_os()))
}
