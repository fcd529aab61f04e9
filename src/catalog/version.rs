//! Postfix versions: parsing `3.10`, `3.10.13` and `mail_version`, the
//! release series the catalog has tables for, and which table serves a
//! version outside them.
//!
//! A *series* is `major.minor` (3.10); a *release* adds the patch level
//! (3.10.13). The catalog has one table per series 3.4 ... 3.11, made from
//! the newest patch release of each (see data/README.md), so a series-level
//! answer (names, types, defaults) describes that release; an older patch
//! release of the same series may lack a parameter that was backported
//! later (e.g. `smtpd_forbid_bare_newline`, 3.5.23 / 3.6.13 / 3.7.9 / 3.8.4).
//! Value rules that changed within a series take the patch level into
//! account when it is known (values.rs).

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

use super::builtin;

/// A Postfix version: a series (`3.10`) or a release (`3.10.13`).
///
/// Ordering is by major, minor, then patch, where a bare series sorts
/// before any release of it (`3.10 < 3.10.0 < 3.10.13 < 3.11`); compare
/// [`PostfixVersion::series`] values for series-level questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PostfixVersion {
    pub major: u16,
    pub minor: u16,
    /// The patch level, when known (`None` for "3.10").
    pub patch: Option<u16>,
}

impl PostfixVersion {
    /// The series `major.minor`.
    pub const fn new(major: u16, minor: u16) -> PostfixVersion {
        PostfixVersion {
            major,
            minor,
            patch: None,
        }
    }

    /// The release `major.minor.patch`.
    pub const fn release(major: u16, minor: u16, patch: u16) -> PostfixVersion {
        PostfixVersion {
            major,
            minor,
            patch: Some(patch),
        }
    }

    /// Parse `3.10`, `3.10.13`, or a `mail_version` value such as
    /// `3.11.0-RC1` or `3.11-20250601` (a snapshot: series 3.11, no patch
    /// level); text after `-` is ignored. Surrounding whitespace is
    /// ignored.
    pub fn parse(text: &str) -> Result<PostfixVersion, VersionError> {
        let bad = || VersionError {
            text: text.to_string(),
        };
        let trimmed = text.trim();
        let core = trimmed.split_once('-').map_or(trimmed, |(core, _)| core);
        let mut parts = core.split('.');
        let mut number = |required: bool| -> Result<Option<u16>, VersionError> {
            match parts.next() {
                None if !required => Ok(None),
                Some(p)
                    if !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    p.parse().map(Some).map_err(|_| bad())
                }
                _ => Err(bad()),
            }
        };
        let major = number(true)?.ok_or_else(bad)?;
        let minor = number(true)?.ok_or_else(bad)?;
        let patch = number(false)?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(PostfixVersion {
            major,
            minor,
            patch,
        })
    }

    /// The series of this version (the patch level dropped).
    pub const fn series(self) -> PostfixVersion {
        PostfixVersion::new(self.major, self.minor)
    }

    /// True when this version has a change that appeared in release
    /// `since` of the same series (or in an earlier series). A version
    /// without a patch level stands for the newest release of its series,
    /// like the catalog tables do, so it has every change of its series.
    pub fn has_release(self, since: PostfixVersion) -> bool {
        match self.series().cmp(&since.series()) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => match (self.patch, since.patch) {
                (Some(mine), Some(needed)) => mine >= needed,
                _ => true,
            },
        }
    }
}

impl fmt::Display for PostfixVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(patch) => write!(f, "{}.{}.{patch}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

impl FromStr for PostfixVersion {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PostfixVersion::parse(text)
    }
}

impl serde::Serialize for PostfixVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// From a string only: YAML reads an unquoted `3.10` as the number 3.1,
/// so numbers are refused with a message that says to quote the version.
impl<'de> serde::Deserialize<'de> for PostfixVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = PostfixVersion;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Postfix version as a string, like \"3.10\" or \"3.10.13\"")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PostfixVersion, E> {
                PostfixVersion::parse(v).map_err(E::custom)
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<PostfixVersion, E> {
                Err(E::custom(format!(
                    "a Postfix version must be a quoted string, not the number {v} (unquoted, 3.10 would be the number 3.1): write it like \"3.10\""
                )))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PostfixVersion, E> {
                Err(E::custom(format!(
                    "a Postfix version must be a quoted string with major and minor, like \"{v}.0\", not the number {v}"
                )))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PostfixVersion, E> {
                self.visit_u64(v.unsigned_abs())
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Text that is not a Postfix version.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid Postfix version {text:?}: expected major.minor like 3.10, or major.minor.patch like 3.10.13")]
pub struct VersionError {
    pub text: String,
}

/// The release series the catalog has tables for, oldest first.
pub const KNOWN_SERIES: [PostfixVersion; builtin::SERIES_COUNT] = builtin::SERIES;

/// [`KNOWN_SERIES`] as text, e.g. `3.4-3.11` (for `postform --version`).
pub const KNOWN_SERIES_RANGE: &str = builtin::SERIES_RANGE;

/// Which table serves a version: its own series, or the nearest known one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesMatch {
    /// The version asked for.
    pub requested: PostfixVersion,
    /// The series whose table is used.
    pub series: PostfixVersion,
    /// The release that table was made from (e.g. 3.10.13).
    pub release: PostfixVersion,
    pub fit: SeriesFit,
}

/// How a version relates to the known series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesFit {
    /// A known series.
    Exact,
    /// Older than the oldest known series: its table is used, so names
    /// added after the requested version pass unnoticed.
    OlderThanKnown,
    /// Newer than the newest known series: its table is used, so names
    /// added after it are unknown.
    NewerThanKnown,
}

impl SeriesMatch {
    /// The table for `version`: its series when known, else the nearest
    /// (the oldest for older versions, the newest for newer ones).
    pub fn for_version(version: PostfixVersion) -> SeriesMatch {
        let wanted = version.series();
        let (index, fit) = match KNOWN_SERIES.iter().position(|s| *s == wanted) {
            Some(i) => (i, SeriesFit::Exact),
            None if wanted < KNOWN_SERIES[0] => (0, SeriesFit::OlderThanKnown),
            None if wanted > KNOWN_SERIES[KNOWN_SERIES.len() - 1] => {
                (KNOWN_SERIES.len() - 1, SeriesFit::NewerThanKnown)
            }
            // Unreachable while the known series are contiguous (a test
            // checks); the next newer one would be the safe choice.
            None => (
                KNOWN_SERIES
                    .iter()
                    .position(|s| *s > wanted)
                    .unwrap_or(KNOWN_SERIES.len() - 1),
                SeriesFit::NewerThanKnown,
            ),
        };
        SeriesMatch {
            requested: version,
            series: KNOWN_SERIES[index],
            release: builtin::RELEASES[index],
            fit,
        }
    }

    /// The table index in builtin.rs.
    pub(crate) fn table_index(&self) -> usize {
        KNOWN_SERIES
            .iter()
            .position(|s| *s == self.series)
            .unwrap_or(KNOWN_SERIES.len() - 1)
    }

    /// True for a known series.
    pub fn is_exact(&self) -> bool {
        self.fit == SeriesFit::Exact
    }
}

/// A note for versions outside the known series, e.g. "Postfix 3.12 is
/// newer than the newest series postform knows (3.4-3.11); its parameters
/// are checked against Postfix 3.11.6". For a known series: "Postfix 3.10
/// (parameters of 3.10.13)".
impl fmt::Display for SeriesMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fit {
            SeriesFit::Exact => write!(
                f,
                "Postfix {} (parameters of {})",
                self.requested, self.release
            ),
            SeriesFit::OlderThanKnown => write!(
                f,
                "Postfix {} is older than the oldest series postform knows ({KNOWN_SERIES_RANGE}); its parameters are checked against Postfix {}, so a parameter added after {} is not reported",
                self.requested, self.release, self.requested
            ),
            SeriesFit::NewerThanKnown => write!(
                f,
                "Postfix {} is newer than the newest series postform knows ({KNOWN_SERIES_RANGE}); its parameters are checked against Postfix {}, so a parameter added after {} is reported as unknown",
                self.requested, self.release, self.series
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> PostfixVersion {
        PostfixVersion::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_series_releases_and_mail_version() {
        assert_eq!(v("3.10"), PostfixVersion::new(3, 10));
        assert_eq!(v("3.10.13"), PostfixVersion::release(3, 10, 13));
        assert_eq!(v(" 3.7.11\n"), PostfixVersion::release(3, 7, 11));
        assert_eq!(v("3.11-20250601"), PostfixVersion::new(3, 11));
        assert_eq!(v("3.11.0-RC1"), PostfixVersion::release(3, 11, 0));
        for bad in [
            "",
            "3",
            "3.",
            ".10",
            "3.10.",
            "3.10.13.1",
            "v3.10",
            "3.x",
            "three",
            "3.1a",
            "99999.1",
            "-3.10",
            "3..10",
        ] {
            assert_eq!(
                PostfixVersion::parse(bad),
                Err(VersionError {
                    text: bad.to_string()
                }),
                "{bad:?}"
            );
        }
        assert_eq!(
            PostfixVersion::parse("3").map_err(|e| e.to_string()),
            Err("invalid Postfix version \"3\": expected major.minor like 3.10, or major.minor.patch like 3.10.13".to_string())
        );
        assert_eq!(
            "3.9".parse::<PostfixVersion>(),
            Ok(PostfixVersion::new(3, 9))
        );
    }

    #[test]
    fn displays_and_orders() {
        assert_eq!(v("3.10").to_string(), "3.10");
        assert_eq!(v("3.10.13").to_string(), "3.10.13");
        assert!(v("3.9") < v("3.10"), "numeric, not text order");
        assert!(v("3.10") < v("3.10.0") && v("3.10.0") < v("3.10.13"));
        assert!(v("3.10.13") < v("3.11"));
        assert_eq!(v("3.10.13").series(), v("3.10"));
    }

    #[test]
    fn has_release() {
        let shutdown = PostfixVersion::release(3, 7, 20);
        assert!(!v("3.7.11").has_release(shutdown));
        assert!(v("3.7.20").has_release(shutdown));
        assert!(
            v("3.7").has_release(shutdown),
            "a series is its newest release"
        );
        assert!(v("3.8.1").has_release(shutdown));
        assert!(!v("3.6.20").has_release(shutdown));
    }

    #[test]
    fn known_series_are_contiguous_and_match_the_tables() {
        assert_eq!(KNOWN_SERIES_RANGE, "3.4-3.11");
        assert_eq!(KNOWN_SERIES.len(), 8);
        for (i, s) in KNOWN_SERIES.iter().enumerate() {
            assert_eq!(*s, PostfixVersion::new(3, 4 + i as u16));
            assert_eq!(builtin::RELEASES[i].series(), *s);
            assert_eq!(builtin::TABLES[i].0, s.to_string());
            assert_eq!(builtin::TABLES[i].1, builtin::RELEASES[i].to_string());
        }
    }

    #[test]
    fn series_match() {
        let m = SeriesMatch::for_version(v("3.10.2"));
        assert_eq!(
            (m.series, m.release, m.fit),
            (v("3.10"), v("3.10.13"), SeriesFit::Exact)
        );
        assert_eq!(m.to_string(), "Postfix 3.10.2 (parameters of 3.10.13)");
        let m = SeriesMatch::for_version(v("3.12"));
        assert_eq!((m.series, m.fit), (v("3.11"), SeriesFit::NewerThanKnown));
        assert_eq!(
            m.to_string(),
            "Postfix 3.12 is newer than the newest series postform knows (3.4-3.11); its parameters are checked against Postfix 3.11.6, so a parameter added after 3.11 is reported as unknown"
        );
        let m = SeriesMatch::for_version(v("4.0"));
        assert_eq!((m.series, m.fit), (v("3.11"), SeriesFit::NewerThanKnown));
        let m = SeriesMatch::for_version(v("2.11.3"));
        assert_eq!((m.series, m.fit), (v("3.4"), SeriesFit::OlderThanKnown));
        assert_eq!(m.table_index(), 0);
        assert!(m.to_string().starts_with(
            "Postfix 2.11.3 is older than the oldest series postform knows (3.4-3.11); its parameters are checked against Postfix 3.4.29"
        ));
    }

    #[test]
    fn serde_wants_a_string() {
        // serde_json reads 3.10 as the number 3.1, as YAML does.
        let parsed: PostfixVersion = serde_json::from_str("\"3.10\"").expect("string");
        assert_eq!(parsed, v("3.10"));
        let err = serde_json::from_str::<PostfixVersion>("3.10").expect_err("number");
        assert!(err.to_string().contains("the number 3.1 ("), "{err}");
        let err = serde_json::from_str::<PostfixVersion>("3").expect_err("integer");
        assert!(err.to_string().contains("\"3.0\""), "{err}");
        let err = serde_json::from_str::<PostfixVersion>("\"3.x\"").expect_err("bad");
        assert!(err.to_string().contains("invalid Postfix version"), "{err}");
        assert_eq!(
            serde_json::to_string(&v("3.10.13")).expect("json"),
            "\"3.10.13\""
        );
    }
}
