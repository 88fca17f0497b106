//! Work spread over the machine's cores, for the steps of a pass where each item's work
//! depends on that item alone (reading and claiming items, planning them, moving them).
//! A [`Pool`] is one worker thread beside the calling one, kept for a whole pass (a thread
//! started per step would start its allocator's memory afresh each time). Results come back
//! in the items' order, so what a pass reports and records does not depend on which thread
//! did what. Small batches stay on the calling thread.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

/// Fewer items than this are worked on the calling thread alone: handing work over costs
/// more than it saves on a few items, and tests of a handful of items see one order of
/// events.
pub const PARALLEL_FROM: usize = 32;

/// A job for the worker: it owns what it works on and sends its result back.
type Job<'env> = Box<dyn FnOnce() + Send + 'env>;

/// One worker thread beside the calling one (none on a machine with one core), for the
/// life of [`Pool::with`]'s body.
pub struct Pool<'env> {
    jobs: Option<mpsc::Sender<Job<'env>>>,
}

impl<'env> Pool<'env> {
    /// Runs `body` with a pool. Its worker is stopped, and a panic in it passed on, when
    /// `body` returns.
    pub fn with<T>(body: impl FnOnce(&Pool<'env>) -> T) -> T {
        let cores = thread::available_parallelism().map_or(1, |c| c.get());
        if cores < 2 {
            return body(&Pool { jobs: None });
        }
        thread::scope(|s| {
            let (tx, rx) = mpsc::channel::<Job<'env>>();
            s.spawn(move || {
                for job in rx {
                    job();
                }
            });
            let pool = Pool { jobs: Some(tx) };
            body(&pool)
            // The pool, and with it the sender, is dropped here: the worker's loop ends.
        })
    }

    /// A pool with no worker: everything runs on the calling thread.
    pub fn none() -> Pool<'env> {
        Pool { jobs: None }
    }

    /// Whether `n` items are worth sharing with the worker.
    pub fn shares(&self, n: usize) -> bool {
        self.jobs.is_some() && n >= PARALLEL_FROM
    }

    /// Runs `job` on the worker (or here, without one); its result comes with `.recv()`.
    /// A job that panics drops its sender, and the receiver's `recv` fails.
    pub fn spawn<R: Send + 'env>(
        &self,
        job: impl FnOnce() -> R + Send + 'env,
    ) -> mpsc::Receiver<R> {
        let (tx, rx) = mpsc::sync_channel(1);
        let run = move || {
            let _ = tx.send(job());
        };
        match &self.jobs {
            Some(jobs) => {
                let sent = jobs.send(Box::new(run));
                if let Err(mpsc::SendError(run)) = sent {
                    // The worker is gone (it panicked): the job runs here.
                    run();
                }
            }
            None => run(),
        }
        rx
    }

    /// `f` of every item, in the items' order: the first half on the calling thread, the
    /// second on the worker when [`Pool::shares`] says so. A panic in either is passed on.
    pub fn map<T, R, F>(&self, items: Vec<T>, f: F) -> Vec<R>
    where
        T: Send + 'env,
        R: Send + 'env,
        F: Fn(T) -> R + Send + Sync + 'env,
    {
        if !self.shares(items.len()) {
            return items.into_iter().map(f).collect();
        }
        let mut first = items;
        let second = first.split_off(first.len() / 2);
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        let rest = self.spawn(move || second.into_iter().map(|t| g(t)).collect::<Vec<R>>());
        let mut out: Vec<R> = first.into_iter().map(|t| f(t)).collect();
        match rest.recv() {
            Ok(rest) => out.extend(rest),
            Err(_) => panic!("a pass's worker thread panicked"),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_on_one_thread_or_two() {
        Pool::with(|pool| {
            for n in [0, 1, PARALLEL_FROM - 1, PARALLEL_FROM, 1001] {
                let items: Vec<usize> = (0..n).collect();
                let out = pool.map(items, |i| (i, thread::current().id()));
                assert_eq!(
                    out.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
                    (0..n).collect::<Vec<_>>()
                );
                let here = thread::current().id();
                if n < PARALLEL_FROM {
                    assert!(
                        out.iter().all(|(_, t)| *t == here),
                        "{n} items: this thread"
                    );
                }
            }
        });
    }

    #[test]
    fn one_worker_serves_every_step_of_a_pass() {
        Pool::with(|pool| {
            let workers: std::collections::HashSet<_> = (0..5)
                .flat_map(|_| {
                    pool.map((0..100).collect::<Vec<usize>>(), |_| thread::current().id())
                })
                .collect();
            // This thread and at most one other, however many steps.
            assert!(workers.len() <= 2, "{workers:?}");
        });
    }

    #[test]
    fn a_panic_on_the_worker_is_passed_on() {
        let r = std::panic::catch_unwind(|| {
            Pool::with(|pool| {
                pool.map((0..100).collect::<Vec<usize>>(), |i| {
                    assert!(i != 99, "item 99");
                    i
                })
            })
        });
        assert!(r.is_err());
    }
}
