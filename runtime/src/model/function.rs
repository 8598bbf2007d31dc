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

impl Execution {
    /// Appwrite's Execution model. `logs`/`errors` are only shown to API keys
    /// (sensitive, as in Appwrite); `responseBody` only for synchronous calls.
    pub fn to_model(&self, privileged: bool, with_body: bool) -> Value {
        let headers = |h: &[Header]| h.iter().map(|x| json!({"name": x.name, "value": x.value})).collect::<Vec<_>>();
        json!({
            "$id": self.id,
            "$createdAt": time::format(self.created),
            "$updatedAt": time::format(self.updated),
            "$permissions": self.permissions,
            "functionId": self.function,
            "deploymentId": self.deployment,
            "trigger": self.trigger,
            "status": self.status,
            "requestMethod": self.request_method,
            "requestPath": self.request_path,
            "requestHeaders": headers(&self.request_headers),
            "responseStatusCode": self.response_status,
            "responseBody": if with_body { self.response_body.as_str() } else { "" },
            "responseHeaders": headers(&self.response_headers),
            "logs": if privileged { self.logs.as_str() } else { "" },
            "errors": if privileged { self.errors.as_str() } else { "" },
            "duration": self.duration,
            "scheduledAt": self.scheduled_at.map(time::format),
        })
    }

    pub fn finished(&self) -> bool {
        self.status == "completed" || self.status == "failed"
    }
}
