//! Numbers the way Postfix's C code reads them (`strtol`, compatibility
//! levels).

use crate::postfix::space;

/// C `strtol(s, &end, 10)`: leading C whitespace, optional sign, digits.
/// Returns the value and the index after the digits, or `None` when there
/// are no digits or the number overflows (ERANGE).
pub fn strtol(s: &[u8]) -> Option<(i64, usize)> {
    let mut i = 0;
    while i < s.len() && space::is_space(s[i]) {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits_start = i;
    let mut value: i64 = 0;
    while let Some(d) = s.get(i).filter(|b| b.is_ascii_digit()) {
        let digit = i64::from(d - b'0');
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
        i += 1;
    }
    (i > digits_start).then_some((value, i))
}

/// `compat_level_from_string`: `major[.minor[.patch]]` as one comparable
/// number (global/compat_level.c), `None` when malformed.
pub fn compat_level(s: &[u8]) -> Option<i64> {
    const MINOR_BITS: i64 = 0x3ff;
    const PATCH_BITS: i64 = 0x3ff;
    const MAJOR_SHIFT: u32 = 20;
    let (major, n) = strtol(s)?;
    if !(0..=(i64::MAX >> MAJOR_SHIFT)).contains(&major) {
        return None;
    }
    let mut level = major << MAJOR_SHIFT;
    let rest = &s[n..];
    let Some(rest) = rest.strip_prefix(b".") else {
        return rest.is_empty().then_some(level);
    };
    let (minor, n) = strtol(rest)?;
    if !(0..=MINOR_BITS).contains(&minor) {
        return None;
    }
    level |= minor << 10;
    let rest = &rest[n..];
    let Some(rest) = rest.strip_prefix(b".") else {
        return rest.is_empty().then_some(level);
    };
    let (patch, n) = strtol(rest)?;
    if !(0..=PATCH_BITS).contains(&patch) || n != rest.len() {
        return None;
    }
    Some(level | patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compat_levels() {
        assert_eq!(compat_level(b"0"), Some(0));
        assert!(compat_level(b"3.6").is_some());
        assert!(compat_level(b"3.6.1").is_some());
        assert!(compat_level(b"3.10") > compat_level(b"3.9"));
        for bad in ["", "a", "3.", "3.x", "-1", "3.6.1.2", "3.1024", "3.6x"] {
            assert_eq!(compat_level(bad.as_bytes()), None, "{bad}");
        }
    }
    #[test]
    fn strtol_like_c() {
        assert_eq!(strtol(b" +12x"), Some((12, 4)));
        assert_eq!(strtol(b"-0"), Some((0, 2)));
        assert_eq!(strtol(b"x"), None);
        assert_eq!(strtol(b"99999999999999999999"), None);
    }
}
