//! Who may serve, published without why (`suiji-draw-v3`, spec section 9).
//!
//! A v3 manifest lists the eligible officers and, per candidate, the recused ones: all a
//! recomputation of the draw needs. The reasons (on duty or not, certificate expiry, home city,
//! declared conflicts, last year's pairs) are personal; they stay in the department's private
//! [`Record`], whose salted SHA-256 the manifest carries, so an auditor given the record can
//! check every exclusion and nobody else can test guesses against the hash. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{
    Commitment, DrawError, EntityNames, Manifest, OfficerDecl, PublicOfficer, RecusedGroup, SPEC,
    SPEC_V3, TeamRulesDecl,
};

/// The record's spec.
pub const RECORD_SPEC: &str = "suiji-eligibility-v1";

/// The private reasons behind a v3 manifest's eligibility, kept by the department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub spec: String,
    /// 64 hex digits from the operating system, drawn at each freeze.
    pub salt: String,
    pub plan: RecordPlan,
    pub frozen_at: Option<String>,
    /// Every officer of the registry at the freeze, ascending by id.
    pub officers: Vec<RecordOfficer>,
    /// Candidates' municipal unit codes (home-city rule on).
    pub entity_cities: BTreeMap<String, String>,
    pub conflicts: Vec<(String, String)>,
    pub last_year_pairs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordPlan {
    pub id: String,
    pub year: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordOfficer {
    pub id: String,
    pub active: bool,
    pub valid_until: Option<chrono::NaiveDate>,
    pub home_city: Option<String>,
}

/// Why an officer is not in the manifest at all.
fn unfit(o: &RecordOfficer, rules: &TeamRulesDecl, day: chrono::NaiveDate) -> Option<String> {
    if !o.active {
        Some("not on duty (inactive)".into())
    } else if rules.require_valid_certificate && o.valid_until.is_some_and(|d| d < day) {
        Some(format!(
            "certificate expired on {}",
            o.valid_until.map(|d| d.to_string()).unwrap_or_default()
        ))
    } else {
        None
    }
}

impl Record {
    /// The listed officers the record rules out on `day` (a replacement formed after the
    /// draw checks certificates on its own day), with v2's reason for it: the team is the
    /// department's, never published in a draw.
    pub fn unfit_on(
        &self,
        rules: &TeamRulesDecl,
        day: chrono::NaiveDate,
    ) -> HashMap<String, &'static str> {
        self.officers
            .iter()
            .filter(|o| unfit(o, rules, day).is_some())
            .map(|o| {
                (
                    o.id.clone(),
                    if o.active {
                        "certificate_expired"
                    } else {
                        "inactive"
                    },
                )
            })
            .collect()
    }
}

/// What the record makes of one candidate and officer: the reasons of a recusal.
fn recusal_reasons(
    record: &Record,
    rules: &TeamRulesDecl,
    index: &Index<'_>,
    o: &RecordOfficer,
    e: &str,
) -> Vec<&'static str> {
    let mut why = Vec::new();
    if index.conflicts.contains(&(o.id.as_str(), e)) {
        why.push("declared conflict");
    }
    if rules.recusal.home_city
        && o.home_city.is_some()
        && o.home_city.as_deref() == record.entity_cities.get(e).map(String::as_str)
    {
        why.push("home city");
    }
    if rules.recusal.last_year && index.last_year.contains(&(o.id.as_str(), e)) {
        why.push("inspected it last year");
    }
    why
}

/// A record's pairs, to look up.
struct Index<'r> {
    conflicts: HashSet<(&'r str, &'r str)>,
    last_year: HashSet<(&'r str, &'r str)>,
}

impl<'r> Index<'r> {
    fn of(record: &'r Record) -> Index<'r> {
        let pairs = |v: &'r [(String, String)]| -> HashSet<(&'r str, &'r str)> {
            v.iter().map(|(o, e)| (o.as_str(), e.as_str())).collect()
        };
        Index {
            conflicts: pairs(&record.conflicts),
            last_year: pairs(&record.last_year_pairs),
        }
    }
}

/// The published eligibility a record gives: the eligible officers (ascending) and the
/// recused groups over `candidates` (ascending, distinct).
fn derive<'r>(
    record: &'r Record,
    rules: &TeamRulesDecl,
    candidates: &BTreeSet<&str>,
) -> (Vec<&'r RecordOfficer>, Vec<RecusedGroup>) {
    let day = rules.certificate_date;
    let eligible: Vec<&RecordOfficer> = record
        .officers
        .iter()
        .filter(|o| unfit(o, rules, day).is_none())
        .collect();
    let index = Index::of(record);
    // The few officers who could be recused from an entity, found without testing every
    // officer against every candidate.
    let mut by_city: HashMap<&str, Vec<&RecordOfficer>> = HashMap::new();
    if rules.recusal.home_city {
        for o in &eligible {
            if let Some(c) = &o.home_city {
                by_city.entry(c.as_str()).or_default().push(o);
            }
        }
    }
    let by_id: HashMap<&str, &RecordOfficer> =
        eligible.iter().map(|o| (o.id.as_str(), *o)).collect();
    let mut by_entity: HashMap<&str, Vec<&RecordOfficer>> = HashMap::new();
    for (o, e) in index.conflicts.iter().chain(&index.last_year) {
        if let Some(o) = by_id.get(o) {
            by_entity.entry(e).or_default().push(o);
        }
    }
    let mut groups: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for &e in candidates {
        let city = record.entity_cities.get(e).map(String::as_str);
        let mut recused: Vec<String> = city
            .and_then(|c| by_city.get(c))
            .into_iter()
            .flatten()
            .chain(by_entity.get(e).into_iter().flatten())
            .filter(|o| !recusal_reasons(record, rules, &index, o, e).is_empty())
            .map(|o| o.id.clone())
            .collect();
        if recused.is_empty() {
            continue;
        }
        recused.sort();
        recused.dedup();
        groups.entry(recused).or_default().push(e.to_string());
    }
    let mut groups: Vec<RecusedGroup> = groups
        .into_iter()
        .map(|(officers, entities)| RecusedGroup { entities, officers })
        .collect();
    groups.sort_by(|a, b| a.entities[0].cmp(&b.entities[0]));
    (eligible, groups)
}

fn candidates(m: &Manifest) -> BTreeSet<&str> {
    m.strata
        .iter()
        .flat_map(|s| s.candidates.iter().map(String::as_str))
        .collect()
}

/// The v3 manifest and its private record from a manifest built the v2 way (every officer in
/// full, conflicts, cities and last year's pairs), with the names the public reads. `salt` is
/// 64 hex digits from the operating system; without one (a rehearsal store, whose draws must
/// reproduce) it is derived from the record itself, and the hash then hides nothing from
/// someone who can guess the record: a rehearsal is never published for real.
pub fn seal(
    full: &Manifest,
    officer_name: &dyn Fn(&str) -> Option<String>,
    entity: EntityNames<'_>,
    salt: Option<&str>,
) -> Result<(Manifest, Record), DrawError> {
    let officers = full
        .officers
        .iter()
        .map(|o| match o {
            OfficerDecl::Full(o) => Ok((
                RecordOfficer {
                    id: o.id.clone(),
                    active: o.active,
                    valid_until: o.valid_until,
                    home_city: o.home_city.clone(),
                },
                o,
            )),
            OfficerDecl::Public(o) => Err(DrawError::Document(format!(
                "officer {} is already sealed",
                o.id
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut record = Record {
        spec: RECORD_SPEC.into(),
        salt: String::new(),
        plan: RecordPlan {
            id: full.plan.id.clone(),
            year: full.plan.year,
        },
        frozen_at: full.frozen_at.clone(),
        officers: officers.iter().map(|(r, _)| r.clone()).collect(),
        entity_cities: full.entity_cities.clone(),
        conflicts: full.conflicts.clone().unwrap_or_default(),
        last_year_pairs: full.last_year_pairs.clone(),
    };
    record.salt = match salt {
        Some(s) => s.to_string(),
        None => crate::audit::sha256_hex(
            &[
                b"suiji rehearsal salt\n".as_slice(),
                &super::canonical(&record)?,
            ]
            .concat(),
        ),
    };
    let all = candidates(full);
    let (eligible, recused) = derive(&record, &full.team_rules, &all);
    let eligible: HashSet<&str> = eligible.iter().map(|o| o.id.as_str()).collect();
    let mut public = Vec::with_capacity(eligible.len());
    for (r, o) in &officers {
        if !eligible.contains(r.id.as_str()) {
            continue;
        }
        let name = officer_name(&o.id)
            .ok_or_else(|| DrawError::Document(format!("officer {} has no name", o.id)))?;
        public.push(OfficerDecl::Public(PublicOfficer {
            id: o.id.clone(),
            name,
            agency: o.agency.clone(),
            division: o.division.clone(),
            cadre: o.cadre,
        }));
    }
    let entities = all
        .iter()
        .map(|&u| {
            entity(u)
                .map(|d| (u.to_string(), d))
                .ok_or_else(|| DrawError::Document(format!("candidate {u} has no name")))
        })
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    let sha256 = crate::audit::sha256_hex(&super::canonical(&record)?);
    let manifest = Manifest {
        spec: SPEC.into(),
        officers: public,
        entities: Some(entities),
        recused: Some(recused),
        eligibility: Some(Commitment { sha256 }),
        conflicts: None,
        entity_cities: BTreeMap::new(),
        last_year_pairs: Vec::new(),
        ..full.clone()
    };
    Ok((manifest, record))
}

/// v4 strata carry a label, and a ratio's quota is the one it gives for the candidates;
/// earlier specs have neither member (spec section 1).
fn strata_members(m: &Manifest) -> Result<(), String> {
    let v4 = super::labels_strata(&m.spec);
    for (i, s) in m.strata.iter().enumerate() {
        let at = format!("strata[{i}] ({})", crate::text::quote(&s.stratum));
        if !v4 {
            if s.label.is_some() || s.ratio.is_some() {
                return Err(format!("{at}: a {} stratum has no label or ratio", m.spec));
            }
            continue;
        }
        if s.label.as_deref().is_none_or(|l| l.trim().is_empty()) {
            return Err(format!("{at}: label is missing or empty"));
        }
        if let Some(r) = &s.ratio {
            if r.basis_points == 0 || r.basis_points > 10_000 || r.max.is_some_and(|x| x < r.min) {
                return Err(format!(
                    "{at}: ratio must have 1 ≤ basis_points ≤ 10000 and min ≤ max"
                ));
            }
            let want = r.quota(s.candidates.len());
            if s.quota != want {
                return Err(format!(
                    "{at}: quota {} is not what its ratio gives for {} candidates ({want})",
                    s.quota,
                    s.candidates.len()
                ));
            }
        }
    }
    Ok(())
}

/// v5's `capped`: present exactly in v5, ascending by USCC, each at or over its cap, and none
/// a candidate (spec section 1, "Yearly caps").
fn capped_members(m: &Manifest) -> Result<(), String> {
    let v5 = m.spec == super::SPEC_V5;
    let capped = match (&m.capped, v5) {
        (None, false) => return Ok(()),
        (Some(_), false) => return Err(format!("a {} manifest has no capped", m.spec)),
        (None, true) => return Err("capped is missing".into()),
        (Some(c), true) => c,
    };
    if !capped.windows(2).all(|w| w[0].uscc < w[1].uscc) {
        return Err("capped is not ascending by uscc, or lists one twice".into());
    }
    let candidates: HashSet<&str> = m
        .strata
        .iter()
        .flat_map(|s| s.candidates.iter().map(String::as_str))
        .collect();
    for (i, c) in capped.iter().enumerate() {
        let at = format!("capped[{i}] ({})", crate::text::quote(&c.uscc));
        if c.cap == 0 || c.inspections < c.cap {
            return Err(format!(
                "{at}: cap must be at least 1 and inspections at least the cap ({} of {})",
                c.inspections, c.cap
            ));
        }
        if candidates.contains(c.uscc.as_str()) {
            return Err(format!(
                "{at}: at its yearly cap, yet a candidate of the draw"
            ));
        }
    }
    Ok(())
}

/// A manifest carries its own spec's members and no other's; a v3 manifest's published
/// eligibility is well formed (spec sections 1 and 8).
pub fn check_members(m: &Manifest) -> Result<(), String> {
    strata_members(m)?;
    capped_members(m)?;
    let v3 = super::publishes_eligibility(&m.spec);
    let public = m
        .officers
        .iter()
        .filter(|o| matches!(o, OfficerDecl::Public(_)))
        .count();
    if !v3 {
        let seed = &m.seed_source;
        if m.entities.is_some()
            || m.recused.is_some()
            || m.eligibility.is_some()
            || public > 0
            || seed.game.is_some()
            || seed.announcement.is_some()
        {
            return Err(format!("a {} manifest has {SPEC_V3} members", m.spec));
        }
        if m.conflicts.is_none() {
            return Err("conflicts is missing".into());
        }
        return Ok(());
    }
    if m.conflicts.is_some()
        || !m.entity_cities.is_empty()
        || !m.last_year_pairs.is_empty()
        || public != m.officers.len()
    {
        return Err(format!(
            "a {} manifest publishes eligibility, not officers' private attributes, \
             conflicts, entity_cities or last_year_pairs",
            m.spec
        ));
    }
    if let Some(g) = &m.seed_source.game
        && (m.seed_source.kind != crate::plan::SeedKind::Manual
            || super::lottery::game(g).is_none())
    {
        return Err(format!(
            "seed_source.game `{}` is not a lottery suiji knows for a manual seed",
            crate::text::quote(g)
        ));
    }
    if let Some(u) = &m.seed_source.announcement {
        crate::lifecycle::check_url(u).map_err(|e| format!("seed_source.announcement: {e}"))?;
    }
    let ascending = |v: &[&str]| v.windows(2).all(|w| w[0] < w[1]);
    let ids: Vec<&str> = m.officers.iter().map(OfficerDecl::id).collect();
    if !ascending(&ids) {
        return Err("officers are not in ascending order of id, without repeats".into());
    }
    let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match &m.eligibility {
        Some(c) if hex(&c.sha256) => {}
        _ => return Err("eligibility.sha256 is missing or not 64 lowercase hex digits".into()),
    }
    let all = candidates(m);
    let entities = m.entities.as_ref().ok_or("entities is missing")?;
    if let Some(u) = all.iter().find(|u| !entities.contains_key(**u)) {
        return Err(format!("entities: candidate {u} is missing"));
    }
    if let Some(u) = entities.keys().find(|u| !all.contains(u.as_str())) {
        return Err(format!(
            "entities: {} is not a candidate",
            crate::text::quote(u)
        ));
    }
    let listed: HashSet<&str> = ids.iter().copied().collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut last_first: Option<&str> = None;
    for (i, g) in m
        .recused
        .as_deref()
        .ok_or("recused is missing")?
        .iter()
        .enumerate()
    {
        let es: Vec<&str> = g.entities.iter().map(String::as_str).collect();
        let os: Vec<&str> = g.officers.iter().map(String::as_str).collect();
        if es.is_empty() || os.is_empty() || !ascending(&es) || !ascending(&os) {
            return Err(format!(
                "recused[{i}]: its entities and officers must be non-empty and ascending"
            ));
        }
        if last_first.is_some_and(|f| f >= es[0]) {
            return Err(format!(
                "recused[{i}]: groups are not ordered by their first entity"
            ));
        }
        last_first = Some(es[0]);
        if let Some(o) = os.iter().find(|o| !listed.contains(**o)) {
            return Err(format!(
                "recused[{i}]: officer {} is not an eligible officer",
                crate::text::quote(o)
            ));
        }
        for e in es {
            if !all.contains(e) {
                return Err(format!(
                    "recused[{i}]: {} is not a candidate",
                    crate::text::quote(e)
                ));
            }
            if !seen.insert(e) {
                return Err(format!("recused[{i}]: entity {e} is in two groups"));
            }
        }
    }
    Ok(())
}

/// What an auditor learns from a record that matches its manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// Officers left out of the manifest, with why.
    pub not_eligible: Vec<(String, String)>,
    /// (officer, entity, reasons) of every recusal.
    pub recusals: Vec<(String, String, Vec<&'static str>)>,
    pub eligible: usize,
    pub officers: usize,
}

/// Checks a private record against the published manifest it belongs to (spec section 9):
/// its hash, its plan and freeze time, and that the manifest's eligibility follows from it.
pub fn audit(m: &Manifest, record_bytes: &[u8]) -> Result<Audit, String> {
    let committed = m
        .eligibility
        .as_ref()
        .ok_or_else(|| format!("a {} manifest has no eligibility record", m.spec))?;
    let hash = crate::audit::sha256_hex(record_bytes);
    if hash != committed.sha256 {
        return Err(format!(
            "the record hashes to {hash}, the manifest's eligibility.sha256 is {}: this is not \
             the record it committed to",
            committed.sha256
        ));
    }
    let record: Record = serde_json::from_slice(record_bytes)
        .map_err(|e| format!("not a {RECORD_SPEC} record: {e}"))?;
    if record.spec != RECORD_SPEC
        || record.plan.id != m.plan.id
        || record.plan.year != m.plan.year
        || record.frozen_at != m.frozen_at
    {
        return Err("the record names another spec, plan, year or freeze time".into());
    }
    let all = candidates(m);
    let (eligible, recused) = derive(&record, &m.team_rules, &all);
    let published: Vec<&str> = m.officers.iter().map(OfficerDecl::id).collect();
    let derived: Vec<&str> = eligible.iter().map(|o| o.id.as_str()).collect();
    if published != derived {
        let extra = published.iter().find(|o| !derived.contains(o));
        let missing = derived.iter().find(|o| !published.contains(o));
        return Err(format!(
            "officers: the manifest lists {} eligible officers, the record makes {} (first \
             listed but not eligible: {}; first eligible but not listed: {})",
            published.len(),
            derived.len(),
            extra.unwrap_or(&"none"),
            missing.unwrap_or(&"none")
        ));
    }
    if m.recused.as_ref() != Some(&recused) {
        return Err(
            "recused: the manifest's groups are not the recusals the record gives".to_string(),
        );
    }
    let index = Index::of(&record);
    let by_id: HashMap<&str, &RecordOfficer> =
        eligible.iter().map(|o| (o.id.as_str(), *o)).collect();
    let mut recusals = Vec::new();
    for g in &recused {
        for e in &g.entities {
            for o in &g.officers {
                if let Some(r) = by_id.get(o.as_str()) {
                    let why = recusal_reasons(&record, &m.team_rules, &index, r, e);
                    recusals.push((o.clone(), e.clone(), why));
                }
            }
        }
    }
    let day = m.team_rules.certificate_date;
    Ok(Audit {
        not_eligible: record
            .officers
            .iter()
            .filter_map(|o| unfit(o, &m.team_rules, day).map(|w| (o.id.clone(), w)))
            .collect(),
        recusals,
        eligible: eligible.len(),
        officers: record.officers.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::tests::fixture;
    use crate::draw::{SeedValue, canonical, run};
    use crate::plan::SeedKind;

    fn sealed() -> (Manifest, Manifest, Record) {
        let mut full = fixture(40);
        full.spec = crate::draw::SPEC_V2.into();
        full.conflicts = Some(vec![("O02".into(), "E0003".into())]);
        let (mut m, r) = seal(
            &full,
            &|id| Some(format!("姓名{id}")),
            &|u| {
                Some(crate::draw::EntityDecl {
                    name: format!("企业{u}"),
                    city: "郑州市".into(),
                })
            },
            Some(&"ab".repeat(32)),
        )
        .expect("seal");
        // What `draw::manifest` adds to the sealed manifest (v4).
        for s in &mut m.strata {
            s.label = Some(format!("分层 {}", s.stratum));
        }
        (full, m, r)
    }

    /// v3 forms the teams v2 forms from the same registry and seed: leaving out officers who
    /// would always be skipped moves nobody. (The spec string is part of the seed, so the v2
    /// form is run under v3's.)
    #[test]
    fn sealing_changes_no_outcome() {
        let (mut full, m, _) = sealed();
        full.spec = SPEC.into();
        check_members(&m).expect("well formed");
        let value = SeedValue::plain(SeedKind::Manual, "03071218253109");
        let digest = "0".repeat(64);
        for seed in ["03071218253109", "11223344556677", "99887766554433"] {
            let value = SeedValue {
                value: seed.into(),
                ..value.clone()
            };
            let a = run(&full, &digest, &value).expect("v2");
            let b = run(&m, &digest, &value).expect("v3");
            assert_eq!(a.strata, b.strata);
            for (x, y) in a.teams.iter().zip(&b.teams) {
                assert_eq!((&x.members, &x.partners), (&y.members, &y.partners));
                assert!(
                    y.skipped
                        .iter()
                        .all(|s| s.reason == "not_eligible" || s.reason == "cap")
                );
            }
        }
        let text = String::from_utf8(canonical(&m).expect("canonical")).expect("utf-8");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        for o in v["officers"].as_array().expect("officers") {
            let keys: Vec<&String> = o.as_object().expect("officer").keys().collect();
            assert_eq!(keys, ["agency", "cadre", "division", "id", "name"]);
        }
        for private in ["conflicts", "entity_cities", "last_year_pairs"] {
            assert!(v.get(private).is_none(), "{private} is published");
        }
        assert!(!text.contains("4101"), "a home city is published");
        assert!(!text.contains("O05"), "the inactive officer is named");
    }

    /// The auditor's check: the right record passes and lists every exclusion; a changed
    /// record, or a manifest whose eligibility was edited, does not.
    #[test]
    fn an_auditor_checks_every_exclusion() {
        let (_, m, r) = sealed();
        let bytes = canonical(&r).expect("canonical");
        let a = audit(&m, &bytes).expect("matches");
        assert_eq!(a.officers, 16);
        assert_eq!(
            a.not_eligible,
            vec![("O05".to_string(), "not on duty (inactive)".to_string())]
        );
        assert!(
            a.recusals
                .contains(&("O02".into(), "E0003".into(), vec!["declared conflict"]))
        );

        let mut other = r.clone();
        other.conflicts.clear();
        let e = audit(&m, &canonical(&other).expect("canonical")).expect_err("changed record");
        assert!(e.contains("not the record it committed to"), "{e}");

        let mut edited = m.clone();
        if let Some(g) = edited.recused.as_mut().and_then(|g| g.first_mut()) {
            g.officers.pop();
        }
        let e = audit(&edited, &bytes)
            .map(|_| ())
            .expect_err("edited manifest");
        assert!(e.contains("recused"), "{e}");
        let mut twice = m.clone();
        if let Some(g) = twice.recused.as_mut() {
            let first = g[0].clone();
            g.push(first);
        }
        assert!(check_members(&twice).is_err());
    }
}
