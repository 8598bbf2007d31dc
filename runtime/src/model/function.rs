//! Functions, deployments, variables and executions: the records behind
//! `/v1/functions`, and Appwrite's models built from them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::time::{self, Millis};

/// Default and longest function timeout, in seconds (Appwrite: 15 and 900).
pub const DEFAULT_TIMEOUT: u32 = 15;
pub const MAX_TIMEOUT: u32 = 900;
/// Default and largest memory a function may use, in MiB.
pub const DEFAULT_MEMORY_MB: u32 = 64;
pub const MAX_MEMORY_MB: u32 = 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub id: String,
    pub key: String,
    pub value: String,
    pub secret: bool,
    pub created: Millis,
    pub updated: Millis,
}

impl Variable {
    pub fn to_model(&self, function: &str) -> Value {
        json!({
            "$id": self.id,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "key": self.key,
            "value": if self.secret { "" } else { self.value.as_str() },
            "secret": self.secret,
            "resourceType": "function",
            "resourceId": function,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    pub id: String,
    pub name: String,
    pub runtime: String,
    /// Roles allowed to execute (not permission strings), e.g. `["users"]`.
    pub execute: Vec<String>,
    /// Event patterns that trigger it.
    pub events: Vec<String>,
    /// Five-field cron expression (UTC); empty: none.
    pub schedule: String,
    /// Seconds.
    pub timeout: u32,
    pub enabled: bool,
    pub logging: bool,
    pub entrypoint: String,
    pub commands: String,
    pub scopes: Vec<String>,
    /// Memory limit in MiB (Arcade's own field).
    pub memory: u32,
    /// Optional fuel limit per execution (Arcade's own field): instructions, roughly.
    #[serde(default)]
    pub fuel: Option<u64>,
    pub deployment: Option<String>,
    pub latest_deployment: Option<String>,
    pub vars: Vec<Variable>,
    pub created: Millis,
    pub updated: Millis,
}

impl Function {
    pub fn to_model(&self, deployments: &DeploymentInfo) -> Value {
        json!({
            "$id": self.id,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "execute": self.execute,
            "name": self.name,
            "enabled": self.enabled,
            "live": true,
            "logging": self.logging,
            "runtime": self.runtime,
            "deploymentRetention": 0,
            "deploymentId": self.deployment.clone().unwrap_or_default(),
            "deploymentCreatedAt": deployments.active_created.map(time::format).unwrap_or_default(),
            "latestDeploymentId": self.latest_deployment.clone().unwrap_or_default(),
            "latestDeploymentCreatedAt": deployments.latest_created.map(time::format).unwrap_or_default(),
            "latestDeploymentStatus": deployments.latest_status.clone().unwrap_or_default(),
            "scopes": self.scopes,
            "vars": self.vars.iter().map(|v| v.to_model(&self.id)).collect::<Vec<_>>(),
            "events": self.events,
            "schedule": self.schedule,
            "timeout": self.timeout,
            "entrypoint": self.entrypoint,
            "commands": self.commands,
            "version": "v5",
            "installationId": "",
            "providerRepositoryId": "",
            "providerBranch": "",
            "providerRootDirectory": "",
            "providerSilentMode": false,
            "buildSpecification": "s-1vcpu-512mb",
            "runtimeSpecification": "s-1vcpu-512mb",
            "memory": self.memory,
        })
    }
}

/// Facts about a function's deployments that its model shows.
#[derive(Debug, Default, Clone)]
pub struct DeploymentInfo {
    pub active_created: Option<Millis>,
    pub latest_created: Option<Millis>,
    pub latest_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub function: String,
    /// Bytes of the component.
    pub size: u64,
    /// Hex SHA-256 of the component.
    pub hash: String,
    /// `ready` or `failed`.
    pub status: String,
    pub build_logs: String,
    pub build_millis: u64,
    pub entrypoint: String,
    pub created: Millis,
    pub updated: Millis,
}

impl Deployment {
    pub fn to_model(&self, active: bool) -> Value {
        json!({
            "$id": self.id,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "type": "manual",
            "resourceId": self.function,
            "resourceType": "functions",
            "entrypoint": self.entrypoint,
            "sourceSize": self.size,
            "buildSize": 0,
            "totalSize": self.size,
            "buildId": "",
            "activate": active,
            "screenshotLight": "",
            "screenshotDark": "",
            "status": self.status,
            "buildLogs": self.build_logs,
            "buildDuration": self.build_millis / 1000,
            "providerRepositoryName": "",
            "providerRepositoryOwner": "",
            "providerRepositoryUrl": "",
            "providerCommitHash": "",
            "providerCommitAuthorUrl": "",
            "providerCommitAuthor": "",
            "providerCommitMessage": "",
            "providerCommitUrl": "",
            "providerBranch": "",
            "providerBranchUrl": "",
            "sha256": self.hash,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub id: String,
    pub function: String,
    pub deployment: String,
    /// `http`, `schedule` or `event`.
    pub trigger: String,
    /// `waiting`, `processing`, `completed`, `failed` or `scheduled`.
    pub status: String,
    pub permissions: Vec<String>,
    pub request_method: String,
    pub request_path: String,
    pub request_headers: Vec<Header>,
    pub response_status: u16,
    pub response_body: String,
    pub response_headers: Vec<Header>,
    pub logs: String,
    pub errors: String,
    /// Seconds.
    pub duration: f64,
    pub scheduled_at: Option<Millis>,
    /// The user who caused it, if any.
    pub user: Option<String>,
    /// The event that triggered it, for event triggers.
    #[serde(default)]
    pub event: Option<String>,
    /// For event triggers: the log sequence number of that event.
    #[serde(default)]
    pub cause: Option<u64>,
    /// Place in a chain of event-triggered executions: 0 for one a client or
    /// a schedule started, n + 1 for one triggered by an event of depth n.
    #[serde(default)]
    pub depth: u32,
    pub created: Millis,
    pub updated: Millis,
}

/// Appwrite's Execution model, borrowed from the record: serialized straight
/// to JSON on the hot paths (every execution's answer and event), without
/// building a `Value` first. Fields in Appwrite's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionModel<'a> {
    #[serde(rename = "$id")]
    id: &'a str,
    #[serde(rename = "$createdAt")]
    created_at: String,
    #[serde(rename = "$updatedAt")]
    updated_at: String,
    #[serde(rename = "$permissions")]
    permissions: &'a [String],
    function_id: &'a str,
    deployment_id: &'a str,
    trigger: &'a str,
    status: &'a str,
    request_method: &'a str,
    request_path: &'a str,
    request_headers: &'a [Header],
    response_status_code: u16,
    response_body: &'a str,
    response_headers: &'a [Header],
    logs: &'a str,
    errors: &'a str,
    duration: f64,
    scheduled_at: Option<String>,
}

impl Execution {
    /// Appwrite's Execution model. `logs`/`errors` are only shown to API keys
    /// (sensitive, as in Appwrite); `responseBody` only for synchronous calls.
    pub fn model(&self, privileged: bool, with_body: bool) -> ExecutionModel<'_> {
        ExecutionModel {
            id: &self.id,
            created_at: time::format(self.created),
            updated_at: time::format(self.updated),
            permissions: &self.permissions,
            function_id: &self.function,
            deployment_id: &self.deployment,
            trigger: &self.trigger,
            status: &self.status,
            request_method: &self.request_method,
            request_path: &self.request_path,
            request_headers: &self.request_headers,
            response_status_code: self.response_status,
            response_body: if with_body { &self.response_body } else { "" },
            response_headers: &self.response_headers,
            logs: if privileged { &self.logs } else { "" },
            errors: if privileged { &self.errors } else { "" },
            duration: self.duration,
            scheduled_at: self.scheduled_at.map(time::format),
        }
    }

    /// [`Execution::model`] as a JSON value.
    pub fn to_model(&self, privileged: bool, with_body: bool) -> Value {
        serde_json::to_value(self.model(privileged, with_body)).unwrap_or_default()
    }

    pub fn finished(&self) -> bool {
        self.status == "completed" || self.status == "failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_model_has_appwrites_fields_in_order() {
        let h = |n: &str, v: &str| Header { name: n.into(), value: v.into() };
        let e = Execution {
            id: "e1".into(),
            function: "f".into(),
            deployment: "d".into(),
            trigger: "http".into(),
            status: "completed".into(),
            permissions: vec!["read(\"user:u\")".into()],
            request_method: "POST".into(),
            request_path: "/?a=1".into(),
            request_headers: vec![h("content-type", "application/json")],
            response_status: 200,
            response_body: "{\"ok\":true}".into(),
            response_headers: vec![h("content-type", "text/plain")],
            logs: "log".into(),
            errors: "err".into(),
            duration: 0.25,
            scheduled_at: None,
            user: Some("u".into()),
            event: None,
            cause: None,
            depth: 0,
            created: 0,
            updated: 1,
        };
        let full = serde_json::to_string(&e.model(true, true)).unwrap();
        assert_eq!(
            full,
            concat!(
                r#"{"$id":"e1","$createdAt":"1970-01-01T00:00:00.000+00:00","$updatedAt":"1970-01-01T00:00:00.001+00:00","#,
                r#""$permissions":["read(\"user:u\")"],"functionId":"f","deploymentId":"d","trigger":"http","#,
                r#""status":"completed","requestMethod":"POST","requestPath":"/?a=1","#,
                r#""requestHeaders":[{"name":"content-type","value":"application/json"}],"responseStatusCode":200,"#,
                r#""responseBody":"{\"ok\":true}","responseHeaders":[{"name":"content-type","value":"text/plain"}],"#,
                r#""logs":"log","errors":"err","duration":0.25,"scheduledAt":null}"#
            )
        );
        let hidden = e.to_model(false, false);
        assert_eq!(
            (hidden["responseBody"].clone(), hidden["logs"].clone(), hidden["errors"].clone()),
            (json!(""), json!(""), json!(""))
        );
    }
}
