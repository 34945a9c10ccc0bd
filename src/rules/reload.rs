//! The active plan and its safe replacement: a new script is installed only when it evaluates
//! and passes every check; otherwise the error is logged and the last good plan stays active.

use super::{Checked, Context, Finding, Severity};
use crate::plan::Plan;

#[derive(Debug, Default)]
pub struct ActivePlan {
    current: Option<Checked>,
}

#[derive(Debug)]
pub enum Reload {
    /// The script was installed (warnings, if any, included).
    Installed(Vec<Finding>),
    /// Same script as the active one (by SHA-256): nothing to do.
    Unchanged,
    /// The script was refused; the previous plan, if any, is still active.
    Rejected(Vec<Finding>),
}

impl ActivePlan {
    pub fn plan(&self) -> Option<&Plan> {
        self.current.as_ref().map(|c| &c.plan)
    }

    pub fn checked(&self) -> Option<&Checked> {
        self.current.as_ref()
    }

    /// Evaluates `source` (read from `file`) and installs it if it has no errors and its id is
    /// not one of `taken` (the other plans a daemon runs: one id, one plan).
    pub fn reload(&mut self, file: &str, source: &str, ctx: &Context, taken: &[&str]) -> Reload {
        let sha = crate::audit::sha256_hex(source.as_bytes());
        if self
            .plan()
            .is_some_and(|p| p.source.sha256 == sha && p.source.file == file)
        {
            return Reload::Unchanged;
        }
        let loaded = super::load(file, source, ctx).and_then(|checked| {
            if taken.contains(&checked.plan.id.as_str()) {
                return Err(vec![Finding {
                    severity: Severity::Error,
                    file: file.to_string(),
                    line: 0,
                    column: 0,
                    message: format!(
                        "plan id `{}` is already the id of another plan this daemon runs: give \
                         each plan of rules.plans its own id",
                        checked.plan.id
                    ),
                }]);
            }
            Ok(checked)
        });
        match loaded {
            Ok(checked) => {
                tracing::info!(
                    file,
                    plan = %checked.plan.id,
                    tasks = checked.plan.tasks.len(),
                    total = ?checked.plan.fixed_total(),
                    "rules installed"
                );
                let warnings = checked.findings.clone();
                for w in &warnings {
                    tracing::warn!("{w}");
                }
                self.current = Some(checked);
                Reload::Installed(warnings)
            }
            Err(findings) => {
                for f in findings.iter().filter(|f| f.severity == Severity::Error) {
                    tracing::error!("{f}");
                }
                match self.plan() {
                    Some(p) => tracing::error!(
                        file,
                        active = %p.id,
                        "rules rejected: the last good plan stays active"
                    ),
                    None => tracing::error!(file, "rules rejected: no plan is active"),
                }
                Reload::Rejected(findings)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context::demo(3000).expect("demo context")
    }

    const PLAN_2024: &str = include_str!("../../rules/henan-2024.rhai");
    const PLAN_2025: &str = include_str!("../../rules/henan-2025.rhai");

    #[test]
    fn a_bad_script_never_replaces_the_last_good_one() {
        let ctx = context();
        let mut active = ActivePlan::default();
        assert!(matches!(
            active.reload("plan.rhai", "plan(", &ctx, &[]),
            Reload::Rejected(_)
        ));
        assert!(active.plan().is_none(), "nothing was ever good");

        assert!(matches!(
            active.reload("plan.rhai", PLAN_2024, &ctx, &[]),
            Reload::Installed(_)
        ));
        assert!(matches!(
            active.reload("plan.rhai", PLAN_2024, &ctx, &[]),
            Reload::Unchanged
        ));

        let broken = PLAN_2024.replace("quota: 16,", "quota: 0,");
        match active.reload("plan.rhai", &broken, &ctx, &[]) {
            Reload::Rejected(f) => assert!(f[0].message.contains("quota must be at least 1")),
            other => panic!("broken script accepted: {other:?}"),
        }
        let infeasible = PLAN_2024.replace("quota: 16,", "quota: 1600,");
        assert!(matches!(
            active.reload("plan.rhai", &infeasible, &ctx, &[]),
            Reload::Rejected(_)
        ));
        assert_eq!(active.plan().map(|p| p.id.as_str()), Some("henan-2024"));

        // Another plan of the same daemon already has that id: refused, whatever it checks.
        match active.reload("plan.rhai", PLAN_2025, &ctx, &["henan-2025"]) {
            Reload::Rejected(f) => assert!(f[0].message.contains("already the id"), "{f:?}"),
            other => panic!("a second plan of the same id accepted: {other:?}"),
        }
        assert_eq!(active.plan().map(|p| p.year), Some(2024));
        assert!(matches!(
            active.reload("plan.rhai", PLAN_2025, &ctx, &[]),
            Reload::Installed(_)
        ));
        assert_eq!(active.plan().map(|p| p.year), Some(2025));
    }
}
