//! The plan pass on two threads without pauses between batches (where claims need no
//! remote's word, the planner can be copied, and the machine has two cores). Each item is
//! claimed and prepared (planned, its plan written, its rewrite staged) by whichever thread
//! is free, a few items at a time. While this thread finishes a batch (its commit, ledger
//! records and moves, which queue on the folders' locks and gain little from a second
//! thread), the worker already claims and prepares the next, and this thread joins it when
//! done; the last batch is finished on both. Every item still goes through its own steps in
//! the same order (claimed, planned, rewritten after its batch's sync, recorded, moved),
//! and each batch is finished, in its items' order, before the next is recorded or moved,
//! so what a pass reports, records and audits is what [`super::batch::plan_batch`] gives.

use super::batch::{Prepared, finish_batch, prepare};
use super::{Guides, PlanRun, claim};
use crate::context::Ctx;
use crate::fsutil::WriteBatch;
use crate::outcome::Outcome;
use crate::par::Pool;
use crate::planner::Planner;
use crate::vault::Stage;
use anyhow::Result;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How many items a thread takes from a batch at a time, at most: fewer as the batch runs
/// out, so that neither thread waits long for the other's last few at its end.
const TAKE: usize = 16;

/// A batch's items not yet taken, with their places in the pass's queue.
type Queue = Mutex<std::vec::IntoIter<(usize, PathBuf)>>;

/// What became of one item: what its claim reported, and its preparation when claimed.
struct Done {
    at: usize,
    claim: Outcome,
    prepared: Option<(Prepared, WriteBatch)>,
}

/// Plans `batches` (each a list of (place in the queue, path)); the first `resumed` places
/// were left in `mine` by a crashed run.
#[allow(clippy::too_many_arguments)]
pub(super) fn plan_pipelined<'env>(
    ctx: &'env Ctx,
    pool: &Pool<'env>,
    planner: &mut dyn Planner,
    run: &mut PlanRun,
    mine: &'env Stage,
    resumed: usize,
    batches: Vec<Vec<(usize, PathBuf)>>,
    out: &mut Outcome,
) -> Result<()> {
    log::debug!(
        "plan: {} items in {} batches, each claimed and planned on two threads",
        batches.iter().map(Vec::len).sum::<usize>(),
        batches.len()
    );
    let mut batches = batches.into_iter();
    let Some(first) = batches.next() else {
        return Ok(());
    };
    // The worker starts on a batch; this thread joins it, and both take items until none
    // are left.
    let start = |items: Vec<(usize, PathBuf)>, planner: &dyn Planner| {
        let queue: Arc<Queue> = Arc::new(Mutex::new(items.into_iter()));
        let theirs = Arc::clone(&queue);
        let guides = Arc::clone(&run.guides);
        let other = planner.fork();
        let rx = pool.spawn(move || match other {
            Some(mut p) => work(ctx, p.as_mut(), &guides, mine, resumed, &theirs),
            None => Vec::new(),
        });
        (queue, rx)
    };
    let mut current = start(first, planner);
    loop {
        let (queue, rx) = current;
        let mut done = work(ctx, planner, &run.guides, mine, resumed, &queue);
        let Ok(theirs) = rx.recv() else {
            // This thread's staged files are removed, the worker's left for the stale-temp
            // sweep; the items claimed wait in `In_Progress/` for the next pass.
            for d in done {
                if let Some((_, batch)) = d.prepared {
                    batch.abandon();
                }
            }
            panic!("a pass's worker thread panicked while planning");
        };
        done.extend(theirs);
        done.sort_unstable_by_key(|d| d.at);
        let mut prepared = Vec::with_capacity(done.len());
        let mut batch = WriteBatch::within(ctx.vault.anchor());
        for d in done {
            out.absorb(d.claim);
            if let Some((p, b)) = d.prepared {
                prepared.push(p);
                batch.extend(b);
            }
        }
        // The next batch starts on the worker while this one is finished here; the last
        // one is finished on both threads.
        let next = batches.next().map(|items| start(items, planner));
        let alone = Pool::none();
        let finished = finish_batch(
            ctx,
            if next.is_some() { &alone } else { pool },
            prepared,
            batch,
            &mut run.ledger,
            &mut run.waiting,
            out,
        );
        match (finished, next) {
            (Ok(()), Some(n)) => current = n,
            (Ok(()), None) => return Ok(()),
            (Err(e), next) => {
                // The pass stops; the worker's items so far wait in `In_Progress/`.
                if let Some((queue, rx)) = next {
                    queue
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .by_ref()
                        .for_each(drop);
                    for d in rx.recv().unwrap_or_default() {
                        if let Some((_, batch)) = d.prepared {
                            batch.abandon();
                        }
                    }
                }
                return Err(e);
            }
        }
    }
}

/// Claims and prepares items taken from `queue` until none are left.
fn work(
    ctx: &Ctx,
    planner: &mut dyn Planner,
    guides: &Guides,
    mine: &Stage,
    resumed: usize,
    queue: &Queue,
) -> Vec<Done> {
    // About half the batch comes to each thread: room for it, so that the list is not
    // copied as it grows.
    let left = queue.lock().unwrap_or_else(|p| p.into_inner()).len();
    let mut done = Vec::with_capacity(left / 2 + TAKE);
    loop {
        let taken: Vec<(usize, PathBuf)> = {
            let mut left = queue.lock().unwrap_or_else(|p| p.into_inner());
            let n = (left.len() / 8).clamp(1, TAKE);
            left.by_ref().take(n).collect()
        };
        if taken.is_empty() {
            return done;
        }
        for (at, path) in taken {
            let (claimed, claim_out) = claim(ctx, mine, at < resumed, path);
            let prepared = claimed.map(|c| {
                let mut batch = WriteBatch::within(ctx.vault.anchor());
                let p = prepare(ctx, planner, guides, c, &mut batch);
                (p, batch)
            });
            done.push(Done {
                at,
                claim: claim_out,
                prepared,
            });
        }
    }
}
