//! The `aie` binary: parse the command line, run it, turn the outcome into an exit code.
//! Everything else lives in the library.

/// mimalloc: a pass makes and frees many small strings and maps per item, on two threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    aie::main_entry()
}
