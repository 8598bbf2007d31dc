//! The database layer: the single write path and the read path over the store.
//!
//! Every change goes through [`Db::write`] (or [`Db::write_exclusive`]), which
//! hands it to the writer thread (`writer`), or, when the writer is idle,
//! commits it right there (see [`Db::commit_here`]): there is no other way to
//! reach a [`WriteTx`](crate::store::WriteTx). The operations themselves live in
//! `ops`, one area per file; each one validates, writes, and names the event
//! its change produces. Reads (`read`) go to the store directly.

pub mod catalog;
pub mod log;
pub mod maintenance;
pub mod ops;
pub mod read;
pub mod writer;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

pub use catalog::Catalog;
use writer::{Committer, Durability, ExclusiveOp, FnOp, Job, Op, Writer};

use crate::events::bus::Bus;
use crate::model::exception::Exception;
use crate::store::{Store, StoreError, WriteTx};

/// A cheap-to-clone handle on the store, the catalog and the writer.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    catalog: writer::SharedCatalog,
    bus: Arc<Bus>,
    queue: mpsc::Sender<Job>,
    committer: Arc<Mutex<Committer>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Db {
    /// Load the catalog and start the writer thread.
    pub fn start(store: Arc<Store>, durability: Durability) -> Result<Db, StoreError> {
        let catalog = Arc::new(RwLock::new(Arc::new(Catalog::load(&store)?)));
        let last = store.last_seq()?;
        let bus = Arc::new(Bus::new(last));
        let (queue, rx) = mpsc::channel(writer::QUEUE_DEPTH);
        let committer = Arc::new(Mutex::new(Committer {
            store: store.clone(),
            catalog: catalog.clone(),
            bus: bus.clone(),
            durability,
            next_seq: last + 1,
            stopped: false,
            last_batch: 0,
        }));
        let w = Writer { committer: committer.clone(), rx };
        let handle = std::thread::Builder::new()
            .name("arcade-writer".into())
            .spawn(move || w.run())
            .map_err(|e| StoreError::Io { path: "writer thread".into(), source: e })?;
        let writer = Mutex::new(Some(handle));
        Ok(Db { inner: Arc::new(Inner { store, catalog, bus, queue, committer, writer }) })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn store_arc(&self) -> Arc<Store> {
        self.inner.store.clone()
    }

    /// The current catalog snapshot.
    pub fn catalog(&self) -> Arc<Catalog> {
        match self.inner.catalog.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The commit watermark.
    pub fn bus(&self) -> &Arc<Bus> {
        &self.inner.bus
    }

    /// Commit one operation; resolves once it is durable (or has failed).
    pub async fn write<T, F>(&self, f: F) -> Result<T, Exception>
    where
        T: Send + 'static,
        F: Fn(&mut WriteTx<'_>, &Catalog) -> Result<T, Exception> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        self.submit(Box::new(FnOp { f, result: Mutex::new(None), reply }), rx).await
    }

    /// Commit an exclusive operation: `prepare` runs first on the writer
    /// thread with nothing else writing, then `apply` in its own transaction.
    pub async fn write_exclusive<S, T, P, F>(&self, prepare: P, apply: F) -> Result<T, Exception>
    where
        S: Send + 'static,
        T: Send + 'static,
        P: FnOnce(&Store, &Catalog) -> Result<S, Exception> + Send + 'static,
        F: Fn(&mut WriteTx<'_>, &Catalog, &S) -> Result<T, Exception> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let op = ExclusiveOp { prepare: Some(prepare), state: None, f: apply, result: Mutex::new(None), reply };
        self.submit(Box::new(op), rx).await
    }

    async fn submit<T>(&self, op: Box<dyn Op>, rx: oneshot::Receiver<Result<T, Exception>>) -> Result<T, Exception> {
        if let Some(op) = self.commit_here(op) {
            self.inner
                .queue
                .send(op)
                .await
                .map_err(|_| Exception::internal("the writer has stopped (server shutting down)"))?;
        }
        rx.await.map_err(|_| Exception::internal("the writer dropped an operation"))?
    }

    /// Commit `op` on this thread if the writer is idle (nothing queued,
    /// nobody committing) and writes come one at a time (the last batch held
    /// one); otherwise give it back for the queue.
    ///
    /// Why: at low load, the hand-offs to the writer thread and back (two
    /// thread wake-ups, each on a core that had gone idle) cost ~75 µs of a
    /// ~450 µs durable write here, more than applying it to sled; committing
    /// here made 1-client durable row creates faster in all seven alternating
    /// rounds (p50, median 44 µs) and no-op executions in five of seven
    /// (median 42 µs; BENCHMARKS.md). Under load, writes queue and share the
    /// writer's batches (group commit) as before: a request that commits
    /// alone while others arrive would cost them a sync of their own, so
    /// once a batch holds more than one write, writes go to the queue until
    /// a batch of one says the load has gone.
    ///
    /// This blocks a runtime worker for one commit (the disk sync included:
    /// ~0.1–0.3 ms durable, ~0.05 ms relaxed), at most one worker at a time
    /// (the committer lock), and only when no other write is waiting; the
    /// other workers take its queued tasks meanwhile. `block_in_place` would
    /// hand those tasks off first, but that costs a thread wake-up per write
    /// and measured slower than the queue. Exclusive operations (schema
    /// changes, serial re-runs) always go to the writer thread, and so does
    /// everything on a current-thread runtime, which has no other worker.
    fn commit_here(&self, op: Job) -> Option<Job> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let multi_thread = Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
        let queue = &self.inner.queue;
        if op.exclusive() || !multi_thread || queue.capacity() < queue.max_capacity() {
            return Some(op);
        }
        let Ok(mut committer) = self.inner.committer.try_lock() else {
            return Some(op);
        };
        if committer.stopped || committer.last_batch > 1 {
            return Some(op);
        }
        let done = committer.run_batch(vec![op]);
        drop(committer);
        done.answer();
        None
    }

    /// Stop the writer after everything queued so far, and flush. Later writes fail.
    pub async fn close(&self) {
        let (reply, rx) = oneshot::channel::<Result<(), Exception>>();
        let stop = writer::Stop { reply };
        if self.inner.queue.send(Box::new(stop)).await.is_ok() {
            let _ = rx.await;
        }
        let handle = self.inner.writer.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }
}
