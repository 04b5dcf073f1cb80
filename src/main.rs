use std::process::ExitCode;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("Error: could not start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(clanforge_wait::main(std::env::args_os()));
    // Don't wait for a request or resolver thread still in flight at the deadline.
    runtime.shutdown_background();
    ExitCode::from(code)
}
