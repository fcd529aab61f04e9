//! Validation: no bad configuration reaches main.cf.
//!
//! Checks, all reported at once with the spec's file:line:column:
//! * names: built-in, service-derived (master.cf), user-defined and
//!   referenced as `$name`, listed in smtpd_restriction_classes, or
//!   declared in `custom_parameters`; otherwise an error with a
//!   "did you mean" suggestion;
//! * values: line injection, macro syntax, unbalanced `{}`, types (bool,
//!   int, long, time), closed enumerations;
//! * cross-parameter rules on the resulting configuration.
//!
//! Problems the live main.cf already has are warnings; only problems the
//! spec introduces are errors.
//!
//! [`load_and_validate`] loads a spec and validates it in one step, so
//! that structural mistakes (a mapping as a value, `purge: maybe`) and bad
//! values are reported together. The candidate check with the real
//! Postfix, which needs the planned file, is in [`crate::engine::candidate`].

use crate::catalog::known::{SERVICE_SUFFIXES, TIME_LIMIT_SUFFIX};
use crate::catalog::{
    read_only, value_rule, Catalog, NameContext, Param, ParamType, ValueRuleKind,
};
mod master;
mod tables;

pub use tables::check_plan as check_tables_on_plan;

use crate::engine::equivalence::equivalent;
use crate::engine::live::LiveConfig;
use crate::engine::spec::{Spec, SpecError, SpecErrors, SpecValue};
use crate::postfix::list::{item_problem, ItemProblem};
use crate::postfix::maincf::{Effective, MainCf};
use crate::postfix::mastercf::MasterCf;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

/// Validation errors (the same shape as spec errors: location, message, hint).
pub type ValidationErrors = SpecErrors;

/// Validate `spec` for the live configuration: its master.cf gives the
/// service-derived names, its main.cf the referenced names and the values
/// already there (their problems are warnings). `complete`: the spec
/// loaded without errors; for one that did not (see
/// [`Spec::load_partial`]) each value is checked, but not the
/// cross-parameter rules, which judge the whole configuration and would
/// report nonsense about a layer or value that could not be read.
pub fn validate(
    spec: &Spec,
    live: &LiveConfig,
    catalog: &Catalog,
    complete: bool,
    warnings: &mut Vec<String>,
) -> Result<(), SpecErrors> {
    validate_with_policies(spec, live, catalog, complete, warnings, &[])
}

/// [`validate`], where `policy_ids` are further policies `allow:` may name
/// (a GitOps repository's own).
pub fn validate_with_policies(
    spec: &Spec,
    live: &LiveConfig,
    catalog: &Catalog,
    complete: bool,
    warnings: &mut Vec<String>,
    policy_ids: &[String],
) -> Result<(), SpecErrors> {
    let master = match live.master_cf() {
        Ok(m) => Some(m),
        Err(why) => {
            warnings.push(format!(
                "{}: {why}; service-derived parameter names (e.g. relay_destination_concurrency_limit) are not known",
                live.master.path.display()
            ));
            None
        }
    };
    // A main.cf that cannot be read is reported when planning; validation
    // then has no live values.
    let main = live.main_cf().ok().map(|(_, doc)| doc);
    let checked = check(spec, catalog, master, main, warnings, complete, policy_ids);
    with_tables(checked, spec, live, catalog, warnings)
}

/// Add the problems of the spec's tables to `checked`.
fn with_tables(
    checked: Result<(), SpecErrors>,
    spec: &Spec,
    live: &LiveConfig,
    catalog: &Catalog,
    warnings: &mut Vec<String>,
) -> Result<(), SpecErrors> {
    let more = tables::check_spec(spec, live, catalog, warnings);
    match (checked, more.is_empty()) {
        (Ok(()), true) => Ok(()),
        (Ok(()), false) => Err(SpecErrors(more)),
        (Err(SpecErrors(mut e)), _) => {
            e.extend(more);
            sort_errors(&mut e);
            Err(SpecErrors(e))
        }
    }
}

/// Load the spec at `path` (with its `extends` layers) and validate it for
/// the live configuration, reporting the problems of both steps together:
/// a spec with a structural mistake (`purge: maybe`, a mapping as a value)
/// and bad parameter values gets every error in one run, each with its
/// location. Returns the spec and the warnings.
pub fn load_and_validate(
    path: &Path,
    live: &LiveConfig,
    catalog: &Catalog,
) -> Result<(Spec, Vec<String>), SpecErrors> {
    let (spec, errors) = Spec::load_partial(path);
    validate_partial(spec, errors, live, catalog)
}

/// [`load_and_validate`] of a spec already loaded with
/// [`Spec::load_partial`] (`errors`: its load errors), e.g. to choose the
/// catalog by the spec's `postfix_version` first
/// (`engine::version::choose_postfix`).
pub fn validate_partial(
    spec: Spec,
    mut errors: Vec<SpecError>,
    live: &LiveConfig,
    catalog: &Catalog,
) -> Result<(Spec, Vec<String>), SpecErrors> {
    let complete = errors.is_empty();
    let mut warnings = Vec::new();
    if let Err(SpecErrors(e)) = validate(&spec, live, catalog, complete, &mut warnings) {
        errors.extend(e);
    }
    if errors.is_empty() {
        Ok((spec, warnings))
    } else {
        sort_errors(&mut errors);
        Err(SpecErrors(errors))
    }
}

/// A configuration's effective values, by name: main.cf as parsed (none
/// when there is no main.cf), or a spec laid over it.
trait Config {
    /// The raw value of `name`, when set.
    fn get(&self, name: &str) -> Option<Cow<'_, str>>;
    /// Every `(name, value)`.
    fn pairs(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)>;
}

impl Config for Option<Effective<'_>> {
    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        Effective::get(self.as_ref()?, name).map(|e| String::from_utf8_lossy(&e.value))
    }
    fn pairs(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.iter()
            .flat_map(Effective::iter)
            .map(|e| {
                (
                    String::from_utf8_lossy(&e.name),
                    String::from_utf8_lossy(&e.value),
                )
            })
            .collect()
    }
}

/// The configuration after the change: the spec's values over the live
/// ones (none of them with `purge`).
struct AfterChange<'a> {
    live: &'a dyn Config,
    spec: &'a BTreeMap<String, Option<String>>,
    purge: bool,
}

impl Config for AfterChange<'_> {
    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        match self.spec.get(name) {
            Some(v) => v.as_deref().map(Cow::Borrowed),
            None if self.purge => None,
            None => self.live.get(name),
        }
    }
    fn pairs(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        let mut out: Vec<(Cow<'_, str>, Cow<'_, str>)> = if self.purge {
            Vec::new()
        } else {
            self.live
                .pairs()
                .into_iter()
                .filter(|(k, _)| !self.spec.contains_key(k.as_ref()))
                .collect()
        };
        out.extend(self.spec.iter().filter_map(|(k, v)| {
            v.as_deref()
                .map(|v| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v)))
        }));
        out
    }
}

/// Every check; `cross`: also the cross-parameter rules.
fn check(
    spec: &Spec,
    catalog: &Catalog,
    master: Option<&MasterCf>,
    live: Option<&MainCf>,
    warnings: &mut Vec<String>,
    cross: bool,
    extra_policy_ids: &[String],
) -> Result<(), SpecErrors> {
    let mut errors = Vec::new();
    // main.cf's values are read in place, not copied (a large main.cf has
    // tens of thousands).
    let effective = live.map(MainCf::effective);
    let live: &dyn Config = &effective;
    // The configuration after the change: live values overlaid with the spec.
    let rendered: BTreeMap<String, Option<String>> = spec
        .main
        .iter()
        .map(|(name, value)| (name.clone(), value.as_ref().map(SpecValue::render)))
        .collect();
    let after = AfterChange {
        live,
        spec: &rendered,
        purge: spec.purge,
    };
    // Service names come from master.cf as the plan would write it.
    let planned;
    let services: &[crate::postfix::mastercf::Service] = if spec.master.is_empty() {
        master.map(|m| m.services.as_slice()).unwrap_or(&[])
    } else {
        planned = master::planned_services(spec, master);
        &planned
    };
    let extra: Vec<String> = spec.custom_parameters.iter().cloned().collect();
    // Which names are user-defined, referenced or service-derived matters
    // only for a name beyond the built-in tables; scanning every value of
    // a large main.cf for `$name` is skipped when the spec has none.
    let context = std::cell::OnceCell::new();
    let names = || {
        context.get_or_init(|| {
            let pairs = after.pairs();
            let values: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_ref(), v.as_ref()))
                .collect();
            NameContext::new(catalog, services, &values, &extra)
        })
    };
    let builtin = Catalog::builtin();
    for (name, value) in &spec.main {
        let Some(value) = value else {
            // Removing any name is fine, known or not (it cleans up junk).
            continue;
        };
        // An old name the version still accepts: say what replaced it.
        if let Some(note) = crate::engine::version::name_note(catalog, name) {
            if !note.blocking {
                let at = spec.location_of(name);
                warnings.push(format!("{at}: {}\n  hint: {}", note.message, note.hint));
            }
        }
        let problems = value_checks(catalog, builtin, services, &names, name, value);
        if problems.is_empty() {
            continue;
        }
        // A value main.cf already has is the live state (postconf -n
        // prints it): restating it changes nothing, so its problems are
        // warnings, like every problem the live file already has.
        let rendered = value.render();
        let restated = live
            .get(name)
            .is_some_and(|current| equivalent(catalog, name, current.as_bytes(), &rendered));
        let at = spec.location_of(name);
        for Problem {
            message,
            hint,
            spelling,
        } in problems
        {
            if restated && !spelling {
                warnings.push(format!("already in the live main.cf: {message}"));
            } else {
                errors.push(SpecError {
                    location: at.clone(),
                    message,
                    hint,
                });
            }
        }
    }
    // Postfix expands every (non-raw) value when it reads main.cf: a
    // reference loop (`myhostname = $myhostname`) is fatal to every
    // Postfix program, a name with no value expands to nothing (postconf
    // warns "undefined parameter"). Checked on the configuration after
    // the change, so `validate` and `plan` find what `apply`'s candidate
    // check would.
    let lookup = |r: &str| -> Option<Vec<u8>> {
        after
            .get(r)
            .map(|v| v.as_bytes().to_vec())
            .or_else(|| catalog.get(r).map(|p| p.default.as_bytes().to_vec()))
            .or_else(|| crate::catalog::is_legacy(r).then(Vec::new))
    };
    for (name, value) in &spec.main {
        let Some(value) = value else { continue };
        let raw = catalog.get(name).is_some_and(|p| p.ty == ParamType::Raw);
        if raw {
            continue;
        }
        let rendered = value.render();
        // Syntax errors were reported with the value's other problems.
        if crate::postfix::macros::check_syntax(rendered.as_bytes()).is_err() {
            continue;
        }
        match crate::postfix::macros::expand(rendered.as_bytes(), lookup) {
            Err(e) => {
                let live_fails = live.get(name).is_some_and(|v| {
                    crate::postfix::macros::expand(v.as_bytes(), |r| {
                        live.get(r)
                            .map(|v| v.as_bytes().to_vec())
                            .or_else(|| catalog.get(r).map(|p| p.default.as_bytes().to_vec()))
                    })
                    .is_err()
                });
                let message = format!(
                    "{name}: {e}; every Postfix program would stop with \"macro processing error\""
                );
                if live_fails {
                    warnings.push(format!("already in the live main.cf: {message}"));
                } else {
                    errors.push(SpecError {
                        location: spec.location_of(name),
                        message,
                        hint: Some(format!(
                            "a value must not refer back to itself through $names (here {name}); write the text, or a literal $ as $$"
                        )),
                    });
                }
            }
            Ok(expanded) => {
                let restated = live.get(name).is_some_and(|current| {
                    equivalent(catalog, name, current.as_bytes(), &rendered)
                });
                if restated {
                    continue;
                }
                for r in expanded.undefined {
                    warnings.push(format!(
                        "{name}: ${r} has no value (Postfix expands it to nothing; postconf warns \"undefined parameter: {r}\")"
                    ));
                }
            }
        }
    }
    // The master: section: services, commands, and each -o checked like a
    // main.cf value (a value the live service already has is a warning).
    let daemon_directory = after
        .get("daemon_directory")
        .map(|v| v.trim().to_string())
        .or_else(|| {
            catalog
                .get("daemon_directory")
                .map(|p| p.default.to_string())
        });
    let inet_protocols = after
        .get("inet_protocols")
        .map(|v| v.into_owned())
        .unwrap_or_else(|| "all".into());
    for p in master::check(
        spec,
        master,
        daemon_directory.as_deref(),
        &inet_protocols,
        warnings,
    ) {
        errors.push(SpecError {
            location: spec.location(&p.at),
            message: p.message,
            hint: p.hint,
        });
    }
    for (key, want) in &spec.master {
        let Some(want) = want else { continue };
        let live_service = master.and_then(|m| {
            m.services
                .iter()
                .rev()
                .find(|s| s.name == key.name && s.service_type() == Some(key.kind))
        });
        for (option, value) in &want.options {
            let Some(value) = value else { continue };
            let problems = value_checks(catalog, builtin, services, &names, option, value);
            let rendered = value.render();
            let restated = live_service
                .and_then(|s| s.override_value(option))
                .is_some_and(|v| equivalent(catalog, option, v.as_bytes(), &rendered));
            let at = spec.location(&crate::engine::spec::SpecKey::ServiceOption(
                key.clone(),
                option.clone(),
            ));
            for Problem {
                message,
                hint,
                spelling,
            } in problems
            {
                let message = format!("service {key} -o {message}");
                if restated && !spelling {
                    warnings.push(format!("already in the live master.cf: {message}"));
                } else {
                    errors.push(SpecError {
                        location: at.clone(),
                        message,
                        hint,
                    });
                }
            }
        }
    }
    // `allow:` names policies that exist.
    for id in &spec.allow {
        if crate::engine::policy::is_builtin(id) || extra_policy_ids.contains(id) {
            continue;
        }
        let known: Vec<&str> = crate::engine::policy::POLICIES
            .iter()
            .map(|(p, _)| *p)
            .chain(extra_policy_ids.iter().map(String::as_str))
            .collect();
        let close = crate::catalog::closest(id, known.iter().copied());
        errors.push(SpecError {
            location: spec.location(&crate::engine::spec::SpecKey::Allow(id.clone())),
            message: format!("allow: unknown policy id `{id}`"),
            hint: Some(match close {
                Some(k) => format!("did you mean `{k}`? The policies are: {}", known.join(", ")),
                None => format!("the policies are: {}", known.join(", ")),
            }),
        });
    }
    // Cross-parameter rules: errors only when the spec introduces them.
    let before = cross_rules(live);
    let findings = if cross {
        cross_rules(&after)
    } else {
        Vec::new()
    };
    for finding in findings {
        let already = before.iter().any(|b| b.message == finding.message);
        if already || !finding.blocking {
            warnings.push(format!(
                "{}{}",
                if already {
                    "already in the live main.cf: "
                } else {
                    ""
                },
                finding.message
            ));
            continue;
        }
        let at = finding
            .names
            .iter()
            .find(|n| spec.main.contains_key(**n))
            .map(|n| spec.location_of(n))
            .unwrap_or_else(|| spec.location_of(""));
        errors.push(SpecError {
            location: at,
            message: finding.message,
            hint: finding.hint,
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        sort_errors(&mut errors);
        Err(SpecErrors(errors))
    }
}

/// One problem of a desired value.
struct Problem {
    message: String,
    hint: Option<String>,
    /// About how the spec writes the value (a YAML list for a scalar, an
    /// item with a comma, a newline): always an error. Otherwise about
    /// the value Postfix would read, which is only a warning when main.cf
    /// already has that value (restating the live state changes nothing).
    spelling: bool,
}

impl Problem {
    fn value(message: String, hint: Option<String>) -> Self {
        Problem {
            message,
            hint,
            spelling: false,
        }
    }

    fn spelling(message: String, hint: Option<String>) -> Self {
        Problem {
            message,
            hint,
            spelling: true,
        }
    }
}

/// The problems of one desired value, as (message, hint): a read-only or
/// unknown name, injection and syntax, the YAML type, the catalog's value
/// rules. The caller decides whether they block.
fn value_checks<'a>(
    catalog: &Catalog,
    builtin: &Catalog,
    services: &[crate::postfix::mastercf::Service],
    names: &dyn Fn() -> &'a NameContext,
    name: &str,
    value: &SpecValue,
) -> Vec<Problem> {
    if read_only(name) {
        return vec![Problem::value(
            format!("{name} is read-only: Postfix sets it itself and ignores main.cf (\"read-only parameter assignment\")"),
            Some(format!("remove {name} from the spec (or set it to null to remove it from main.cf)")),
        )];
    }
    let plain_builtin = catalog.contains(name) && builtin.contains(name);
    if !plain_builtin
        && (!names().is_known(catalog, name) || foreign_service_name(catalog, names(), name))
    {
        // A name of another Postfix version: added later, renamed, removed.
        if let Some(note) = crate::engine::version::name_note(catalog, name).filter(|n| n.blocking)
        {
            return vec![Problem::value(note.message, Some(note.hint))];
        }
        let known = names().known_names(catalog);
        let suggestion = catalog.suggest(name, &known);
        let why = match service_prefix(name) {
            Some((service, kind)) => format!(
                "master.cf has no `{service}` service {kind} that would define it, so Postfix would ignore it (\"unused parameter\")"
            ),
            None => format!(
                "Postfix {} has no such parameter and would ignore it (\"unused parameter\")",
                crate::engine::version::shown_version(catalog)
            ),
        };
        // A look-alike (Cyrillic і for i) or an invisible character is
        // named by its code point: the name looks right otherwise.
        let odd: Vec<String> = name
            .chars()
            .filter(|c| !c.is_ascii_graphic())
            .map(|c| format!("U+{:04X}", c as u32))
            .collect();
        let why = if odd.is_empty() {
            why
        } else {
            format!(
                "{why}; the name contains {} (not a plain ASCII letter)",
                odd.join(", ")
            )
        };
        return vec![Problem::value(
            format!("unknown parameter `{name}`: {why}"),
            Some(match suggestion {
                Some(s) => format!("did you mean `{s}`? If `{name}` is your own parameter, use it as ${name} in another value or list it under custom_parameters"),
                None => format!("check the spelling (postconf -d lists every parameter); if `{name}` is your own parameter, use it as ${name} in another value or list it under custom_parameters"),
            }),
        )];
    }
    // Service-derived names (relay_destination_concurrency_limit...) are
    // typed like the parameter they default to.
    let param = catalog.get_with_services(services, name);
    let raw = param.is_some_and(|p| p.ty == ParamType::Raw);
    let problems = value_problems(name, value, raw);
    if !problems.is_empty() {
        return problems;
    }
    let Some(param) = param else {
        return Vec::new();
    };
    let doc = Some(format!(
        "see https://www.postfix.org/postconf.5.html#{}",
        if plain_builtin {
            name.to_string()
        } else {
            doc_anchor(names(), name)
        }
    ));
    if let Some(message) = type_mismatch(&param, value) {
        return vec![Problem::spelling(format!("{name}: {message}"), doc)];
    }
    // The rules of the catalog's Postfix version; a value only a later
    // version accepts says which.
    match crate::engine::version::check_value(catalog, &param, &value.render()) {
        Err(p) => {
            let hint = match (p.later, doc) {
                (Some(later), Some(doc)) => Some(format!("{later}; {doc}")),
                (later, doc) => later.or(doc),
            };
            vec![Problem::value(format!("{name}: {}", p.problem), hint)]
        }
        Ok(()) => Vec::new(),
    }
}

/// For a name shaped like a service-derived parameter: the service name
/// and which kind of service would define it.
fn service_prefix(name: &str) -> Option<(&str, &'static str)> {
    if let Some(service) = name.strip_suffix(TIME_LIMIT_SUFFIX.0) {
        return (!service.is_empty()).then_some((service, "(command pipe or spawn)"));
    }
    SERVICE_SUFFIXES
        .iter()
        .filter_map(|(suffix, _)| name.strip_suffix(suffix))
        .find(|s| !s.is_empty())
        .map(|s| (s, "(command smtp, lmtp, local, virtual, error or pipe)"))
}

/// A name the catalog knows only because it is derived from a service of
/// another master.cf: the host catalog is `postconf -d`, which lists the
/// service names of /etc/postfix/master.cf, but the config dir being
/// validated may not have that service (postconf would then call the
/// parameter unused).
fn foreign_service_name(catalog: &Catalog, names: &NameContext, name: &str) -> bool {
    let Some(param) = catalog.get(name) else {
        return false;
    };
    let derived = SERVICE_SUFFIXES
        .iter()
        .chain([&TIME_LIMIT_SUFFIX])
        .any(|(suffix, default)| name.ends_with(suffix) && param.default == format!("${default}"));
    derived
        && !Catalog::builtin().contains(name)
        && names.why_known(Catalog::builtin(), name).is_none()
}

/// The postconf(5) entry of a parameter: its own, or for a service-derived
/// name the `transport_<suffix>` template (e.g.
/// `transport_destination_concurrency_limit`).
fn doc_anchor(names: &NameContext, name: &str) -> String {
    // The host catalog (`postconf -d`) also lists the services of the
    // host's own master.cf; only the built-in table has just the
    // documented names.
    if !Catalog::builtin().contains(name) && names.is_service_derived(name) {
        let suffixes = SERVICE_SUFFIXES.iter().chain([&TIME_LIMIT_SUFFIX]);
        if let Some((suffix, _)) = suffixes
            .filter(|(s, _)| name.ends_with(s))
            .max_by_key(|(s, _)| s.len())
        {
            return format!("transport{suffix}");
        }
    }
    name.to_string()
}

/// In file order: by file, line, column (stable for equal locations).
fn sort_errors(errors: &mut [SpecError]) {
    errors.sort_by(|a, b| {
        (a.location.file.as_str(), a.location.line, a.location.column).cmp(&(
            b.location.file.as_str(),
            b.location.line,
            b.location.column,
        ))
    });
}

/// Injection and syntax problems of one value: (message, hint). `raw`:
/// Postfix never expands the parameter (its `$` and braces are data).
fn value_problems(name: &str, value: &SpecValue, raw: bool) -> Vec<Problem> {
    let mut out = Vec::new();
    let pieces: Vec<String> = match value {
        SpecValue::List(items) => items.clone(),
        other => vec![other.render()],
    };
    for piece in &pieces {
        let control = piece
            .chars()
            .find(|c| c.is_control() && *c != '\t')
            .map(|c| match c {
                '\n' => "a newline".to_string(),
                '\r' => "a carriage return".to_string(),
                '\0' => "a NUL byte".to_string(),
                c => format!("the control character U+{:04X}", c as u32),
            });
        if let Some(what) = control {
            // A newline, CR or NUL in a new value would split or end its
            // line. Other control characters (VT, FF, ESC...) are data for
            // Postfix, refused in a new value but not in one main.cf
            // already has.
            let injects = piece.contains(['\n', '\r', '\0']);
            let (message, hint) = if injects {
                (
                    format!("{name}: value contains {what}, which would inject lines into main.cf"),
                    "write the value on one line; for a long list use a YAML list",
                )
            } else {
                (
                    format!("{name}: value contains {what}, which is invisible in editors and terminals; postform does not write control characters into main.cf"),
                    "remove the control character",
                )
            };
            out.push(Problem {
                spelling: injects,
                ..Problem::value(message, Some(hint.into()))
            });
            continue;
        }
        if piece.trim_start().starts_with('#') {
            let what = match value {
                SpecValue::List(_) => format!("list item {piece:?}"),
                _ => "value".to_string(),
            };
            out.push(Problem::spelling(
                format!("{name}: {what} starts with '#', which Postfix would read as a comment when the value is folded"),
                Some("remove the '#'; main.cf has no inline comments".into()),
            ));
            continue;
        }
        // The rule the main.cf writer enforces (postfix/list.rs), reported
        // here with the others and a location.
        if matches!(value, SpecValue::List(_)) {
            // An unclosed `{` is reported below for the whole value, in
            // Postfix's words.
            // A brace group is one item: `{` and `}` as items of their
            // own would be joined into a group of the wrong items.
            let whole_balanced =
                crate::postfix::list::check_braces(value.render().as_bytes()).is_ok();
            if let Some(problem) = item_problem(piece)
                .filter(|p| *p != ItemProblem::Unbalanced || whole_balanced)
                .or_else(|| stray_close(piece).then_some(ItemProblem::Unbalanced))
            {
                let hint = match problem {
                    ItemProblem::Empty => "remove the empty item from the list",
                    ItemProblem::Separator => "give each item separately: [a, b] instead of ['a,b']; a comma inside { } is fine",
                    ItemProblem::Unbalanced => "give a brace group as one item: ['{ inet:localhost:8891, default_action=accept }']",
                    ItemProblem::Comment => "remove the '#'",
                };
                out.push(Problem::spelling(
                    format!("{name}: list item {piece:?} {problem}"),
                    Some(hint.into()),
                ));
            }
        }
    }
    if !out.is_empty() || raw {
        return out;
    }
    let rendered = value.render();
    if ADDRESS_LISTS.contains(&name) {
        let items = crate::postfix::list::list_items(rendered.as_bytes()).unwrap_or_default();
        for item in items.iter().take_while(|i| !i.starts_with(b"#")) {
            let item = String::from_utf8_lossy(item);
            let pattern = item.trim_start_matches('!');
            if !crate::postfix::network::looks_like_network(pattern) {
                continue;
            }
            if let Err(e) = crate::postfix::network::Net::parse(pattern) {
                out.push(Problem::value(
                    format!("{name}: {e}: Postfix answers 451 4.3.0 to every client that reaches this pattern"),
                    Some("write a network as address/prefix with the host bits zero, e.g. 192.0.2.0/24, [2001:db8::]/32, 0.0.0.0/0".into()),
                ));
            }
        }
    }
    if !matches!(value, SpecValue::List(_)) && crate::catalog::is_list_param(name) {
        let stray = crate::postfix::list::tokens_q(rendered.as_bytes(), |b| {
            matches!(b, b',' | b' ' | b'\t')
        })
        .find(|(_, t)| stray_close(&String::from_utf8_lossy(t)));
        if let Some((_, token)) = stray {
            out.push(Problem::value(
                format!(
                    "{name}: {:?} has a '}}' that closes no '{{'",
                    String::from_utf8_lossy(token)
                ),
                Some("remove the stray '}'; a { } group is one list item".into()),
            ));
        }
    }
    if let Err(e) = crate::postfix::macros::check_syntax(rendered.as_bytes()) {
        out.push(Problem::value(
            format!("{name}: {e}"),
            Some("write $name, ${name}, ${name?value} or ${name:value}; a literal $ is $$".into()),
        ));
    }
    if let Err(e) = crate::postfix::list::check_braces(rendered.as_bytes()) {
        out.push(Problem::value(
            format!("{name}: {e}"),
            Some("balance the braces: { ... } groups one list item".into()),
        ));
    }
    out
}

/// Parameters whose items are matched as client addresses (cidr_match):
/// a network pattern Postfix cannot read makes it answer 451.
const ADDRESS_LISTS: &[&str] = &[
    "mynetworks",
    "debug_peer_list",
    "qmqpd_authorized_clients",
    "smtpd_authorized_verp_clients",
    "smtpd_authorized_xclient_hosts",
    "smtpd_authorized_xforward_hosts",
    "smtpd_client_event_limit_exceptions",
];

/// A `}` that closes no `{` (Postfix keeps it as data, which is never
/// what a list item means).
fn stray_close(item: &str) -> bool {
    let mut depth = 0usize;
    for b in item.bytes() {
        match b {
            b'{' => depth += 1,
            b'}' if depth == 0 => return true,
            b'}' => depth -= 1,
            _ => {}
        }
    }
    false
}

/// A YAML type that cannot be right for the parameter's type, said in the
/// user's terms (`found a list`) instead of as the rendered text.
fn type_mismatch(param: &Param, value: &SpecValue) -> Option<String> {
    let rule = value_rule(param.name);
    let expected = if param.ty.is_bool() {
        "yes or no (or true/false)".to_string()
    } else if param.ty.is_integer() {
        "a whole number".to_string()
    } else if param.ty == ParamType::Time {
        "a time like 10s, 5m, 1h, 2d, 1w".to_string()
    } else if let Some(r) = rule.filter(|r| r.kind == ValueRuleKind::One) {
        format!("one of: {}", r.values.join(", "))
    } else {
        return None;
    };
    let found = match value {
        SpecValue::List(_) => "a list".to_string(),
        SpecValue::Bool(b) if !param.ty.is_bool() => format!("the boolean {b}"),
        SpecValue::Int(i) if param.ty.is_bool() => format!("the number {i}"),
        _ => return None,
    };
    Some(format!("expected {expected}, found {found}"))
}

/// A cross-parameter finding.
#[derive(Debug, Clone)]
struct Finding {
    names: Vec<&'static str>,
    message: String,
    hint: Option<String>,
    /// Postfix refuses to run (error) or just ignores something (warning).
    blocking: bool,
}

fn tokens(v: &str) -> Vec<String> {
    crate::postfix::list::comparable_items(v.as_bytes())
        .into_iter()
        .map(|t| String::from_utf8_lossy(&t).to_lowercase())
        .collect()
}

fn is_ipv6_literal(t: &str) -> bool {
    let t = t.trim_start_matches('[');
    t.contains(':')
        && t.chars()
            .all(|c| c.is_ascii_hexdigit() || ":.[]/%".contains(c) || c.is_ascii_alphanumeric())
}

fn is_ipv4_literal(t: &str) -> bool {
    let t = t.split('/').next().unwrap_or(t);
    t.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Whether virtual(8) delivers mail in this configuration: virtual mailbox
/// domains are set (explicitly or through virtual_mailbox_maps, their
/// default), or a transport setting names `virtual`.
fn virtual_delivery_used(cfg: &dyn Config) -> bool {
    let set = |n: &str| cfg.get(n).is_some_and(|v| !v.trim().is_empty());
    let domains = match cfg.get("virtual_mailbox_domains") {
        Some(v) => !v.trim().is_empty(),
        None => set("virtual_mailbox_maps"),
    };
    domains
        || ["local_transport", "default_transport", "relay_transport"]
            .iter()
            .any(|n| cfg.get(n).is_some_and(|v| v.trim().starts_with("virtual")))
}

/// Rules real operators hit, evaluated on a whole configuration.
fn cross_rules(cfg: &dyn Config) -> Vec<Finding> {
    let mut out = Vec::new();
    // A value with `$name` is only known after expansion: rules that need
    // it are skipped (the candidate check with the real Postfix judges
    // it). Sizes with `$` do not parse as numbers and are skipped too.
    let protocols = cfg
        .get("inet_protocols")
        .map(|v| tokens(&v))
        .unwrap_or_else(|| vec!["all".into()]);
    let protocols_known = !protocols.iter().any(|t| t.contains('$'));
    let has = |p: &str| !protocols_known || protocols.iter().any(|t| t == p || t == "all");
    let interfaces = cfg
        .get("inet_interfaces")
        .map(|v| tokens(&v))
        .unwrap_or_default();
    if !has("ipv6") {
        let v6: Vec<&String> = interfaces.iter().filter(|t| is_ipv6_literal(t)).collect();
        if !v6.is_empty() {
            out.push(Finding {
                names: vec!["inet_interfaces", "inet_protocols"],
                message: format!(
                    "inet_interfaces lists the IPv6 address {} but inet_protocols does not enable ipv6: Postfix will refuse to start (\"host not found\")",
                    v6.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                hint: Some("remove the IPv6 addresses from inet_interfaces (loopback-only and all follow inet_protocols), or add ipv6 to inet_protocols".into()),
                blocking: true,
            });
        }
        let nets = cfg
            .get("mynetworks")
            .map(|v| tokens(&v))
            .unwrap_or_default();
        let v6nets: Vec<&String> = nets.iter().filter(|t| is_ipv6_literal(t)).collect();
        if !v6nets.is_empty() {
            out.push(Finding {
                names: vec!["mynetworks", "inet_protocols"],
                message: format!(
                    "mynetworks lists IPv6 networks ({}) while inet_protocols is IPv4-only: they are ignored",
                    v6nets.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                hint: None,
                blocking: false,
            });
        }
    }
    if !has("ipv4") {
        let v4: Vec<&String> = interfaces.iter().filter(|t| is_ipv4_literal(t)).collect();
        if !v4.is_empty() {
            out.push(Finding {
                names: vec!["inet_interfaces", "inet_protocols"],
                message: format!(
                    "inet_interfaces lists the IPv4 address {} but inet_protocols does not enable ipv4: Postfix will refuse to start",
                    v4.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                hint: Some("add ipv4 to inet_protocols or remove the IPv4 addresses".into()),
                blocking: true,
            });
        }
    }
    // local(8) and virtual(8) refuse to run when a non-zero mailbox limit is
    // smaller than message_size_limit, or message_size_limit is 0
    // (unlimited): "fatal: main.cf configuration error: mailbox_size_limit
    // is smaller than message_size_limit" (local.c / virtual.c pre_init).
    // Unparsable values ($name...) are left to the candidate check.
    let size = |name: &str, default: u64| match cfg.get(name) {
        Some(v) => v.trim().parse::<u64>().ok(),
        None => Some(default),
    };
    let message = size("message_size_limit", 10_240_000);
    let shown = |n: u64| {
        if n == 0 {
            "0 = unlimited".to_string()
        } else {
            n.to_string()
        }
    };
    for (limit, default, agent, blocking) in [
        ("mailbox_size_limit", 51_200_000, "local(8)", true),
        (
            "virtual_mailbox_limit",
            51_200_000,
            "virtual(8)",
            virtual_delivery_used(cfg),
        ),
    ] {
        let (Some(message), Some(mailbox)) = (message, size(limit, default)) else {
            continue;
        };
        if mailbox != 0 && (message == 0 || message > mailbox) {
            out.push(Finding {
                names: vec!["message_size_limit", limit],
                message: format!(
                    "message_size_limit ({}) is larger than {limit} ({mailbox}): {agent} delivery {} with \"fatal: main.cf configuration error: {limit} is smaller than message_size_limit\"{}",
                    shown(message),
                    if blocking { "stops" } else { "would stop" },
                    if blocking { "" } else { " (this configuration does not deliver with virtual(8), so it is only a warning)" },
                ),
                hint: Some(format!(
                    "raise {limit} to at least message_size_limit (0 = unlimited), or lower message_size_limit"
                )),
                blocking,
            });
        }
    }
    // TLS without a certificate.
    let level = cfg
        .get("smtpd_tls_security_level")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    let has_cert = [
        "smtpd_tls_cert_file",
        "smtpd_tls_chain_files",
        "smtpd_tls_eccert_file",
        "smtpd_tls_dcert_file",
    ]
    .iter()
    .any(|k| cfg.get(k).is_some_and(|v| !v.trim().is_empty()));
    if (level == "encrypt" || level == "may") && !has_cert {
        out.push(Finding {
            names: vec!["smtpd_tls_security_level", "smtpd_tls_cert_file", "smtpd_tls_chain_files"],
            message: format!(
                "smtpd_tls_security_level = {level} but no server certificate is configured (smtpd_tls_chain_files or smtpd_tls_cert_file): {}",
                if level == "encrypt" { "every SMTP session will fail" } else { "STARTTLS will not be offered" }
            ),
            hint: Some("set smtpd_tls_chain_files (or smtpd_tls_cert_file and smtpd_tls_key_file)".into()),
            blocking: level == "encrypt",
        });
    }
    let smtp_level = cfg
        .get("smtp_tls_security_level")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    if smtp_level.starts_with("dane")
        && cfg.get("smtp_dns_support_level").as_deref().map(str::trim) != Some("dnssec")
    {
        out.push(Finding {
            names: vec!["smtp_tls_security_level", "smtp_dns_support_level"],
            message: format!(
                "smtp_tls_security_level = {smtp_level} needs smtp_dns_support_level = dnssec; without it Postfix falls back to 'may'"
            ),
            hint: Some("set smtp_dns_support_level: dnssec".into()),
            blocking: false,
        });
    }
    if cfg
        .get("smtpd_tls_auth_only")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"))
        && (level.is_empty() || level == "none")
        && cfg
            .get("smtpd_use_tls")
            .is_none_or(|v| !v.trim().eq_ignore_ascii_case("yes"))
    {
        out.push(Finding {
            names: vec!["smtpd_tls_auth_only", "smtpd_tls_security_level"],
            message: "smtpd_tls_auth_only = yes while TLS is off: SMTP AUTH will never be offered"
                .into(),
            hint: Some("set smtpd_tls_security_level: may (with a certificate)".into()),
            blocking: false,
        });
    }
    out
}
