//! Which parameter names Postfix accepts (SPEC section 4).
//!
//! postconf knows three kinds of names (postconf/postconf_user.c):
//!
//! 1. **Built-in**: the catalog.
//! 2. **Service-derived** (postconf/postconf_service.c
//!    `pcf_register_service_parameters`): for each master.cf entry whose
//!    command (field 8, compared literally) is `local`, `error`, `virtual`,
//!    `smtp` or `lmtp`, the service name plus each of [`SERVICE_SUFFIXES`];
//!    `pipe` adds `_time_limit` as well; `spawn` gets only `_time_limit`.
//!    Their defaults are `$<default parameter>`. The 16 suffixes are those of
//!    Postfix 3.7.11 (`postconf -d` with such services, checked by a test).
//! 3. **User-defined**: any other `name = value` is valid only if `$name`
//!    (in any form, see [`crate::postfix::macros::references`]) appears in the value
//!    of a main.cf parameter, in a master.cf `-o` value, or in the default
//!    of a parameter main.cf leaves at its default, or if the name is listed
//!    in `smtpd_restriction_classes` (main.cf or a `-o`). Values of `raw`
//!    parameters and of the read-only `process_id`, `process_name` and
//!    `service_name` are not scanned. Everything else is "unused": postconf
//!    warns and ignores it.
//!
//! Not modelled: the legacy `ldap:name` style (postconf_dbms.c), which makes
//! `name_<ldap suffix>` valid; declare such names with `extra`.

use std::collections::{HashMap, HashSet};

use super::{read_only, Catalog, Param, ParamType};
use crate::postfix::macros;
use crate::postfix::mastercf::Service;

/// The 16 parameter suffixes every local/error/virtual/smtp/lmtp service
/// (and pipe) gets, with the built-in parameter that is the default of each.
pub const SERVICE_SUFFIXES: [(&str, &str); 16] = [
    ("_recipient_limit", "default_recipient_limit"),
    ("_extra_recipient_limit", "default_extra_recipient_limit"),
    ("_recipient_refill_limit", "default_recipient_refill_limit"),
    ("_recipient_refill_delay", "default_recipient_refill_delay"),
    ("_delivery_slot_cost", "default_delivery_slot_cost"),
    ("_delivery_slot_loan", "default_delivery_slot_loan"),
    ("_delivery_slot_discount", "default_delivery_slot_discount"),
    ("_minimum_delivery_slots", "default_minimum_delivery_slots"),
    (
        "_initial_destination_concurrency",
        "initial_destination_concurrency",
    ),
    (
        "_destination_concurrency_limit",
        "default_destination_concurrency_limit",
    ),
    (
        "_destination_recipient_limit",
        "default_destination_recipient_limit",
    ),
    (
        "_destination_concurrency_positive_feedback",
        "default_destination_concurrency_positive_feedback",
    ),
    (
        "_destination_concurrency_negative_feedback",
        "default_destination_concurrency_negative_feedback",
    ),
    (
        "_destination_concurrency_failed_cohort_limit",
        "default_destination_concurrency_failed_cohort_limit",
    ),
    ("_destination_rate_delay", "default_destination_rate_delay"),
    ("_transport_rate_delay", "default_transport_rate_delay"),
];

/// The suffix pipe and spawn services get for the command time limit.
pub const TIME_LIMIT_SUFFIX: (&str, &str) = ("_time_limit", "command_time_limit");

/// The service-derived parameters of one master.cf entry:
/// (parameter name, built-in parameter whose value is its default).
pub fn service_parameters(service: &Service) -> Vec<(String, &'static str)> {
    let suffixes: Vec<(&str, &'static str)> = match service.command.as_str() {
        "local" | "error" | "virtual" | "smtp" | "lmtp" => SERVICE_SUFFIXES.to_vec(),
        "pipe" => std::iter::once(TIME_LIMIT_SUFFIX)
            .chain(SERVICE_SUFFIXES)
            .collect(),
        "spawn" => vec![TIME_LIMIT_SUFFIX],
        _ => Vec::new(),
    };
    suffixes
        .into_iter()
        .map(|(suffix, default)| (format!("{}{suffix}", service.name), default))
        .collect()
}

impl Catalog {
    /// This catalog plus the service-derived parameters of `services`, the
    /// way `postconf -d` adds them: names that are already in the catalog
    /// keep their entry; new ones get the default `$<default parameter>`
    /// and its type.
    pub fn with_services(&self, services: &[Service]) -> Catalog {
        let mut params = self.params.to_vec();
        let mut added = HashSet::new();
        for service in services {
            for (name, default_param) in service_parameters(service) {
                if self.contains(&name) || !added.insert(name.clone()) {
                    continue;
                }
                params.push(self.derived_param(&name, default_param));
            }
        }
        params.sort_by(|a, b| a.name.cmp(b.name));
        let mut catalog = Catalog::new(params, self.source.clone());
        catalog.version = self.version;
        catalog
    }

    /// The entry `name` has in [`Catalog::with_services`]`(services)`,
    /// without building that catalog: the catalog's own entry, else the
    /// service-derived one, else `None`.
    pub fn get_with_services(&self, services: &[Service], name: &str) -> Option<Param> {
        if let Some(p) = self.get(name) {
            return Some(*p);
        }
        services.iter().find_map(|service| {
            service_parameters(service)
                .into_iter()
                .find(|(derived, _)| derived == name)
                .map(|(derived, default_param)| self.derived_param(&derived, default_param))
        })
    }

    /// A service-derived parameter: default `$<default_param>`, typed like it.
    fn derived_param(&self, name: &str, default_param: &str) -> Param {
        Param {
            name: super::host::intern(name),
            ty: self.get(default_param).map_or(ParamType::Str, |p| p.ty),
            default: super::host::intern(&format!("${default_param}")),
        }
    }

    /// The `$name` references of every non-raw default, scanned once per
    /// catalog and kept only where they can matter: a name that both this
    /// catalog and the built-in table know is known whether or not it is
    /// referenced (NameContext queries use one of the two).
    fn default_references(&self) -> &[(&'static str, Vec<String>)] {
        self.default_refs.get_or_init(|| {
            let builtin = Catalog::builtin();
            std::sync::Arc::new(
                self.params
                    .iter()
                    .filter(|p| p.ty != ParamType::Raw && p.default.contains('$'))
                    .map(|p| {
                        let mut refs = macros::references(p.default.as_bytes());
                        refs.retain(|r| !(self.contains(r) && builtin.contains(r)));
                        (p.name, refs)
                    })
                    .filter(|(_, refs)| !refs.is_empty())
                    .collect(),
            )
        })
    }
}

/// The names valid beyond the catalog for one configuration: derived from
/// master.cf services, user-defined and referenced, restriction classes,
/// and names declared explicitly.
#[derive(Debug, Clone, Default)]
pub struct NameContext {
    service: HashSet<String>,
    referenced: HashSet<String>,
    restriction_classes: HashSet<String>,
    extra: HashSet<String>,
}

impl NameContext {
    /// Build the context. `main_values` are the main.cf entries as
    /// `(name, raw value)` in file order (pass the values main.cf *will*
    /// have, to validate a change; with duplicates the last counts, as in
    /// Postfix). `extra` are names declared valid by the user.
    pub fn new(
        catalog: &Catalog,
        services: &[Service],
        main_values: &[(&str, &str)],
        extra: &[String],
    ) -> Self {
        let main: HashMap<&str, &str> = main_values.iter().copied().collect();
        let scanned = |name: &str| {
            !read_only(name) && catalog.get(name).is_none_or(|p| p.ty != ParamType::Raw)
        };

        let mut service = HashSet::new();
        for s in services {
            service.extend(service_parameters(s).into_iter().map(|(n, _)| n));
        }

        let mut referenced = HashSet::new();
        let mut add_refs = |value: &str| referenced.extend(macros::references(value.as_bytes()));
        for (name, value) in &main {
            if scanned(name) {
                add_refs(value);
            }
        }
        for s in services {
            let local: HashMap<&str, &str> = s
                .overrides
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            for (name, value) in local {
                if scanned(name) {
                    add_refs(value);
                }
            }
        }
        for (name, refs) in catalog.default_references() {
            if !main.contains_key(name) {
                referenced.extend(refs.iter().cloned());
            }
        }

        // smtpd_restriction_classes is evaluated ($name expanded) before it
        // is split (postconf_user.c pcf_lookup_eval).
        let lookup = |name: &str| {
            main.get(name)
                .map(|v| v.as_bytes().to_vec())
                .or_else(|| catalog.get(name).map(|p| p.default.as_bytes().to_vec()))
        };
        let mut restriction_classes = HashSet::new();
        let class_values = main
            .get("smtpd_restriction_classes")
            .copied()
            .into_iter()
            .chain(
                services
                    .iter()
                    .filter_map(|s| s.override_value("smtpd_restriction_classes")),
            );
        for value in class_values {
            let expanded = macros::expand(value.as_bytes(), lookup)
                .map(|e| e.value)
                .unwrap_or_else(|_| value.as_bytes().to_vec());
            for class in expanded
                .split(|&b| crate::postfix::list::is_comma_space(b))
                .filter(|c| !c.is_empty())
            {
                restriction_classes.insert(String::from_utf8_lossy(class).into_owned());
            }
        }

        NameContext {
            service,
            referenced,
            restriction_classes,
            extra: extra.iter().cloned().collect(),
        }
    }

    /// Would Postfix use a `name = value` in main.cf? Built-in (in
    /// `catalog`), service-derived, user-defined and referenced, a
    /// restriction class, or declared in `extra`.
    pub fn is_known(&self, catalog: &Catalog, name: &str) -> bool {
        catalog.contains(name)
            || super::is_legacy(name)
            || self.service.contains(name)
            || self.referenced.contains(name)
            || self.restriction_classes.contains(name)
            || self.extra.contains(name)
    }

    /// True when a master.cf service creates `name` (e.g.
    /// `relay_destination_concurrency_limit` for a `relay ... smtp` entry).
    /// Such names always have a default (`$default_...`), so a `$name`
    /// reference to one is never "undefined".
    pub fn is_service_derived(&self, name: &str) -> bool {
        self.service.contains(name)
    }

    /// Why a name is known, for messages; `None` when it is not.
    pub fn why_known(&self, catalog: &Catalog, name: &str) -> Option<NameKind> {
        if catalog.contains(name) {
            Some(NameKind::BuiltIn)
        } else if super::is_legacy(name) {
            Some(NameKind::Legacy)
        } else if self.service.contains(name) {
            Some(NameKind::Service)
        } else if self.restriction_classes.contains(name) {
            Some(NameKind::RestrictionClass)
        } else if self.referenced.contains(name) {
            Some(NameKind::Referenced)
        } else if self.extra.contains(name) {
            Some(NameKind::Declared)
        } else {
            None
        }
    }

    /// The valid names that are not in `catalog` (service-derived,
    /// referenced, restriction classes, extra), sorted; pass them to
    /// [`Catalog::suggest`] as `extra`. Computed on demand: only an error
    /// message needs them.
    pub fn known_names(&self, catalog: &Catalog) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .service
            .iter()
            .chain(&self.referenced)
            .chain(&self.restriction_classes)
            .chain(&self.extra)
            .map(String::as_str)
            .filter(|n| !catalog.contains(n))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// The category that makes a name valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    BuiltIn,
    /// An old name Postfix still accepts ([`super::LEGACY_PARAMS`]).
    Legacy,
    Service,
    RestrictionClass,
    Referenced,
    Declared,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postfix::mastercf::MasterCf;

    fn services(src: &str) -> Vec<Service> {
        MasterCf::parse(src.as_bytes())
            .map(|m| m.services)
            .unwrap_or_default()
    }

    #[test]
    fn service_suffixes_per_command() {
        let s = services(
            "relay unix - - y - - smtp\nmaildrop unix - n n - - pipe flags=R argv=/x\nspw unix - n n - - spawn\nsmtpd inet n - y - - smtpd\n",
        );
        assert_eq!(service_parameters(&s[0]).len(), 16);
        assert_eq!(service_parameters(&s[1]).len(), 17);
        assert_eq!(
            service_parameters(&s[2]),
            [("spw_time_limit".to_string(), "command_time_limit")]
        );
        assert!(service_parameters(&s[3]).is_empty());
        for (_, default) in SERVICE_SUFFIXES.iter().chain([&TIME_LIMIT_SUFFIX]) {
            assert!(Catalog::builtin().contains(default), "{default}");
        }
    }

    // SPEC case 11 (postconf -n with Debian's master.cf).
    #[test]
    fn case_11_unknown_vs_user_defined() {
        let catalog = Catalog::builtin();
        let svc =
            services("relay unix - - y - - smtp\n        -o syslog_name=postfix/$service_name\n");
        let main = [
            ("my_helo_checks", "reject_invalid_helo_hostname"),
            ("smtpd_helo_restrictions", "$my_helo_checks"),
            ("smtpd_restriction_classes", "strict"),
            ("strict", "reject"),
            ("not_a_param", "1"),
            ("relay_destination_concurrency_limit", "5"),
            ("nosuchtransport_destination_concurrency_limit", "5"),
            ("smtp_tls_policy_maps", "$undefined_thing"),
            ("process_id", "5"),
        ];
        let ctx = NameContext::new(catalog, &svc, &main, &[]);
        for known in [
            "my_helo_checks",
            "smtpd_helo_restrictions",
            "smtpd_restriction_classes",
            "strict",
            "relay_destination_concurrency_limit",
            "smtp_tls_policy_maps",
        ] {
            assert!(ctx.is_known(catalog, known), "{known}");
        }
        assert!(!ctx.is_known(catalog, "not_a_param"));
        assert!(!ctx.is_known(catalog, "nosuchtransport_destination_concurrency_limit"));
        assert_eq!(
            ctx.why_known(catalog, "strict"),
            Some(NameKind::RestrictionClass)
        );
        assert_eq!(
            ctx.why_known(catalog, "my_helo_checks"),
            Some(NameKind::Referenced)
        );
        assert_eq!(
            ctx.why_known(catalog, "relay_destination_concurrency_limit"),
            Some(NameKind::Service)
        );
        assert_eq!(
            catalog.suggest(
                "relay_destination_concurency_limit",
                &ctx.known_names(catalog)
            ),
            Some("relay_destination_concurrency_limit")
        );
    }

    #[test]
    fn references_from_master_overrides_and_defaults() {
        let catalog = Catalog::builtin();
        let svc = services("submission inet n - y - - smtpd\n  -o smtpd_client_restrictions=$mua_client_restrictions\n");
        let ctx = NameContext::new(
            catalog,
            &svc,
            &[(
                "mua_client_restrictions",
                "permit_sasl_authenticated, reject",
            )],
            &[],
        );
        assert!(ctx.is_known(catalog, "mua_client_restrictions"));
        // postscreen_denylist_action's default is
        // ${postscreen_blacklist_action?{$postscreen_blacklist_action}:{ignore}}
        let ctx = NameContext::new(
            catalog,
            &[],
            &[("postscreen_blacklist_action", "drop")],
            &[],
        );
        assert!(ctx.is_known(catalog, "postscreen_blacklist_action"));
        // ... and also when main.cf sets postscreen_denylist_action itself:
        // it is one of Postfix's legacy parameters, which postconf 3.7.11
        // always accepts (checked against the real postconf).
        let ctx = NameContext::new(
            catalog,
            &[],
            &[
                ("postscreen_blacklist_action", "drop"),
                ("postscreen_denylist_action", "enforce"),
            ],
            &[],
        );
        assert_eq!(
            ctx.why_known(catalog, "postscreen_blacklist_action"),
            Some(NameKind::Legacy)
        );
    }

    #[test]
    fn raw_and_read_only_values_are_not_scanned() {
        let catalog = Catalog::builtin();
        let ctx = NameContext::new(
            catalog,
            &[],
            &[
                ("mailbox_command", "$my_cmd"),
                ("process_name", "$my_name"),
                ("my_cmd", "x"),
                ("my_name", "y"),
            ],
            &[],
        );
        assert!(!ctx.is_known(catalog, "my_cmd"));
        assert!(!ctx.is_known(catalog, "my_name"));
    }

    #[test]
    fn restriction_classes_are_expanded_and_split() {
        let catalog = Catalog::builtin();
        let ctx = NameContext::new(
            catalog,
            &[],
            &[
                ("smtpd_restriction_classes", "$my_classes, third"),
                ("my_classes", "first second"),
            ],
            &[],
        );
        for n in ["first", "second", "third", "my_classes"] {
            assert!(ctx.is_known(catalog, n), "{n}");
        }
        let svc = services("s inet n - y - - smtpd -o smtpd_restriction_classes=local_only\n");
        let ctx = NameContext::new(catalog, &svc, &[], &[]);
        assert!(ctx.is_known(catalog, "local_only"));
    }

    #[test]
    fn duplicates_last_wins() {
        let catalog = Catalog::builtin();
        let ctx = NameContext::new(
            catalog,
            &[],
            &[
                ("smtpd_helo_restrictions", "$gone"),
                ("smtpd_helo_restrictions", "permit"),
                ("gone", "x"),
            ],
            &[],
        );
        assert!(!ctx.is_known(catalog, "gone"));
    }

    #[test]
    fn extra_names() {
        let catalog = Catalog::builtin();
        let ctx = NameContext::new(catalog, &[], &[], &["ldapsource_server_host".to_string()]);
        assert!(ctx.is_known(catalog, "ldapsource_server_host"));
        assert_eq!(
            ctx.why_known(catalog, "ldapsource_server_host"),
            Some(NameKind::Declared)
        );
        assert!(ctx.known_names(catalog).contains(&"ldapsource_server_host"));
        // Legacy names referenced by built-in defaults are valid too.
        assert!(ctx.known_names(catalog).contains(&"virtual_maps"));
        assert!(ctx.known_names(catalog).windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn catalog_with_services() {
        let svc = services("relay unix - - y - - smtp\nlocal unix - n n - - local\n");
        let c = Catalog::builtin().with_services(&svc);
        let p = c.get("relay_destination_rate_delay").expect("added");
        assert_eq!(
            (p.ty, p.default),
            (ParamType::Time, "$default_destination_rate_delay")
        );
        // built-in service names keep their built-in entry
        assert_eq!(
            c.get("local_destination_concurrency_limit")
                .map(|p| p.default),
            Catalog::builtin()
                .get("local_destination_concurrency_limit")
                .map(|p| p.default)
        );
        assert_eq!(c.len(), 831 + 16 + count_new_local());
    }

    fn count_new_local() -> usize {
        SERVICE_SUFFIXES
            .iter()
            .filter(|(s, _)| !Catalog::builtin().contains(&format!("local{s}")))
            .count()
    }

    #[test]
    fn legacy_names_are_sorted_known_and_not_built_in() {
        let names = super::super::LEGACY_PARAMS;
        assert!(names.windows(2).all(|w| w[0] < w[1]));
        let catalog = Catalog::builtin();
        let ctx = NameContext::new(catalog, &[], &[], &[]);
        for n in names {
            assert!(!catalog.contains(n), "{n} is listed by postconf -d");
            assert_eq!(ctx.why_known(catalog, n), Some(NameKind::Legacy));
        }
    }
}
