//! The `ckpt` command line.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    cli::logging::init(args.verbose);
    // Before any thread exists: loading the configuration may set KRB5_CONFIG (see prepare).
    let prepared = cli::prepare(&args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(cli::run(args, prepared))
}
