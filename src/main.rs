use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            // A stderr that can't be written has nowhere to say so either.
            let _ = writeln!(std::io::stderr(), "Error: could not start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(clanforge_wait::run(std::env::args_os()));
    // Don't wait for a request or resolver thread still in flight at the deadline.
    runtime.shutdown_background();
    ExitCode::from(outcome.exit_code())
}
