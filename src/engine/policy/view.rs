//! The values Postfix will actually use: per smtpd service, its master.cf
//! `-o` overrides over main.cf over the built-in defaults (at the
//! configuration's compatibility level), with `$name` references
//! expanded. Policies judge these, never the names a spec edited.

use crate::catalog::{default_at_level, Catalog};
use crate::postfix::maincf::MainCf;
use crate::postfix::mastercf::{MasterCf, Service};

/// One configuration (main.cf and master.cf) as Postfix reads it.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub main: &'a MainCf,
    pub master: Option<&'a MasterCf>,
    pub catalog: &'a Catalog,
}

impl<'a> View<'a> {
    pub fn new(main: &'a MainCf, master: Option<&'a MasterCf>, catalog: &'a Catalog) -> Self {
        View {
            main,
            master,
            catalog,
        }
    }

    /// The raw value of `name` for `service` (its `-o`, else main.cf),
    /// when set explicitly.
    pub fn set_value(&self, name: &str, service: Option<&Service>) -> Option<String> {
        if let Some(v) = service.and_then(|s| s.override_value(name)) {
            return Some(v.to_string());
        }
        self.main.get(name).map(|e| e.value_str().into_owned())
    }

    /// The raw value of `name` for `service`: set, else the default at the
    /// compatibility level in effect.
    pub fn raw(&self, name: &str, service: Option<&Service>) -> Option<String> {
        if let Some(v) = self.set_value(name, service) {
            return Some(v);
        }
        let default = self.catalog.get(name)?.default;
        let level = self.set_value("compatibility_level", service);
        Some(default_at_level(default, level.as_deref().map(str::as_bytes)).to_string())
    }

    /// The value of `name` for `service` with every `$name` expanded as
    /// Postfix expands it; `None` when unknown or when expansion fails
    /// (Postfix itself would refuse the file).
    pub fn value(&self, name: &str, service: Option<&Service>) -> Option<String> {
        let raw = self.raw(name, service)?;
        if self
            .catalog
            .get(name)
            .is_some_and(|p| p.ty == crate::catalog::ParamType::Raw)
        {
            return Some(raw);
        }
        crate::postfix::macros::expand(raw.as_bytes(), |r| {
            self.raw(r, service).map(String::into_bytes)
        })
        .ok()
        .map(|e| String::from_utf8_lossy(&e.value).into_owned())
    }

    /// A boolean parameter for `service` (Postfix compares `yes`
    /// case-insensitively).
    pub fn flag(&self, name: &str, service: Option<&Service>) -> bool {
        self.value(name, service)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"))
    }

    /// The compatibility level in effect, as Postfix compares levels.
    pub fn compat_level(&self, service: Option<&Service>) -> i64 {
        self.value("compatibility_level", service)
            .and_then(|v| crate::postfix::number::compat_level(v.trim().as_bytes()))
            .unwrap_or(0)
    }

    /// The master.cf services, in file order (none without master.cf).
    pub fn services(&self) -> &'a [Service] {
        self.master.map(|m| m.services.as_slice()).unwrap_or(&[])
    }
}
