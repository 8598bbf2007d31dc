//! `arcade keys`: the project's API keys (list, create, delete), through the
//! server's `/v1/projects/{project}/keys` API and its master key.

use serde_json::{Value, json};

use super::Style;
use super::api::Api;

pub enum KeysCommand {
    List,
    Create { name: String, scopes: Vec<String>, id: Option<String> },
    Delete { id: String },
}

pub fn run(api: &Api, cmd: KeysCommand) -> anyhow::Result<()> {
    let style = Style::stdout();
    let base = format!("/v1/projects/{}/keys", api.project());
    match cmd {
        KeysCommand::List => {
            let list = api.get(&base)?;
            let keys = list["keys"].as_array().cloned().unwrap_or_default();
            if keys.is_empty() {
                println!(
                    "no API keys besides the master key (create one with `arcade keys create <name> --scope ...`)"
                );
            }
            for k in keys {
                let s = |f: &str| k[f].as_str().unwrap_or_default().to_owned();
                let scopes: Vec<&str> =
                    k["scopes"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                println!(
                    "{}  {}  {}  {}",
                    style.paint("1", &s("$id")),
                    s("name"),
                    style.paint("36", &scopes.join(",")),
                    style.paint("2", &format!("created {}", s("$createdAt"))),
                );
            }
        }
        KeysCommand::Create { name, scopes, id } => {
            let mut body = json!({"name": name, "scopes": scopes});
            if let Some(id) = id {
                body["keyId"] = json!(id);
            }
            let k = api.send("POST", &base, &body)?;
            println!("{} key {}", style.paint("32", "created"), k["$id"].as_str().unwrap_or_default());
            println!("secret (shown once, keep it safe):");
            println!("{}", k["secret"].as_str().unwrap_or_default());
        }
        KeysCommand::Delete { id } => {
            api.send("DELETE", &format!("{base}/{id}"), &Value::Null)?;
            println!("{} key {id}", style.paint("31", "deleted"));
        }
    }
    Ok(())
}
