//! Settings: the shipped `config/suiji.toml` (compiled in, so a bare binary works), an optional
//! file given with `--config`, `SUIJI_<SECTION>__<KEY>` environment variables, then `--db`.
//!
//! Every layer is checked against one schema with `deny_unknown_fields`, so a misspelt key is an
//! error that names it instead of a setting that silently does nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::vocab::{Agency, AgencyRole, Division, Sector, Vocabulary};

/// The shipped configuration. It is both the documentation of every key and the defaults.
pub const SHIPPED: &str = include_str!("../config/suiji.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration file {path}: {source}")]
    File {
        path: PathBuf,
        source: config::ConfigError,
    },
    #[error("reading secret file {path}: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A value that must never reach a log: `Debug` and `Display` print a placeholder.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `given`, or else the first line of the file at `file` (none given: empty).
    fn given_or_read(given: &Secret, file: &str) -> Result<Secret, ConfigError> {
        if !given.is_empty() || file.is_empty() {
            return Ok(given.clone());
        }
        let path = PathBuf::from(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ConfigError::SecretFile { path, source })?;
        Ok(Secret::new(text.lines().next().unwrap_or("").trim()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"[redacted]\""
        })
    }
}

/// A database URL whose password (PostgreSQL URLs may carry one) is hidden when printed.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(url.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // scheme://user:password@host/... -> scheme://user:***@host/...
        let s = &self.0;
        if let Some(scheme_end) = s.find("://") {
            let rest = &s[scheme_end + 3..];
            if let Some(at) = rest.find('@') {
                let userinfo = &rest[..at];
                if let Some(colon) = userinfo.find(':') {
                    return write!(
                        f,
                        "{}{}:***{}",
                        &s[..scheme_end + 3],
                        &userinfo[..colon],
                        &rest[at..]
                    );
                }
            }
        }
        f.write_str(s)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub timezone: String,
    pub database: DatabaseSettings,
    pub public: PublicSettings,
    pub calendar: CalendarSettings,
    pub rules: RulesSettings,
    pub log: LogSettings,
    pub smtp: SmtpSettings,
    pub beacon: BeaconSettings,
    pub daemon: DaemonSettings,
    pub console: ConsoleSettings,
    pub notify: NotifySettings,
    pub regions: RegionSettings,
    pub registry: RegistrySettings,
    pub sectors: Vec<SectorEntry>,
    pub divisions: Vec<DivisionEntry>,
    pub agencies: Vec<AgencyEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSettings {
    pub dir: PathBuf,
    /// The result columns the public site shows (see `publish::site::ResultField`).
    pub result_fields: Vec<crate::publish::site::ResultField>,
    /// An RFC 3161 timestamp authority (HTTP URL) that stamps every head of the published
    /// histories; empty = none.
    #[serde(default)]
    pub timestamp_url: String,
    /// The authority's CA certificate (PEM): a token is kept only if it is signed under it.
    #[serde(default)]
    pub timestamp_ca: Option<PathBuf>,
    /// Years a published result stays public; 0 = for ever.
    pub retention_years: u32,
    /// The same for a natural person (个体工商户); 0 = as `retention_years`.
    pub retention_years_natural_person: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSettings {
    pub file: PathBuf,
    /// The plans the daemon runs together (a spring and an autumn round, a joint plan); empty:
    /// `file` alone.
    #[serde(default)]
    pub plans: Vec<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: String,
    pub username: String,
    pub password: Secret,
    pub password_file: String,
    pub from: String,
    /// The envelope's sender (MAIL FROM), where the relay wants another than `from`'s.
    pub envelope_from: String,
    /// PEM file of CAs trusted besides the system's (a department's own CA).
    pub ca_file: String,
    pub timeout_secs: u64,
}

impl SmtpSettings {
    /// The password from `password`, or else from the first line of `password_file`.
    pub fn resolved_password(&self) -> Result<Secret, ConfigError> {
        Secret::given_or_read(&self.password, &self.password_file)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    pub data_dir: PathBuf,
    pub http: String,
    /// The department's jobs, over every plan's tasks: cron with seconds, Asia/Shanghai.
    pub nightly: String,
    pub report: String,
    pub waiting_recheck_secs: u64,
    pub leader_poll_secs: u64,
    pub plan_handover_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Where `serve` serves the console; empty = off.
    pub listen: String,
    pub idle_minutes: u32,
    pub absolute_hours: u32,
    pub failures_per_login: u32,
    pub failures_per_address: u32,
    pub throttle_minutes: u32,
    pub behind_tls_proxy: bool,
    /// Working days after which a 函告 its bureau has not acknowledged is escalated to the
    /// administrators by the nightly check; 0 = never.
    pub acknowledge_within: u32,
    /// The largest file a division may attach to a task, in MiB.
    pub max_attachment_mib: u32,
    pub oidc: OidcSettings,
}

/// Single sign-on over OpenID Connect; off while `issuer` is empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub client_secret_file: String,
    /// The console's callback as the provider knows it: `https://HOST/login/sso/callback`.
    pub redirect_url: String,
    /// PEM file of CAs trusted besides the system's, for the provider.
    pub ca_file: String,
    /// The login page's button.
    pub label: String,
}

impl OidcSettings {
    pub fn enabled(&self) -> bool {
        !self.issuer.is_empty()
    }

    /// The client secret from `client_secret`, or else from the first line of
    /// `client_secret_file`.
    pub fn secret(&self) -> Result<Secret, ConfigError> {
        Secret::given_or_read(&self.client_secret, &self.client_secret_file)
    }

    pub fn tls(&self) -> Result<ureq::tls::TlsConfig, crate::tls::TlsError> {
        Ok(crate::tls::trust("console.oidc.ca_file", &self.ca_file)?.ureq())
    }
}

impl ConsoleSettings {
    pub fn sessions(&self) -> crate::accounts::SessionPolicy {
        crate::accounts::SessionPolicy {
            idle: chrono::Duration::minutes(i64::from(self.idle_minutes.max(1))),
            absolute: chrono::Duration::hours(i64::from(self.absolute_hours.max(1))),
        }
    }
    pub fn throttle(&self) -> crate::accounts::Throttle {
        crate::accounts::Throttle {
            per_login: self.failures_per_login.max(1),
            per_address: self.failures_per_address.max(1),
            window: chrono::Duration::minutes(i64::from(self.throttle_minutes.max(1))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconSettings {
    pub relays: Vec<String>,
    pub timeout_secs: u64,
    pub attempts: u32,
    pub ca_file: String,
}

impl BeaconSettings {
    pub fn relays(&self) -> Result<crate::beacon::Relays, crate::tls::TlsError> {
        Ok(crate::beacon::Relays {
            urls: self.relays.clone(),
            timeout: std::time::Duration::from_secs(self.timeout_secs.max(1)),
            attempts: self.attempts.max(1),
            backoff: std::time::Duration::from_secs(2),
            tls: self.tls()?,
        })
    }

    /// The trust for HTTPS requests: the beacon relays and the timestamp authority.
    pub fn tls(&self) -> Result<ureq::tls::TlsConfig, crate::tls::TlsError> {
        Ok(crate::tls::trust("beacon.ca_file", &self.ca_file)?.ureq())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySettings {
    /// The form of a 执法证号: `#` a digit, `A` a capital letter, anything else itself; empty
    /// accepts any form. Full-width characters are folded before the check.
    pub officer_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSettings {
    pub include_airport_zone: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectorEntry {
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DivisionEntry {
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Where the division's notices go (assignments, reminders, escalations).
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// The letters' templates (a file that fails to load is refused; the last good one stays).
    pub templates: PathBuf,
    /// Administrators: "Name <address>" or bare addresses.
    pub admin: Vec<String>,
    /// Witnesses outside the department ("Name <address>" or bare addresses): each is sent a
    /// receipt of every freeze, draw and void the public history records.
    #[serde(default)]
    pub witnesses: Vec<String>,
    /// The division that tracks enforcement: copied on escalations, sent the monthly report.
    pub tracker: String,
    /// Whom a bureau or division contacts about a notice, as the letters say it.
    pub contact: String,
    /// Where the public files are for the public (the portal's address), for the letters.
    pub public_url: String,
    /// Delivery attempts before a notice is marked failed.
    pub max_attempts: u32,
    /// SMTP sessions a delivery round keeps open at once (each at most one message delivered
    /// and not yet marked, the most a crash can make arrive twice).
    pub sessions: u32,
    /// How long a 函告 queued by `task schedule` or `task correct` is held before it goes: a
    /// date changed, or another inspection of the same bureau scheduled, within that time
    /// makes one letter with the last dates instead of several.
    pub hold_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyEntry {
    pub code: String,
    pub label: String,
    pub role: AgencyRole,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// Where settings come from, besides the shipped defaults.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub file: Option<PathBuf>,
    pub database_url: Option<String>,
    /// Environment variables to read; `None` reads the process environment.
    pub env: Option<BTreeMap<String, String>>,
}

/// `SUIJI_*` variables that are not settings.
const NOT_SETTINGS: [&str; 2] = [crate::failpoint::VAR, "SUIJI_ACTOR"];

impl Settings {
    /// The shipped defaults alone, whatever the environment says (tests, benchmarks, demos).
    pub fn shipped() -> Result<Settings, ConfigError> {
        Settings::load(&Overrides {
            env: Some(BTreeMap::new()),
            ..Overrides::default()
        })
    }

    pub fn load(overrides: &Overrides) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(SHIPPED, config::FileFormat::Toml));
        if let Some(path) = &overrides.file {
            if !path.exists() {
                return Err(ConfigError::File {
                    path: path.clone(),
                    source: config::ConfigError::Message("file not found".into()),
                });
            }
            builder = builder.add_source(config::File::from(path.as_path()));
        }
        let mut env = config::Environment::with_prefix("SUIJI")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true);
        // Variables that name no setting: the acting person and the crash tests' failpoint.
        let vars: config::Map<String, String> = match &overrides.env {
            Some(vars) => vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            None => std::env::vars().collect(),
        };
        env = env.source(Some(
            vars.into_iter()
                .filter(|(k, _)| !NOT_SETTINGS.contains(&k.as_str()))
                .collect(),
        ));
        builder = builder.add_source(env);
        if let Some(url) = &overrides.database_url {
            builder = builder
                .set_override("database.url", url.as_str())
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError::Invalid(with_origin(e.to_string(), overrides)))?;
        settings.validate()?;
        Ok(settings)
    }

    /// The sections that differ from `other`, for the reload's log line (names only: values
    /// may be secrets).
    pub fn changes(&self, other: &Settings) -> Vec<&'static str> {
        let d = |x: &dyn fmt::Debug| format!("{x:?}");
        let sections: [(&'static str, String, String); 15] = [
            ("timezone", d(&self.timezone), d(&other.timezone)),
            ("database", d(&self.database), d(&other.database)),
            ("public", d(&self.public), d(&other.public)),
            ("calendar", d(&self.calendar), d(&other.calendar)),
            ("rules", d(&self.rules), d(&other.rules)),
            ("log", d(&self.log), d(&other.log)),
            ("smtp", d(&self.smtp), d(&other.smtp)),
            ("beacon", d(&self.beacon), d(&other.beacon)),
            ("daemon", d(&self.daemon), d(&other.daemon)),
            ("notify", d(&self.notify), d(&other.notify)),
            ("regions", d(&self.regions), d(&other.regions)),
            ("registry", d(&self.registry), d(&other.registry)),
            ("sectors", d(&self.sectors), d(&other.sectors)),
            ("divisions", d(&self.divisions), d(&other.divisions)),
            ("agencies", d(&self.agencies), d(&other.agencies)),
        ];
        let mut out: Vec<&'static str> = sections
            .into_iter()
            .filter(|(_, a, b)| a != b)
            .map(|(name, _, _)| name)
            .collect();
        // A changed password prints the same placeholder.
        if self.smtp.password != other.smtp.password && !out.contains(&"smtp") {
            out.push("smtp");
        }
        out
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (key, expr) in [
            ("daemon.nightly", &self.daemon.nightly),
            ("daemon.report", &self.daemon.report),
        ] {
            crate::rules::cron(expr).map_err(|e| {
                ConfigError::Invalid(format!(
                    "{key}: `{}` is not a cron expression with seconds: {e}",
                    crate::text::quote(expr)
                ))
            })?;
        }
        if self.timezone != "Asia/Shanghai" {
            return Err(ConfigError::Invalid(format!(
                "timezone: `{}` is not supported: the law's days are Beijing days, set \"Asia/Shanghai\"",
                self.timezone
            )));
        }
        for d in &self.divisions {
            if let Some(e) = &d.email
                && e.parse::<lettre::Address>().is_err()
            {
                return Err(ConfigError::Invalid(format!(
                    "divisions `{}`: email `{}` is not an address",
                    d.code,
                    crate::text::quote(e)
                )));
            }
        }
        for w in &self.notify.witnesses {
            if crate::notify::Mailbox::parse(w).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "notify.witnesses: `{}` is not an address (\"Name <address>\" or a bare address)",
                    crate::text::quote(w)
                )));
            }
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.max_connections: must be at least 1".into(),
            ));
        }
        self.vocabulary().map(|_| ())
    }

    /// The sector, division and agency vocabularies, checked for duplicate codes and labels.
    pub fn vocabulary(&self) -> Result<Vocabulary, ConfigError> {
        Vocabulary::new(
            self.sectors
                .iter()
                .map(|s| Sector {
                    code: s.code.clone(),
                    label: s.label.clone(),
                    aliases: s.aliases.clone(),
                })
                .collect(),
            self.divisions
                .iter()
                .map(|d| Division {
                    code: d.code.clone(),
                    label: d.label.clone(),
                    aliases: d.aliases.clone(),
                })
                .collect(),
            self.agencies
                .iter()
                .map(|a| Agency {
                    code: a.code.clone(),
                    label: a.label.clone(),
                    role: a.role,
                    aliases: a.aliases.clone(),
                })
                .collect(),
            self.regions.include_airport_zone,
        )
        .map(|mut v| {
            v.officer_id = self.registry.officer_id.clone();
            v
        })
        .map_err(ConfigError::Invalid)
    }

    pub fn public_dir(&self) -> &Path {
        &self.public.dir
    }
}

/// `config` names the unknown key but not where it came from; point at the env var if one
/// of them spells it.
fn with_origin(message: String, overrides: &Overrides) -> String {
    let Some(field) = message
        .split("unknown field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
    else {
        return message;
    };
    let vars: Vec<String> = match &overrides.env {
        Some(vars) => vars.keys().cloned().collect(),
        None => std::env::vars().map(|(k, _)| k).collect(),
    };
    let from_env = vars.into_iter().find(|k| {
        k.strip_prefix("SUIJI_").is_some_and(|key| {
            key.rsplit("__").next().map(str::to_lowercase).as_deref() == Some(field)
        })
    });
    match from_env {
        Some(var) => format!("{message} (from environment variable {var})"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::load(&Overrides {
            env: Some(
                env.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        })
    }

    #[test]
    fn shipped_defaults_are_the_embedded_setup() {
        let s = load(&[]).expect("shipped config");
        assert_eq!(s.database.url.expose(), "sqlite://data/suiji.db");
        assert_eq!(s.timezone, "Asia/Shanghai");
    }

    #[test]
    fn env_overrides_nest_with_double_underscore() {
        let s = load(&[
            ("SUIJI_DATABASE__MAX_CONNECTIONS", "2"),
            ("SUIJI_SMTP__PASSWORD", "s3cret-value"),
        ])
        .expect("valid");
        assert_eq!(s.database.max_connections, 2);
        assert_eq!(s.smtp.password.expose(), "s3cret-value");
        assert!(
            !format!("{s:?}").contains("s3cret-value"),
            "secret in Debug"
        );
    }

    #[test]
    fn unknown_env_key_is_named() {
        let e = load(&[("SUIJI_DATABASE__URI", "x")]).expect_err("unknown");
        let msg = e.to_string();
        assert!(msg.contains("unknown field `uri`"), "{msg}");
        assert!(msg.contains("SUIJI_DATABASE__URI"), "{msg}");
    }

    #[test]
    fn other_time_zones_are_refused() {
        let e = load(&[("SUIJI_TIMEZONE", "UTC")]).expect_err("refused");
        assert!(e.to_string().contains("Asia/Shanghai"));
    }

    #[test]
    fn database_password_is_masked() {
        let u = DatabaseUrl::new("postgres://suiji:pa55@db.internal:5432/suiji");
        assert_eq!(u.to_string(), "postgres://suiji:***@db.internal:5432/suiji");
        assert!(!format!("{u:?}").contains("pa55"));
    }
}
