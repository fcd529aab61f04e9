//! User and group names <-> ids, for table files' owner and group.
//!
//! A number is taken as is. A name is looked up in /etc/passwd or
//! /etc/group first, then with `getent` (which also asks NSS sources such
//! as LDAP), time-limited like every other program postform runs.

use std::path::Path;
use std::process::Command;

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Passwd,
    Group,
}

impl Db {
    fn file(self) -> &'static str {
        match self {
            Db::Passwd => "/etc/passwd",
            Db::Group => "/etc/group",
        }
    }

    fn getent(self) -> &'static str {
        match self {
            Db::Passwd => "passwd",
            Db::Group => "group",
        }
    }
}

/// The id of user or group `name` (a name or a decimal number), `None`
/// when there is no such name.
pub fn id_of(db: Db, name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return Some(n);
    }
    if let Some(id) = lookup_file(Path::new(db.file()), |fields| {
        (fields.first() == Some(&name)).then(|| fields.get(2)?.parse().ok())?
    }) {
        return Some(id);
    }
    let which = super::process::which("getent")?;
    let out = super::process::output(
        Command::new(which).args([db.getent(), name]),
        super::process::timeout(),
    )
    .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next()?.split(':').nth(2)?.parse().ok()
}

/// The name of id `id`, when the local file has one (for messages).
pub fn name_of(db: Db, id: u32) -> Option<String> {
    let wanted = id.to_string();
    lookup_file(Path::new(db.file()), |fields| {
        (fields.get(2) == Some(&wanted.as_str())).then(|| fields[0].to_string())
    })
}

fn lookup_file<T>(path: &Path, mut f: impl FnMut(&[&str]) -> Option<T>) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| f(&l.split(':').collect::<Vec<_>>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_numbers() {
        assert_eq!(id_of(Db::Passwd, "root"), Some(0));
        assert_eq!(id_of(Db::Group, "root"), Some(0));
        assert_eq!(id_of(Db::Passwd, "1234"), Some(1234));
        assert_eq!(id_of(Db::Passwd, "no-such-user-postform"), None);
        assert_eq!(name_of(Db::Passwd, 0).as_deref(), Some("root"));
    }
}
