//! From spec to converged configuration: validate and plan against the
//! live configuration read once ([`validate_and_plan`]), then, unless in
//! check mode, apply ([`converge`]). The CLI's `plan`/`apply`, the Ansible
//! module and GitOps pull mode all use these.

use crate::catalog::Catalog;
use crate::engine::apply::{apply, ApplyError, ApplyOptions};
use crate::engine::live::LiveConfig;
use crate::engine::plan::{plan, Plan, PlanError};
use crate::engine::policy::repo::{HostState, RepoPolicies};
use crate::engine::policy::{self, view::View, Finding};
use crate::engine::service::{ServiceAction, ServiceMode};
use crate::engine::spec::Spec;
use crate::engine::validate::{validate_with_policies, ValidationErrors};
use std::path::PathBuf;

/// Above this size main.cf is planned and validated on two threads.
const PARALLEL_ABOVE_BYTES: usize = 1 << 20;

/// Validating or planning failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CheckedPlanError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{}", refusal_text(.0))]
    Refused(Vec<Finding>),
}

/// Every blocking finding with its hint, then how to allow a policy (any
/// refusal but smtpd's start-up check, which cannot be allowed).
pub fn refusal_text(findings: &[Finding]) -> String {
    let mut out = Vec::new();
    for f in findings.iter().filter(|f| f.blocks()) {
        let mut s = format!("refused by {f}");
        if let Some(h) = &f.hint {
            s.push_str(&format!("\n  hint: {h}"));
        }
        if f.id != "smtpd_startup" {
            s.push_str(&format!(
                "\n  hint: if this host must run it anyway, list the policy in the spec: allow: [{}]",
                f.id
            ));
        }
        out.push(s);
    }
    format!("{}\n  nothing was written", out.join("\n"))
}

/// The policy findings of `plan` (with smtpd's start-up check): an error
/// when any blocks.
pub fn check_policies(
    spec: &Spec,
    live: &LiveConfig,
    plan: &Plan,
    catalog: &Catalog,
) -> Result<Vec<Finding>, CheckedPlanError> {
    let before = live
        .main_cf()
        .ok()
        .map(|(_, doc)| View::new(doc, live.master.doc(), catalog));
    let after = View::new(
        &plan.candidate.main,
        plan.candidate.master.as_deref(),
        catalog,
    );
    let mut findings = policy::startup_failures(before.as_ref(), &after);
    findings.extend(policy::evaluate(before.as_ref(), &after, &spec.allow));
    let named: Vec<&str> = spec
        .main
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k.as_str())
        .collect();
    let options: Vec<(String, String)> = spec
        .master
        .iter()
        .filter_map(|(key, s)| s.as_ref().map(|s| (key, s)))
        .flat_map(|(key, s)| {
            s.options
                .iter()
                .filter(|(_, v)| v.is_some())
                .map(move |(n, _)| (key.to_string(), n.clone()))
        })
        .collect();
    findings.extend(policy::warnings(&named, &options, &after));
    if findings.iter().any(Finding::blocks) {
        return Err(CheckedPlanError::Refused(findings));
    }
    Ok(findings)
}

/// Validate `spec` (when `validate`) and plan it against `live`. Returns
/// the plan and every warning: validation's first, then the plan's.
/// Validation errors win over planning errors: a spec with bad values is
/// reported as such even when main.cf has problems too. On a large
/// main.cf the two run side by side on the same parsed document.
pub fn validate_and_plan(
    spec: &Spec,
    live: &LiveConfig,
    catalog: &Catalog,
    validate_spec: bool,
) -> Result<(Plan, Vec<String>), CheckedPlanError> {
    validate_and_plan_in_repo(spec, live, catalog, validate_spec, None)
}

/// A host of a GitOps repository: its name and the repository's policies
/// (policies.yaml).
#[derive(Debug, Clone, Copy)]
pub struct RepoHost<'a> {
    pub host: &'a str,
    pub policies: &'a RepoPolicies,
}

/// [`validate_and_plan`] of a repository's host (pull mode): `allow:` may
/// name the repository's policies, and a violation of one refuses the
/// plan like a built-in policy (when validating).
pub fn validate_and_plan_in_repo(
    spec: &Spec,
    live: &LiveConfig,
    catalog: &Catalog,
    validate_spec: bool,
    repo: Option<RepoHost<'_>>,
) -> Result<(Plan, Vec<String>), CheckedPlanError> {
    let ids = repo.map(|r| r.policies.ids()).unwrap_or_default();
    let large = live
        .main
        .bytes()
        .is_some_and(|b| b.len() > PARALLEL_ABOVE_BYTES);
    let run_validate = || {
        let mut warnings = Vec::new();
        validate_with_policies(spec, live, catalog, true, &mut warnings, &ids).map(|()| warnings)
    };
    let run_plan = || plan(spec, live, catalog);
    let (validated, planned) = if validate_spec && large {
        std::thread::scope(|s| {
            let background = s.spawn(run_validate);
            let planned = run_plan();
            let validated = background
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (Some(validated), Some(planned))
        })
    } else {
        let validated = validate_spec.then(run_validate);
        if matches!(validated, Some(Err(_))) {
            (validated, None)
        } else {
            (validated, Some(run_plan()))
        }
    };
    let mut warnings = match validated {
        Some(v) => v?,
        None => Vec::new(),
    };
    let mut plan = planned.expect("planned when validation passed")?;
    warnings.extend(plan.warnings.iter().cloned());
    if validate_spec {
        let more = crate::engine::validate::check_tables_on_plan(spec, live, &plan, catalog)
            .map_err(|e| CheckedPlanError::Invalid(crate::engine::spec::SpecErrors(e)))?;
        warnings.extend(more);
        let mut findings = match check_policies(spec, live, &plan, catalog) {
            Ok(f) | Err(CheckedPlanError::Refused(f)) => f,
            Err(e) => return Err(e),
        };
        if let Some(r) = repo {
            let shown = live.main.path.display().to_string();
            let snapshot = live.main_cf().ok().map(|(_, doc)| (shown.as_str(), doc));
            let state = HostState {
                host: r.host,
                spec,
                after: &plan.candidate.main,
                snapshot,
                catalog,
            };
            findings.extend(r.policies.evaluate(&state).into_iter().map(|v| v.finding));
        }
        if findings.iter().any(Finding::blocks) {
            return Err(CheckedPlanError::Refused(findings));
        }
        plan.findings = findings;
        warnings.extend(plan.findings.iter().map(ToString::to_string));
    }
    Ok((plan, warnings))
}

/// What to converge, and how.
#[derive(Debug, Clone)]
pub struct ConvergeRequest {
    pub spec: Spec,
    pub config_dir: PathBuf,
    /// Plan only; never write (Ansible check mode).
    pub check_mode: bool,
    /// Validate the spec against the catalog and check the candidate with
    /// the real Postfix.
    pub validate: bool,
    pub service: ServiceMode,
    pub backup: bool,
}

/// What converging did.
#[derive(Debug, Clone)]
pub struct ConvergeOutcome {
    pub plan: Plan,
    pub backup_files: Vec<PathBuf>,
    /// The service action actually run.
    pub service_ran: ServiceAction,
    pub service_message: String,
    pub warnings: Vec<String>,
}

/// Converging failed; nothing was written (or everything was restored, as
/// the message says).
#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    /// The spec is invalid, or the configuration could not be planned.
    #[error(transparent)]
    Plan(#[from] CheckedPlanError),
    #[error(transparent)]
    Apply(Box<ApplyError>),
}

impl From<ApplyError> for ConvergeError {
    fn from(e: ApplyError) -> Self {
        ConvergeError::Apply(Box::new(e))
    }
}

/// Plan and apply `req`.
pub fn converge(req: ConvergeRequest) -> Result<ConvergeOutcome, ConvergeError> {
    // The host's postconf, else the spec's postfix_version.
    let (target, mut warnings) = crate::engine::version::choose_postfix(
        None,
        Some(&req.spec),
        crate::engine::version::HostPostfix::Local,
    );
    let catalog = target.catalog;
    if let Some(r) = crate::engine::apply::recover_interrupted(&req.config_dir)? {
        warnings.push(r.to_string());
    }
    let live = crate::engine::tables::read_live(&req.config_dir, &req.spec, &catalog);
    let (plan, more) = validate_and_plan(&req.spec, &live, &catalog, req.validate)?;
    warnings.extend(more);
    if req.check_mode {
        return Ok(ConvergeOutcome {
            backup_files: Vec::new(),
            service_ran: ServiceAction::None,
            service_message: "check mode: nothing written, no service action".into(),
            warnings,
            plan,
        });
    }
    let report = apply(
        &plan,
        &ApplyOptions::new(req.service, req.backup, req.validate),
    )?;
    warnings.extend(report.warnings);
    Ok(ConvergeOutcome {
        plan,
        backup_files: report.backup_files,
        service_ran: report.service.ran,
        service_message: report.service.message,
        warnings,
    })
}
