//! Field checks shared by every payload; each returns a [`ValidationError`] naming the field.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::error::{Rule, ValidationError};
use crate::limits::{MAX_EPOCH_MILLIS, MAX_EPOCH_SECONDS, MIN_EPOCH_MILLIS};

type Field = Cow<'static, str>;

/// The string must contain something visible (see [`is_blank`]).
pub(crate) fn non_blank(field: impl Into<Field>, value: &str) -> Result<(), ValidationError> {
    if is_blank(value) {
        return Err(ValidationError::new(field, Rule::Blank));
    }
    Ok(())
}

/// Whether `text` counts as blank for the API's "must not be blank" rules: empty, or made only
/// of whitespace, control characters (NUL, tabs, ...) and invisible format characters
/// (zero-width space and joiners, byte-order mark, bidirectional marks, soft hyphen, ...).
///
/// Stops at the first visible character (the first one, for real values).
///
/// ```
/// use amberflo_types::is_blank;
///
/// assert!(is_blank(" \t"));
/// assert!(is_blank("\u{200B}\u{FEFF}\0")); // zero-width space, BOM, NUL
/// assert!(!is_blank(" a "));
/// ```
pub fn is_blank(text: &str) -> bool {
    text.chars().all(is_invisible)
}

/// Whitespace, a control character, or an invisible format character (Unicode category Cf).
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Like [`non_blank`], for an optional string.
pub(crate) fn optional_non_blank(
    field: impl Into<Field>,
    value: Option<&str>,
) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |value| non_blank(field, value))
}

/// The integer must be 1 or greater.
pub(crate) fn positive(
    field: impl Into<Field>,
    value: impl Into<i64>,
) -> Result<(), ValidationError> {
    if value.into() <= 0 {
        return Err(ValidationError::new(field, Rule::NotPositive));
    }
    Ok(())
}

/// The string must be at most `max_bytes` long.
pub(crate) fn max_len(
    field: impl Into<Field>,
    value: &str,
    max_bytes: usize,
) -> Result<(), ValidationError> {
    if value.len() > max_bytes {
        return Err(ValidationError::new(field, Rule::TooLong { max_bytes }));
    }
    Ok(())
}

/// A positive time in epoch milliseconds between 2000 and 2099 (see
/// [`crate::MIN_EPOCH_MILLIS`]).
pub(crate) fn epoch_millis(field: impl Into<Field>, value: i64) -> Result<(), ValidationError> {
    time_in(field, value, MIN_EPOCH_MILLIS, MAX_EPOCH_MILLIS)
}

/// A positive time (else [`Rule::NotPositive`]) within `min..=max` (else
/// [`Rule::OutOfRange`]).
pub(crate) fn time_in(
    field: impl Into<Field>,
    value: i64,
    min: i64,
    max: i64,
) -> Result<(), ValidationError> {
    if value <= 0 {
        return Err(ValidationError::new(field, Rule::NotPositive));
    }
    if !(min..=max).contains(&value) {
        return Err(ValidationError::new(field, Rule::OutOfRange { min, max }));
    }
    Ok(())
}

/// A positive time in epoch seconds before 2100 (see [`crate::MAX_EPOCH_SECONDS`]).
pub(crate) fn epoch_seconds(field: impl Into<Field>, value: i64) -> Result<(), ValidationError> {
    time_in(field, value, 1, MAX_EPOCH_SECONDS)
}

/// The number must be finite (not NaN, not infinite).
pub(crate) fn finite(field: impl Into<Field>, value: f64) -> Result<(), ValidationError> {
    if !value.is_finite() {
        return Err(ValidationError::new(field, Rule::NotFinite));
    }
    Ok(())
}

/// The number must be finite and greater than zero.
pub(crate) fn positive_number(field: &'static str, value: f64) -> Result<(), ValidationError> {
    finite(field, value)?;
    if value <= 0.0 {
        return Err(ValidationError::new(field, Rule::NotPositive));
    }
    Ok(())
}

/// Keys and values must be non-blank; a bad value is reported as `field.key`, a bad key as
/// `field.<key>`. Checked in the order given.
pub(crate) fn string_map<K, V>(
    field: &'static str,
    entries: impl IntoIterator<Item = (K, V)>,
) -> Result<(), ValidationError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    // Field names are formatted only on failure: this runs for every ingested record.
    for (key, value) in entries {
        let (key, value) = (key.as_ref(), value.as_ref());
        if is_blank(key) {
            return Err(ValidationError::new(format!("{field}.<key>"), Rule::Blank));
        }
        if is_blank(value) {
            return Err(ValidationError::new(format!("{field}.{key}"), Rule::Blank));
        }
    }
    Ok(())
}

/// The list must be non-empty and hold non-blank strings; a bad item is `field.index`.
pub(crate) fn string_list(field: &str, list: &[String]) -> Result<(), ValidationError> {
    if list.is_empty() {
        return Err(ValidationError::new(field.to_owned(), Rule::EmptyList));
    }
    each_non_blank(field, list)
}

/// Every item non-blank (an empty list is fine); an error names `field.{index}`.
pub(crate) fn each_non_blank(field: &str, list: &[String]) -> Result<(), ValidationError> {
    for (index, item) in list.iter().enumerate() {
        non_blank(format!("{field}.{index}"), item)?;
    }
    Ok(())
}

/// Keys must be non-blank and every value a valid [`string_list`].
pub(crate) fn string_list_map(
    field: &'static str,
    map: &BTreeMap<String, Vec<String>>,
) -> Result<(), ValidationError> {
    for (key, list) in map {
        non_blank(format!("{field}.<key>"), key)?;
        string_list(&format!("{field}.{key}"), list)?;
    }
    Ok(())
}
