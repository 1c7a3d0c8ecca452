//! What the hub refuses before it stores a pushed change, beyond who may see what
//! ([`crate::Hub::push`] runs these): a change must be one a local edit could have made (same
//! descriptors, same rules), name only records the server holds, and — from a user who may not
//! change who sees a record — never shrink what other users see.
//!
//! Answers are chosen so that they reveal nothing: a record that does not exist and one the
//! user may not see get the same answer, word for word.

use crate::access::{Index, Role};
use crate::error::HubError;
use desk_core::{Change, Entity, FieldKind};
use serde_json::Value;
use std::collections::HashMap;

/// The one answer for a reference to a record that does not exist or that the user may not
/// see (422 `invalid_change`, naming the field).
pub(crate) fn unseen(c: &Change, what: &str) -> HubError {
    HubError::BadChange(format!(
        "change {}/{} {what}, which does not exist or which this user may not see",
        c.device, c.dev_seq
    ))
}

fn blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The entity a field names records of: the parent's, or a reference's target.
pub(crate) fn target(entity: Entity, field: &str) -> Option<Entity> {
    let d = entity.desc();
    if let Some((p, e)) = d.parent {
        if p == field {
            return Some(e);
        }
    }
    match d.field(field).map(|f| f.kind) {
        Some(FieldKind::Ref(e) | FieldKind::RefList(e)) => Some(e),
        _ => None,
    }
}

/// Checks pushed change `c` as a local edit would be checked (see
/// [`desk_core::check_change`]), and that it names only records the server holds (or that
/// `created`, the records made earlier in the same batch, holds) of the right kind. A change
/// for a record the server does not hold is a create: it must carry every required field.
/// `seen` says whether the pusher may see (or once saw) a record the server holds: one they
/// may not is answered exactly as one that does not exist, except that it cannot be created
/// again (403). An edit that empties a required field is refused.
pub(crate) fn validate(
    index: &Index,
    c: &Change,
    created: &HashMap<String, Entity>,
    seen: &dyn Fn(&str) -> bool,
) -> Result<(), HubError> {
    desk_core::check_change(c).map_err(|e| {
        HubError::BadChange(match e {
            desk_core::Error::BadChange { message, .. } => message,
            other => other.to_string(),
        })
    })?;
    let entity = Entity::parse(&c.entity)
        .ok_or_else(|| HubError::BadChange(format!("unknown entity {}", c.entity)))?;
    let d = entity.desc();
    let new = created.get(&c.record).copied();
    let held = index.entity(&c.record);
    let exists = new.or(held).filter(|_| new.is_some() || seen(&c.record));
    match exists {
        Some(e) if e != entity => return Err(unseen(c, &format!("names {} {}", d.name, c.record))),
        Some(_) => {}
        None => {
            // A create: every required field (the parent among them), and not a deletion.
            let has = |name: &str| c.fields.iter().any(|f| f.field == name && !blank(&f.value));
            let missing = d
                .fields
                .iter()
                .filter(|f| f.required)
                .map(|f| f.name)
                .chain(d.parent.map(|(p, _)| p))
                .find(|name| !has(name));
            if let Some(name) = missing {
                return Err(HubError::BadChange(format!(
                    "change {}/{}: {}.{name} is required: {} {} does not exist (or this user \
                     may not see it), so the change must create it whole",
                    c.device, c.dev_seq, d.name, d.name, c.record
                )));
            }
            if c.fields.iter().any(|f| f.field == "_deleted") {
                return Err(unseen(c, &format!("deletes {} {}", d.name, c.record)));
            }
            if held.is_some() {
                // Not seen, yet there: the id is taken (only someone who knows it can tell).
                return Err(HubError::OutOfScope(format!(
                    "change {}/{} would create {} {}, whose id is taken",
                    c.device, c.dev_seq, d.name, c.record
                )));
            }
        }
    }
    for f in &c.fields {
        if let Some(fd) = d.field(&f.field) {
            if fd.required && blank(&f.value) {
                return Err(HubError::BadChange(format!(
                    "change {}/{}: {}.{}: is required and cannot be empty",
                    c.device, c.dev_seq, d.name, f.field
                )));
            }
        }
        let Some(to) = target(entity, &f.field) else {
            continue;
        };
        let named = match &f.value {
            Value::String(s) if !s.is_empty() => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let added = f
            .set
            .iter()
            .flat_map(|ops| ops.add.iter().map(String::as_str));
        for id in named.into_iter().chain(added) {
            let kind = index.entity(id).or_else(|| created.get(id).copied());
            if kind != Some(to) {
                return Err(unseen(
                    c,
                    &format!("sets {}.{} to {} {id}", d.name, f.field, to.desc().name),
                ));
            }
        }
    }
    Ok(())
}

/// The views a focal point's edit must leave whole: a partner's and each country's focal
/// point's.
fn others() -> Vec<Role> {
    std::iter::once(Role::Partner)
        .chain(
            desk_core::schema::COUNTRIES
                .iter()
                .map(|c| Role::FocalPoint(c.code.to_string())),
        )
        .collect()
}

/// Refuses `keep` (the changes a push would store) when, pushed by a user who may not
/// reclassify, any of them would hide from some role a record that role sees now: by
/// pointing a reference, a parent or a linked list at a record that role may not see, a
/// record naming a hidden one being hidden too. Only a permitted reclassification shrinks
/// what others see. The answer names the change and its record, never the records it would
/// have hidden (the pusher may not see those either).
pub(crate) fn no_shrink(index: &mut Index, role: &Role, keep: &[Change]) -> Result<(), HubError> {
    if role.may_reclassify() || keep.is_empty() {
        return Ok(());
    }
    let roles = others();
    index.try_at(keep, |ix, head| {
        for (i, c) in keep.iter().enumerate() {
            let s = head + 1 + i as i64;
            let Some(x) = ix.event_at(s) else {
                continue;
            };
            for y in ix.affected(x) {
                if roles
                    .iter()
                    .any(|r| ix.visible(r, &y, s - 1) && !ix.visible(r, &y, s))
                {
                    return Err(HubError::NotPermitted(format!(
                        "change {}/{} on {} {} would hide it, or records that name it, from \
                         users who may see them now; choose a record everyone who sees this \
                         one may see, or ask the secretariat to change who sees it",
                        c.device, c.dev_seq, c.entity, c.record
                    )));
                }
            }
        }
        Ok(())
    })
}
