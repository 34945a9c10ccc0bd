//! Rule scripts: the yearly plan as a Rhai script an admin edits, compiled and evaluated in a
//! sandbox into a typed [`Plan`]. Nothing outside this module sees Rhai.
//!
//! The sandbox: a raw engine with only the language core, arithmetic, strings, arrays, maps,
//! logic and maths (no clock, no files, no modules, no `eval`), and every resource limit set
//! explicitly so debug and release builds behave alike. `print`/`debug` go to the log.
//!
//! The script's API (documented in `docs/rules.md`): `plan(#{..})`, `task(#{..})`, `pool(#{..})`
//! build the plan and check each value where it is written, so an error names the line of the
//! call; `pool_size`, `officers`, `add_working_days` and `is_working_day` give scripts the
//! registry's numbers and the calendar.

pub mod check;
pub mod diff;
pub mod next;
pub mod reload;

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicFnPackage, BasicIteratorPackage, BasicMapPackage,
    BasicMathPackage, BasicStringPackage, LanguageCorePackage, LogicPackage, MoreStringPackage,
    Package,
};
use rhai::{Dynamic, Engine, EvalAltResult, Map, NativeCallContext, ParseErrorType, Position};
use serde::Serialize;

use crate::calendar::Calendar;
use crate::plan::{
    Deadlines, Filter, Frequency, Joint, Location, PartSize, Plan, Quota, Ratio, Recusal,
    Schedules, SeedKind, SeedSource, Source, SplitPart, TaskRule, TeamRules, Window,
};
use crate::registry::{EntityStatus, OfficerStatus, RiskLevel, Snapshot};
use crate::vocab::{AgencyRole, Vocabulary};

/// Resource limits, the same in every build.
pub mod limits {
    /// Enough for any real plan (the 2024 plan needs a few thousand); a runaway loop stops fast.
    pub const OPERATIONS: u64 = 5_000_000;
    pub const STRING_SIZE: usize = 64 * 1024;
    pub const ARRAY_SIZE: usize = 10_000;
    pub const MAP_SIZE: usize = 10_000;
    pub const CALL_LEVELS: usize = 32;
    pub const EXPR_DEPTH: usize = 64;
    pub const FN_EXPR_DEPTH: usize = 32;
    pub const VARIABLES: usize = 1_000;
    pub const FUNCTIONS: usize = 256;
}

/// The largest quota of one task: far above any real plan's, and small enough that the quotas of
/// as many tasks as a script can list (an array holds at most `limits::ARRAY_SIZE`) add up
/// within a `u32`.
pub const MAX_QUOTA: i64 = 100_000;

/// The legal minimum team size (行政处罚法 Art. 42).
pub const LEGAL_MIN_TEAM: u32 = 2;
/// 安全生产法 Art. 78: penalty decisions are published within 7 working days.
pub const LEGAL_MAX_PENALTY_DAYS: u32 = 7;
/// 企业信息公示暂行条例 Art. 6: regulator-produced information within 20 working days.
pub const LEGAL_MAX_RESULTS_DAYS: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Something an admin must know about a script, located in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {sev}: {}",
                self.file, self.line, self.column, self.message
            )
        } else {
            write!(f, "{}: {sev}: {}", self.file, self.message)
        }
    }
}

impl Finding {
    pub fn error(file: &str, at: Location, message: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Error,
            file: file.to_string(),
            line: at.line,
            column: at.column,
            message: message.into(),
        }
    }
    pub fn warning(file: &str, at: Location, message: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(file, at, message)
        }
    }
}

/// What a script may read: the registry, the vocabulary and the calendar.
#[derive(Clone)]
pub struct Context {
    pub snapshot: Arc<Snapshot>,
    pub vocab: Arc<Vocabulary>,
    pub calendar: Arc<Calendar>,
}

impl Context {
    /// The shipped vocabulary and calendar over a generated demo registry of `entities`
    /// (seed 2024): what tests and the fuzz targets evaluate scripts against.
    pub fn demo(entities: usize) -> Result<Context, String> {
        let vocab = crate::config::Settings::shipped()
            .and_then(|s| s.vocabulary())
            .map_err(|e| e.to_string())?;
        let snapshot = crate::demo::generate(entities, 2024, &vocab)
            .snapshot(&vocab)
            .map_err(|e| e.to_string())?;
        Ok(Context {
            snapshot: Arc::new(snapshot),
            vocab: Arc::new(vocab),
            calendar: Arc::new(Calendar::shipped().map_err(|e| e.to_string())?),
        })
    }
}

type R<T> = Result<T, Box<EvalAltResult>>;

fn fail(message: impl Into<String>, pos: Position) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(message.into()),
        pos,
    ))
}

fn location(pos: Position) -> Location {
    Location {
        line: pos.line().unwrap_or(0),
        column: pos.position().unwrap_or(0),
    }
}

/// A plan that evaluated and passed every check, with its strata and warnings.
#[derive(Debug, Clone)]
pub struct Checked {
    pub plan: Plan,
    pub strata: Vec<crate::plan::Stratum>,
    /// Warnings only: a plan with errors is never `Checked`.
    pub findings: Vec<Finding>,
}

/// Evaluates and checks a script. Errors (and the warnings beside them) if it is not usable.
pub fn load(file: &str, source: &str, ctx: &Context) -> Result<Checked, Vec<Finding>> {
    let plan = evaluate(file, source, ctx).map_err(|f| vec![f])?;
    let strata = plan.strata(&ctx.snapshot);
    let findings = check::check(&plan, &strata, ctx);
    if findings.iter().any(|f| f.severity == Severity::Error) {
        return Err(findings);
    }
    Ok(Checked {
        plan,
        strata,
        findings,
    })
}

/// Compiles and evaluates a script into a plan; the first error, located, if it cannot.
pub fn evaluate(file: &str, source: &str, ctx: &Context) -> Result<Plan, Finding> {
    let engine = engine(ctx);
    let ast = engine.compile(source).map_err(|e| {
        let detail = e.err_type().to_string();
        let message = if let ParseErrorType::VariableUndefined(name) = e.err_type() {
            format!("unknown variable `{name}`")
        } else if detail.contains("'import'") || detail.contains("'export'") {
            "scripts cannot import files or modules: everything a plan needs is built in \
             (see docs/rules.md)"
                .to_string()
        } else if detail.contains("'eval'") {
            "`eval` is not available in rule scripts".to_string()
        } else {
            format!("syntax error: {detail}")
        };
        Finding::error(file, location(e.position()), message)
    })?;
    let value: Dynamic = engine
        .eval_ast(&ast)
        .map_err(|e| Finding::error(file, location(innermost(&e).1), explain(&e)))?;
    let mut plan = value.try_cast::<Plan>().ok_or_else(|| {
        let last = source
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .last()
            .map_or(0, |(i, _)| i);
        Finding::error(
            file,
            Location {
                line: last + 1,
                column: 1,
            },
            "the script must end with the plan: plan(#{ ... })",
        )
    })?;
    plan.source = Source {
        file: file.to_string(),
        sha256: crate::audit::sha256_hex(source.as_bytes()),
    };
    Ok(plan)
}

/// The innermost error of a chain of function calls, and the best position for it.
fn innermost(e: &EvalAltResult) -> (&EvalAltResult, Position) {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, pos) => {
            let (err, p) = innermost(inner);
            (err, if p.is_none() { *pos } else { p })
        }
        other => (other, other.position()),
    }
}

/// Rhai's errors in words an admin understands.
fn explain(e: &EvalAltResult) -> String {
    let (inner, _) = innermost(e);
    match inner {
        EvalAltResult::ErrorRuntime(msg, _) => msg.to_string(),
        EvalAltResult::ErrorTooManyOperations(_) => format!(
            "the script ran too long (over {} operations): is there an endless loop?",
            limits::OPERATIONS
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => format!(
            "{what} grew beyond the limit (strings {} bytes, arrays and maps {} entries)",
            limits::STRING_SIZE,
            limits::ARRAY_SIZE
        ),
        EvalAltResult::ErrorStackOverflow(_) => format!(
            "functions call each other too deeply (over {} levels): is a function recursive?",
            limits::CALL_LEVELS
        ),
        EvalAltResult::ErrorTooManyVariables(_) => {
            format!("too many variables (over {})", limits::VARIABLES)
        }
        EvalAltResult::ErrorVariableNotFound(name, _) => format!("unknown variable `{name}`"),
        EvalAltResult::ErrorFunctionNotFound(sig, _) => {
            format!("unknown function or wrong argument types: `{sig}`")
        }
        EvalAltResult::ErrorModuleNotFound(..) => {
            "scripts cannot import files or modules".to_string()
        }
        EvalAltResult::ErrorArithmetic(msg, _) => format!("arithmetic error: {msg}"),
        other => other.to_string(),
    }
}

fn engine(ctx: &Context) -> Engine {
    let mut engine = Engine::new_raw();
    LanguageCorePackage::new().register_into_engine(&mut engine);
    ArithmeticPackage::new().register_into_engine(&mut engine);
    BasicStringPackage::new().register_into_engine(&mut engine);
    BasicIteratorPackage::new().register_into_engine(&mut engine);
    BasicFnPackage::new().register_into_engine(&mut engine);
    LogicPackage::new().register_into_engine(&mut engine);
    BasicMathPackage::new().register_into_engine(&mut engine);
    BasicArrayPackage::new().register_into_engine(&mut engine);
    BasicMapPackage::new().register_into_engine(&mut engine);
    MoreStringPackage::new().register_into_engine(&mut engine);
    engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    for symbol in ["eval", "import", "export"] {
        engine.disable_symbol(symbol);
    }
    engine
        .set_max_operations(limits::OPERATIONS)
        .set_max_string_size(limits::STRING_SIZE)
        .set_max_array_size(limits::ARRAY_SIZE)
        .set_max_map_size(limits::MAP_SIZE)
        .set_max_call_levels(limits::CALL_LEVELS)
        .set_max_expr_depths(limits::EXPR_DEPTH, limits::FN_EXPR_DEPTH)
        .set_max_variables(limits::VARIABLES)
        .set_max_functions(limits::FUNCTIONS)
        .set_max_modules(0)
        .set_strict_variables(true);
    engine.on_print(|s| tracing::info!(target: "rules", "{s}"));
    engine.on_debug(|s, _, pos| tracing::debug!(target: "rules", line = pos.line(), "{s}"));

    engine.register_type_with_name::<Plan>("Plan");
    engine.register_type_with_name::<TaskRule>("Task");
    engine.register_type_with_name::<Filter>("Pool");

    let c = ctx.clone();
    engine.register_fn("plan", move |nc: NativeCallContext, m: Map| {
        plan_from(&c, m, nc.call_position())
    });
    let c = ctx.clone();
    engine.register_fn("task", move |nc: NativeCallContext, m: Map| {
        task_from(&c, m, nc.call_position(), None)
    });
    let c = ctx.clone();
    engine.register_fn("pool", move |nc: NativeCallContext, m: Map| {
        filter_from(&c.vocab, m, nc.call_position())
    });
    let c = ctx.clone();
    engine.register_fn(
        "pool_size",
        move |nc: NativeCallContext, m: Map| -> R<i64> {
            let f = filter_from(&c.vocab, m, nc.call_position())?;
            Ok(c.snapshot.entities.count(&f) as i64)
        },
    );
    let c = ctx.clone();
    engine.register_fn("pool_size", move |f: Filter| -> i64 {
        c.snapshot.entities.count(&f) as i64
    });
    let c = ctx.clone();
    engine.register_fn("officers", move |nc: NativeCallContext, m: Map| -> R<i64> {
        officer_count(&c, m, nc.call_position())
    });
    let c = ctx.clone();
    engine.register_fn(
        "add_working_days",
        move |nc: NativeCallContext, date: &str, n: i64| -> R<String> {
            let pos = nc.call_position();
            let d = parse_date(date, pos)?;
            c.calendar
                .add_working_days(d, n)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_err(|e| fail(e.to_string(), pos))
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "is_working_day",
        move |nc: NativeCallContext, date: &str| -> R<bool> {
            let pos = nc.call_position();
            c.calendar
                .is_working_day(parse_date(date, pos)?)
                .map_err(|e| fail(e.to_string(), pos))
        },
    );
    engine
}

fn parse_date(s: &str, pos: Position) -> R<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| fail(format!("`{s}` is not a date: write \"YYYY-MM-DD\""), pos))
}

/// A map argument being read: every key must be known, every value of the right type.
struct Args {
    what: &'static str,
    map: Map,
    pos: Position,
}

impl Args {
    fn new(what: &'static str, map: Map, allowed: &[&str], pos: Position) -> R<Args> {
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(fail(
                format!(
                    "unknown key `{k}` in {what} (expected one of: {})",
                    allowed.join(", ")
                ),
                pos,
            ));
        }
        Ok(Args { what, map, pos })
    }

    fn fail(&self, msg: String) -> Box<EvalAltResult> {
        fail(msg, self.pos)
    }

    fn take(&mut self, key: &str) -> Option<Dynamic> {
        self.map.remove(key).filter(|v| !v.is_unit())
    }

    fn require(&mut self, key: &str) -> R<Dynamic> {
        self.take(key)
            .ok_or_else(|| self.fail(format!("{} needs `{key}`", self.what)))
    }

    fn type_error(&self, key: &str, expected: &str, v: &Dynamic) -> Box<EvalAltResult> {
        self.fail(format!(
            "`{key}` in {} must be {expected}, found {} `{v}`",
            self.what,
            v.type_name()
        ))
    }

    /// A string of the script: never one with a control or invisible character (a title with
    /// an ESC sequence, a name with a bidi control), which would show other than it is.
    fn as_str(&self, key: &str, v: Dynamic) -> R<String> {
        let s = v
            .clone()
            .into_string()
            .map_err(|_| self.type_error(key, "a string", &v))?;
        if let Some((at, c)) = crate::text::hidden_char(&s) {
            return Err(self.fail(format!(
                "`{key}` = `{}`: {}",
                crate::text::quote(&s),
                crate::text::hidden_reason(at, c)
            )));
        }
        Ok(s)
    }

    fn as_int(&self, key: &str, v: Dynamic) -> R<i64> {
        v.as_int()
            .map_err(|_| self.type_error(key, "a whole number", &v))
    }

    fn str(&mut self, key: &str) -> R<String> {
        let v = self.require(key)?;
        self.as_str(key, v)
    }

    fn opt_str(&mut self, key: &str) -> R<Option<String>> {
        self.take(key).map(|v| self.as_str(key, v)).transpose()
    }

    fn int(&mut self, key: &str) -> R<i64> {
        let v = self.require(key)?;
        self.as_int(key, v)
    }

    fn opt_int(&mut self, key: &str) -> R<Option<i64>> {
        self.take(key).map(|v| self.as_int(key, v)).transpose()
    }

    /// A whole number in `min..=max`.
    fn bounded(&mut self, key: &str, default: Option<i64>, min: i64, max: i64) -> R<u32> {
        let n = match (self.opt_int(key)?, default) {
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) => return Err(self.fail(format!("{} needs `{key}`", self.what))),
        };
        if n < min || n > max {
            return Err(self.fail(format!(
                "`{key}` in {} is {n}: it must be between {min} and {max}",
                self.what
            )));
        }
        Ok(n as u32)
    }

    fn bool(&mut self, key: &str, default: bool) -> R<bool> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .map_err(|_| self.type_error(key, "true or false", &v)),
        }
    }

    /// A list of strings; a single string is a list of one.
    fn strings(&mut self, key: &str) -> R<Vec<String>> {
        match self.take(key) {
            None => Ok(Vec::new()),
            Some(v) if v.is_string() => Ok(vec![self.as_str(key, v)?]),
            Some(v) if v.is_array() => v
                .into_array()
                .map_err(|t| self.fail(format!("`{key}`: {t}")))?
                .into_iter()
                .map(|x| self.as_str(key, x))
                .collect(),
            Some(v) => Err(self.type_error(key, "a string or a list of strings", &v)),
        }
    }

    fn map(&mut self, key: &str) -> R<Option<Map>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .clone()
                .try_cast::<Map>()
                .map(Some)
                .ok_or_else(|| self.type_error(key, "a map #{ ... }", &v)),
        }
    }

    fn date(&mut self, key: &str) -> R<NaiveDate> {
        let s = self.str(key)?;
        parse_date(&s, self.pos)
    }
}

fn filter_from(vocab: &Vocabulary, m: Map, pos: Position) -> R<Filter> {
    let mut a = Args::new(
        "pool",
        m,
        &[
            "sectors",
            "status",
            "risk",
            "cities",
            "tags_any",
            "tags_none",
        ],
        pos,
    )?;
    let sectors = a
        .strings("sectors")?
        .into_iter()
        .map(|s| {
            vocab.sector(&s).map(|x| x.code.clone()).ok_or_else(|| {
                a.fail(format!(
                    "unknown sector `{s}` (see [[sectors]] in the configuration)"
                ))
            })
        })
        .collect::<R<Vec<_>>>()?;
    let status = a.strings("status")?;
    let statuses = if status.is_empty() {
        vec![EntityStatus::Active]
    } else {
        status
            .iter()
            .map(|s| {
                EntityStatus::parse(s).ok_or_else(|| {
                    a.fail(format!("unknown status `{s}` (active, suspended, closed)"))
                })
            })
            .collect::<R<Vec<_>>>()?
    };
    let risk_names = a.strings("risk")?;
    let risks = risks(&a, risk_names)?;
    let cities = a
        .strings("cities")?
        .into_iter()
        .map(|s| {
            vocab
                .unit(&s)
                .map(|u| u.code.to_string())
                .ok_or_else(|| a.fail(format!("unknown city `{s}`: not one of Henan's units")))
        })
        .collect::<R<Vec<_>>>()?;
    Ok(Filter {
        sectors,
        statuses,
        risks,
        cities,
        tags_any: a.strings("tags_any")?,
        tags_none: a.strings("tags_none")?,
    })
}

fn risks(a: &Args, names: Vec<String>) -> R<Vec<RiskLevel>> {
    names
        .iter()
        .map(|s| {
            if s == "all" {
                return Ok(None);
            }
            RiskLevel::parse(s).map(Some).ok_or_else(|| {
                a.fail(format!(
                    "unknown risk level `{s}` (red/orange/yellow/blue or 重大/较大/一般/低)"
                ))
            })
        })
        .filter_map(|r| r.transpose())
        .collect()
}

/// `frequency.cap_per_year`: a list of `#{ label, cap, ...pool keys }`, in order (an entity
/// takes the first it matches).
fn cap_rules(ctx: &Context, f: &Args, v: Dynamic, pos: Position) -> R<Vec<crate::plan::CapRule>> {
    let what = "a list of #{ label, cap, risk / sectors / tags_any … }";
    let list = v
        .clone()
        .into_array()
        .map_err(|_| f.type_error("cap_per_year", what, &v))?;
    if list.is_empty() {
        return Err(
            f.fail("`cap_per_year` is empty: give at least one cap, or leave it out".into())
        );
    }
    let mut out = Vec::new();
    for (i, rule) in list.into_iter().enumerate() {
        let mut m = rule
            .clone()
            .try_cast::<Map>()
            .ok_or_else(|| f.type_error("cap_per_year", what, &rule))?;
        let at = format!("cap_per_year[{i}]");
        let cap = match m.remove("cap") {
            Some(c) => f.as_int(&at, c)?,
            None => {
                return Err(f.fail(format!(
                    "{at}: `cap` (inspections a year, at least 1) is missing"
                )));
            }
        };
        if !(1..=366).contains(&cap) {
            return Err(f.fail(format!(
                "{at}: cap {cap} must be between 1 and 366 inspections a year"
            )));
        }
        let label = match m.remove("label") {
            Some(l) => f.as_str(&at, l)?.trim().to_string(),
            None => String::new(),
        };
        let filter = filter_from(&ctx.vocab, m, pos).map_err(|e| {
            // The pool's own message, without rhai's "Runtime error" and position.
            let said = match *e {
                EvalAltResult::ErrorRuntime(ref d, _) => d.to_string(),
                ref other => other.to_string(),
            };
            f.fail(format!("{at}: {said}"))
        })?;
        let label = if !label.is_empty() {
            label
        } else if !filter.risks.is_empty() {
            filter
                .risks
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
                .join("、")
        } else {
            format!("第{}类", i + 1)
        };
        out.push(crate::plan::CapRule {
            label,
            filter,
            cap: cap as u32,
        });
    }
    Ok(out)
}

/// A pool given as `pool(#{..})` or as a plain map.
fn filter_value(ctx: &Context, v: Dynamic, pos: Position) -> R<Filter> {
    if let Some(f) = v.clone().try_cast::<Filter>() {
        return Ok(f);
    }
    match v.clone().try_cast::<Map>() {
        Some(m) => filter_from(&ctx.vocab, m, pos),
        None => Err(fail(
            format!(
                "`pool` must be pool(#{{ ... }}) or a map, found {}",
                v.type_name()
            ),
            pos,
        )),
    }
}

fn task_from(ctx: &Context, m: Map, pos: Position, plan_team: Option<u32>) -> R<TaskRule> {
    let mut a = Args::new(
        "task",
        m,
        &[
            "id",
            "name",
            "division",
            "quota",
            "ratio",
            "min",
            "max",
            "pool",
            "split",
            "joint",
            "items",
            "team_size",
        ],
        pos,
    )?;
    let id = a.str("id")?;
    check_id("task", &id).map_err(|m| a.fail(m))?;
    let name = a.opt_str("name")?.unwrap_or_else(|| id.clone());
    let division_name = a.str("division")?;
    let division = ctx
        .vocab
        .division(&division_name)
        .map(|d| d.code.clone())
        .ok_or_else(|| {
            a.fail(format!(
                "task `{id}`: unknown division `{division_name}` (see [[divisions]] in the configuration)"
            ))
        })?;
    let own = sizing(&mut a, &format!("task `{id}`"), "quota", MAX_QUOTA)?;
    let pool_value = a.require("pool")?;
    let pool = filter_value(ctx, pool_value, pos)?;
    let split = match a.take("split") {
        None => Vec::new(),
        Some(v) => {
            let parts = v.clone().into_array().map_err(|_| {
                a.type_error("split", "a list of #{ name, risk, share or ratio }", &v)
            })?;
            let mut out = Vec::new();
            for p in parts {
                let m = p
                    .clone()
                    .try_cast::<Map>()
                    .ok_or_else(|| a.type_error("split", "a list of maps", &p))?;
                let mut pa = Args::new(
                    "split part",
                    m,
                    &["name", "label", "risk", "share", "ratio", "min", "max"],
                    pos,
                )?;
                let name = pa.str("name")?;
                let names = pa.strings("risk")?;
                let risks = risks(&pa, names)?;
                let label = match pa.opt_str("label")? {
                    Some(l) if l.trim().is_empty() => {
                        return Err(pa.fail(format!("split part `{name}`: `label` is empty")));
                    }
                    Some(l) => l.trim().to_string(),
                    None if risks.is_empty() => "其余单位".to_string(),
                    None => risks
                        .iter()
                        .map(|r| r.label())
                        .collect::<Vec<_>>()
                        .join("、"),
                };
                let whose = format!("split part `{name}` of task `{id}`");
                let size = match sizing(&mut pa, &whose, "share", 1_000_000)? {
                    Some(Ok(share)) => PartSize::Share(share),
                    Some(Err(r)) => PartSize::Ratio(r),
                    None => {
                        return Err(pa.fail(format!(
                            "{whose} needs `share` (a weight of the task's quota) or `ratio` \
                             (e.g. \"30%\" of its own pool)"
                        )));
                    }
                };
                out.push(SplitPart {
                    name,
                    label,
                    risks,
                    size,
                });
            }
            out
        }
    };
    let ratios = split
        .iter()
        .filter(|p| matches!(p.size, PartSize::Ratio(_)))
        .count();
    let quota = match own {
        Some(Ok(q)) if ratios == 0 => Quota::Fixed(q),
        Some(Err(r)) if split.is_empty() => Quota::Ratio(r),
        None if !split.is_empty() && ratios == split.len() => Quota::PerPart,
        None if split.is_empty() => {
            return Err(a.fail(format!(
                "task `{id}` needs `quota` (a number) or `ratio` (e.g. \"30%\" of its pool)"
            )));
        }
        Some(Err(_)) => {
            return Err(a.fail(format!(
                "task `{id}`: a ratio with a split goes on each split part, each of its own pool"
            )));
        }
        _ => {
            return Err(a.fail(format!(
                "task `{id}`: either a `quota` divided by the split parts' `share`s, or a \
                 `ratio` on every split part and no quota"
            )));
        }
    };
    let joint = match a.map("joint")? {
        None => None,
        Some(m) => {
            let mut ja = Args::new("joint", m, &["agency", "members"], pos)?;
            let agency_name = ja.str("agency")?;
            let agency = ctx
                .vocab
                .agency(&agency_name)
                .filter(|x| x.role == AgencyRole::Partner)
                .map(|x| x.code.clone())
                .ok_or_else(|| {
                    ja.fail(format!(
                        "task `{id}`: `{agency_name}` is not a partner agency (see [[agencies]] with role = \"partner\")"
                    ))
                })?;
            let members = ja.bounded("members", Some(1), 1, 10)?;
            Some(Joint { agency, members })
        }
    };
    let items = a.strings("items")?;
    let team_size = match a.opt_int("team_size")? {
        Some(n) => check_team_size(n, &format!("task `{id}`"), pos)?,
        // 0: not set here; `plan` gives it the plan's size.
        None => plan_team.unwrap_or(0),
    };
    Ok(TaskRule {
        id,
        name,
        division,
        quota,
        pool,
        split,
        joint,
        items,
        team_size,
        at: location(pos),
    })
}

/// A quota as the map gives it: `number_key` (`quota`, or a split part's `share`) as a number,
/// or `ratio` (a percentage) with optional `min` and `max`; `None` when it gives neither.
fn sizing(a: &mut Args, whose: &str, number_key: &str, most: i64) -> R<Option<Result<u32, Ratio>>> {
    let number = match a.opt_int(number_key)? {
        None => None,
        Some(n) if n <= 0 => {
            return Err(a.fail(format!(
                "{whose}: {number_key} must be at least 1, found {n}"
            )));
        }
        Some(n) if n > most => {
            return Err(a.fail(format!(
                "{whose}: {number_key} {n} is implausible (at most {most})"
            )));
        }
        Some(n) => Some(n as u32),
    };
    let ratio = a.opt_str("ratio")?;
    let (min, max) = (a.opt_int("min")?, a.opt_int("max")?);
    let Some(ratio) = ratio else {
        if min.is_some() || max.is_some() {
            return Err(a.fail(format!(
                "{whose}: `min` and `max` bound a `ratio`, and there is none"
            )));
        }
        return Ok(number.map(Ok));
    };
    if number.is_some() {
        return Err(a.fail(format!(
            "{whose} gives both `{number_key}` and `ratio`: give one"
        )));
    }
    let basis_points =
        Ratio::parse_percent(&ratio).map_err(|e| a.fail(format!("{whose}: ratio {e}")))?;
    let bound = |key: &str, v: Option<i64>| -> R<Option<u32>> {
        match v {
            Some(n) if !(0..=MAX_QUOTA).contains(&n) => Err(a.fail(format!(
                "{whose}: `{key}` is {n}: it must be between 0 and {MAX_QUOTA}"
            ))),
            v => Ok(v.map(|n| n as u32)),
        }
    };
    let (min, max) = (bound("min", min)?.unwrap_or(0), bound("max", max)?);
    if max.is_some_and(|m| m < min.max(1)) {
        return Err(a.fail(format!(
            "{whose}: `max` ({}) must be at least 1 and at least `min` ({min})",
            max.unwrap_or(0)
        )));
    }
    Ok(Some(Err(Ratio {
        basis_points,
        min,
        max,
    })))
}

fn check_team_size(n: i64, whose: &str, pos: Position) -> R<u32> {
    if n < i64::from(LEGAL_MIN_TEAM) {
        return Err(fail(
            format!(
                "{whose}: team size {n} is below the legal minimum of {LEGAL_MIN_TEAM} \
                 enforcement officers (行政处罚法 第四十二条)"
            ),
            pos,
        ));
    }
    if n > 20 {
        return Err(fail(
            format!("{whose}: team size {n} is implausible (at most 20)"),
            pos,
        ));
    }
    Ok(n as u32)
}

fn plan_from(ctx: &Context, m: Map, pos: Position) -> R<Plan> {
    let mut a = Args::new(
        "plan",
        m,
        &[
            "id",
            "year",
            "title",
            "window",
            "total",
            "scope",
            "partial",
            "seed",
            "frequency",
            "teams",
            "deadlines",
            "schedules",
            "tasks",
        ],
        pos,
    )?;
    let id = a.str("id")?;
    check_id("plan", &id).map_err(|m| a.fail(m))?;
    let year = a.int("year")?;
    if !(2000..=2100).contains(&year) {
        return Err(a.fail(format!("year {year} is not plausible")));
    }
    let year = year as i32;
    let title = a.opt_str("title")?.unwrap_or_else(|| id.clone());
    let window = {
        let m = a
            .map("window")?
            .ok_or_else(|| a.fail("plan needs `window`".into()))?;
        let mut w = Args::new("window", m, &["start", "end"], pos)?;
        let window = Window {
            start: w.date("start")?,
            end: w.date("end")?,
        };
        if window.end < window.start {
            return Err(a.fail(format!(
                "window ends ({}) before it starts ({})",
                window.end, window.start
            )));
        }
        window
    };
    let total_quota = match a.opt_int("total")? {
        None => None,
        Some(n) => Some(
            u32::try_from(n.max(0))
                .map_err(|_| a.fail(format!("the plan's total {n} is implausible")))?,
        ),
    };
    let partial = match a.opt_str("partial")? {
        Some(r) if r.trim().is_empty() => {
            return Err(a.fail(
                "`partial` must say why this plan need not cover every 清单 item (e.g. \
                 \"秋季专项抽查，其余事项由春季计划覆盖\")"
                    .into(),
            ));
        }
        r => r.map(|r| r.trim().to_string()),
    };
    let scope = a
        .strings("scope")?
        .into_iter()
        .map(|s| {
            ctx.vocab
                .sector(&s)
                .map(|x| x.code.clone())
                .ok_or_else(|| a.fail(format!("unknown sector `{s}` in scope")))
        })
        .collect::<R<Vec<_>>>()?;
    let seed = {
        let m = a
            .map("seed")?
            .ok_or_else(|| a.fail("plan needs `seed`".into()))?;
        let mut s = Args::new(
            "seed",
            m,
            &["kind", "source", "available_at", "game", "announcement"],
            pos,
        )?;
        let kind = match s.str("kind")?.as_str() {
            "manual" => SeedKind::Manual,
            "os" => SeedKind::Os,
            "drand" => SeedKind::Drand,
            other => {
                return Err(s.fail(format!(
                    "unknown seed kind `{other}`: \"manual\" (public dice or lottery digits), \
                     \"drand\" (the League of Entropy's quicknet beacon) or \"os\""
                )));
            }
        };
        let source = s.opt_str("source")?.unwrap_or_else(|| match kind {
            SeedKind::Drand => "drand quicknet (League of Entropy), https://drand.love".into(),
            _ => String::new(),
        });
        if kind == SeedKind::Manual && source.trim().is_empty() {
            return Err(s.fail(
                "a manual seed needs `source`: say where the public digits will come from \
                 (e.g. the dice ceremony, or the lottery draw of an announced date)"
                    .into(),
            ));
        }
        let when = s.opt_str("available_at")?.ok_or_else(|| {
            s.fail(
                "the seed needs `available_at`: when the randomness becomes public (the \
                 lottery's draw time, the ceremony's time, or the beacon round's time), e.g. \
                 \"2024-05-16 21:15\" (Asia/Shanghai)"
                    .into(),
            )
        })?;
        let available_at = crate::clock::parse_time(&when).ok_or_else(|| {
            s.fail(format!(
                "available_at `{when}` is not a time: write \"YYYY-MM-DD HH:MM\" (Asia/Shanghai) \
                 or RFC 3339 with an offset"
            ))
        })?;
        let game = s.opt_str("game")?;
        match (&game, kind) {
            (None, _) => {}
            (Some(g), SeedKind::Manual) if crate::draw::lottery::game(g).is_some() => {}
            (Some(g), SeedKind::Manual) => {
                let known: Vec<&str> = crate::draw::lottery::GAMES.iter().map(|g| g.name).collect();
                return Err(s.fail(format!(
                    "unknown lottery `{}`: one of {} (its result's digits are checked against \
                     its format)",
                    crate::text::quote(g),
                    known.join(", ")
                )));
            }
            (Some(_), _) => {
                return Err(s.fail("`game` names the lottery of a manual seed only".into()));
            }
        }
        let announcement = s.opt_str("announcement")?;
        if let Some(u) = &announcement {
            crate::lifecycle::check_url(u).map_err(|e| s.fail(format!("announcement: {e}")))?;
        }
        SeedSource {
            kind,
            source,
            available_at,
            game,
            announcement,
        }
    };
    let frequency = match a.map("frequency")? {
        None => Frequency {
            lookback_months: 0,
            revisit: None,
            caps: Vec::new(),
        },
        Some(m) => {
            let mut f = Args::new(
                "frequency",
                m,
                &["lookback_months", "revisit", "cap_per_year"],
                pos,
            )?;
            let caps = match f.take("cap_per_year") {
                None => Vec::new(),
                Some(v) => cap_rules(ctx, &f, v, pos)?,
            };
            let revisit = match f.opt_str("revisit")? {
                Some(r) if r.trim().is_empty() => {
                    return Err(f.fail(
                        "`revisit` must say why this plan may draw what another plan of its \
                         year has drawn (e.g. \"与省市场监管局联合检查，可重复检查\")"
                            .into(),
                    ));
                }
                r => r.map(|r| r.trim().to_string()),
            };
            Frequency {
                lookback_months: f.bounded("lookback_months", Some(0), 0, 60)?,
                revisit,
                caps,
            }
        }
    };

    let teams = {
        let m = a.map("teams")?.unwrap_or_default();
        let mut t = Args::new(
            "teams",
            m,
            &[
                "size",
                "cap_per_officer",
                "require_valid_certificate",
                "recusal",
            ],
            pos,
        )?;
        let size = match t.opt_int("size")? {
            Some(n) => check_team_size(n, "teams", pos)?,
            None => LEGAL_MIN_TEAM,
        };
        let cap_per_officer = t.bounded("cap_per_officer", Some(10), 1, 1000)?;
        let require_valid_certificate = t.bool("require_valid_certificate", true)?;
        let recusal = match t.map("recusal")? {
            None => Recusal {
                home_city: false,
                last_year: false,
            },
            Some(m) => {
                let mut r = Args::new("recusal", m, &["declared", "home_city", "last_year"], pos)?;
                if !r.bool("declared", true)? {
                    return Err(r.fail(
                        "declared conflicts cannot be switched off (行政处罚法 第四十三条)".into(),
                    ));
                }
                Recusal {
                    home_city: r.bool("home_city", false)?,
                    last_year: r.bool("last_year", false)?,
                }
            }
        };
        TeamRules {
            size,
            recusal,
            cap_per_officer,
            require_valid_certificate,
        }
    };
    let deadlines = {
        let m = a.map("deadlines")?.unwrap_or_default();
        let mut d = Args::new(
            "deadlines",
            m,
            &[
                "results",
                "penalties",
                "advance_notice",
                "schedule_within",
                "reminders",
                "propose_dates",
            ],
            pos,
        )?;
        let results = d.bounded("results", Some(5), 1, 60)?;
        if results > LEGAL_MAX_RESULTS_DAYS {
            return Err(d.fail(format!(
                "results publication within {results} working days exceeds the legal {LEGAL_MAX_RESULTS_DAYS} \
                 (企业信息公示暂行条例 第六条)"
            )));
        }
        let penalties = d.bounded("penalties", Some(7), 1, 60)?;
        if penalties > LEGAL_MAX_PENALTY_DAYS {
            return Err(d.fail(format!(
                "penalty publication within {penalties} working days exceeds the legal {LEGAL_MAX_PENALTY_DAYS} \
                 (安全生产法 第七十八条)"
            )));
        }
        let advance_notice = d.bounded("advance_notice", Some(3), 0, 30)?;
        let schedule_within = d.bounded("schedule_within", Some(20), 1, 250)?;
        let reminders = match d.take("reminders") {
            None => vec![1],
            Some(v) => {
                let list = v
                    .clone()
                    .into_array()
                    .map_err(|_| d.type_error("reminders", "a list of whole numbers", &v))?;
                let mut out = Vec::new();
                for x in list {
                    let n = d.as_int("reminders", x)?;
                    if n < 1 || n >= i64::from(results.min(penalties)) {
                        return Err(d.fail(format!(
                            "reminder {n} working days before a deadline must be at least 1 and \
                             less than the shortest deadline ({})",
                            results.min(penalties)
                        )));
                    }
                    out.push(n as u32);
                }
                out
            }
        };
        let propose_dates = d.bool("propose_dates", false)?;
        Deadlines {
            results,
            penalties,
            advance_notice,
            schedule_within,
            reminders,
            propose_dates,
        }
    };
    let schedules = {
        let m = a
            .map("schedules")?
            .ok_or_else(|| a.fail("plan needs `schedules`".into()))?;
        let mut s = Args::new(
            "schedules",
            m,
            &["freeze", "draw", "nightly", "report"],
            pos,
        )?;
        let schedules = Schedules {
            freeze: s.str("freeze")?,
            draw: s.str("draw")?,
            ignored: [
                ("nightly", s.opt_str("nightly")?),
                ("report", s.opt_str("report")?),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|_| k.to_string()))
            .collect(),
        };
        for (name, expr) in schedules.all() {
            cron(expr).map_err(|e| {
                s.fail(format!(
                    "cron expression `{expr}` for `{name}` is invalid: {e}"
                ))
            })?;
        }
        schedules
    };
    let task_values = a.require("tasks")?;
    let list = task_values
        .clone()
        .into_array()
        .map_err(|_| a.type_error("tasks", "a list of task(#{ ... })", &task_values))?;
    let mut tasks: Vec<TaskRule> = Vec::new();
    for v in list {
        let mut t = match v.clone().try_cast::<TaskRule>() {
            Some(t) => t,
            None => match v.clone().try_cast::<Map>() {
                Some(m) => task_from(ctx, m, pos, Some(teams.size))?,
                None => return Err(a.type_error("tasks", "a list of task(#{ ... })", &v)),
            },
        };
        if t.team_size == 0 {
            t.team_size = teams.size;
        }
        if tasks.iter().any(|x| x.id == t.id) {
            return Err(fail(format!("task id `{}` is used twice", t.id), pos));
        }
        tasks.push(t);
    }
    if tasks.is_empty() {
        return Err(a.fail("the plan has no tasks".into()));
    }
    let scope = if scope.is_empty() {
        ctx.vocab.sectors.iter().map(|s| s.code.clone()).collect()
    } else {
        scope
    };
    Ok(Plan {
        id,
        year,
        title,
        window,
        total_quota,
        scope,
        partial,
        seed,
        frequency,
        teams,
        deadlines,
        schedules,
        tasks,
        source: Source {
            file: String::new(),
            sha256: String::new(),
        },
        at: location(pos),
    })
}

fn officer_count(ctx: &Context, m: Map, pos: Position) -> R<i64> {
    let mut a = Args::new("officers", m, &["division", "agency", "cadre"], pos)?;
    let division = match a.opt_str("division")? {
        Some(d) => Some(
            ctx.vocab
                .division(&d)
                .map(|x| x.code.clone())
                .ok_or_else(|| a.fail(format!("unknown division `{d}`")))?,
        ),
        None => None,
    };
    let agency = match a.opt_str("agency")? {
        Some(x) => Some(
            ctx.vocab
                .agency(&x)
                .map(|x| x.code.clone())
                .ok_or_else(|| a.fail(format!("unknown agency `{x}`")))?,
        ),
        None => None,
    };
    let cadre = match a.take("cadre") {
        None => None,
        Some(v) => Some(
            v.as_bool()
                .map_err(|_| a.type_error("cadre", "true or false", &v))?,
        ),
    };
    Ok(ctx
        .snapshot
        .officers
        .iter()
        .filter(|o| o.status == OfficerStatus::Active)
        .filter(|o| division.is_none() || o.division == division)
        .filter(|o| agency.as_ref().is_none_or(|x| *x == o.agency))
        .filter(|o| cadre.is_none_or(|c| c == o.cadre))
        .count() as i64)
}

/// Parses a schedule the way the scheduler (tokio-cron-scheduler, on croner) will: six fields,
/// seconds first.
/// A plan's or a task's id names folders and files (`public/<year>/<plan>/`, task ids in file
/// names): lowercase ASCII letters, digits, `_` and `-`, starting with a letter or a digit, at
/// most 64 characters; nothing that could climb out of a folder or pass for an option.
pub fn check_id(what: &str, id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} id `{}` must be lowercase letters, digits, `_` or `-`, start with a letter or \
             a digit and have at most 64 characters (it names folders and files)",
            crate::text::quote(id)
        ))
    }
}

pub fn cron(expr: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .map_err(|e| e.to_string())
}

/// The next time a schedule fires after `after`, in Asia/Shanghai.
pub fn next_run(
    expr: &str,
    after: chrono::DateTime<chrono_tz::Tz>,
) -> Option<chrono::DateTime<chrono_tz::Tz>> {
    use chrono::Timelike;
    let after = after.with_nanosecond(0).unwrap_or(after);
    cron(expr).ok()?.find_next_occurrence(&after, false).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context::demo(400).expect("demo context")
    }

    const PLAN_2024: &str = include_str!("../../rules/henan-2024.rhai");

    fn error(source: &str) -> String {
        match evaluate("plan.rhai", source, &context()) {
            Ok(_) => panic!("the script should fail"),
            Err(f) => f.message,
        }
    }

    /// Found reading the code the `rules` fuzz target covers, and confirmed on its binary (built
    /// with overflow checks): a quota of 4294967295 beside the other tasks' made
    /// `Plan::total_quota` overflow (a panic in a debug build, a wrong total in a release
    /// build), and 4294967297 was silently read as 1; so were a total and a reminder past
    /// `u32`. Numbers that do not fit are refused where they are written.
    #[test]
    fn numbers_that_do_not_fit_are_refused_not_truncated() {
        for quota in ["4294967295", "4294967297", "100001"] {
            let source = PLAN_2024.replacen("quota: 16,", &format!("quota: {quota},"), 1);
            assert_ne!(source, PLAN_2024);
            let message = error(&source);
            assert!(
                message.ends_with(&format!("quota {quota} is implausible (at most 100000)")),
                "{message}"
            );
        }
        let source = PLAN_2024.replacen("total: 74,", "total: 4294967370,", 1);
        assert_ne!(source, PLAN_2024);
        assert_eq!(error(&source), "the plan's total 4294967370 is implausible");
        let source = PLAN_2024.replacen("reminders: [2, 1]", "reminders: [4294967297]", 1);
        assert_ne!(source, PLAN_2024);
        assert!(
            error(&source).starts_with("reminder 4294967297 working days before a deadline"),
            "{}",
            error(&source)
        );
        // The plan itself still evaluates.
        assert!(evaluate("plan.rhai", PLAN_2024, &context()).is_ok());
    }

    /// Ratio quotas as a plan states them: a task's share of its pool, or each split part's
    /// share of its own pool (Henan 2021), evaluated on the registry as it stands; and every
    /// way of writing one wrong is refused where it is written.
    #[test]
    fn ratio_quotas() {
        let ctx = context();
        let noncoal_split = "split: [
        #{ name: \"high\", label: \"重大、较大风险单位\", risk: [\"重大\", \"较大\"], share: 50 },
        #{ name: \"rest\", label: \"其余单位（全部风险等级）\", risk: \"all\", share: 50 },
    ],";
        assert!(PLAN_2024.contains(noncoal_split));
        let by_risk = "split: [
        #{ name: \"red\", label: \"重大风险单位\", risk: \"重大\", ratio: \"30%\" },
        #{ name: \"orange\", risk: \"较大\", ratio: \"10%\", min: 1 },
        #{ name: \"yellow\", risk: \"一般\", ratio: \"2%\" },
        #{ name: \"blue\", risk: \"低\", ratio: \"1%\", max: 1 },
    ],";
        let source = PLAN_2024
            .replacen("quota: 8,", "", 1)
            .replacen(noncoal_split, by_risk, 1)
            .replacen("quota: 16,", "ratio: \"12.5%\", min: 3, max: 14,", 1)
            .replacen("total: 74,", "", 1);
        let plan = evaluate("plan.rhai", &source, &ctx).expect("the ratio plan evaluates");
        let strata = plan.strata(&ctx.snapshot);
        assert_eq!(plan.fixed_total(), None);
        let enforcement = strata
            .iter()
            .find(|s| s.id == "enforcement")
            .expect("one stratum");
        let r = enforcement.ratio.expect("a ratio");
        let n = enforcement.pool_size();
        assert_eq!(
            enforcement.quota,
            ((n * 1250).div_ceil(10_000) as u32).clamp(3, 14)
        );
        assert_eq!(enforcement.label, "中央驻豫企业、省管企业");
        let noncoal: Vec<_> = strata.iter().filter(|s| s.task == "noncoal").collect();
        let labels: Vec<&str> = noncoal.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["重大风险单位", "较大风险", "一般风险", "低风险"]);
        for (s, (bp, min, max)) in noncoal.iter().zip([
            (3000, 0, None),
            (1000, 1, None),
            (200, 0, None),
            (100, 0, Some(1)),
        ]) {
            let want = crate::plan::Ratio {
                basis_points: bp,
                min,
                max,
            };
            assert_eq!(s.ratio, Some(want), "{}", s.id);
            assert_eq!(s.quota, want.quota(s.pool_size()), "{}", s.id);
        }
        assert_eq!(r.percent(), "12.5%");

        for (from, to, says) in [
            ("quota: 16,", "ratio: \"30\",", "is not a percentage"),
            ("quota: 16,", "ratio: \"0%\",", "is not a percentage"),
            ("quota: 16,", "ratio: \"120%\",", "is not a percentage"),
            (
                "quota: 16,",
                "quota: 16, ratio: \"5%\",",
                "gives both `quota` and `ratio`",
            ),
            (
                "quota: 16,",
                "quota: 16, min: 2,",
                "`min` and `max` bound a `ratio`",
            ),
            (
                "quota: 16,",
                "ratio: \"5%\", min: 9, max: 3,",
                "must be at least 1 and at least `min`",
            ),
            ("quota: 16,", "ratio: \"5%\", max: -1,", "`max` is -1"),
            ("quota: 16,", "", "needs `quota` (a number) or `ratio`"),
            (
                "quota: 8,",
                "ratio: \"5%\",",
                "a ratio with a split goes on each split part",
            ),
            (
                "share: 50 },\n        #{ name: \"rest\"",
                "ratio: \"5%\" },\n        #{ name: \"rest\"",
                "either a `quota` divided",
            ),
            (
                "label: \"重大、较大风险单位\",",
                "label: \"  \",",
                "`label` is empty",
            ),
        ] {
            let source = PLAN_2024.replacen(from, to, 1);
            assert_ne!(source, PLAN_2024, "{from}");
            let message = error(&source);
            assert!(message.contains(says), "{to}: {message}");
        }
        // A stated total beside a ratio cannot be checked, and says so.
        let source = PLAN_2024.replacen("quota: 16,", "ratio: \"12.5%\",", 1);
        let plan = evaluate("plan.rhai", &source, &ctx).expect("evaluates");
        let findings = check::check(&plan, &plan.strata(&ctx.snapshot), &ctx);
        assert!(
            findings.iter().any(|f| f.message.contains("drop `total`")),
            "{findings:?}"
        );
    }
}
