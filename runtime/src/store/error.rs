//! The store's failures. None of them is the client's fault: the HTTP layer
//! turns every one into a 500 and logs the detail.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record in {tree}: {detail}")]
    Corrupt { tree: &'static str, detail: String },
    #[error("a write without its event was refused ({0}): every change must log an event")]
    WriteWithoutEvent(&'static str),
    #[error("a logged write could not be applied; writes are refused until a restart applies the log again")]
    Broken,
    #[error("data directory {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl From<StoreError> for crate::model::exception::Exception {
    fn from(e: StoreError) -> Self {
        crate::model::exception::Exception::internal(e)
    }
}
