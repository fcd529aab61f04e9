//! One call from spec to converged main.cf: plan, then (unless in check
//! mode) apply. The CLI `apply`, the Ansible module and GitOps pull mode
//! all go through here.

use crate::catalog::Catalog;
use crate::engine::apply::{apply, ApplyError, ApplyOptions};
use crate::engine::checked_plan::{validate_and_plan, CheckedPlanError};
use crate::engine::plan::Plan;
use crate::engine::service::{ServiceAction, ServiceMode};
use crate::engine::spec::Spec;
use std::path::PathBuf;

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
    pub written: bool,
    pub backup_file: Option<PathBuf>,
    /// The service action actually run.
    pub service_ran: ServiceAction,
    pub service_message: String,
    pub warnings: Vec<String>,
}

/// Converging failed; main.cf is unchanged (or was restored, as the
/// message says).
#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    /// The spec is invalid, or main.cf could not be planned.
    #[error(transparent)]
    Plan(#[from] CheckedPlanError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// Plan and apply `req`.
pub fn converge(req: ConvergeRequest) -> Result<ConvergeOutcome, ConvergeError> {
    let catalog = Catalog::host();
    let (plan, mut warnings) =
        validate_and_plan(&req.spec, &req.config_dir, &catalog, req.validate)?;
    if req.check_mode {
        return Ok(ConvergeOutcome {
            written: false,
            backup_file: None,
            service_ran: ServiceAction::None,
            service_message: "check mode: nothing written, no service action".into(),
            warnings,
            plan,
        });
    }
    let report = apply(
        &plan,
        &ApplyOptions {
            service: req.service,
            backup: req.backup,
            validate: req.validate,
        },
    )?;
    warnings.extend(report.warnings);
    Ok(ConvergeOutcome {
        plan,
        written: report.written,
        backup_file: report.backup_file,
        service_ran: report.service.ran,
        service_message: report.service.message,
        warnings,
    })
}
