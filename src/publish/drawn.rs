//! What the published files say each task of a plan is: its entity, with the name and unit it
//! had at the freeze, and its team, read from `draw-N.json` and its manifest, never from the
//! task rows a database edit could change. A replacement made after the draw is the task a
//! recorded `replace` fact names, and it is shown only when its entity is one of its stratum's
//! alternates. The verifiers check the selection downloads built from this (spec section 10).
//! Pure.

use std::collections::{HashMap, HashSet};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::draw::{DrawDoc, EntityDecl, OfficerDecl};
use crate::lifecycle::Event;
use crate::store::{DrawRecord, FactRecord, ManifestRecord, TaskRow};

/// How a task came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A team of the draw.
    Drawn,
    /// A later replacement, by an alternate.
    Replacement,
}

/// One task as the files say it.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub source: Source,
    /// The plan's task and the stratum it was drawn in.
    pub task: String,
    pub stratum: String,
    pub uscc: String,
    pub name: String,
    /// The municipal unit's name.
    pub city: String,
    /// (certificate, name) of the department members, cadre first, and the partners.
    pub members: Vec<(String, String)>,
    pub partners: Vec<(String, String)>,
}

/// The names a manifest holds for some entities and every officer it lists (v3; none in v1/v2).
#[derive(Default)]
struct ManifestNames {
    officers: HashMap<String, String>,
    entities: HashMap<String, EntityDecl>,
}

/// Reads only `officers` and the wanted members of `entities` from a manifest's text: a
/// million candidates' names are skipped, not held.
fn manifest_names(content: &str, wanted: &HashSet<&str>) -> Option<ManifestNames> {
    struct Top<'w>(&'w HashSet<&'w str>);
    struct Entities<'w>(&'w HashSet<&'w str>);
    impl<'de> Visitor<'de> for Top<'_> {
        type Value = ManifestNames;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a manifest")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ManifestNames, A::Error> {
            let mut out = ManifestNames::default();
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "officers" => {
                        for o in map.next_value::<Vec<OfficerDecl>>()? {
                            if let OfficerDecl::Public(p) = o {
                                out.officers.insert(p.id, p.name);
                            }
                        }
                    }
                    "entities" => out.entities = map.next_value_seed(Entities(self.0))?,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(out)
        }
    }
    impl<'de> DeserializeSeed<'de> for Entities<'_> {
        type Value = HashMap<String, EntityDecl>;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Entities<'_> {
        type Value = HashMap<String, EntityDecl>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("the entities")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = HashMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if self.0.contains(key.as_str()) {
                    out.insert(key, map.next_value::<EntityDecl>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    let mut d = serde_json::Deserializer::from_str(content);
    de::Deserializer::deserialize_map(&mut d, Top(wanted)).ok()
}

/// Every task of the plan's draws that the files back, by task id. `officer_name` and
/// `city_name` name what a v1/v2 manifest lists by code only (those documents carry no names).
pub fn tasks(
    manifests: &[ManifestRecord],
    draws: &[DrawRecord],
    rows: &[TaskRow],
    facts: &[FactRecord],
    officer_name: &dyn Fn(&str) -> String,
    city_name: &dyn Fn(&str) -> String,
) -> HashMap<String, Drawn> {
    let replacements: HashSet<&str> = facts
        .iter()
        .filter_map(|f| match &f.event {
            Event::Replace { by, .. } => Some(by.as_str()),
            _ => None,
        })
        .collect();
    let mut out = HashMap::new();
    for d in draws {
        let Ok(doc) = serde_json::from_str::<DrawDoc>(&d.content) else {
            tracing::warn!(
                "draw #{} of {}: its stored document cannot be read",
                d.seq,
                d.plan_id
            );
            continue;
        };
        let wanted: HashSet<&str> = doc
            .strata
            .iter()
            .flat_map(|s| s.selected.iter().chain(&s.alternates))
            .map(|p| p.id.as_str())
            .collect();
        let names = manifests
            .iter()
            .find(|m| m.id == d.manifest_id)
            .and_then(|m| manifest_names(&m.content, &wanted))
            .unwrap_or_default();
        let person = |id: &String| {
            let name = names
                .officers
                .get(id)
                .cloned()
                .unwrap_or_else(|| officer_name(id));
            (id.clone(), name)
        };
        let entity = |uscc: &str, row: &TaskRow| match names.entities.get(uscc) {
            Some(e) => (e.name.clone(), e.city.clone()),
            None if names.officers.is_empty() => (row.entity_name.clone(), city_name(&row.city)),
            None => (String::new(), String::new()),
        };
        let mine: Vec<&TaskRow> = rows.iter().filter(|t| t.draw_id == d.id).collect();
        for (i, team) in doc.teams.iter().enumerate() {
            let Some(row) = mine.iter().find(|t| t.position == i as i64 + 1) else {
                continue;
            };
            let (name, city) = entity(&team.entity, row);
            out.insert(
                row.id.clone(),
                Drawn {
                    source: Source::Drawn,
                    task: team.task.clone(),
                    stratum: team.stratum.clone(),
                    uscc: team.entity.clone(),
                    name,
                    city,
                    members: team.members.iter().map(person).collect(),
                    partners: team.partners.iter().map(person).collect(),
                },
            );
        }
        for row in mine.iter().filter(|t| replacements.contains(t.id.as_str())) {
            let stratum = doc.strata.iter().find(|s| {
                s.stratum == row.stratum && s.alternates.iter().any(|p| p.id == row.uscc)
            });
            let Some(stratum) = stratum else {
                tracing::warn!(
                    "task {}: its entity is not an alternate of stratum {}; not published",
                    row.id,
                    row.stratum
                );
                continue;
            };
            let (name, city) = entity(&row.uscc, row);
            out.insert(
                row.id.clone(),
                Drawn {
                    source: Source::Replacement,
                    task: stratum.task.clone(),
                    stratum: stratum.stratum.clone(),
                    uscc: row.uscc.clone(),
                    name,
                    city,
                    members: row.members.iter().map(person).collect(),
                    partners: row.partners.iter().map(person).collect(),
                },
            );
        }
    }
    out
}
