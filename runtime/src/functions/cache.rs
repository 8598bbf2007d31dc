//! Compiled components, cached on disk by content hash.
//!
//! Compiling a component takes a hundred milliseconds or more; loading the
//! compiled artifact takes about a millisecond. Artifacts live in
//! `<data>/compiled/<sha256 of the component>-<engine hash>.cwasm`, so the
//! same component is compiled once, a restart does not recompile, and a
//! different engine configuration or wasmtime version never loads an
//! incompatible artifact.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::FunctionsError;

pub struct Cache {
    dir: PathBuf,
    engine_tag: String,
}

/// How a component was obtained.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    /// Whether the compiled artifact came from disk.
    pub cached: bool,
    pub millis: f64,
}

impl Cache {
    pub fn new(data_dir: &Path, engine: &Engine) -> Result<Cache, FunctionsError> {
        let dir = data_dir.join("compiled");
        std::fs::create_dir_all(&dir).map_err(|e| FunctionsError::Io(dir.display().to_string(), e))?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Ok(Cache { dir, engine_tag: format!("{:016x}", h.finish()) })
    }

    fn path(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}-{}.cwasm", self.engine_tag))
    }

    /// The component for `wasm` (whose SHA-256 is `hash`): from the cache, or compiled and cached.
    pub fn load(&self, engine: &Engine, hash: &str, wasm: &[u8]) -> Result<(Component, Loaded), FunctionsError> {
        let start = Instant::now();
        let path = self.path(hash);
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` in this
            // function, into Arcade's own data directory, and its name carries
            // the engine's compatibility hash. If it is unreadable anyway, we
            // fall back to compiling.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(c) => return Ok((c, Loaded { cached: true, millis: ms(start) })),
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "discarding an unusable compiled artifact")
                }
            }
        }
        let component = Component::new(engine, wasm).map_err(|e| FunctionsError::Compile(format!("{e:#}")))?;
        match component.serialize() {
            Ok(bytes) => {
                let tmp = path.with_extension("tmp");
                let written = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, &path));
                if let Err(e) = written {
                    tracing::warn!(error = %e, "could not cache a compiled component");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not serialize a compiled component"),
        }
        Ok((component, Loaded { cached: false, millis: ms(start) }))
    }
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}
