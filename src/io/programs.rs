//! Where Postfix's programs are: found once per process, by one rule, so
//! that one command never runs two different `postconf` binaries.
//!
//! For each program: the environment override when set and not empty
//! (taken as given, so that a wrong path is an error that names it),
//! else the program on PATH, else `/usr/sbin` and `/usr/local/sbin`
//! (Debian installs Postfix in sbin, which is often not on a user's
//! PATH). `postmap` and `postalias` without their own override live
//! beside an overridden `postconf` (a test Postfix in another prefix).

use super::process::which;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Environment variables that name a program to use.
pub const POSTCONF_ENV: &str = "POSTFORM_POSTCONF";
/// See [`POSTCONF_ENV`].
pub const POSTFIX_ENV: &str = "POSTFORM_POSTFIX";
/// See [`POSTCONF_ENV`].
pub const POSTMAP_ENV: &str = "POSTFORM_POSTMAP";
/// See [`POSTCONF_ENV`].
pub const POSTALIAS_ENV: &str = "POSTFORM_POSTALIAS";

/// The programs postform runs. `None`: not installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programs {
    pub postconf: Option<PathBuf>,
    pub postfix: Option<PathBuf>,
    pub postmap: Option<PathBuf>,
    pub postalias: Option<PathBuf>,
    /// util-linux `script`: Postfix prints its errors on a terminal only.
    pub script: Option<PathBuf>,
    pub systemctl: Option<PathBuf>,
}

impl Programs {
    /// The programs of this process, found on first use.
    pub fn get() -> &'static Programs {
        static FOUND: OnceLock<Programs> = OnceLock::new();
        FOUND.get_or_init(Programs::find)
    }

    /// Find every program now (see the module docs).
    pub fn find() -> Programs {
        let postconf = find(POSTCONF_ENV, "postconf", None);
        let sibling_of = postconf
            .as_deref()
            .filter(|_| override_of(POSTCONF_ENV).is_some())
            .and_then(Path::parent);
        Programs {
            postfix: find(POSTFIX_ENV, "postfix", None),
            postmap: find(POSTMAP_ENV, "postmap", sibling_of),
            postalias: find(POSTALIAS_ENV, "postalias", sibling_of),
            postconf,
            script: which("script"),
            systemctl: which("systemctl"),
        }
    }
}

fn override_of(env: &str) -> Option<PathBuf> {
    std::env::var_os(env)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn find(env: &str, name: &str, beside: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = override_of(env) {
        return Some(p);
    }
    if let Some(dir) = beside {
        return which(&dir.join(name).display().to_string());
    }
    which(name).or_else(|| {
        ["/usr/sbin", "/usr/local/sbin"]
            .iter()
            .find_map(|d| which(&format!("{d}/{name}")))
    })
}
