//! Console accounts as values: the roles and what each may see and do, passwords (Argon2id),
//! session tokens, and the session and login-throttling policies. No IO: the store keeps
//! accounts, sessions (by the SHA-256 of their token) and failed logins; `ops::accounts`
//! joins them; `console` serves them.

use chrono::{DateTime, Duration};
use chrono_tz::Tz;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(crate::text::Refusal),
    #[error("the operating system's random source: {0}")]
    Random(String),
    #[error("hashing the password: {0}")]
    Hash(String),
}

/// What an account may do. A division or bureau account is scoped (see [`Account::scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, and the jobs, the outbox, the seed and the accounts.
    Admin,
    /// Its own division's tasks: reads them and records their facts.
    Division,
    /// The inspections in its municipal unit and the 函告 it received; acknowledges them.
    Bureau,
    /// Reads everything, changes nothing.
    Auditor,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Division => "division",
            Role::Bureau => "bureau",
            Role::Auditor => "auditor",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "division" => Role::Division,
            "bureau" => Role::Bureau,
            "auditor" => Role::Auditor,
            _ => return None,
        })
    }
    /// As the console says it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Division => "业务处室",
            Role::Bureau => "市级应急管理局",
            Role::Auditor => "审计（只读）",
        }
    }
    /// Whether the role is scoped to a division code or a municipal unit.
    pub fn scoped(self) -> bool {
        matches!(self, Role::Division | Role::Bureau)
    }
}

/// An account as the console acts for it.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role: Role,
    /// A division account's division code, a bureau account's municipal unit (its code's
    /// first four digits, or the unit as the bureau list names it).
    pub scope: Option<String>,
    pub disabled: bool,
}

impl Account {
    /// Whether the account may read a task of `division` in municipal unit `city`.
    pub fn may_read_task(&self, division: &str, city: &str) -> bool {
        match self.role {
            Role::Admin | Role::Auditor => true,
            Role::Division => self.scope.as_deref() == Some(division),
            Role::Bureau => self.scope.as_deref().is_some_and(|u| in_unit(city, u)),
        }
    }
    /// Whether it may record a task's facts: only the division that inspects (谁检查谁录入),
    /// and the administrators.
    pub fn may_record_task(&self, division: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Division => self.scope.as_deref() == Some(division),
            Role::Bureau | Role::Auditor => false,
        }
    }
    /// The audit log's name for what this account records.
    pub fn actor(&self) -> String {
        format!("console:{}", self.login)
    }
}

/// Whether a task's municipal unit (a 4- or 6-digit code) lies in `unit`.
pub fn in_unit(city: &str, unit: &str) -> bool {
    !unit.is_empty() && (city == unit || (unit.len() == 4 && city.starts_with(unit)))
}

/// A login name: 2 to 64 letters, digits, `.`, `-` or `_` (it is printed and logged).
pub fn check_login(login: &str) -> Result<(), AccountError> {
    let ok = (2..=64).contains(&login.chars().count())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        let login = crate::text::quote(login);
        Err(AccountError::Invalid(crate::text::Refusal::new(
            format!("login `{login}`: use 2 to 64 letters, digits, `.`, `-` or `_`"),
            format!("用户名“{login}”：请用 2 到 64 个字母、数字、“.”、“-”或“_”"),
        )))
    }
}

/// Passwords are at least 12 characters (NIST SP 800-63B's floor is 8; a console on a
/// government network asks more) and at most 256.
pub fn check_password(password: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if n < 12 {
        return Err(AccountError::Invalid(crate::text::Refusal::new(
            format!("the password has {n} characters: at least 12 are needed"),
            format!("密码只有 {n} 个字符：至少需要 12 个"),
        )));
    }
    if n > 256 {
        return Err(AccountError::Invalid(crate::text::Refusal::new(
            "the password is longer than 256 characters",
            "密码超过 256 个字符",
        )));
    }
    Ok(())
}

/// The password's Argon2id hash (PHC string, the crate's default cost: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches `hash` (a stored PHC string; a malformed one matches nothing).
pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to verify against when the login does not exist, so that a wrong login takes as
/// long as a wrong password and does not tell which logins exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password never used").unwrap_or_default())
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AccountError> {
    use rand::TryRng;
    let mut bytes = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| AccountError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A new secret token (a session's, a CSRF token, a generated password): 32 random bytes,
/// hex.
pub fn token() -> Result<String, AccountError> {
    Ok(crate::audit::hex(&random_bytes::<32>()?))
}

/// What the store keeps of a session token.
pub fn token_digest(token: &str) -> String {
    use sha2::Digest;
    crate::audit::hex(&sha2::Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// How long a session lives.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Without a request for this long, the session ends.
    pub idle: Duration,
    /// Whatever happens, a session ends this long after its login.
    pub absolute: Duration,
}

impl SessionPolicy {
    pub fn alive(&self, created: DateTime<Tz>, last_seen: DateTime<Tz>, now: DateTime<Tz>) -> bool {
        now < created + self.absolute && now < last_seen + self.idle
    }
}

/// When logins are refused for a while: too many failures for one login, or from one
/// address, within the window.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub per_login: u32,
    pub per_address: u32,
    pub window: Duration,
}

impl Throttle {
    /// Whether a login is refused, given the failures within the window.
    pub fn refuses(&self, for_login: u32, from_address: u32) -> bool {
        for_login >= self.per_login || from_address >= self.per_address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(role: Role, scope: Option<&str>) -> Account {
        Account {
            id: 1,
            login: "a".into(),
            name: "a".into(),
            role,
            scope: scope.map(String::from),
            disabled: false,
        }
    }

    #[test]
    fn each_role_sees_its_own() {
        let div = account(Role::Division, Some("hazchem"));
        assert!(div.may_read_task("hazchem", "4101"));
        assert!(!div.may_read_task("noncoal", "4101"));
        assert!(div.may_record_task("hazchem"));
        assert!(!div.may_record_task("noncoal"));
        let bureau = account(Role::Bureau, Some("4101"));
        assert!(bureau.may_read_task("noncoal", "410102"));
        assert!(!bureau.may_read_task("noncoal", "4102"));
        assert!(!bureau.may_record_task("noncoal"));
        // A look-alike scope never matches by prefix but for a 4-digit unit.
        assert!(!account(Role::Bureau, Some("41")).may_read_task("x", "4101"));
        assert!(!account(Role::Bureau, Some("")).may_read_task("x", "4101"));
        assert!(!account(Role::Division, None).may_read_task("", ""));
        let auditor = account(Role::Auditor, None);
        assert!(auditor.may_read_task("any", "any"));
        assert!(!auditor.may_record_task("any"));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(h, hash_password("correct horse battery").expect("hash"));
        assert!(check_password("short").is_err());
        assert!(check_password("twelve chars").is_ok());
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let t = |h: i64| {
            chrono::TimeZone::with_ymd_and_hms(&chrono_tz::Asia::Shanghai, 2026, 1, 5, 8, 0, 0)
                .single()
                .expect("time")
                + Duration::minutes(h)
        };
        let p = SessionPolicy {
            idle: Duration::minutes(30),
            absolute: Duration::minutes(600),
        };
        assert!(p.alive(t(0), t(0), t(29)));
        assert!(!p.alive(t(0), t(0), t(30)));
        assert!(p.alive(t(0), t(580), t(599)));
        assert!(!p.alive(t(0), t(590), t(600)));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert_eq!(token().expect("token").len(), 64);
        assert_eq!(token_digest("a").len(), 64);
    }
}
