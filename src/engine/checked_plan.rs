//! Validate and plan in one go, reading and parsing main.cf once: the path
//! of `postform plan`/`apply`, the Ansible module and GitOps pull mode.
//!
//! On a large main.cf the two run side by side on the same parsed
//! document (a 100,000-line file is 7 MB; parsing it twice was most of
//! the time). Validation errors win over planning errors: a spec with bad
//! values is reported as such even when main.cf has problems too.

use crate::catalog::Catalog;
use crate::engine::plan::{plan_bytes, plan_document, read_main_cf, Plan, PlanError};
use crate::engine::spec::Spec;
use crate::engine::validate::{validate_with_live, ValidationErrors};
use crate::postfix::maincf::MainCf;
use std::path::Path;

/// Above this size main.cf is planned and validated on two threads.
const PARALLEL_ABOVE_BYTES: usize = 1 << 20;

/// Validating or planning failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CheckedPlanError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// Validate `spec` for `config_dir` (when `validate`) and plan it against
/// the live main.cf. Returns the plan and every warning: validation's
/// first, then the plan's.
pub fn validate_and_plan(
    spec: &Spec,
    config_dir: &Path,
    catalog: &Catalog,
    validate: bool,
) -> Result<(Plan, Vec<String>), CheckedPlanError> {
    // What planning needs (the bytes, or why there are none) and what
    // validation reads (the parsed file).
    let (source, doc) = match read_main_cf(config_dir) {
        Err(e) => (Err(e), None),
        Ok((path, bytes)) => match MainCf::parse(&bytes) {
            Ok(doc) => (Ok((path, bytes)), Some(doc)),
            Err(error) => (Err(PlanError::Parse { path, error }), None),
        },
    };
    let large = source
        .as_ref()
        .is_ok_and(|(_, b)| b.len() > PARALLEL_ABOVE_BYTES);
    let run_validate = || validate_with_live(spec, config_dir, catalog, doc.as_ref());
    let run_plan = || -> Result<Plan, PlanError> {
        let (path, before) = source?;
        match &doc {
            Some(doc) => plan_document(spec, config_dir, &path, before, doc.clone(), catalog),
            None => plan_bytes(spec, config_dir, &path, before, catalog),
        }
    };
    let (validated, plan) = if validate && large {
        std::thread::scope(|s| {
            let background = s.spawn(run_validate);
            let plan = run_plan();
            let validated = background
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (Some(validated), Some(plan))
        })
    } else {
        let validated = validate.then(run_validate);
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
    let plan = plan.expect("planned when validation passed")?;
    warnings.extend(plan.warnings.iter().cloned());
    Ok((plan, warnings))
}
