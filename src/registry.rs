//! The typed records of 一单两库: the item list (清单), the entity pool (检查对象名录库), the
//! officer pool (执法检查人员名录库), recusal declarations and municipal bureaus.
//!
//! Values here are already validated and canonical (codes, not labels): `import` makes them,
//! `store` keeps them, the rules and the draw read them.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Safety-production risk grading: 重大/较大/一般/低 (red/orange/yellow/blue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    Red,
    Orange,
    Yellow,
    Blue,
}

impl RiskLevel {
    pub const ALL: [RiskLevel; 4] = [
        RiskLevel::Red,
        RiskLevel::Orange,
        RiskLevel::Yellow,
        RiskLevel::Blue,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RiskLevel::Red => "red",
            RiskLevel::Orange => "orange",
            RiskLevel::Yellow => "yellow",
            RiskLevel::Blue => "blue",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Red => "重大风险",
            RiskLevel::Orange => "较大风险",
            RiskLevel::Yellow => "一般风险",
            RiskLevel::Blue => "低风险",
        }
    }

    /// Accepts 重大/较大/一般/低 (with or without 风险) and red/orange/yellow/blue.
    pub fn parse(s: &str) -> Option<RiskLevel> {
        let s = s.trim();
        let s = s.strip_suffix("风险").unwrap_or(s);
        Some(match s.to_ascii_lowercase().as_str() {
            "重大" | "red" | "红" | "红色" => RiskLevel::Red,
            "较大" | "orange" | "橙" | "橙色" => RiskLevel::Orange,
            "一般" | "yellow" | "黄" | "黄色" => RiskLevel::Yellow,
            "低" | "blue" | "蓝" | "蓝色" => RiskLevel::Blue,
            _ => return None,
        })
    }
}

/// Whether an entity can be inspected at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityStatus {
    Active,
    Suspended,
    Closed,
}

impl EntityStatus {
    pub fn code(self) -> &'static str {
        match self {
            EntityStatus::Active => "active",
            EntityStatus::Suspended => "suspended",
            EntityStatus::Closed => "closed",
        }
    }

    /// Registry wordings: 正常/在业/存续/开业 → active; 停产/停业/歇业 → suspended;
    /// 注销/吊销/关闭/撤销 → closed. Empty means active (the column is optional).
    pub fn parse(s: &str) -> Option<EntityStatus> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "" | "正常" | "在业" | "存续" | "开业" | "在营" | "active" => {
                EntityStatus::Active
            }
            "停产" | "停业" | "歇业" | "停产整顿" | "suspended" => {
                EntityStatus::Suspended
            }
            "注销" | "吊销" | "关闭" | "撤销" | "已注销" | "已关闭" | "closed" => {
                EntityStatus::Closed
            }
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfficerStatus {
    Active,
    Inactive,
}

impl OfficerStatus {
    pub fn code(self) -> &'static str {
        match self {
            OfficerStatus::Active => "active",
            OfficerStatus::Inactive => "inactive",
        }
    }

    /// 在岗/正常/在职 → active; 离岗/停用/调离/退休/离职 → inactive. Empty means active.
    pub fn parse(s: &str) -> Option<OfficerStatus> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "" | "在岗" | "正常" | "在职" | "有效" | "active" => OfficerStatus::Active,
            "离岗" | "停用" | "调离" | "退休" | "离职" | "暂停" | "无效" | "inactive" => {
                OfficerStatus::Inactive
            }
            _ => return None,
        })
    }
}

/// 是/否 (also yes/no, true/false, 1/0, Y/N).
pub fn parse_yes_no(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "是" | "yes" | "y" | "true" | "1" => Some(true),
        "否" | "no" | "n" | "false" | "0" | "" => Some(false),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    pub uscc: String,
    pub name: String,
    pub sector: String,
    /// Municipal unit code (e.g. `4101`).
    pub city: String,
    pub county: Option<String>,
    pub risk: RiskLevel,
    pub scale: Option<String>,
    pub status: EntityStatus,
    /// Free flags used by pool filters (e.g. 一般检查单位, 中央企业一级子公司).
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Officer {
    /// 执法证号.
    pub id: String,
    pub name: String,
    /// Agency code.
    pub agency: String,
    /// Division code; partner-agency officers may have none.
    pub division: Option<String>,
    /// 处级干部: may be the responsible cadre of an inspection.
    pub cadre: bool,
    /// Municipal unit code of the officer's home city.
    pub home_city: Option<String>,
    pub expertise: Vec<String>,
    pub status: OfficerStatus,
    /// Last day the enforcement certificate is valid, when the registry records it.
    pub valid_until: Option<NaiveDate>,
    /// Where reminders for the inspections this officer leads go (optional).
    pub email: Option<String>,
}

/// A declared conflict of interest (回避): the officer never inspects the entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub officer_id: String,
    pub uscc: String,
    pub reason: String,
}

/// An inspection done outside suiji (重点检查, 专项检查, a complaint's follow-up…), imported so
/// that yearly caps on inspections per enterprise count it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutsideInspection {
    pub uscc: String,
    pub inspected_on: NaiveDate,
    /// What kind of inspection it was, as the department names it.
    pub kind: String,
    /// Who inspected (the department, a municipal bureau, another agency).
    pub body: String,
    /// The case or document number, if any.
    pub reference: Option<String>,
}

/// An inspection item of the 随机抽查事项清单.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub code: String,
    pub name: String,
    pub basis: String,
    pub object: String,
    pub body: String,
    pub method: String,
    pub frequency: String,
}

/// The emergency-management bureau of a municipal unit, addressee of 函告.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bureau {
    /// Municipal unit code.
    pub unit: String,
    pub name: String,
    pub email: String,
}

/// The registry as the plan and the draw see it: plain values, read once from the store.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Ascending by USCC.
    pub entities: crate::population::Population,
    /// Ascending by id.
    pub officers: Vec<Officer>,
    pub conflicts: Vec<Conflict>,
    pub items: Vec<Item>,
    pub bureaus: Vec<Bureau>,
    /// Date of each entity's latest inspection (for the look-back rule): the completion date of
    /// tasks that were inspected (whatever became of their draw).
    pub last_inspected: HashMap<String, NaiveDate>,
    /// (officer id, USCC) pairs of each year's completed inspections (for the "not the same
    /// officer as last year" rule), by plan year.
    pub team_pairs: HashMap<i64, HashSet<(String, String)>>,
    /// (plan, USCC) of every entity an official draw that stands has drawn, by plan year (at
    /// most once a year, across plans).
    pub drawn: HashMap<i64, Vec<(String, String)>>,
    /// How many inspections each entity had, by year: those imported as done outside suiji
    /// and suiji's own completed ones (by completion date), for yearly caps.
    pub inspections: HashMap<i32, HashMap<String, u32>>,
}

/// Counts one inspection of `uscc` on `day` in `Snapshot::inspections`' yearly counts.
pub fn count_inspection(
    counts: &mut HashMap<i32, HashMap<String, u32>>,
    uscc: String,
    day: NaiveDate,
) {
    *counts
        .entry(chrono::Datelike::year(&day))
        .or_default()
        .entry(uscc)
        .or_insert(0) += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_levels_in_both_vocabularies() {
        assert_eq!(RiskLevel::parse("重大"), Some(RiskLevel::Red));
        assert_eq!(RiskLevel::parse("较大风险"), Some(RiskLevel::Orange));
        assert_eq!(RiskLevel::parse(" Yellow "), Some(RiskLevel::Yellow));
        assert_eq!(RiskLevel::parse("低"), Some(RiskLevel::Blue));
        assert_eq!(RiskLevel::parse("中"), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(EntityStatus::parse("注销"), Some(EntityStatus::Closed));
        assert_eq!(EntityStatus::parse(""), Some(EntityStatus::Active));
        assert_eq!(EntityStatus::parse("倒闭了"), None);
        assert_eq!(OfficerStatus::parse("退休"), Some(OfficerStatus::Inactive));
        assert_eq!(parse_yes_no("是"), Some(true));
        assert_eq!(parse_yes_no("maybe"), None);
    }
}
