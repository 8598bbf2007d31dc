//! What a guest can call: the `tables` and `log` imports of
//! `arcade:function@0.1.0` (see `wit/`), plus WASI p2 with captured stdio.
//!
//! Every call goes to the execution's [`Staging`], never to the store
//! directly. Output (stdout, stderr and `log`) shares one byte budget per
//! execution; a guest that exceeds it is stopped, since an execution's logs
//! are stored with it.

use serde_json::{Map, Value};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, StoreLimits};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::staging::Staging;
use crate::model::exception::{ErrorType, Exception};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "function",
    // Async so that a guest runs on the server's tokio workers, yielding at
    // every epoch tick, instead of on a thread of its own (see `runner`). The
    // imports themselves never wait: they are plain code in async clothing.
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::arcade::function::log::Level;
use self::arcade::function::tables::Error as TablesError;
pub use self::arcade::function::types::{
    Header as WitHeader, Request as WitRequest, Response as WitResponse, Trigger as WitTrigger,
};

/// Bytes of output (stdout + stderr + log lines) one execution may write
/// (Appwrite keeps at most 1,000,000 characters of logs).
pub const OUTPUT_LIMIT: usize = 1_000_000;

/// A linker with everything a guest may import: WASI p2 (async) and Arcade's
/// `tables` and `log`.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker: Linker<HostState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    Function::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// The store data of one execution.
pub struct HostState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limits: StoreLimits,
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
    /// `log` lines at debug/info level, then warn/error level.
    pub logs: String,
    pub errors: String,
    /// Set when the output budget ran out (the guest was then stopped).
    pub output_exceeded: bool,
    pub staging: Staging,
}

impl HostState {
    fn output_used(&self) -> usize {
        self.logs.len() + self.errors.len() + self.stdout.contents().len() + self.stderr.contents().len()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl self::arcade::function::types::Host for HostState {}

impl self::arcade::function::log::Host for HostState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        if self.output_used() + message.len() + 1 > OUTPUT_LIMIT {
            self.output_exceeded = true;
            return Err(wasmtime::format_err!("output limit of {OUTPUT_LIMIT} bytes exceeded"));
        }
        let buf = match level {
            Level::Debug | Level::Info => &mut self.logs,
            Level::Warn | Level::Error => &mut self.errors,
        };
        buf.push_str(&message);
        buf.push('\n');
        Ok(())
    }
}

/// A store error as the guest sees it.
fn to_wit(e: Exception) -> TablesError {
    use ErrorType::*;
    let m = e.message;
    match e.kind {
        RowNotFound | TableNotFound | DatabaseNotFound | ColumnNotFound | CollectionNotFound | DocumentNotFound => {
            TablesError::NotFound(m)
        }
        RowAlreadyExists | RowUniqueConstraintViolation | DocumentAlreadyExists => TablesError::AlreadyExists(m),
        ColumnLimitExceeded | TransactionLimitExceeded => TablesError::LimitExceeded(m),
        TransactionConflict => TablesError::Conflict(m),
        GeneralServerError | GeneralUnknown => TablesError::Internal(m),
        _ => TablesError::Invalid(m),
    }
}

fn object(data: &str) -> Result<Map<String, Value>, TablesError> {
    match serde_json::from_str::<Value>(data) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(TablesError::Invalid("data must be a JSON object".into())),
    }
}

type Answer<T> = wasmtime::Result<Result<T, TablesError>>;

impl self::arcade::function::tables::Host for HostState {
    async fn get_row(&mut self, database: String, table: String, row_id: String) -> Answer<Option<String>> {
        Ok(self.staging.get_row(&database, &table, &row_id).map_err(to_wit))
    }

    async fn list_rows(&mut self, database: String, table: String, queries: Vec<String>) -> Answer<String> {
        Ok(self.staging.list_rows(&database, &table, &queries).map_err(to_wit))
    }

    async fn create_row(
        &mut self,
        database: String,
        table: String,
        row_id: String,
        data: String,
        permissions: Option<Vec<String>>,
    ) -> Answer<String> {
        Ok(object(&data)
            .and_then(|d| self.staging.create_row(&database, &table, &row_id, d, permissions).map_err(to_wit)))
    }

    async fn update_row(
        &mut self,
        database: String,
        table: String,
        row_id: String,
        data: String,
        permissions: Option<Vec<String>>,
    ) -> Answer<String> {
        Ok(object(&data)
            .and_then(|d| self.staging.update_row(&database, &table, &row_id, d, permissions).map_err(to_wit)))
    }

    async fn upsert_row(
        &mut self,
        database: String,
        table: String,
        row_id: String,
        data: String,
        permissions: Option<Vec<String>>,
    ) -> Answer<String> {
        Ok(object(&data)
            .and_then(|d| self.staging.upsert_row(&database, &table, &row_id, d, permissions).map_err(to_wit)))
    }

    async fn delete_row(&mut self, database: String, table: String, row_id: String) -> Answer<()> {
        Ok(self.staging.delete_row(&database, &table, &row_id).map_err(to_wit))
    }

    async fn increment_row_column(
        &mut self,
        database: String,
        table: String,
        row_id: String,
        column: String,
        value: f64,
        max: Option<f64>,
    ) -> Answer<String> {
        Ok(self.staging.step((&database, &table, &row_id), &column, value, max, false).map_err(to_wit))
    }

    async fn decrement_row_column(
        &mut self,
        database: String,
        table: String,
        row_id: String,
        column: String,
        value: f64,
        min: Option<f64>,
    ) -> Answer<String> {
        Ok(self.staging.step((&database, &table, &row_id), &column, value, min, true).map_err(to_wit))
    }
}
