//! The letters' templates: files an admin edits (`notify.templates`, by default
//! `templates/mail/`), one subject, plain-text and HTML template per kind of notice. Rendering
//! escapes everything that goes into HTML (minijinja's auto-escaping, by file extension) and
//! treats an unknown variable as an error. A template that does not compile, or does not render
//! against a sample of its variables, is refused at load with its file and line, and the
//! previous version (the shipped one at start) stays in use.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use super::Kind;

const PARTS: [&str; 3] = ["subject.txt", "txt", "html"];

macro_rules! shipped {
    ($($kind:literal),*) => {
        &[$(
            (concat!($kind, ".subject.txt"), include_str!(concat!("../../templates/mail/", $kind, ".subject.txt"))),
            (concat!($kind, ".txt"), include_str!(concat!("../../templates/mail/", $kind, ".txt"))),
            (concat!($kind, ".html"), include_str!(concat!("../../templates/mail/", $kind, ".html"))),
        )*]
    };
}

/// The templates as shipped, compiled in: the last good version before any file is read.
pub const SHIPPED: &[(&str, &str)] = shipped!(
    "advance_notice",
    "assignment",
    "reminder",
    "escalation",
    "monthly_report",
    "admin",
    "witness"
);

/// A template refused at load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// One rendered letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone)]
pub struct Templates {
    sources: BTreeMap<String, String>,
}

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env
}

/// Compiles and test-renders one template against its kind's sample variables.
fn check(name: &str, source: &str) -> Result<(), (Option<usize>, String)> {
    let mut env = environment();
    env.add_template_owned(name.to_string(), source.to_string())
        .map_err(|e| (e.line(), e.to_string()))?;
    let kind = name
        .split('.')
        .next()
        .and_then(Kind::parse)
        .ok_or((None, format!("`{name}` names no kind of notice")))?;
    let t = env
        .get_template(name)
        .map_err(|e| (e.line(), e.to_string()))?;
    t.render(sample(kind))
        .map(|_| ())
        .map_err(|e| (e.line(), e.to_string()))
}

impl Templates {
    pub fn shipped() -> Templates {
        Templates {
            sources: SHIPPED
                .iter()
                .map(|(n, s)| (n.to_string(), s.to_string()))
                .collect(),
        }
    }

    /// Every template file in `dir` that compiles and renders replaces the one in `self`; the
    /// others are reported and the previous version stays. A missing folder is not an error
    /// (the shipped templates are used).
    pub fn load(&self, dir: &Path) -> (Templates, Vec<Problem>) {
        let mut next = self.clone();
        let mut problems = Vec::new();
        for kind in Kind::ALL {
            for part in PARTS {
                let name = format!("{}.{part}", kind.name());
                let path = dir.join(&name);
                let Ok(source) = std::fs::read_to_string(&path) else {
                    continue;
                };
                match check(&name, &source) {
                    Ok(()) => {
                        next.sources.insert(name, source);
                    }
                    Err((line, message)) => problems.push(Problem {
                        file: path.display().to_string(),
                        line,
                        message,
                    }),
                }
            }
        }
        (next, problems)
    }

    /// Renders a kind of notice with `vars`; the subject is one line.
    pub fn render(&self, kind: Kind, vars: &Value) -> Result<Rendered, String> {
        let mut env = environment();
        let mut out = Vec::new();
        for part in PARTS {
            let name = format!("{}.{part}", kind.name());
            let source = self
                .sources
                .get(&name)
                .ok_or_else(|| format!("no template {name}"))?;
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|e| format!("{name}: {e}"))?;
            let text = env
                .get_template(&name)
                .and_then(|t| t.render(vars))
                .map_err(|e| format!("{name}: {e}"))?;
            out.push(text);
        }
        let html = out.pop().unwrap_or_default();
        let text = out.pop().unwrap_or_default();
        let subject = out.pop().unwrap_or_default();
        // One header line: no line breaks or control characters can reach the Subject.
        let subject = subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }
}

/// The variables each kind of notice is rendered with, by example: what a template may use.
pub fn sample(kind: Kind) -> Value {
    let common = json!({
        "department": "河南省应急管理厅",
        "date": "2024年6月10日",
        "contact": "政策法规处 0371-00000000",
        "plan": { "id": "henan-2024", "year": 2024, "title": "2024年度抽查计划" },
    });
    let specific = match kind {
        Kind::AdvanceNotice => json!({
            "bureau": { "unit": "4101", "name": "郑州市应急管理局" },
            "late": false,
            "replaces": [{
                "task": "henan-2024-hazchem-001", "entity": "某某化工有限公司",
                "was": "2024年6月11日", "now": "2024年6月13日",
            }],
            "advance_notice": 3,
            "items": [{
                "task": "henan-2024-hazchem-001", "entity": "某某化工有限公司",
                "uscc": "91410100MA0000000X", "city": "郑州市", "county": "中牟县",
                "date": "2024年6月13日", "day": "2024-06-13", "division": "危险化学品监督管理处",
                "leader": "张三", "team_size": 2,
            }],
        }),
        Kind::Assignment => json!({
            "division": { "code": "hazchem", "label": "危险化学品监督管理处" },
            "draw": { "seq": 1, "digest": "0".repeat(64), "at": "2024年5月16日",
                      "published": "public/2024/henan-2024/" },
            "deadlines": { "results": 5, "penalties": 7 },
            "items": [{
                "task": "henan-2024-hazchem-001", "entity": "某某化工有限公司",
                "uscc": "91410100MA0000000X", "city": "郑州市", "cadre": "张三",
                "team": "张三、李四", "planned": null, "schedule_by": "2024-06-14",
                "complete_by": "2024-12-31",
            }],
        }),
        Kind::Reminder => json!({
            "recipient": "危险化学品监督管理处",
            "items": [{ "task": "henan-2024-hazchem-001", "entity": "某某化工有限公司",
                        "what": "检查结果公示", "due": "2024-06-20", "days": 2 }],
        }),
        Kind::Escalation => json!({
            "division": { "code": "hazchem", "label": "危险化学品监督管理处" },
            "tracker": "政策法规处",
            "items": [{ "task": "henan-2024-hazchem-001", "entity": "某某化工有限公司",
                        "what": "检查结果公示", "due": "2024-06-20", "days": 1,
                        "cadre": "张三" }],
        }),
        Kind::MonthlyReport => json!({
            "recipient": "政策法规处",
            "month": "2024年5月",
            "as_of": "2024-05-31",
            "rows": [{ "division": "危险化学品监督管理处", "drawn": 5, "scheduled": 1,
                       "completed": 0, "published_on_time": 0, "published_late": 0,
                       "penalties": 0, "referrals": 0, "overdue": 0, "replaced": 0 }],
        }),
        Kind::Admin => json!({
            "title": "规则脚本未通过检查",
            "lines": ["rules/henan-2025.rhai:12:5: error: ..."],
        }),
        Kind::Witness => json!({
            "n": 2, "event": "正式抽取", "at": "2024-05-16T21:30:00.000+08:00",
            "file": "draw-1.json", "sha256": "0".repeat(64),
            "audit": { "seq": 10, "hash": "0".repeat(64) }, "head": "0".repeat(64),
            "published": "https://yjglt.henan.gov.cn/sjsgk/2024/henan-2024/",
        }),
    };
    let mut v = common;
    if let (Value::Object(a), Value::Object(b)) = (&mut v, specific) {
        a.extend(b);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_templates_render_and_escape() {
        let t = Templates::shipped();
        for kind in Kind::ALL {
            for part in PARTS {
                let name = format!("{}.{part}", kind.name());
                let source = &t.sources[&name];
                assert_eq!(check(&name, source), Ok(()), "{name}");
            }
        }
        let mut vars = sample(Kind::AdvanceNotice);
        vars["items"][0]["entity"] = json!("<script>alert(1)</script>\"引号\"");
        let r = t.render(Kind::AdvanceNotice, &vars).expect("render");
        assert!(
            r.html
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;&quot;引号&quot;")
        );
        assert!(!r.html.contains("<script>"));
        assert!(
            r.text.contains("<script>alert(1)</script>"),
            "plain text is not escaped"
        );
        assert!(!r.subject.contains('\n'));
    }

    #[test]
    fn a_broken_template_is_refused_with_its_line_and_the_last_good_stays() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("reminder.txt"),
            "line one\n{% for i in items %}\n{{ i.task }\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("admin.txt"), "{{ title }} {{ nonsense }}\n")
            .expect("write");
        std::fs::write(
            dir.path().join("escalation.subject.txt"),
            "逾期：{{ division.label }}\n",
        )
        .expect("write");
        let (t, problems) = Templates::shipped().load(dir.path());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].file.ends_with("reminder.txt")
                || problems[1].file.ends_with("reminder.txt")
        );
        let syntax = problems
            .iter()
            .find(|p| p.file.ends_with("reminder.txt"))
            .expect("p");
        assert_eq!(syntax.line, Some(3));
        assert!(
            problems
                .iter()
                .any(|p| p.file.ends_with("admin.txt") && p.message.contains("undefined"))
        );
        let r = t
            .render(Kind::Reminder, &sample(Kind::Reminder))
            .expect("shipped stays");
        assert!(r.text.contains("即将到期"));
        let e = t
            .render(Kind::Escalation, &sample(Kind::Escalation))
            .expect("edited");
        assert_eq!(e.subject, "逾期：危险化学品监督管理处");
    }
}
