//! Rule scripts on arbitrary text: `suiji::rules::load` (compile, evaluate in the sandbox, build
//! the strata and run the plan checks), the function behind `suiji rules check` and the daemon's
//! reload, against a fixed registry snapshot (the demo data set, 400 entities). It must return a
//! checked plan or findings, never panic, hang or allocate without bound.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use suiji::rules::{self, Context};

fn context() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| Context::demo(400).expect("demo context"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match rules::load("fuzz.rhai", source, context()) {
        Ok(checked) => {
            assert!(!checked.plan.tasks.is_empty());
            assert!(
                checked
                    .findings
                    .iter()
                    .all(|f| f.severity == rules::Severity::Warning)
            );
        }
        Err(findings) => assert!(!findings.is_empty()),
    }
});
