//! The `aie` binary: parse the command line, run it, turn the outcome into an exit code.
//! Everything else lives in the library.

/// mimalloc: a pass makes and frees many small strings and maps per item, on two threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` (its `mi_option_t` number in the mimalloc 3 that libmimalloc-sys
/// 0.1.49 builds; the Rust bindings do not name it), whose default there is 1000 ms.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // A command is short: memory it frees is kept for its next batch instead of being given
    // back to the system after a second and faulted in afresh. Set only when the option at
    // that number holds purge_delay's default (not one set by MIMALLOC_PURGE_DELAY), so
    // another mimalloc, or the owner's own setting, is never overridden.
    // SAFETY: mimalloc's option functions take a plain enum value and are thread-safe.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == 1000 {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
    aie::main_entry()
}
