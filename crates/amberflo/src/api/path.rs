//! Ids in URL paths (`/customers/{id}`, `/notification/{id}`, `/meters/{id}`), encoded so
//! that no id can change the path: every byte outside the URL's unreserved characters is
//! percent-encoded (`/` becomes `%2F`, `?` `%3F`, `%` `%25`), and the two ids percent-encoding
//! cannot protect, `.` and `..` (URL parsers resolve them, even as `%2E`), are refused.

use amberflo_types::{Rule, ValidationError, is_blank};

/// `{base}/{id}`, with `id` encoded as one path segment; `field` names the id in errors.
pub(crate) fn with_id(
    base: &str,
    field: &'static str,
    id: &str,
) -> Result<String, ValidationError> {
    if is_blank(id) {
        return Err(ValidationError::new(field, Rule::Blank));
    }
    if id == "." || id == ".." {
        return Err(ValidationError::new(field, Rule::DotSegment));
    }
    let mut path = String::with_capacity(base.len() + 1 + id.len() * 3);
    path.push_str(base.trim_end_matches('/'));
    path.push('/');
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            path.push(char::from(byte));
        } else {
            path.push('%');
            path.push(char::from(HEX[usize::from(byte >> 4)]));
            path.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    Ok(path)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_change_the_path() {
        let path = |id| with_id("/customers", "customer_id", id);
        assert_eq!(path("customer-1").unwrap(), "/customers/customer-1");
        assert_eq!(path("a/../b").unwrap(), "/customers/a%2F..%2Fb");
        assert_eq!(path("../meters").unwrap(), "/customers/..%2Fmeters");
        assert_eq!(path("x?y#z%").unwrap(), "/customers/x%3Fy%23z%25");
        assert_eq!(path("é").unwrap(), "/customers/%C3%A9");
        assert_eq!(path("a..b").unwrap(), "/customers/a..b");
        for dots in [".", ".."] {
            assert_eq!(path(dots).unwrap_err().rule(), &Rule::DotSegment);
        }
        assert_eq!(path(" ").unwrap_err().rule(), &Rule::Blank);
    }
}
