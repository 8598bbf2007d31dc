//! The project manifest, `arcade.toml`: one file that declares a whole game
//! backend (project, databases, tables, columns, indexes, functions, API
//! keys, a static site), in the spirit of `spin.toml` and `appwrite.json`.
//!
//! `arcade serve` reads it before it starts (project id, origins, site) and
//! applies the rest once the server is up (`apply`), idempotently: what is
//! missing is created, what differs is updated, nothing is ever deleted. A
//! change that cannot be applied safely (a column's type, an index's columns)
//! stops the start with a message that says what to do.
//!
//! Paths in the file are relative to the file. Unknown keys are errors, so a
//! typo never silently does nothing.

pub mod apply;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub project: Project,
    #[serde(default)]
    pub keys: Vec<KeySpec>,
    #[serde(default)]
    pub databases: Vec<DatabaseSpec>,
    #[serde(default)]
    pub functions: Vec<FunctionSpec>,
    /// The file's directory (paths are relative to it).
    #[serde(skip)]
    pub dir: PathBuf,
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// The project id clients send (`X-Appwrite-Project`).
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Browser origins allowed besides loopback ones.
    #[serde(default)]
    pub origins: Vec<String>,
    /// A directory served at `/`.
    #[serde(default)]
    pub site: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Take the secret from this environment variable (else one is generated
    /// and written to `<data>/keys/<id>`).
    #[serde(default)]
    pub secret_env: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tables: Vec<TableSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub row_security: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Each as the body of Appwrite's create-column route, plus `type`
    /// (`string`, `integer`, `float`, `boolean`, `datetime`, `email`, `enum`, …).
    #[serde(default)]
    pub columns: Vec<Map<String, Value>>,
    #[serde(default)]
    pub indexes: Vec<IndexSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSpec {
    pub key: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub columns: Vec<String>,
    #[serde(default)]
    pub orders: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The component to deploy.
    pub wasm: PathBuf,
    /// Roles that may execute it over the API, e.g. `["users"]`.
    #[serde(default)]
    pub execute: Vec<String>,
    /// Event patterns that trigger it.
    #[serde(default)]
    pub events: Vec<String>,
    /// Cron schedule (UTC): five fields, or six with seconds.
    #[serde(default)]
    pub schedule: String,
    /// Seconds.
    #[serde(default)]
    pub timeout: Option<u32>,
    /// MiB.
    #[serde(default)]
    pub memory: Option<u32>,
    #[serde(default)]
    pub logging: Option<bool>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// How `arcade dev` rebuilds it.
    #[serde(default)]
    pub build: Option<BuildSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSpec {
    /// A shell command.
    pub command: String,
    /// Where it runs (default: the manifest's directory).
    #[serde(default)]
    pub workdir: Option<PathBuf>,
    /// Files or directories whose changes trigger a rebuild (relative to `workdir`).
    #[serde(default)]
    pub watch: Vec<PathBuf>,
}

fn yes() -> bool {
    true
}

impl Manifest {
    /// Read and check a manifest.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ManifestError::Read { path: shown.clone(), error })?;
        let mut m: Manifest =
            toml::from_str(&text).map_err(|e| ManifestError::Parse { path: shown.clone(), message: e.to_string() })?;
        m.path = path.to_path_buf();
        m.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if m.dir.as_os_str().is_empty() {
            m.dir = PathBuf::from(".");
        }
        m.check().map_err(|message| ManifestError::Invalid { path: shown, message })?;
        Ok(m)
    }

    /// A path from the file, made relative to the current directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() { p.to_path_buf() } else { self.dir.join(p) }
    }

    /// The static site directory, if any.
    pub fn site(&self) -> Option<PathBuf> {
        self.project.site.as_ref().map(|p| self.resolve(p))
    }

    /// Where a function's build runs.
    pub fn build_dir(&self, b: &BuildSpec) -> PathBuf {
        b.workdir.as_ref().map_or_else(|| self.dir.clone(), |w| self.resolve(w))
    }

    fn check(&self) -> Result<(), String> {
        let valid_id = |what: &str, id: &str| {
            if crate::model::id::is_valid(id) {
                Ok(())
            } else {
                Err(format!("{what} id \"{id}\": {}", crate::model::id::INVALID_ID_MESSAGE))
            }
        };
        valid_id("project", &self.project.id)?;
        unique("database", self.databases.iter().map(|d| d.id.as_str()))?;
        unique("function", self.functions.iter().map(|f| f.id.as_str()))?;
        unique("key", self.keys.iter().map(|k| k.id.as_str()))?;
        for d in &self.databases {
            valid_id("database", &d.id)?;
            unique(&format!("table of database {}", d.id), d.tables.iter().map(|t| t.id.as_str()))?;
            for t in &d.tables {
                valid_id("table", &t.id)?;
                for c in &t.columns {
                    let key = c.get("key").and_then(Value::as_str);
                    let ty = c.get("type").and_then(Value::as_str);
                    if key.is_none() || ty.is_none() {
                        return Err(format!("every column of table {} needs a `key` and a `type`", t.id));
                    }
                }
                unique(
                    &format!("column of table {}", t.id),
                    t.columns.iter().filter_map(|c| c.get("key").and_then(Value::as_str)),
                )?;
                unique(&format!("index of table {}", t.id), t.indexes.iter().map(|i| i.key.as_str()))?;
            }
        }
        for f in &self.functions {
            valid_id("function", &f.id)?;
            if !f.schedule.is_empty() {
                crate::functions::schedule::Cron::parse(&f.schedule).map_err(|e| format!("function {}: {e}", f.id))?;
            }
        }
        if let Some(site) = self.site()
            && !site.is_dir()
        {
            return Err(format!("project.site: {} is not a directory", site.display()));
        }
        Ok(())
    }
}

fn unique<'a>(what: &str, ids: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(format!("{what} \"{id}\" is declared twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("arcade.toml");
        std::fs::write(&path, text).unwrap();
        Manifest::load(&path).map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_manifest_parses() {
        let m = parse(
            r#"
            [project]
            id = "casino"
            [[keys]]
            id = "server"
            name = "Game server"
            scopes = ["rows.read"]
            [[databases]]
            id = "main"
            [[databases.tables]]
            id = "games"
            permissions = ['read("any")']
            columns = [{ key = "score", type = "integer", min = 0 }]
            indexes = [{ key = "by_score", type = "key", columns = ["score"], orders = ["desc"] }]
            [[functions]]
            id = "play"
            wasm = "play.wasm"
            schedule = "*/5 * * * *"
            [functions.variables]
            A = "1"
            "#,
        )
        .unwrap();
        assert_eq!(m.project.id, "casino");
        assert_eq!(m.databases[0].tables[0].columns[0]["min"], 0);
        assert_eq!(m.functions[0].variables["A"], "1");
    }

    #[test]
    fn mistakes_are_named() {
        let e = parse("[project]\nid = \"p\"\ncolour = 1\n").unwrap_err();
        assert!(e.contains("colour"), "{e}");
        let e =
            parse("[project]\nid = \"p\"\n[[functions]]\nid = \"f\"\nwasm = \"x\"\nschedule = \"* *\"\n").unwrap_err();
        assert!(e.contains("function f") && e.contains("5 fields"), "{e}");
        let e = parse("[project]\nid = \"p\"\n[[databases]]\nid = \"d\"\n[[databases]]\nid = \"d\"\n").unwrap_err();
        assert!(e.contains("declared twice"), "{e}");
        let e = parse(
            "[project]\nid = \"p\"\n[[databases]]\nid = \"d\"\n[[databases.tables]]\nid = \"t\"\ncolumns = [{ key = \"a\" }]\n",
        )
        .unwrap_err();
        assert!(e.contains("`type`"), "{e}");
    }
}
