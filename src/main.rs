//! The `aie` binary: parse the command line, run it, turn the outcome into an exit code.
//! Everything else lives in the library.

fn main() -> std::process::ExitCode {
    aie::main_entry()
}
