//! Checks of names, checksums and lists, run before any request is sent.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::RucioError;

/// The longest DID name the server accepts.
pub const MAX_NAME_LEN: usize = 250;
/// The longest scope name the server accepts.
pub const MAX_SCOPE_LEN: usize = 25;

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[/A-Za-z0-9][/A-Za-z0-9.\-_]*$").expect("valid pattern"));
static SCOPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9.\-_]*$").expect("valid pattern"));
static RSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$").expect("valid pattern"));
static ADLER32: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9a-f]{8}$").expect("valid pattern"));
static MD5: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9a-f]{32}$").expect("valid pattern"));

fn invalid(message: String) -> RucioError {
    RucioError::Invalid(message)
}

/// A DID name: the server's pattern, at most [`MAX_NAME_LEN`] characters.
pub fn did_name(name: &str) -> Result<(), RucioError> {
    if name.chars().count() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "DID name {:?}... has {} characters, more than {MAX_NAME_LEN}",
            name.chars().take(40).collect::<String>(),
            name.chars().count()
        )));
    }
    if !NAME.is_match(name) {
        return Err(invalid(format!(
            "DID name {name:?} must match {} (letters, digits, / . - _)",
            NAME.as_str()
        )));
    }
    Ok(())
}

/// A scope name.
pub fn scope(scope: &str) -> Result<(), RucioError> {
    if scope.len() > MAX_SCOPE_LEN || !SCOPE.is_match(scope) {
        return Err(invalid(format!(
            "scope {scope:?} must be 1 to {MAX_SCOPE_LEN} letters, digits, . - _"
        )));
    }
    Ok(())
}

/// An RSE name.
pub fn rse(rse: &str) -> Result<(), RucioError> {
    if !RSE.is_match(rse) {
        return Err(invalid(format!(
            "RSE name {rse:?} must be letters, digits, _ - ."
        )));
    }
    Ok(())
}

/// An RSE expression: only that it is not blank; the server parses it.
pub fn rse_expression(expression: &str) -> Result<(), RucioError> {
    if expression.trim().is_empty() {
        return Err(invalid("the RSE expression is empty".to_owned()));
    }
    Ok(())
}

/// An adler32 checksum: eight lowercase hexadecimal digits, as Rucio stores them.
pub fn adler32(did: &str, value: &str) -> Result<(), RucioError> {
    if !ADLER32.is_match(value) {
        return Err(invalid(format!(
            "adler32 {value:?} of {did} must be 8 lowercase hexadecimal digits"
        )));
    }
    Ok(())
}

/// An md5 checksum: 32 lowercase hexadecimal digits.
pub fn md5(did: &str, value: &str) -> Result<(), RucioError> {
    if !MD5.is_match(value) {
        return Err(invalid(format!(
            "md5 {value:?} of {did} must be 32 lowercase hexadecimal digits"
        )));
    }
    Ok(())
}

/// A file size that fits its checksum: an empty file has adler32 `00000001`.
pub fn size(did: &str, bytes: u64, adler32: &str) -> Result<(), RucioError> {
    if bytes == 0 && adler32 != "00000001" {
        return Err(invalid(format!(
            "{did} has 0 bytes but adler32 {adler32}; an empty file's adler32 is 00000001"
        )));
    }
    Ok(())
}

/// A list that is not empty and names nothing twice.
pub fn unique<'a, I>(what: &str, items: I) -> Result<(), RucioError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert(item) {
            return Err(invalid(format!("{what} lists {item} more than once")));
        }
    }
    if seen.is_empty() {
        return Err(invalid(format!("{what} is empty")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_server_pattern_and_length() {
        assert!(did_name("raw.run8123").is_ok());
        assert!(did_name("mpd_run_Top_8123_ev1_p7.data").is_ok());
        assert!(did_name("/eos/nica/bmn/exp/raw/run8/x.data").is_ok());
        assert!(did_name(".hidden").is_err());
        assert!(did_name("with space").is_err());
        assert!(did_name("").is_err());
        assert!(did_name(&"a".repeat(250)).is_ok());
        let error = did_name(&"a".repeat(251)).unwrap_err();
        assert!(error.to_string().contains("251 characters"), "{error}");
    }

    #[test]
    fn checksums_and_sizes_are_checked() {
        assert!(adler32("f", "0a1b2c3d").is_ok());
        assert!(adler32("f", "0A1B2C3D").is_err());
        assert!(adler32("f", "a1b2c3d").is_err());
        assert!(md5("f", &"0".repeat(32)).is_ok());
        assert!(md5("f", "xyz").is_err());
        assert!(size("f", 0, "00000001").is_ok());
        assert!(size("f", 0, "0a1b2c3d").is_err());
    }

    #[test]
    fn lists_must_be_non_empty_and_unique() {
        assert!(unique("files", ["a", "b"]).is_ok());
        let empty: [&str; 0] = [];
        assert!(unique("files", empty)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let twice = unique("files", ["a", "b", "a"]).unwrap_err();
        assert!(twice.to_string().contains("a more than once"), "{twice}");
    }

    #[test]
    fn scopes_and_rses_are_checked() {
        assert!(scope("bmn.run8").is_ok());
        assert!(scope("a-scope-name-longer-than-25").is_err());
        assert!(rse("DLNP_TAPE").is_ok());
        assert!(rse("DLNP TAPE").is_err());
        assert!(rse_expression(" ").is_err());
    }
}
