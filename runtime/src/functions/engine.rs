//! The one place that configures and builds the wasmtime [`Engine`].
//!
//! Every guest runs under the same rules, set here: the component model;
//! the pooling allocator (instances come from preallocated slots, so starting
//! one costs microseconds and the number alive at once is capped); epoch
//! interruption (a background tick lets any running guest be stopped at its
//! deadline); optional fuel. Memory per instance is capped by the pool and, per
//! function, by store limits set when an execution starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the granularity of timeouts.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Most of a linear memory (or table) reset in place, when the kernel reports
/// which pages were written: an upper bound on what a slot keeps resident.
const KEEP_RESIDENT_SCANNED: usize = 2 << 20;

/// Limits of the engine, fixed at start.
#[derive(Debug, Clone)]
pub struct EngineLimits {
    /// Component instances alive at once (the executions that may run concurrently).
    pub instances: u32,
    /// Largest linear memory any instance may grow to, in bytes.
    pub max_memory_bytes: usize,
    /// Whether executions count fuel (and stop when a function's fuel runs out).
    pub fuel: bool,
}

impl Default for EngineLimits {
    fn default() -> Self {
        Self {
            instances: 64,
            max_memory_bytes: crate::model::function::MAX_MEMORY_MB as usize * 1024 * 1024,
            fuel: true,
        }
    }
}

/// Build the engine.
pub fn build(limits: &EngineLimits) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(limits.fuel);
    config.max_wasm_stack(1 << 20);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.instances);
    // A Rust component holds a few core instances (the program and its adapters).
    pool.total_core_instances(limits.instances * 8);
    pool.total_memories(limits.instances * 2);
    pool.total_tables(limits.instances * 4);
    pool.max_memories_per_component(4);
    pool.max_tables_per_component(8);
    pool.max_core_instances_per_component(16);
    pool.max_memory_size(limits.max_memory_bytes);
    // Resetting a slot for its next instance: pages kept resident are reset
    // in place; the rest are given back to the kernel (madvise), which costs
    // a TLB shootdown across cores, and the next instance page-faults them
    // in again (copy-on-write from the image). Done per execution, that was a
    // quarter of the CPU time of no-op executions. Where the kernel can tell
    // which pages an instance wrote (PAGEMAP_SCAN, Linux 6.7+), only those
    // are reset, so a generous bound keeps a function's whole working set
    // resident (a Rust guest writes its 1 MiB shadow stack's top and some
    // heap) for the price of resetting what it wrote. Without it, resetting
    // means a memset of the whole kept range, so keep that small.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes);
        pool.linear_memory_keep_resident(KEEP_RESIDENT_SCANNED);
        pool.table_keep_resident(KEEP_RESIDENT_SCANNED);
    } else {
        pool.linear_memory_keep_resident(256 * 1024);
        pool.table_keep_resident(64 * 1024);
    }
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    pub fn start(engine: Engine) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name("arcade-epoch".into()).spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
        Ok(EpochTicker { stop, thread: Some(thread) })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
