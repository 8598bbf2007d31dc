//! The database layer: the single write path and the read path over the store.
//!
//! Every change goes through [`Db::write`] (or [`Db::write_exclusive`]), which
//! hands it to the writer thread (`writer`): there is no other way to reach a
//! [`WriteTx`](crate::store::WriteTx). The operations themselves live in
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
use writer::{Durability, ExclusiveOp, FnOp, Job, Op, Writer};

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
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Db {
    /// Load the catalog and start the writer thread.
    pub fn start(store: Arc<Store>, durability: Durability) -> Result<Db, StoreError> {
        let catalog = Arc::new(RwLock::new(Arc::new(Catalog::load(&store)?)));
        let last = store.last_seq()?;
        let bus = Arc::new(Bus::new(last));
        let (queue, rx) = mpsc::channel(writer::QUEUE_DEPTH);
        let w = Writer {
            store: store.clone(),
            catalog: catalog.clone(),
            bus: bus.clone(),
            durability,
            next_seq: last + 1,
            rx,
        };
        let handle = std::thread::Builder::new()
            .name("arcade-writer".into())
            .spawn(move || w.run())
            .map_err(|e| StoreError::Io { path: "writer thread".into(), source: e })?;
        Ok(Db { inner: Arc::new(Inner { store, catalog, bus, queue, writer: Mutex::new(Some(handle)) }) })
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
        self.inner
            .queue
            .send(op)
            .await
            .map_err(|_| Exception::internal("the writer has stopped (server shutting down)"))?;
        rx.await.map_err(|_| Exception::internal("the writer dropped an operation"))?
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
