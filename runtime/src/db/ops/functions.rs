//! Functions, deployments, variables and executions: their records and
//! events (`functions.<id>.*`).
//!
//! An execution's end is one atomic write: its staged table writes (when it
//! returned a status below 500), checked against the versions it read, and
//! the final execution record with its `update` event. Either all of it
//! commits or none does.

use crate::auth::Identity;
use crate::db::catalog::Catalog;
use crate::model::event::{self, Action, EventDraft, Resource};
use crate::model::exception::{ErrorType, Exception};
use crate::model::function::{Deployment, DeploymentInfo, Execution, Function};
use crate::store::{WriteTx, keys::functions as k};

use super::txn::{self, Mark, StagedOp};

fn actor(who: &Identity) -> Option<String> {
    who.actor().map(str::to_owned)
}

pub fn function(tx: &mut WriteTx<'_>, id: &str) -> Result<Function, Exception> {
    tx.record(&k::function(id))?.ok_or_else(|| Exception::new(ErrorType::FunctionNotFound))
}

fn function_event(f: &Function, action: Action, who: &Identity) -> EventDraft {
    EventDraft::new(
        Resource::Function { function: f.id.clone() },
        action,
        event::raw(&f.to_model(&DeploymentInfo::default())),
    )
    .actor(actor(who))
}

pub fn create_function(tx: &mut WriteTx<'_>, who: &Identity, f: &Function) -> Result<Function, Exception> {
    if tx.record::<Function>(&k::function(&f.id))?.is_some() {
        return Err(Exception::new(ErrorType::FunctionAlreadyExists));
    }
    let mut f = f.clone();
    f.created = tx.now();
    f.updated = tx.now();
    tx.put_record(k::function(&f.id), &f)?;
    tx.emit(function_event(&f, Action::Create, who))?;
    Ok(f)
}

/// Replace a function's record (settings, variables, active deployment).
pub fn update_function(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    id: &str,
    change: impl Fn(&mut Function) -> Result<(), Exception>,
) -> Result<Function, Exception> {
    let mut f = function(tx, id)?;
    change(&mut f)?;
    f.updated = tx.now();
    tx.put_record(k::function(&f.id), &f)?;
    tx.emit(function_event(&f, Action::Update, who))?;
    Ok(f)
}

/// Delete a function with its deployment and execution records (`ids` lists them).
pub fn delete_function(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    id: &str,
    deployments: &[String],
    executions: &[String],
) -> Result<Function, Exception> {
    let f = function(tx, id)?;
    for d in deployments {
        tx.remove_record(k::deployment(d));
        tx.remove_record(k::function_deployment(id, d));
    }
    for e in executions {
        tx.remove_record(k::execution(id, e));
        tx.remove_record(k::pending_execution(id, e));
    }
    tx.remove_record(k::function(id));
    tx.emit(function_event(&f, Action::Delete, who))?;
    Ok(f)
}

/// Record a built deployment, and make it active if asked.
pub fn add_deployment(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    d: &Deployment,
    activate: bool,
) -> Result<Deployment, Exception> {
    let mut f = function(tx, &d.function)?;
    let mut d = d.clone();
    d.created = tx.now();
    d.updated = tx.now();
    tx.put_record(k::deployment(&d.id), &d)?;
    tx.put_record_marker(k::function_deployment(&f.id, &d.id));
    tx.emit(
        EventDraft::new(
            Resource::Deployment { function: f.id.clone(), deployment: d.id.clone() },
            Action::Create,
            event::raw(&d.to_model(activate)),
        )
        .actor(actor(who)),
    )?;
    f.latest_deployment = Some(d.id.clone());
    if activate && d.status == "ready" {
        f.deployment = Some(d.id.clone());
    }
    f.updated = tx.now();
    tx.put_record(k::function(&f.id), &f)?;
    tx.emit(function_event(&f, Action::Update, who))?;
    Ok(d)
}

pub fn delete_deployment(
    tx: &mut WriteTx<'_>,
    who: &Identity,
    function_id: &str,
    id: &str,
) -> Result<Deployment, Exception> {
    let d: Deployment = tx
        .record(&k::deployment(id))?
        .filter(|d: &Deployment| d.function == function_id)
        .ok_or_else(|| Exception::new(ErrorType::DeploymentNotFound))?;
    let mut f = function(tx, function_id)?;
    tx.remove_record(k::deployment(id));
    tx.remove_record(k::function_deployment(function_id, id));
    tx.emit(
        EventDraft::new(
            Resource::Deployment { function: function_id.into(), deployment: id.into() },
            Action::Delete,
            event::raw(&d.to_model(false)),
        )
        .actor(actor(who)),
    )?;
    if f.deployment.as_deref() == Some(id) || f.latest_deployment.as_deref() == Some(id) {
        if f.deployment.as_deref() == Some(id) {
            f.deployment = None;
        }
        if f.latest_deployment.as_deref() == Some(id) {
            f.latest_deployment = None;
        }
        tx.put_record(k::function(&f.id), &f)?;
        tx.emit(function_event(&f, Action::Update, who))?;
    }
    Ok(d)
}

fn execution_event(e: &Execution, action: Action) -> EventDraft {
    // Only an execution a user caused reaches clients (Appwrite: read roles of the execution).
    let roles = e.user.as_ref().map(|u| vec![format!("user:{u}")]).unwrap_or_default();
    EventDraft::new(
        Resource::Execution { function: e.function.clone(), execution: e.id.clone() },
        action,
        event::raw(&e.model(false, false)),
    )
    .roles(roles)
    .actor(e.user.clone())
}

/// Record a new execution (`waiting` or `processing`) with its `create` event.
pub fn start_execution(tx: &mut WriteTx<'_>, e: &Execution) -> Result<Execution, Exception> {
    let mut e = e.clone();
    e.created = tx.now();
    e.updated = tx.now();
    tx.put_record(k::execution(&e.function, &e.id), &e)?;
    tx.put_record_marker(k::pending_execution(&e.function, &e.id));
    tx.emit(execution_event(&e, Action::Create))?;
    Ok(e)
}

/// What an execution staged, to commit with its end.
pub struct Writes<'a> {
    pub ops: &'a [StagedOp],
    pub marks: &'a [Mark],
    pub who: &'a Identity,
}

/// End an execution: commit its writes (if any) after checking that nothing
/// it read changed, then store the final record with its `update` event (and
/// the `create` event too, if the execution was never recorded as started).
/// A changed read fails with `transaction_conflict` and writes nothing.
pub fn finish_execution(
    tx: &mut WriteTx<'_>,
    catalog: &Catalog,
    e: &Execution,
    writes: Option<Writes<'_>>,
    started: bool,
) -> Result<Execution, Exception> {
    let mut e = e.clone();
    if !started {
        e.created = tx.now();
    }
    if let Some(w) = writes {
        for m in w.marks {
            let (_, table) = super::find_table(catalog, w.who, &m.db, &m.table)?;
            let now = tx.row(table, &m.row_id)?.map(|r| r.version);
            if now != m.version {
                return Err(Exception::msg(
                    ErrorType::TransactionConflict,
                    format!("row '{}' changed during the execution", m.row_id),
                ));
            }
        }
        tx.at_depth(e.depth, |tx| {
            for op in w.ops {
                txn::apply_op(tx, catalog, w.who, op)?;
            }
            Ok::<_, Exception>(())
        })?;
    }
    if let (Some(seq), "event") = (e.cause, e.trigger.as_str()) {
        // Triggers skip this (event, function) pair from now on, even after a restart.
        tx.put_meta(crate::store::keys::meta::trigger_done(seq, &e.function), Vec::new());
    }
    e.updated = tx.now();
    tx.put_record(k::execution(&e.function, &e.id), &e)?;
    if started {
        tx.remove_record(k::pending_execution(&e.function, &e.id));
    }
    // As Appwrite: a synchronous HTTP execution is created finished (one
    // `create` event, with the final record); any other gets an `update`
    // when it ends (after its `create` if it was started: async and
    // scheduled runs; event-triggered runs have only this one).
    let action = if !started && e.trigger == "http" { Action::Create } else { Action::Update };
    tx.emit(execution_event(&e, action))?;
    Ok(e)
}

pub fn delete_execution(tx: &mut WriteTx<'_>, function_id: &str, id: &str) -> Result<Execution, Exception> {
    let e: Execution =
        tx.record(&k::execution(function_id, id))?.ok_or_else(|| Exception::new(ErrorType::ExecutionNotFound))?;
    if !e.finished() && e.status != "scheduled" {
        return Err(Exception::new(ErrorType::ExecutionInProgress));
    }
    tx.remove_record(k::execution(function_id, id));
    tx.remove_record(k::pending_execution(function_id, id));
    tx.emit(execution_event(&e, Action::Delete))?;
    Ok(e)
}
