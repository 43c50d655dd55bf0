//! The server-assigned `id` of a payload that creates or replaces a resource (a meter, a
//! signal): a create must not carry one, a replace must.

use amberflo_types::{Rule, ValidationError};

/// Refuses an `id` on a create: the server assigns it.
pub(crate) fn absent_for_create(id: Option<&str>) -> Result<(), ValidationError> {
    match id {
        Some(_) => Err(ValidationError::new("id", Rule::NotAllowed)),
        None => Ok(()),
    }
}

/// Requires the server's `id` on a replace.
pub(crate) fn present_for_update(id: Option<&str>) -> Result<(), ValidationError> {
    match id {
        Some(_) => Ok(()),
        None => Err(ValidationError::new("id", Rule::Missing)),
    }
}
