//! Work spread over the machine's cores, for the steps of a pass where each item's work
//! depends on that item alone (reading and claiming items, planning them, moving them).
//! Results come back in the items' order, so what a pass reports and records does not
//! depend on which thread did what. Small batches stay on the calling thread.

use std::thread;

/// Fewer items than this are worked on the calling thread alone: a thread costs more than
/// it saves on a few items, and tests of a handful of items see one order of events.
pub const PARALLEL_FROM: usize = 32;

/// How many threads to use for `n` items: up to 2 (the machines aie runs on have few
/// cores, and the file system serialises much of the rest), 1 below [`PARALLEL_FROM`].
pub fn threads_for(n: usize) -> usize {
    if n < PARALLEL_FROM {
        return 1;
    }
    thread::available_parallelism().map_or(1, |c| c.get().min(2))
}

/// `f` of every item, in the items' order: the first half on the calling thread, the
/// second on another when [`threads_for`] says so. A panic in either is passed on.
pub fn map<T, R, F>(items: Vec<T>, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
{
    if threads_for(items.len()) < 2 {
        return items.into_iter().map(f).collect();
    }
    let mut first = items;
    let second = first.split_off(first.len() / 2);
    let f = &f;
    thread::scope(|s| {
        let other = s.spawn(move || second.into_iter().map(f).collect::<Vec<R>>());
        let mut out: Vec<R> = first.into_iter().map(f).collect();
        match other.join() {
            Ok(rest) => out.extend(rest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_on_one_thread_or_two() {
        for n in [0, 1, PARALLEL_FROM - 1, PARALLEL_FROM, 1001] {
            let items: Vec<usize> = (0..n).collect();
            let out = map(items, |i| (i, thread::current().id()));
            assert_eq!(
                out.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
                (0..n).collect::<Vec<_>>()
            );
            let first = out.first().map(|(_, t)| *t);
            if n < PARALLEL_FROM {
                assert!(
                    out.iter().all(|(_, t)| Some(*t) == first),
                    "{n} items: one thread"
                );
            }
        }
    }

    #[test]
    fn a_panic_on_the_other_thread_is_passed_on() {
        let r = std::panic::catch_unwind(|| {
            map((0..100).collect::<Vec<usize>>(), |i| {
                assert!(i != 99, "item 99");
                i
            })
        });
        assert!(r.is_err());
    }
}
