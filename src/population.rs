//! The sampling frame: every entity as the plan's pools and the draw need it, and nothing more.
//!
//! A registry of a province's market entities runs to millions of rows, and a full `Entity`
//! with its strings costs over a kilobyte. Here an entity costs about 30 bytes: its USCC as 18
//! bytes, sector, city and tags as small indices into tables of the distinct values, risk and
//! status as one byte each. Names, counties and scales are not held; the few entities a draw
//! selects are read back from the store.

use std::collections::HashMap;

use crate::plan::Filter;
use crate::registry::{Entity, EntityStatus, RiskLevel};

/// Distinct values, each with its small index.
#[derive(Debug, Clone, Default)]
struct Interner {
    names: Vec<String>,
    index: HashMap<String, u16>,
}

impl Interner {
    fn id(&mut self, name: &str) -> Result<u16, String> {
        // Sectors, cities and tags run to a few dozen values each: comparing with each is
        // cheaper than hashing, a million times over.
        if self.names.len() <= 32 {
            if let Some(i) = self.names.iter().position(|n| n == name) {
                return Ok(i as u16);
            }
        } else if let Some(&i) = self.index.get(name) {
            return Ok(i);
        }
        let i = u16::try_from(self.names.len())
            .map_err(|_| format!("more than 65,536 distinct values (at `{name}`)"))?;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        Ok(i)
    }

    /// Which of the table's values are among `names` (None: no restriction).
    fn mask(&self, names: &[String]) -> Option<Vec<bool>> {
        (!names.is_empty()).then(|| self.names.iter().map(|n| names.contains(n)).collect())
    }
}

/// Entities in ascending USCC order; entity `i` is the `i`-th.
#[derive(Debug, Clone, Default)]
pub struct Population {
    uscc: Vec<[u8; 18]>,
    sector: Vec<u16>,
    city: Vec<u16>,
    risk: Vec<RiskLevel>,
    status: Vec<EntityStatus>,
    /// Entity `i`'s tags are `tag_ids[tag_start[i]..tag_start[i + 1]]`.
    tag_start: Vec<u32>,
    tag_ids: Vec<u16>,
    sectors: Interner,
    cities: Interner,
    tags: Interner,
}

impl Population {
    /// Appends an entity. USCCs may come in any order (a database's collation may not be byte
    /// order): [`Population::finish`] puts them in order.
    pub fn push<'a>(
        &mut self,
        uscc: &str,
        sector: &str,
        city: &str,
        risk: RiskLevel,
        status: EntityStatus,
        tags: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), String> {
        let key: [u8; 18] = uscc
            .as_bytes()
            .try_into()
            .ok()
            .filter(|k: &[u8; 18]| k.is_ascii())
            .ok_or_else(|| {
                format!(
                    "USCC `{}` is not 18 ASCII characters",
                    crate::text::quote(uscc)
                )
            })?;
        if self.tag_start.is_empty() {
            self.tag_start.push(0);
        }
        self.sector.push(self.sectors.id(sector)?);
        self.city.push(self.cities.id(city)?);
        for t in tags {
            let id = self.tags.id(t)?;
            self.tag_ids.push(id);
        }
        let end = u32::try_from(self.tag_ids.len()).map_err(|_| "too many tags".to_string())?;
        self.tag_start.push(end);
        self.uscc.push(key);
        self.risk.push(risk);
        self.status.push(status);
        Ok(())
    }

    /// Puts the entities in ascending USCC order (a no-op when they came that way) and refuses
    /// a USCC given twice.
    pub fn finish(mut self) -> Result<Population, String> {
        if self.uscc.windows(2).any(|w| w[0] >= w[1]) {
            let mut order: Vec<u32> = (0..self.len() as u32).collect();
            order.sort_by(|&a, &b| self.uscc[a as usize].cmp(&self.uscc[b as usize]));
            if let Some(d) = order
                .windows(2)
                .find(|w| self.uscc[w[0] as usize] == self.uscc[w[1] as usize])
            {
                return Err(format!("USCC {} appears twice", self.uscc(d[0])));
            }
            let pick = |v: &[u16]| order.iter().map(|&i| v[i as usize]).collect::<Vec<u16>>();
            let mut tag_start = vec![0u32];
            let mut tag_ids = Vec::with_capacity(self.tag_ids.len());
            for &i in &order {
                let (a, b) = (self.tag_start[i as usize], self.tag_start[i as usize + 1]);
                tag_ids.extend_from_slice(&self.tag_ids[a as usize..b as usize]);
                tag_start.push(tag_ids.len() as u32);
            }
            self.sector = pick(&self.sector);
            self.city = pick(&self.city);
            self.risk = order.iter().map(|&i| self.risk[i as usize]).collect();
            self.status = order.iter().map(|&i| self.status[i as usize]).collect();
            self.uscc = order.iter().map(|&i| self.uscc[i as usize]).collect();
            self.tag_start = tag_start;
            self.tag_ids = tag_ids;
        }
        Ok(self)
    }

    /// The frame of a list of full entities (tests, the demo).
    pub fn of(entities: &[Entity]) -> Result<Population, String> {
        let mut p = Population::default();
        for e in entities {
            p.push(
                &e.uscc,
                &e.sector,
                &e.city,
                e.risk,
                e.status,
                e.tags.iter().map(String::as_str),
            )?;
        }
        p.finish()
    }

    pub fn len(&self) -> usize {
        self.uscc.len()
    }

    pub fn is_empty(&self) -> bool {
        self.uscc.is_empty()
    }

    pub fn uscc(&self, i: u32) -> &str {
        // `push` only stores ASCII.
        std::str::from_utf8(&self.uscc[i as usize]).unwrap_or_default()
    }

    pub fn city(&self, i: u32) -> &str {
        &self.cities.names[self.city[i as usize] as usize]
    }

    pub fn risk(&self, i: u32) -> RiskLevel {
        self.risk[i as usize]
    }

    /// The position of an entity by its USCC.
    pub fn find(&self, uscc: &str) -> Option<u32> {
        let key: &[u8] = uscc.as_bytes();
        self.uscc
            .binary_search_by(|k| k.as_slice().cmp(key))
            .ok()
            .map(|i| i as u32)
    }

    /// A filter compiled against this frame's tables: each test is an array lookup.
    pub fn matcher(&self, f: &Filter) -> Matcher {
        Matcher {
            sectors: self.sectors.mask(&f.sectors),
            cities: self.cities.mask(&f.cities),
            statuses: f.statuses.clone(),
            risks: f.risks.clone(),
            tags_any: self.tags.mask(&f.tags_any),
            tags_none: self.tags.mask(&f.tags_none),
        }
    }

    /// How many entities `f` selects.
    pub fn count(&self, f: &Filter) -> usize {
        let m = self.matcher(f);
        (0..self.len() as u32)
            .filter(|&i| m.matches(self, i))
            .count()
    }

    /// Positions of the entities `f` selects, ascending.
    pub fn select(&self, f: &Filter) -> Vec<u32> {
        let m = self.matcher(f);
        (0..self.len() as u32)
            .filter(|&i| m.matches(self, i))
            .collect()
    }
}

pub struct Matcher {
    sectors: Option<Vec<bool>>,
    cities: Option<Vec<bool>>,
    statuses: Vec<EntityStatus>,
    risks: Vec<RiskLevel>,
    tags_any: Option<Vec<bool>>,
    tags_none: Option<Vec<bool>>,
}

impl Matcher {
    /// `Filter::matches` for entity `i`.
    pub fn matches(&self, p: &Population, i: u32) -> bool {
        let i = i as usize;
        let tags = &p.tag_ids[p.tag_start[i] as usize..p.tag_start[i + 1] as usize];
        let has = |mask: &Vec<bool>| tags.iter().any(|&t| mask[t as usize]);
        self.sectors
            .as_ref()
            .is_none_or(|m| m[p.sector[i] as usize])
            && (self.statuses.is_empty() || self.statuses.contains(&p.status[i]))
            && (self.risks.is_empty() || self.risks.contains(&p.risk[i]))
            && self.cities.as_ref().is_none_or(|m| m[p.city[i] as usize])
            && self.tags_any.as_ref().is_none_or(has)
            && !self.tags_none.as_ref().is_some_and(has)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::EntityStatus;

    fn entity(uscc: &str, sector: &str, city: &str, risk: RiskLevel, tags: &[&str]) -> Entity {
        Entity {
            uscc: uscc.into(),
            name: "x".into(),
            sector: sector.into(),
            city: city.into(),
            county: None,
            risk,
            scale: None,
            status: EntityStatus::Active,
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    /// The compiled matcher agrees with `Filter::matches` on every entity and filter.
    #[test]
    fn compact_filters_agree_with_full_entities() {
        use RiskLevel::*;
        let all = vec![
            entity(
                "91410100000000000B",
                "noncoal_mine",
                "4101",
                Red,
                &["一般检查单位"],
            ),
            entity("91410100000000000A", "hazchem", "4102", Blue, &[]),
            entity(
                "91410100000000000C",
                "noncoal_mine",
                "4103",
                Orange,
                &["重点", "一般检查单位"],
            ),
            entity(
                "91410100000000000D",
                "industry_trade",
                "4101",
                Yellow,
                &["重点"],
            ),
        ];
        let p = Population::of(&all).expect("frame");
        assert_eq!(p.len(), 4);
        assert_eq!(p.uscc(0), "91410100000000000A");
        assert_eq!(p.find("91410100000000000C"), Some(2));
        assert_eq!(p.find("91410100000000000Z"), None);
        let filters = [
            Filter::default(),
            Filter {
                sectors: vec!["noncoal_mine".into()],
                ..Filter::default()
            },
            Filter {
                tags_any: vec!["一般检查单位".into()],
                tags_none: vec!["重点".into()],
                ..Filter::default()
            },
            Filter {
                cities: vec!["4101".into(), "4103".into()],
                risks: vec![Red, Yellow],
                ..Filter::default()
            },
            Filter {
                sectors: vec!["absent".into()],
                ..Filter::default()
            },
        ];
        let mut sorted = all.clone();
        sorted.sort_by(|a, b| a.uscc.cmp(&b.uscc));
        for f in &filters {
            let want: Vec<u32> = (0..4).filter(|&i| f.matches(&sorted[i as usize])).collect();
            assert_eq!(p.select(f), want, "{f:?}");
        }
        assert!(Population::of(&[entity("short", "s", "c", Red, &[])]).is_err());
        let twice = [all[0].clone(), all[0].clone()];
        assert!(Population::of(&twice).is_err());
    }
}
