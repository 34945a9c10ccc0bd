//! The words the registry is allowed to use: sectors, divisions and agencies (from config),
//! and Henan's municipal units (fixed by the administrative map, so they live here).
//!
//! Every lookup accepts a code, the Chinese label or an alias, trimmed, and answers with the
//! canonical code that the store and the rules use.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize)]
pub struct Sector {
    pub code: String,
    pub label: String,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Division {
    pub code: String,
    pub label: String,
    pub aliases: Vec<String>,
}

/// The department runs the plan; partner agencies join its teams (联合检查).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgencyRole {
    Department,
    Partner,
}

#[derive(Debug, Clone, Serialize)]
pub struct Agency {
    pub code: String,
    pub label: String,
    pub role: AgencyRole,
    pub aliases: Vec<String>,
}

/// A municipal unit (省辖市, 济源示范区, optionally 航空港区) with its administrative code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub code: &'static str,
    pub name: &'static str,
    /// Other spellings found in registries besides `name` and `name` + 市.
    pub aliases: &'static [&'static str],
}

/// Henan's 17 prefecture-level cities and the Jiyuan demonstration zone.
pub const HENAN_UNITS: [Unit; 18] = [
    unit("4101", "郑州", &[]),
    unit("4102", "开封", &[]),
    unit("4103", "洛阳", &[]),
    unit("4104", "平顶山", &[]),
    unit("4105", "安阳", &[]),
    unit("4106", "鹤壁", &[]),
    unit("4107", "新乡", &[]),
    unit("4108", "焦作", &[]),
    unit("4109", "濮阳", &[]),
    unit("4110", "许昌", &[]),
    unit("4111", "漯河", &[]),
    unit("4112", "三门峡", &[]),
    unit("4113", "南阳", &[]),
    unit("4114", "商丘", &[]),
    unit("4115", "信阳", &[]),
    unit("4116", "周口", &[]),
    unit("4117", "驻马店", &[]),
    unit("4190", "济源", &["济源示范区", "济源产城融合示范区"]),
];

/// 郑州航空港经济综合实验区: part of Zhengzhou that the department addresses as its own unit.
pub const AIRPORT_ZONE: Unit = unit(
    "410173",
    "航空港区",
    &[
        "郑州航空港区",
        "郑州航空港经济综合实验区",
        "航空港经济综合实验区",
    ],
);

const fn unit(code: &'static str, name: &'static str, aliases: &'static [&'static str]) -> Unit {
    Unit {
        code,
        name,
        aliases,
    }
}

#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub sectors: Vec<Sector>,
    pub divisions: Vec<Division>,
    pub agencies: Vec<Agency>,
    pub units: Vec<Unit>,
    sector_index: HashMap<String, usize>,
    division_index: HashMap<String, usize>,
    agency_index: HashMap<String, usize>,
    unit_index: HashMap<String, usize>,
    /// The form of an officer's 执法证号 (`text::fits_mask`: `#` a digit, `A` a capital); empty
    /// accepts any.
    pub officer_id: String,
}

/// Builds a name → position index, refusing two entries that answer to the same name.
fn index<'a>(
    what: &str,
    entries: impl Iterator<Item = (&'a str, Vec<&'a str>)>,
) -> Result<HashMap<String, usize>, String> {
    let mut map = HashMap::new();
    for (i, (code, names)) in entries.enumerate() {
        for name in names {
            let key = name.trim().to_string();
            if key.is_empty() {
                return Err(format!("{what} `{code}`: empty label or alias"));
            }
            if let Some(prev) = map.insert(key.clone(), i)
                && prev != i
            {
                return Err(format!(
                    "{what} `{code}`: the name `{key}` is already used by another {what}"
                ));
            }
        }
    }
    Ok(map)
}

impl Vocabulary {
    pub fn new(
        sectors: Vec<Sector>,
        divisions: Vec<Division>,
        agencies: Vec<Agency>,
        include_airport_zone: bool,
    ) -> Result<Vocabulary, String> {
        let mut units = HENAN_UNITS.to_vec();
        if include_airport_zone {
            units.push(AIRPORT_ZONE);
        }
        let sector_index = index(
            "sector",
            sectors.iter().map(|s| {
                let mut n = vec![s.code.as_str(), s.label.as_str()];
                n.extend(s.aliases.iter().map(String::as_str));
                (s.code.as_str(), n)
            }),
        )?;
        let division_index = index(
            "division",
            divisions.iter().map(|d| {
                let mut n = vec![d.code.as_str(), d.label.as_str()];
                n.extend(d.aliases.iter().map(String::as_str));
                (d.code.as_str(), n)
            }),
        )?;
        let agency_index = index(
            "agency",
            agencies.iter().map(|a| {
                let mut n = vec![a.code.as_str(), a.label.as_str()];
                n.extend(a.aliases.iter().map(String::as_str));
                (a.code.as_str(), n)
            }),
        )?;
        if agencies
            .iter()
            .filter(|a| a.role == AgencyRole::Department)
            .count()
            != 1
        {
            return Err("agencies: exactly one agency must have role = \"department\"".into());
        }
        let unit_names: Vec<(String, Vec<String>)> = units
            .iter()
            .map(|u| {
                let mut n = vec![
                    u.code.to_string(),
                    u.name.to_string(),
                    format!("{}市", u.name),
                ];
                n.extend(u.aliases.iter().map(|a| a.to_string()));
                (u.code.to_string(), n)
            })
            .collect();
        let unit_index = index(
            "unit",
            unit_names
                .iter()
                .map(|(c, n)| (c.as_str(), n.iter().map(String::as_str).collect())),
        )?;
        Ok(Vocabulary {
            sectors,
            divisions,
            agencies,
            units,
            sector_index,
            division_index,
            agency_index,
            unit_index,
            officer_id: String::new(),
        })
    }

    pub fn sector(&self, name: &str) -> Option<&Sector> {
        self.sector_index
            .get(name.trim())
            .map(|&i| &self.sectors[i])
    }
    pub fn division(&self, name: &str) -> Option<&Division> {
        self.division_index
            .get(name.trim())
            .map(|&i| &self.divisions[i])
    }
    pub fn agency(&self, name: &str) -> Option<&Agency> {
        self.agency_index
            .get(name.trim())
            .map(|&i| &self.agencies[i])
    }
    pub fn unit(&self, name: &str) -> Option<&Unit> {
        self.unit_index.get(name.trim()).map(|&i| &self.units[i])
    }
    pub fn department(&self) -> &Agency {
        // `new` guarantees exactly one.
        self.agencies
            .iter()
            .find(|a| a.role == AgencyRole::Department)
            .unwrap_or(&self.agencies[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn vocab() -> Vocabulary {
        Settings::shipped()
            .expect("shipped config loads")
            .vocabulary()
            .expect("shipped vocabulary is consistent")
    }

    #[test]
    fn cities_with_or_without_suffix() {
        let v = vocab();
        assert_eq!(v.unit("郑州").map(|u| u.code), Some("4101"));
        assert_eq!(v.unit(" 郑州市 ").map(|u| u.code), Some("4101"));
        assert_eq!(v.unit("济源示范区").map(|u| u.code), Some("4190"));
        assert_eq!(v.unit("济源").map(|u| u.code), Some("4190"));
        assert_eq!(v.unit("航空港区").map(|u| u.code), Some("410173"));
        assert_eq!(v.unit("武汉"), None);
        assert_eq!(v.units.len(), 19);
    }

    #[test]
    fn shipped_sectors_cover_the_plan() {
        let v = vocab();
        for label in [
            "非煤矿山",
            "危险化学品",
            "化工",
            "医药",
            "工贸",
            "中央驻豫企业",
            "省管企业",
            "安全评价机构",
            "安全生产检测检验机构",
            "安全培训机构",
        ] {
            assert!(v.sector(label).is_some(), "sector {label}");
        }
        for label in [
            "非煤矿山安全监督处",
            "危险化学品监督管理处",
            "工贸行业安全监督处",
            "安全生产执法局",
            "政策法规处",
        ] {
            assert!(v.division(label).is_some(), "division {label}");
        }
        assert_eq!(
            v.agency("河南省市场监督管理局").map(|a| a.role),
            Some(AgencyRole::Partner)
        );
    }
}
