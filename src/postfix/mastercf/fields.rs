//! Typed master.cf fields: the service type (field 2), the private,
//! unpriv and chroot flags (fields 3-5), wakeup (field 6) and maxproc
//! (field 7), with the spellings master(5) gives them.
//!
//! Postfix reads these in `master/master_ent.c` (`get_bool_ent`,
//! `get_int_ent`, and the wakeup `?` suffix) and in
//! `postconf/postconf_master.c` (the same checks for `postconf -M`).
//! `-` everywhere means "the built-in default" (for a flag: private `y`,
//! unpriv `y`, chroot `y` on Postfix before 3.0 and `n` since; for wakeup:
//! no wakeup; for maxproc: `default_process_limit`).

use std::fmt;
use std::str::FromStr;

/// Field 2 of a master.cf entry: how the service is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceType {
    /// A TCP socket; the service name is `port`, `host:port` or `[v6]:port`.
    Inet,
    /// A UNIX-domain stream socket (under the queue directory).
    Unix,
    /// A UNIX-domain datagram socket (Postfix 3.4 and later).
    UnixDgram,
    /// A named pipe.
    Fifo,
    /// A file descriptor passed over a UNIX-domain socket (postscreen).
    Pass,
}

impl ServiceType {
    /// Every type, in the order master(5) lists them.
    pub const ALL: [ServiceType; 5] = [
        ServiceType::Inet,
        ServiceType::Unix,
        ServiceType::UnixDgram,
        ServiceType::Fifo,
        ServiceType::Pass,
    ];

    /// The spelling in master.cf and `postconf -M` (`unix-dgram`).
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Inet => "inet",
            ServiceType::Unix => "unix",
            ServiceType::UnixDgram => "unix-dgram",
            ServiceType::Fifo => "fifo",
            ServiceType::Pass => "pass",
        }
    }
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is not a master.cf field value; the error says what the
/// field takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{found:?} is not {expected}")]
pub struct FieldError {
    /// The text that was refused.
    pub found: String,
    /// What the field takes, e.g. "y, n or -".
    pub expected: &'static str,
}

impl FromStr for ServiceType {
    type Err = FieldError;

    /// Exact, lower case: master(5) compares with `strcmp`.
    fn from_str(s: &str) -> Result<Self, FieldError> {
        ServiceType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| FieldError {
                found: s.to_string(),
                expected: "one of inet, unix, unix-dgram, fifo, pass",
            })
    }
}

/// Fields 3-5 (private, unpriv, chroot): `y`, `n` or `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    Yes,
    No,
    /// `-`: the field's built-in default.
    Default,
}

impl Flag {
    /// The master.cf spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Yes => "y",
            Flag::No => "n",
            Flag::Default => "-",
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Flag {
    type Err = FieldError;

    /// `y`, `n` or `-`, exactly (`get_bool_ent` in master_ent.c refuses
    /// anything else as "bad boolean value").
    fn from_str(s: &str) -> Result<Self, FieldError> {
        match s {
            "y" => Ok(Flag::Yes),
            "n" => Ok(Flag::No),
            "-" => Ok(Flag::Default),
            _ => Err(FieldError {
                found: s.to_string(),
                expected: "y, n or -",
            }),
        }
    }
}

/// Field 6: how often master wakes the service up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wakeup {
    /// `-`: never (the same as `0`, but written as the default).
    Default,
    /// `N` or `N?`: every `seconds` seconds (`0`: never); with `?` only
    /// when the service is used (`only_if_used`, master(5): "wake up the
    /// service only if it is used").
    Every { seconds: u32, only_if_used: bool },
}

impl fmt::Display for Wakeup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wakeup::Default => f.write_str("-"),
            Wakeup::Every {
                seconds,
                only_if_used,
            } => write!(f, "{seconds}{}", if *only_if_used { "?" } else { "" }),
        }
    }
}

impl FromStr for Wakeup {
    type Err = FieldError;

    /// `-`, `N` or `N?` with N a decimal number of seconds.
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if s == "-" {
            return Ok(Wakeup::Default);
        }
        let (digits, only_if_used) = match s.strip_suffix('?') {
            Some(d) => (d, true),
            None => (s, false),
        };
        decimal(digits)
            .map(|seconds| Wakeup::Every {
                seconds,
                only_if_used,
            })
            .ok_or_else(|| FieldError {
                found: s.to_string(),
                expected: "a number of seconds, that number followed by ? (only when used), or -",
            })
    }
}

/// Field 7: the most processes of this service that may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaxProc {
    /// `-`: `default_process_limit`.
    Default,
    /// A number (`0`: no limit).
    Limit(u32),
}

impl fmt::Display for MaxProc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxProc::Default => f.write_str("-"),
            MaxProc::Limit(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for MaxProc {
    type Err = FieldError;

    /// `-` or a decimal number.
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if s == "-" {
            return Ok(MaxProc::Default);
        }
        decimal(s).map(MaxProc::Limit).ok_or_else(|| FieldError {
            found: s.to_string(),
            expected: "a number of processes (0: no limit) or -",
        })
    }
}

/// Plain decimal digits that fit a C int (master_ent.c reads these with
/// `atoi` after checking `ISDIGIT` on every character; a value above
/// `INT_MAX` would wrap, so it is refused here).
fn decimal(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|n| i32::try_from(*n).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_types_round_trip_and_are_case_sensitive() {
        for t in ServiceType::ALL {
            assert_eq!(t.as_str().parse::<ServiceType>(), Ok(t));
        }
        assert!("INET".parse::<ServiceType>().is_err());
        assert!("unix_dgram".parse::<ServiceType>().is_err());
    }

    #[test]
    fn flags_are_y_n_or_dash() {
        assert_eq!("y".parse(), Ok(Flag::Yes));
        assert_eq!("n".parse(), Ok(Flag::No));
        assert_eq!("-".parse(), Ok(Flag::Default));
        for bad in ["Y", "yes", "", "1"] {
            assert!(bad.parse::<Flag>().is_err(), "{bad}");
        }
        assert_eq!(Flag::No.to_string(), "n");
    }

    #[test]
    fn wakeup_and_maxproc_spellings() {
        assert_eq!("-".parse(), Ok(Wakeup::Default));
        assert_eq!(
            "60".parse(),
            Ok(Wakeup::Every {
                seconds: 60,
                only_if_used: false
            })
        );
        let w: Wakeup = "300?".parse().unwrap();
        assert_eq!(w.to_string(), "300?");
        for bad in ["?", "60s", "-1", "+5", "2147483648", "1 0"] {
            assert!(bad.parse::<Wakeup>().is_err(), "{bad}");
        }
        assert_eq!("0".parse(), Ok(MaxProc::Limit(0)));
        assert_eq!("-".parse(), Ok(MaxProc::Default));
        assert_eq!(MaxProc::Limit(100).to_string(), "100");
        for bad in ["100?", "x", "0x10", ""] {
            assert!(bad.parse::<MaxProc>().is_err(), "{bad}");
        }
    }
}
