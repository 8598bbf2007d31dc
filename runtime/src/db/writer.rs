//! The single writer: one committer, and the thread that commits queued
//! changes in batches.
//!
//! Requests hand their write as an [`Op`] to a bounded queue and wait. The
//! writer takes everything queued (up to [`MAX_BATCH`]), runs the operations
//! in order inside one store transaction, each with its own savepoint, which
//! the store logs as one record (synced, in durable mode), publishes the new
//! watermark and only then answers every request of the batch. This is group
//! commit: many concurrent writers share one fsync, and a 2xx answer always
//! means the data and its events are on disk. Having one writer also makes
//! every batch trivially serializable, and sequence numbers gap-free.
//!
//! "One writer" is the [`Committer`] behind a mutex, not the thread: when
//! nothing is queued and nobody commits, a request commits its own write on
//! its own thread (`Db::commit_here`), which saves two thread hand-offs at
//! low load. Either way commits happen one at a time, in sequence order.
//!
//! Exclusive operations (schema changes, writes selected by a query) run in a
//! batch of their own, may first read and prepare outside the transaction,
//! and are followed by a reload of the catalog.
//!
//! Overflow rule: the queue holds [`QUEUE_DEPTH`] operations; beyond that,
//! senders wait (backpressure), they are never dropped.

use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{mpsc, oneshot};

use super::catalog::Catalog;
use crate::events::bus::Bus;
use crate::model::event::Event;
use crate::model::exception::Exception;
use crate::model::time;
use crate::store::{Store, WriteTx};

/// Most operations committed in one transaction.
pub const MAX_BATCH: usize = 512;
/// Operations that may wait for the writer before senders block.
pub const QUEUE_DEPTH: usize = 8192;

/// Whether a write is on disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// fsync once per batch before answering (group commit). The default.
    Durable,
    /// Answer as soon as the batch is written to the log, without fsync. A
    /// killed process loses nothing (the kernel still has the log), but a
    /// power cut or kernel crash can lose acknowledged writes, and can leave
    /// a batch half applied (sled may write out its part before the log
    /// reaches the disk). For benchmarks.
    Relaxed,
}

/// One queued write.
pub(crate) trait Op: Send {
    fn exclusive(&self) -> bool {
        false
    }
    /// Exclusive operations only: runs on the writer thread before the
    /// transaction, with nothing else writing. May read the store freely.
    fn prepare(&mut self, _store: &Store, _catalog: &Catalog) {}
    /// Runs inside the batch transaction; records its own result.
    fn apply(&self, tx: &mut WriteTx<'_>, catalog: &Catalog);
    /// Delivers the result once the batch is committed (or failed).
    fn finish(self: Box<Self>, committed: Result<(), Exception>);
    /// Whether this is the request to stop the writer.
    fn is_stop(&self) -> bool {
        false
    }
}

/// Stops the writer once everything queued before it is committed.
pub(crate) struct Stop {
    pub reply: oneshot::Sender<Result<(), Exception>>,
}

impl Op for Stop {
    fn exclusive(&self) -> bool {
        true
    }
    fn apply(&self, _tx: &mut WriteTx<'_>, _catalog: &Catalog) {}
    fn finish(self: Box<Self>, committed: Result<(), Exception>) {
        let _ = self.reply.send(committed);
    }
    fn is_stop(&self) -> bool {
        true
    }
}

pub(crate) type Job = Box<dyn Op>;

/// The shared, swappable catalog snapshot.
pub(crate) type SharedCatalog = Arc<RwLock<Arc<Catalog>>>;

/// What commits: the store, the catalog and the sequence counter. Whoever
/// holds it (the writer thread, or a request that found the writer idle)
/// commits; the mutex keeps commits one at a time and in sequence order.
pub(crate) struct Committer {
    pub store: Arc<Store>,
    pub catalog: SharedCatalog,
    pub bus: Arc<Bus>,
    pub durability: Durability,
    pub next_seq: u64,
    /// Set once the writer has stopped: nothing commits any more.
    pub stopped: bool,
    /// Operations in the last batch: more than one means writes arrive
    /// concurrently, and they should share batches.
    pub last_batch: usize,
}

/// A committed (or failed) batch whose operations are not answered yet.
pub(crate) struct Done {
    batch: Vec<Job>,
    outcome: Result<(), Exception>,
}

impl Done {
    pub fn answer(self) {
        for op in self.batch {
            op.finish(self.outcome.clone());
        }
    }
}

/// The writer thread: takes queued operations and commits them in batches.
pub(crate) struct Writer {
    pub committer: Arc<Mutex<Committer>>,
    pub rx: mpsc::Receiver<Job>,
}

impl Writer {
    /// Run until every sender is gone (or the stop operation), then flush.
    pub fn run(mut self) {
        let mut carry: Option<Job> = None;
        // What ended the loop: the stop operation (with the committer still
        // held, so nothing commits between it and the flush), or nothing.
        let stopped_by = loop {
            let first = match carry.take() {
                Some(op) => op,
                None => match self.rx.blocking_recv() {
                    Some(op) => op,
                    None => break None,
                },
            };
            // A panic while committing (on any thread) poisons the lock:
            // then nothing more is committed, as if the writer had died.
            let Ok(mut c) = self.committer.lock() else {
                first.finish(Err(Exception::internal("the writer failed; restart the server")));
                break None;
            };
            if first.is_stop() {
                break Some((first, c));
            }
            let mut batch = vec![first];
            if !batch[0].exclusive() {
                while batch.len() < MAX_BATCH {
                    match self.rx.try_recv() {
                        Ok(op) if op.exclusive() => {
                            carry = Some(op);
                            break;
                        }
                        Ok(op) => batch.push(op),
                        Err(_) => break,
                    }
                }
            }
            let done = c.run_batch(batch);
            drop(c);
            done.answer();
        };
        let (stop, committer) = match stopped_by {
            Some((op, c)) => (Some(op), Ok(c)),
            None => (None, self.committer.lock()),
        };
        let flushed = match committer {
            Ok(mut c) => {
                c.stopped = true;
                c.store.flush().map_err(Exception::internal)
            }
            Err(_) => Err(Exception::internal("the writer failed; the store was not flushed at the end")),
        };
        if let Err(e) = &flushed {
            tracing::error!(error = %e.message, "final flush failed");
        }
        if let Some(op) = stop {
            op.finish(flushed);
        }
        tracing::debug!("writer stopped");
    }
}

impl Committer {
    /// Commit `batch` (one exclusive operation, or any number of others) as
    /// one atomic write and publish its events. The answers go out with
    /// [`Done::answer`], after the caller has let go of the committer, so
    /// whoever they wake finds it free.
    pub fn run_batch(&mut self, mut batch: Vec<Job>) -> Done {
        let exclusive = batch.first().is_some_and(|op| op.exclusive());
        let catalog = self.current_catalog();
        if exclusive {
            batch[0].prepare(&self.store, &catalog);
        }
        let outcome = self.commit(&batch, &catalog);
        // Schema changes run as exclusive operations: the new catalog must
        // be in place before anyone hears that the change is done.
        if exclusive {
            self.reload_catalog();
        }
        let outcome = outcome.map(|events| self.bus.publish_events(events));
        self.last_batch = batch.len();
        Done { batch, outcome }
    }

    fn current_catalog(&self) -> Arc<Catalog> {
        match self.catalog.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Apply a batch as one atomic write (synced to disk, when durable).
    /// Returns the events it committed; nobody has been answered yet.
    fn commit(&mut self, batch: &[Job], catalog: &Catalog) -> Result<Vec<Event>, Exception> {
        let durable = self.durability == Durability::Durable;
        let result = self.store.transact(self.next_seq, time::now_ms(), durable, |tx| {
            for op in batch {
                op.apply(tx, catalog);
            }
        });
        match result {
            Ok(((), events, next)) => {
                self.next_seq = next;
                Ok(events)
            }
            Err(e) => Err(Exception::internal(format!("batch not committed, writes not acknowledged: {e}"))),
        }
    }

    fn reload_catalog(&self) {
        match Catalog::load(&self.store) {
            Ok(c) => {
                let mut slot = match self.catalog.write() {
                    Ok(s) => s,
                    Err(poisoned) => poisoned.into_inner(),
                };
                *slot = Arc::new(c);
            }
            Err(e) => tracing::error!(error = %e, "reloading the catalog failed"),
        }
    }
}

/// An operation given as a closure.
pub(crate) struct FnOp<T, F> {
    pub f: F,
    pub result: Mutex<Option<Result<T, Exception>>>,
    pub reply: oneshot::Sender<Result<T, Exception>>,
}

impl<T, F> Op for FnOp<T, F>
where
    T: Send + 'static,
    F: Fn(&mut WriteTx<'_>, &Catalog) -> Result<T, Exception> + Send + 'static,
{
    fn apply(&self, tx: &mut WriteTx<'_>, catalog: &Catalog) {
        let r = tx.op(|tx| (self.f)(tx, catalog));
        if let Ok(mut slot) = self.result.lock() {
            *slot = Some(r);
        }
    }

    fn finish(self: Box<Self>, committed: Result<(), Exception>) {
        let this = *self;
        let result = this.result.into_inner().ok().flatten();
        let reply = match (committed, result) {
            (Ok(()), Some(r)) => r,
            (Err(e), _) => Err(e),
            (Ok(()), None) => Err(Exception::internal("operation did not run")),
        };
        let _ = this.reply.send(reply);
    }
}

/// An exclusive operation: a preparation outside the transaction, then the
/// transactional part, which sees what the preparation produced.
pub(crate) struct ExclusiveOp<S, T, P, F> {
    pub prepare: Option<P>,
    pub state: Option<Result<S, Exception>>,
    pub f: F,
    pub result: Mutex<Option<Result<T, Exception>>>,
    pub reply: oneshot::Sender<Result<T, Exception>>,
}

impl<S, T, P, F> Op for ExclusiveOp<S, T, P, F>
where
    S: Send + 'static,
    T: Send + 'static,
    P: FnOnce(&Store, &Catalog) -> Result<S, Exception> + Send + 'static,
    F: Fn(&mut WriteTx<'_>, &Catalog, &S) -> Result<T, Exception> + Send + 'static,
{
    fn exclusive(&self) -> bool {
        true
    }

    fn prepare(&mut self, store: &Store, catalog: &Catalog) {
        if let Some(p) = self.prepare.take() {
            self.state = Some(p(store, catalog));
        }
    }

    fn apply(&self, tx: &mut WriteTx<'_>, catalog: &Catalog) {
        let r = match &self.state {
            Some(Ok(state)) => tx.op(|tx| (self.f)(tx, catalog, state)),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Exception::internal("exclusive operation was not prepared")),
        };
        if let Ok(mut slot) = self.result.lock() {
            *slot = Some(r);
        }
    }

    fn finish(self: Box<Self>, committed: Result<(), Exception>) {
        let this = *self;
        let result = this.result.into_inner().ok().flatten();
        let reply = match (committed, result) {
            (Ok(()), Some(r)) => r,
            (Err(e), _) => Err(e),
            (Ok(()), None) => Err(Exception::internal("operation did not run")),
        };
        let _ = this.reply.send(reply);
    }
}
