//! Postfix's notion of whitespace.
//!
//! Postfix uses C `isspace()` on ASCII only: SP, TAB, LF, VT (0x0b), FF (0x0c)
//! and CR. `u8::is_ascii_whitespace` lacks VT, so it must never be used for
//! main.cf or master.cf text.

/// True for the six bytes C `isspace()` accepts in the "C" locale.
pub const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Trim Postfix whitespace from both ends.
pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_space(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_space(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Split on the separators postconf uses when it prints a value (" \t\r\n"):
/// VT and FF are *not* separators there.
pub fn print_words(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .filter(|w| !w.is_empty())
}

/// Postfix values are C strings: nothing after a NUL byte exists.
pub fn until_nul(value: &[u8]) -> &[u8] {
    match value.iter().position(|&b| b == 0) {
        Some(n) => &value[..n],
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vt_and_ff_are_space_unlike_std() {
        assert!(is_space(0x0b));
        assert!(!0x0bu8.is_ascii_whitespace());
        assert!(is_space(0x0c));
        assert!(!is_space(0xa0));
    }

    #[test]
    fn trim_keeps_inner_bytes() {
        assert_eq!(trim(b"\x0b a b\r\n"), b"a b");
        assert_eq!(trim(b"   "), b"");
    }
}
