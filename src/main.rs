//! The `flowmcp` binary: parse the command line, hand it to the library.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hand the heap's free pages back to the operating system now, rather than when mimalloc
/// next gets around to it (on an idle server: never). The library calls it at quiet moments.
#[expect(unsafe_code, reason = "the allocator's collect has no safe wrapper")]
fn release_memory() {
    // SAFETY: mi_collect only walks mimalloc's own structures; any thread may call it.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

fn main() -> ExitCode {
    let cli = flowmcp::cli::Cli::parse();
    match flowmcp::run(cli, release_memory) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
