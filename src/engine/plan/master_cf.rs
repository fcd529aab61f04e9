//! The master.cf planner: typed changes per service, field and `-o`
//! option, applied to the live document in one batch of edits.
//!
//! * A service the spec names and master.cf lacks is added (it needs a
//!   `command`); its omitted fields are `-`, except `private` of an inet
//!   service, which is `n` (master(8) refuses a private inet service).
//! * A service set to `null` is removed (every entry of that name/type).
//! * For a service that exists, the fields and options the spec names are
//!   enforced; the others are left as they are. `-` equals the field's
//!   default (private and unpriv `y`; chroot `y` below compatibility level
//!   1, else `n`; wakeup 0; maxproc `default_process_limit`); option values
//!   compare the way main.cf values do (`a, b` = `a b` for lists).
//! * With `purge: true` and a `master:` section, services the spec does
//!   not name are removed, and so are the options a named service's spec
//!   does not name (what `import` writes then restores master.cf exactly).
//!
//! Every master.cf change needs a reload: the master re-reads master.cf on
//! `postfix reload` and starts, stops and reconfigures services.

use super::{Change, ChangeKind, FilePlan, ManagedFile, PlanError, Target};
use crate::catalog::Catalog;
use crate::engine::equivalence::equivalent;
use crate::engine::service::ServiceAction;
use crate::engine::spec::{
    Flag, MasterService, MaxProc, ServiceField, ServiceKey, ServiceType, Spec, SpecKey, SpecValue,
    Wakeup,
};
use crate::postfix::mastercf::{Field, MasterCf, MasterEdit, NewService, Service};
use std::path::Path;

/// What the planner needs to know of main.cf after the change: the
/// defaults `-` stands for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Defaults {
    /// compatibility_level below 1 (chroot `-` means `y`).
    pub old_compat: bool,
    /// `default_process_limit`.
    pub process_limit: u32,
}

/// Plan `spec`'s master section against master.cf (`before`, read from
/// `path`, parsed as `doc`).
pub(super) fn plan_master_cf(
    spec: &Spec,
    path: &Path,
    before: &[u8],
    doc: &MasterCf,
    catalog: &Catalog,
    defaults: Defaults,
) -> Result<(FilePlan, MasterCf), PlanError> {
    let mut changes = Vec::new();
    let mut edits: Vec<(MasterEdit, SpecKey)> = Vec::new();
    let key_of = |s: &Service| -> Option<ServiceKey> {
        Some(ServiceKey {
            name: s.name.clone(),
            kind: s.service_type()?,
        })
    };
    for (key, desired) in &spec.master {
        let existing: Vec<&Service> = doc
            .services
            .iter()
            .filter(|s| key_of(s).as_ref() == Some(key))
            .collect();
        let at = SpecKey::Service(key.clone());
        match (desired, existing.last()) {
            (None, None) => {}
            (None, Some(last)) => {
                changes.push(change(
                    Target::Service {
                        service: key.to_string(),
                    },
                    ChangeKind::Remove,
                    Some(last.canonical()),
                    None,
                    Some(last.line),
                ));
                edits.push((
                    MasterEdit::Remove {
                        name: key.name.clone(),
                        kind: key.kind,
                    },
                    at,
                ));
            }
            (Some(want), None) => {
                let new = new_service(key, want).ok_or_else(|| PlanError::Master {
                    location: spec.location(&SpecKey::ServiceField(
                        key.clone(),
                        ServiceField::Command,
                    )),
                    message: format!(
                        "service {key} is not in master.cf, and a new service needs a command"
                    ),
                    hint: Some(format!(
                        "add `command:` (e.g. smtpd) to {key}, or name a service master.cf has (postconf -M lists them)"
                    )),
                })?;
                changes.push(change(
                    Target::Service {
                        service: key.to_string(),
                    },
                    ChangeKind::Add,
                    None,
                    Some(canonical_of(&new)),
                    None,
                ));
                edits.push((MasterEdit::Add(new), at));
            }
            (Some(want), Some(last)) => {
                plan_existing(
                    spec,
                    key,
                    want,
                    last,
                    catalog,
                    defaults,
                    &mut changes,
                    &mut edits,
                );
            }
        }
    }
    if spec.purge && !spec.master.is_empty() {
        for s in &doc.services {
            let Some(key) = key_of(s) else { continue };
            if spec.master.contains_key(&key)
                || edits
                    .iter()
                    .any(|(e, _)| matches!(e, MasterEdit::Remove { name, kind } if *name == key.name && *kind == key.kind))
            {
                continue;
            }
            changes.push(change(
                Target::Service {
                    service: key.to_string(),
                },
                ChangeKind::Remove,
                Some(s.canonical()),
                None,
                Some(s.line),
            ));
            edits.push((
                MasterEdit::Remove {
                    name: key.name.clone(),
                    kind: key.kind,
                },
                SpecKey::Top(crate::engine::spec::Section::Purge),
            ));
        }
    }
    let mut edited = doc.clone();
    let batch: Vec<MasterEdit> = edits.iter().map(|(e, _)| e.clone()).collect();
    let line_origin = edited.apply_edits(&batch).map_err(|e| PlanError::Master {
        location: spec.location(&edits[e.index].1),
        message: e.error.to_string(),
        hint: None,
    })?;
    Ok((
        FilePlan {
            file: ManagedFile::MasterCf,
            path: path.to_path_buf(),
            before: before.to_vec(),
            after: edited.to_bytes(),
            changes,
            line_origin: Some(line_origin),
            table: None,
        },
        edited,
    ))
}

/// The fields and options of an existing service that differ.
#[allow(clippy::too_many_arguments)]
fn plan_existing(
    spec: &Spec,
    key: &ServiceKey,
    want: &MasterService,
    have: &Service,
    catalog: &Catalog,
    defaults: Defaults,
    changes: &mut Vec<Change>,
    edits: &mut Vec<(MasterEdit, SpecKey)>,
) {
    let service = key.to_string();
    let mut set = |field: Field, spec_field: ServiceField, before: &str, after: String| {
        changes.push(change(
            Target::Field {
                service: service.clone(),
                field: spec_field.as_str().to_string(),
            },
            ChangeKind::Change,
            Some(before.to_string()),
            Some(after.clone()),
            Some(have.line),
        ));
        edits.push((
            MasterEdit::SetField {
                name: key.name.clone(),
                kind: key.kind,
                field,
                value: after,
            },
            SpecKey::ServiceField(key.clone(), spec_field),
        ));
    };
    let flags = [
        (
            want.private,
            Field::Private,
            ServiceField::Private,
            &have.private,
            true,
        ),
        (
            want.unpriv,
            Field::Unpriv,
            ServiceField::Unpriv,
            &have.unpriv,
            true,
        ),
        (
            want.chroot,
            Field::Chroot,
            ServiceField::Chroot,
            &have.chroot,
            defaults.old_compat,
        ),
    ];
    for (desired, field, spec_field, current, default_yes) in flags {
        let Some(desired) = desired else { continue };
        let effective = |f: Flag| match f {
            Flag::Yes => true,
            Flag::No => false,
            Flag::Default => default_yes,
        };
        let same = current
            .parse::<Flag>()
            .is_ok_and(|c| effective(c) == effective(desired));
        if !same {
            set(field, spec_field, current, desired.as_str().to_string());
        }
    }
    if let Some(desired) = want.wakeup {
        let seconds = |w: Wakeup| match w {
            Wakeup::Default => (0, false),
            Wakeup::Every {
                seconds,
                only_if_used,
            } => (seconds, only_if_used && seconds > 0),
        };
        let same = have
            .wakeup
            .parse::<Wakeup>()
            .is_ok_and(|c| seconds(c) == seconds(desired));
        if !same {
            set(
                Field::Wakeup,
                ServiceField::Wakeup,
                &have.wakeup,
                desired.to_string(),
            );
        }
    }
    if let Some(desired) = want.maxproc {
        let limit = |m: MaxProc| match m {
            MaxProc::Default => defaults.process_limit,
            MaxProc::Limit(n) => n,
        };
        let same = have
            .maxproc
            .parse::<MaxProc>()
            .is_ok_and(|c| limit(c) == limit(desired));
        if !same {
            set(
                Field::Maxproc,
                ServiceField::Maxproc,
                &have.maxproc,
                desired.to_string(),
            );
        }
    }
    if let Some(command) = &want.command {
        if *command != have.command {
            set(
                Field::Command,
                ServiceField::Command,
                &have.command,
                command.clone(),
            );
        }
    }
    if let Some(args) = &want.args {
        if args.as_slice() != have.non_option_args() {
            changes.push(change(
                Target::Field {
                    service: service.clone(),
                    field: "args".into(),
                },
                ChangeKind::Change,
                Some(have.non_option_args().join(" ")),
                Some(args.join(" ")),
                Some(have.line),
            ));
            edits.push((
                MasterEdit::SetArgs {
                    name: key.name.clone(),
                    kind: key.kind,
                    args: args.clone(),
                },
                SpecKey::ServiceField(key.clone(), ServiceField::Args),
            ));
        }
    }
    for (option, desired) in &want.options {
        let current = have.override_value(option);
        let at = SpecKey::ServiceOption(key.clone(), option.clone());
        match (desired, current) {
            (None, None) => {}
            (None, Some(v)) => {
                changes.push(option_change(
                    &service,
                    option,
                    ChangeKind::Remove,
                    Some(v),
                    None,
                    have,
                ));
                edits.push((
                    MasterEdit::RemoveOption {
                        name: key.name.clone(),
                        kind: key.kind,
                        option: option.clone(),
                    },
                    at,
                ));
            }
            (Some(value), current) => {
                let rendered = option_text(value);
                if current.is_some_and(|c| equivalent(catalog, option, c.as_bytes(), &rendered)) {
                    continue;
                }
                let kind = if current.is_some() {
                    ChangeKind::Change
                } else {
                    ChangeKind::Add
                };
                changes.push(option_change(
                    &service,
                    option,
                    kind,
                    current,
                    Some(&rendered),
                    have,
                ));
                edits.push((
                    MasterEdit::SetOption {
                        name: key.name.clone(),
                        kind: key.kind,
                        option: option.clone(),
                        value: rendered,
                    },
                    at,
                ));
            }
        }
    }
    if spec.purge {
        for (option, value) in &have.overrides {
            if want.option(option).is_some()
                || edits.iter().any(|(e, _)| {
                    matches!(e, MasterEdit::RemoveOption { name, kind, option: o } if *name == key.name && *kind == key.kind && o == option)
                })
            {
                continue;
            }
            changes.push(option_change(
                &service,
                option,
                ChangeKind::Remove,
                Some(value),
                None,
                have,
            ));
            edits.push((
                MasterEdit::RemoveOption {
                    name: key.name.clone(),
                    kind: key.kind,
                    option: option.clone(),
                },
                SpecKey::Top(crate::engine::spec::Section::Purge),
            ));
        }
    }
}

fn option_change(
    service: &str,
    option: &str,
    kind: ChangeKind,
    before: Option<&str>,
    after: Option<&str>,
    have: &Service,
) -> Change {
    change(
        Target::Option {
            service: service.to_string(),
            name: option.to_string(),
        },
        kind,
        before.map(normalized),
        after.map(normalized),
        Some(have.line),
    )
}

fn change(
    target: Target,
    kind: ChangeKind,
    before: Option<String>,
    after: Option<String>,
    line: Option<usize>,
) -> Change {
    Change {
        target,
        kind,
        before,
        after,
        default: None,
        action: ServiceAction::Reload,
        line,
        removed_duplicates: 0,
    }
}

/// The service to add, or `None` without a command.
fn new_service(key: &ServiceKey, want: &MasterService) -> Option<NewService> {
    let command = want.command.clone()?;
    let flag = |f: Option<Flag>| f.unwrap_or(Flag::Default).as_str().to_string();
    // master(8): "inet service cannot be private" (and `-` means y).
    let private = match (want.private, key.kind) {
        (None, ServiceType::Inet) => "n".to_string(),
        (p, _) => flag(p),
    };
    Some(NewService {
        name: key.name.clone(),
        kind: key.kind,
        private,
        unpriv: flag(want.unpriv),
        chroot: flag(want.chroot),
        wakeup: want
            .wakeup
            .map_or_else(|| "-".to_string(), |w| w.to_string()),
        maxproc: want
            .maxproc
            .map_or_else(|| "-".to_string(), |m| m.to_string()),
        command,
        options: want
            .options
            .iter()
            .filter_map(|(n, v)| v.as_ref().map(|v| (n.clone(), option_text(v))))
            .collect(),
        args: want.args.clone().unwrap_or_default(),
    })
}

/// `postconf -M`'s one-line form of a service to add.
fn canonical_of(s: &NewService) -> String {
    let mut line = Service {
        name: s.name.clone(),
        kind: s.kind.to_string(),
        private: s.private.clone(),
        unpriv: s.unpriv.clone(),
        chroot: s.chroot.clone(),
        wakeup: s.wakeup.clone(),
        maxproc: s.maxproc.clone(),
        command: s.command.clone(),
        ..Service::default()
    };
    for (n, v) in &s.options {
        line.args.push("-o".into());
        line.args.push(format!("{n}={v}"));
    }
    line.args.extend(s.args.iter().cloned());
    line.canonical()
}

/// An option value as master.cf text: a list joined with commas and no
/// space, so that it stays one word (`-o a=x,y`, not `-o { a = x, y }`).
fn option_text(v: &SpecValue) -> String {
    match v {
        SpecValue::List(items) => items.join(","),
        other => other.render(),
    }
}

/// A value the way postconf -P prints it (whitespace runs joined).
fn normalized(v: &str) -> String {
    String::from_utf8_lossy(&crate::postfix::maincf::normalize(v.as_bytes())).into_owned()
}
