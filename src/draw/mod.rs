//! The verifiable draw, `suiji-draw-v3` (specified in `docs/draw-spec.md`; `suiji-draw-v1` and
//! `-v2` documents published before it still verify).
//!
//! Everything here is pure and deterministic: a frozen [`Manifest`] and a seed value in, a
//! [`DrawDoc`] out, with no IO, no floating point, no `rand` distribution and no dependence on
//! hash-map iteration order. Anyone can recompute it from the two published files
//! (`suiji verify`, or `tools/verify_draw.py` with PyPI `consistent-sampler`).

pub mod eligibility;
pub mod jcs;
pub mod lottery;
pub mod ticket;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use chrono::{DateTime, FixedOffset};

use crate::beacon::{self, BeaconDecl};
use crate::plan::{Plan, Recusal, SeedKind, Stratum, Window};
use crate::registry::{OfficerStatus, Snapshot};
use ticket::Ticketer;

/// The spec every new manifest and draw follows, but for plans with yearly caps.
pub const SPEC: &str = "suiji-draw-v4";
/// v4 with `capped`: the manifest of a plan with yearly caps.
pub const SPEC_V5: &str = "suiji-draw-v5";
/// v4 without the strata's `label` and `ratio`; its published documents still verify.
pub const SPEC_V3: &str = "suiji-draw-v3";
/// Officers' private attributes in the manifest; its published documents still verify.
pub const SPEC_V2: &str = "suiji-draw-v2";
/// Whether documents of `spec` publish eligibility rather than officers' private attributes
/// (v3 and later).
pub fn publishes_eligibility(spec: &str) -> bool {
    spec == SPEC_V5 || spec == SPEC || spec == SPEC_V3
}

/// Whether strata of `spec` carry labels and ratios (v4 and later).
pub fn labels_strata(spec: &str) -> bool {
    spec == SPEC_V5 || spec == SPEC
}

/// The first spec: no freeze time, no `available_at`; its published documents still verify.
pub const SPEC_V1: &str = "suiji-draw-v1";

/// Everything the draw depends on, frozen and published before the seed exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub spec: String,
    /// When the manifest was frozen (v2): it must be before `seed_source.available_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_at: Option<String>,
    /// True when the manifest was frozen on a replayed or rehearsed clock: `frozen_at` is then
    /// not a real time (the audit log has the real one). Such a manifest proves nothing about
    /// freezing before the seed existed, and verifiers say so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    pub plan: ManifestPlan,
    pub seed_source: SeedDeclaration,
    pub strata: Vec<ManifestStratum>,
    pub tasks: Vec<ManifestTask>,
    /// v3: the eligible officers, public attributes only; v1/v2: every officer, in full.
    pub officers: Vec<OfficerDecl>,
    pub team_rules: TeamRulesDecl,
    /// v3: every candidate's name and municipal unit as they stood at the freeze.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<BTreeMap<String, EntityDecl>>,
    /// v3: per group of candidates, the eligible officers recused from each (no reason given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recused: Option<Vec<RecusedGroup>>,
    /// v3: the salted hash of the private eligibility record (see [`eligibility`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<Commitment>,
    /// v1/v2: declared conflicts (officer id, USCC) involving candidates, sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<(String, String)>>,
    /// v1/v2: candidates' municipal units, present when the home-city rule is on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub entity_cities: BTreeMap<String, String>,
    /// v1/v2: last year's (officer id, USCC) pairs, present when that rule is on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_year_pairs: Vec<(String, String)>,
    /// v5: the entities of the pools the plan's yearly caps leave out, ascending by USCC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capped: Option<Vec<CappedDecl>>,
}

/// An entity a yearly cap leaves out (v5): its cap and its inspections that year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CappedDecl {
    pub uscc: String,
    pub cap: u32,
    pub inspections: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestPlan {
    pub id: String,
    pub year: i32,
    pub title: String,
    pub script_sha256: String,
    pub window: Window,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDeclaration {
    pub kind: SeedKind,
    pub source: String,
    /// When the randomness becomes public (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The beacon chain and round (kind `drand`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beacon: Option<BeaconDecl>,
    /// v3, manual seeds: the lottery whose announced result the digits are (see
    /// [`lottery::GAMES`]); the digits must be written as that game's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game: Option<String>,
    /// v3: where the result will be announced (an http(s) address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestStratum {
    pub task: String,
    pub stratum: String,
    /// v4: what readers call the stratum (the task's name, or its split part's label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub quota: u32,
    /// v4: the ratio the quota is of `candidates`, where the plan states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<crate::plan::Ratio>,
    /// Eligible USCCs, ascending.
    pub candidates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestTask {
    pub task: String,
    pub name: String,
    pub division: String,
    /// Department members per team, counting the responsible cadre.
    pub team_size: u32,
    pub partner_agency: Option<String>,
    pub partner_members: u32,
    pub items: Vec<String>,
}

impl Manifest {
    /// v3: each candidate's recused officers, ascending (empty for v1/v2).
    pub fn recusals(&self) -> HashMap<&str, &[String]> {
        self.recused
            .iter()
            .flatten()
            .flat_map(|g| {
                g.entities
                    .iter()
                    .map(|e| (e.as_str(), g.officers.as_slice()))
            })
            .collect()
    }
}

/// An officer as a manifest lists them: v3 publishes only who they are; v1/v2 published their
/// private attributes too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OfficerDecl {
    Public(PublicOfficer),
    Full(ManifestOfficer),
}

impl OfficerDecl {
    pub fn id(&self) -> &str {
        match self {
            OfficerDecl::Public(o) => &o.id,
            OfficerDecl::Full(o) => &o.id,
        }
    }

    fn role(&self) -> (&str, Option<&str>, bool) {
        match self {
            OfficerDecl::Public(o) => (&o.agency, o.division.as_deref(), o.cadre),
            OfficerDecl::Full(o) => (&o.agency, o.division.as_deref(), o.cadre),
        }
    }
}

/// v3: an eligible officer, as the public may know them (name, 执法证号, unit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicOfficer {
    pub id: String,
    pub name: String,
    pub agency: String,
    pub division: Option<String>,
    pub cadre: bool,
}

/// v3: a candidate as it stood at the freeze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityDecl {
    pub name: String,
    /// The municipal unit's name.
    pub city: String,
}

/// v3: these candidates each have these officers recused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecusedGroup {
    pub entities: Vec<String>,
    pub officers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    pub sha256: String,
}

/// v1/v2: an officer with the attributes that decide eligibility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestOfficer {
    pub id: String,
    pub agency: String,
    pub division: Option<String>,
    pub cadre: bool,
    pub home_city: Option<String>,
    pub active: bool,
    pub valid_until: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamRulesDecl {
    /// The department's agency code: cadres and members come from it.
    pub department: String,
    pub cap_per_officer: u32,
    pub require_valid_certificate: bool,
    /// Certificates must be valid on this day: the day teams are formed, i.e. the day the seed
    /// becomes public (v2; the window's start in v1).
    pub certificate_date: chrono::NaiveDate,
    pub recusal: Recusal,
}

/// The published result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawDoc {
    pub spec: String,
    pub manifest_digest: String,
    pub seed_source: SeedValue,
    pub seed: String,
    pub strata: Vec<StratumResult>,
    pub teams: Vec<Team>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedValue {
    pub kind: SeedKind,
    /// Manual: the public digits; os: 64 hex digits; drand: the round's randomness (hex).
    pub value: String,
    /// The beacon round (kind `drand`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u64>,
    /// The round's BLS signature, hex (kind `drand`): anyone can check it offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl SeedValue {
    /// A typed-in (manual) or generated (os) value.
    pub fn plain(kind: SeedKind, value: &str) -> SeedValue {
        SeedValue {
            kind,
            value: value.to_string(),
            round: None,
            signature: None,
        }
    }

    /// A verified beacon round.
    pub fn drand(b: &beacon::Beacon) -> SeedValue {
        SeedValue {
            kind: SeedKind::Drand,
            value: b.randomness.clone(),
            round: Some(b.round),
            signature: Some(b.signature.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StratumResult {
    pub task: String,
    pub stratum: String,
    pub quota: u32,
    pub selected: Vec<Pick>,
    pub alternates: Vec<Pick>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pick {
    pub id: String,
    pub ticket: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub entity: String,
    pub task: String,
    pub stratum: String,
    pub cadre: String,
    /// Department members, the cadre first.
    pub members: Vec<String>,
    pub partners: Vec<String>,
    /// Officers who would have filled a role but were passed over, and why.
    pub skipped: Vec<Skip>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skip {
    pub officer: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawError {
    #[error("seed value: {0}")]
    Seed(String),
    #[error(transparent)]
    Beacon(#[from] beacon::BeaconError),
    #[error(
        "stratum `{stratum}` needs {quota} entities but only {available} candidates remain \
         after earlier strata's selections"
    )]
    PoolTooSmall {
        stratum: String,
        quota: u32,
        available: usize,
    },
    #[error("the manifest names task `{0}` in a stratum but does not describe it")]
    UnknownTask(String),
    #[error(
        "no {role} can be found for entity {entity} (task `{task}`); officers skipped: {skipped}"
    )]
    Unstaffed {
        entity: String,
        task: String,
        role: String,
        skipped: String,
    },
    #[error("{0}")]
    Document(String),
    /// What was drawn before rules out this draw (a reused seed, a redraw from the voided
    /// draw's own seed).
    #[error("{0}")]
    Redraw(String),
}

/// An earlier draw of the same plan and year, as the redraw rules see it.
#[derive(Debug, Clone)]
pub struct Earlier<'a> {
    pub seq: i64,
    pub seed_value: &'a str,
    /// When it was voided (RFC 3339), if it was.
    pub voided_at: Option<&'a str>,
}

/// Whether a manifest may be drawn from after the earlier draws: after a void, only one whose
/// seed did not exist when the void was recorded (frozen after it, its seed public after it).
/// Otherwise whoever voids could redraw from known randomness until an outcome pleased.
pub fn check_redraw(
    earlier: &[Earlier],
    manifest_seq: i64,
    frozen_at: &str,
    available_at: Option<DateTime<FixedOffset>>,
) -> Result<(), DrawError> {
    let Some((seq, voided)) = earlier
        .iter()
        .filter_map(|d| d.voided_at.map(|v| (d.seq, v)))
        .next_back()
    else {
        return Ok(());
    };
    let void_t = DateTime::parse_from_rfc3339(voided)
        .map_err(|_| DrawError::Document(format!("draw-{seq}'s void time `{voided}`")))?;
    let frozen_t = DateTime::parse_from_rfc3339(frozen_at)
        .map_err(|_| DrawError::Document(format!("manifest-{manifest_seq}'s `{frozen_at}`")))?;
    let fresh = frozen_t > void_t && available_at.is_some_and(|a| a > void_t);
    if fresh {
        return Ok(());
    }
    Err(DrawError::Redraw(format!(
        "draw-{seq} was voided at {voided}, and manifest-{manifest_seq} (frozen {frozen_at}, \
         its seed public from {}) is not newer: a redraw needs a seed that did not exist when \
         the void was recorded. Announce a new seed source in the plan (a later lottery date \
         or drand round: seed.available_at after the void), freeze it with `suiji freeze \
         --refreeze --reason ...` before that moment, and draw once its seed is public",
        available_at.map_or_else(|| "(not recorded)".to_string(), |a| a.to_rfc3339())
    )))
}

/// A seed value is used by one draw of a plan only.
pub fn check_seed_unused(earlier: &[Earlier], seed: &SeedValue) -> Result<(), DrawError> {
    match earlier.iter().find(|d| d.seed_value == seed.value) {
        Some(d) => Err(DrawError::Redraw(format!(
            "seed {} {} was already used by draw-{}: a seed value is used by one draw of a plan \
             only",
            seed.kind.name(),
            seed.value,
            d.seq
        ))),
        None => Ok(()),
    }
}

/// When and on which clock a manifest is frozen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeTime {
    /// `clock::stamp` of the freezing clock's `now`.
    pub at: String,
    /// The freezing clock was not the real one.
    pub simulated: bool,
}

/// What a v3 manifest names: a candidate's name and unit as they stand at the freeze (the
/// sampling frame holds codes only).
pub type EntityNames<'a> = &'a dyn Fn(&str) -> Option<EntityDecl>;

/// Builds the manifest from the plan, its strata and the registry (nothing is read later), and
/// the private eligibility record it commits to, salted with `salt` (see
/// [`eligibility::seal`]).
pub fn manifest(
    plan: &Plan,
    strata: &[Stratum],
    snapshot: &Snapshot,
    department: &str,
    frozen: &FreezeTime,
    names: EntityNames<'_>,
    salt: Option<&str>,
) -> Result<(Manifest, eligibility::Record), DrawError> {
    let full = manifest_v2(plan, strata, snapshot, department, frozen);
    let officer_names: HashMap<&str, &str> = snapshot
        .officers
        .iter()
        .map(|o| (o.id.as_str(), o.name.as_str()))
        .collect();
    let (mut sealed, record) = eligibility::seal(
        &full,
        &|id| officer_names.get(id).map(|n| n.to_string()),
        names,
        salt,
    )?;
    // v4: each stratum's name for readers and the ratio its quota came from.
    for (m, s) in sealed.strata.iter_mut().zip(strata) {
        m.label = Some(s.label.clone());
        m.ratio = s.ratio;
    }
    // v5: what the yearly caps leave out, for verifiers to check against the candidates.
    if !plan.frequency.caps.is_empty() {
        sealed.spec = SPEC_V5.into();
        sealed.capped = Some(
            plan.capped_in_pools(snapshot)
                .into_iter()
                .map(|(uscc, c)| CappedDecl {
                    uscc: uscc.to_string(),
                    cap: c.cap,
                    inspections: c.inspections,
                })
                .collect(),
        );
    }
    Ok((sealed, record))
}

/// The same manifest as v3 wrote it (no labels or ratios): a v3 manifest frozen before v4 is
/// compared with it.
pub fn as_v3(mut m: Manifest) -> Manifest {
    m.spec = SPEC_V3.into();
    m.capped = None;
    for s in &mut m.strata {
        s.label = None;
        s.ratio = None;
    }
    m
}

/// The manifest as v2 wrote it: every officer with the attributes that decide eligibility (a
/// v2 manifest frozen before v3 is compared with it).
pub fn manifest_v2(
    plan: &Plan,
    strata: &[Stratum],
    snapshot: &Snapshot,
    department: &str,
    frozen: &FreezeTime,
) -> Manifest {
    // Candidates by their place in the frame: a million of them are marked in a bit each
    // instead of hashing a million USCCs.
    let mut marked = vec![false; snapshot.entities.len()];
    for &i in strata.iter().flat_map(|s| s.members.iter()) {
        if let Some(m) = marked.get_mut(i as usize) {
            *m = true;
        }
    }
    let candidate = |uscc: &str| {
        snapshot
            .entities
            .find(uscc)
            .is_some_and(|i| marked[i as usize])
    };
    let mut conflicts: Vec<(String, String)> = snapshot
        .conflicts
        .iter()
        .filter(|c| candidate(&c.uscc))
        .map(|c| (c.officer_id.clone(), c.uscc.clone()))
        .collect();
    conflicts.sort();
    conflicts.dedup();
    let entity_cities = if plan.teams.recusal.home_city {
        strata
            .iter()
            .flat_map(|s| s.members.iter())
            .map(|&i| {
                let e = &snapshot.entities;
                (e.uscc(i).to_string(), e.city(i).to_string())
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    let mut last_year_pairs: Vec<(String, String)> = match (
        plan.teams.recusal.last_year,
        snapshot.team_pairs.get(&(i64::from(plan.year) - 1)),
    ) {
        (true, Some(pairs)) => pairs
            .iter()
            .filter(|(_, u)| candidate(u))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    last_year_pairs.sort();
    let mut officers: Vec<OfficerDecl> = snapshot
        .officers
        .iter()
        .map(|o| {
            OfficerDecl::Full(ManifestOfficer {
                id: o.id.clone(),
                agency: o.agency.clone(),
                division: o.division.clone(),
                cadre: o.cadre,
                home_city: o.home_city.clone(),
                active: o.status == OfficerStatus::Active,
                valid_until: o.valid_until,
            })
        })
        .collect();
    officers.sort_by(|a, b| a.id().cmp(b.id()));
    let available_at = plan.seed.available_at;
    Manifest {
        spec: SPEC_V2.to_string(),
        frozen_at: Some(frozen.at.clone()),
        simulated: frozen.simulated,
        plan: ManifestPlan {
            id: plan.id.clone(),
            year: plan.year,
            title: plan.title.clone(),
            script_sha256: plan.source.sha256.clone(),
            window: plan.window,
        },
        seed_source: SeedDeclaration {
            kind: plan.seed.kind,
            source: plan.seed.source.clone(),
            available_at: Some(available_at),
            beacon: (plan.seed.kind == SeedKind::Drand)
                .then(|| BeaconDecl::quicknet_at(available_at)),
            game: plan.seed.game.clone(),
            announcement: plan.seed.announcement.clone(),
        },
        strata: strata
            .iter()
            .map(|s| ManifestStratum {
                task: s.task.clone(),
                stratum: s.id.clone(),
                label: None,
                quota: s.quota,
                ratio: None,
                candidates: s
                    .members
                    .iter()
                    .map(|&i| snapshot.entities.uscc(i).to_string())
                    .collect(),
            })
            .collect(),
        tasks: plan
            .tasks
            .iter()
            .map(|t| ManifestTask {
                task: t.id.clone(),
                name: t.name.clone(),
                division: t.division.clone(),
                team_size: t.team_size,
                partner_agency: t.joint.as_ref().map(|j| j.agency.clone()),
                partner_members: t.joint.as_ref().map_or(0, |j| j.members),
                items: t.items.clone(),
            })
            .collect(),
        officers,
        team_rules: TeamRulesDecl {
            department: department.to_string(),
            cap_per_officer: plan.teams.cap_per_officer,
            require_valid_certificate: plan.teams.require_valid_certificate,
            certificate_date: available_at
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .date_naive(),
            recusal: plan.teams.recusal,
        },
        entities: None,
        recused: None,
        eligibility: None,
        conflicts: Some(conflicts),
        entity_cities,
        last_year_pairs,
        capped: None,
    }
}

/// Canonical bytes (RFC 8785) of a published document.
pub fn canonical<T: Serialize>(doc: &T) -> Result<Vec<u8>, DrawError> {
    let v = serde_json::to_value(doc).map_err(|e| DrawError::Document(e.to_string()))?;
    jcs::to_vec(&v).map_err(DrawError::Document)
}

/// Checks a seed value against the manifest's declaration: manual values are decimal digits
/// only (at least 6), written exactly as announced (e.g. lottery balls as two digits each, in
/// draw order); OS values are 64 lowercase hex digits; a drand value is the randomness of the
/// declared round, whose signature must verify against the chain's public key.
pub fn check_seed(decl: &SeedDeclaration, v: &SeedValue) -> Result<(), DrawError> {
    if v.kind != decl.kind {
        return Err(DrawError::Seed(format!(
            "the manifest declares a {} seed, the value is {}",
            decl.kind.name(),
            v.kind.name()
        )));
    }
    let hex64 = |s: &str| {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match v.kind {
        SeedKind::Manual => {
            check_digits(&v.value)?;
            if let Some(name) = &decl.game {
                let game = lottery::game(name).ok_or_else(|| {
                    DrawError::Seed(format!("unknown lottery `{}`", crate::text::quote(name)))
                })?;
                game.check(&v.value).map_err(DrawError::Seed)?;
            }
        }
        SeedKind::Os if hex64(&v.value) => {}
        SeedKind::Os => {
            return Err(DrawError::Seed(format!(
                "`{}` must be 64 lowercase hex digits (32 bytes from the operating system)",
                crate::text::quote(&v.value)
            )));
        }
        SeedKind::Drand => {
            let declared = decl.beacon.as_ref().ok_or_else(|| {
                DrawError::Seed("the manifest declares a drand seed without its round".into())
            })?;
            if let Some(at) = decl.available_at {
                declared.check(at)?;
            }
            let (Some(round), Some(signature)) = (v.round, v.signature.as_deref()) else {
                return Err(DrawError::Seed(
                    "a drand seed needs the round and its signature".into(),
                ));
            };
            if round != declared.round {
                return Err(DrawError::Seed(format!(
                    "beacon round {round} is not the round the manifest fixed ({}, the first at \
                     or after available_at)",
                    declared.round
                )));
            }
            let b = beacon::verify(round, signature)?;
            if b.randomness != v.value {
                return Err(DrawError::Seed(format!(
                    "value {} is not the randomness of round {round} ({})",
                    crate::text::quote(&v.value),
                    b.randomness
                )));
            }
        }
    }
    if v.kind != SeedKind::Drand && (v.round.is_some() || v.signature.is_some()) {
        return Err(DrawError::Seed(
            "only a drand seed carries a round and a signature".into(),
        ));
    }
    Ok(())
}

/// The form of publicly drawn digits, checked before anything is loaded: decimal digits only,
/// at least 6, written exactly as announced.
pub fn check_digits(value: &str) -> Result<(), DrawError> {
    if value.len() >= 6 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    Err(DrawError::Seed(format!(
        "`{}` must be at least 6 decimal digits and nothing else (write lottery numbers as two \
         digits each, in draw order, without separators)",
        crate::text::quote(value)
    )))
}

/// `seed = sha256_hex(spec + "\n" + manifest_digest + "\n" + kind + "\n" + value)`.
pub fn seed(spec: &str, manifest_digest: &str, kind: SeedKind, value: &str) -> String {
    ticket::sha256_hex(&format!(
        "{spec}\n{manifest_digest}\n{}\n{value}",
        kind.name()
    ))
}

/// Selects each stratum's entities and alternates: candidates in increasing ticket order,
/// skipping entities selected by earlier strata.
pub fn select(manifest: &Manifest, t: &Ticketer) -> Result<Vec<StratumResult>, DrawError> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(manifest.strata.len());
    for s in &manifest.strata {
        let mut keyed: Vec<(u64, &str)> = s
            .candidates
            .iter()
            .map(|c| (t.key(c), c.as_str()))
            .collect();
        // Only the first 2 × quota candidates not taken earlier are needed: order just enough.
        let need = (2 * s.quota as usize + taken.len()).min(keyed.len());
        if need < keyed.len() && need > 0 {
            keyed.select_nth_unstable_by(need - 1, |(ka, a), (kb, b)| {
                ka.cmp(kb).then_with(|| ticket::compare_full(t, a, b))
            });
            keyed.truncate(need);
        }
        ticket::order(t, &mut keyed);
        let mut selected = Vec::new();
        let mut alternates = Vec::new();
        for (_, id) in keyed {
            if taken.contains(id) {
                continue;
            }
            let pick = Pick {
                id: id.to_string(),
                ticket: t.ticket(id),
            };
            if selected.len() < s.quota as usize {
                selected.push(pick);
            } else if alternates.len() < s.quota as usize {
                alternates.push(pick);
            } else {
                break;
            }
        }
        if selected.len() < s.quota as usize {
            return Err(DrawError::PoolTooSmall {
                stratum: s.stratum.clone(),
                quota: s.quota,
                available: selected.len(),
            });
        }
        taken.extend(selected.iter().map(|p| p.id.clone()));
        out.push(StratumResult {
            task: s.task.clone(),
            stratum: s.stratum.clone(),
            quota: s.quota,
            selected,
            alternates,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Cadre,
    Member,
    Partner,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Cadre => "responsible 处级 cadre",
            Role::Member => "division member",
            Role::Partner => "partner-agency member",
        }
    }
}

/// What team formation needs besides the manifest: the seed's tickets and how many
/// assignments each officer already holds.
pub struct Staffing<'m> {
    manifest: &'m Manifest,
    t: &'m Ticketer,
    /// v1/v2: certificates must be valid on this day: the manifest's for the draw, the day of
    /// the replacement for a team formed later.
    certificate_date: chrono::NaiveDate,
    conflicts: HashSet<(&'m str, &'m str)>,
    last_year: HashSet<(&'m str, &'m str)>,
    /// v3: each candidate's recused officers, ascending.
    recused: HashMap<&'m str, &'m [String]>,
    /// v3: listed officers no longer eligible on the day a later team is formed, and why.
    excluded: HashMap<String, &'static str>,
    pub load: HashMap<String, u32>,
}

impl<'m> Staffing<'m> {
    pub fn new(manifest: &'m Manifest, t: &'m Ticketer) -> Staffing<'m> {
        let pairs = |v: &'m [(String, String)]| {
            v.iter()
                .map(|(o, u)| (o.as_str(), u.as_str()))
                .collect::<HashSet<_>>()
        };
        let recused = manifest.recusals();
        Staffing {
            manifest,
            t,
            certificate_date: manifest.team_rules.certificate_date,
            conflicts: pairs(manifest.conflicts.as_deref().unwrap_or_default()),
            last_year: pairs(&manifest.last_year_pairs),
            recused,
            excluded: HashMap::new(),
            load: HashMap::new(),
        }
    }

    /// Teams formed from now on check certificates on `day` (a replacement's own day): for a
    /// v3 manifest, `excluded` are the listed officers the eligibility record rules out then.
    pub fn certificates_on(
        mut self,
        day: chrono::NaiveDate,
        excluded: HashMap<String, &'static str>,
    ) -> Self {
        self.certificate_date = day;
        self.excluded = excluded;
        self
    }

    /// Why officer `o` may not take a role at entity `e`, before the cap.
    fn ineligible(&self, o: &OfficerDecl, e: &str) -> Option<&'static str> {
        let rules = &self.manifest.team_rules;
        let o = match o {
            OfficerDecl::Public(p) => {
                let recused = self
                    .recused
                    .get(e)
                    .is_some_and(|v| v.binary_search(&p.id).is_ok());
                return match recused {
                    true => Some("not_eligible"),
                    false => self.excluded.get(&p.id).copied(),
                };
            }
            OfficerDecl::Full(o) => o,
        };
        if !o.active {
            Some("inactive")
        } else if rules.require_valid_certificate
            && o.valid_until.is_some_and(|d| d < self.certificate_date)
        {
            Some("certificate_expired")
        } else if self.conflicts.contains(&(o.id.as_str(), e)) {
            Some("declared_conflict")
        } else if rules.recusal.home_city
            && o.home_city.is_some()
            && o.home_city.as_deref() == self.manifest.entity_cities.get(e).map(String::as_str)
        {
            Some("home_city")
        } else if rules.recusal.last_year && self.last_year.contains(&(o.id.as_str(), e)) {
            Some("last_year")
        } else {
            None
        }
    }

    /// Forms the team of entity `e` of `stratum` (task `task`) and counts its assignments.
    pub fn team(&mut self, task: &str, stratum: &str, e: &str) -> Result<Team, DrawError> {
        let manifest = self.manifest;
        let rules = &manifest.team_rules;
        let t = self.t;
        let task = manifest
            .tasks
            .iter()
            .find(|x| x.task == task)
            .ok_or_else(|| DrawError::UnknownTask(task.to_string()))?;
        let mut order: Vec<(u64, String, &OfficerDecl)> = manifest
            .officers
            .iter()
            .map(|o| {
                let key = format!("{e}/{}", o.id());
                (t.key(&key), key, o)
            })
            .collect();
        order.sort_by(|(ka, a, _), (kb, b, _)| {
            ka.cmp(kb).then_with(|| ticket::compare_full(t, a, b))
        });
        let mut roles = vec![Role::Cadre];
        roles.extend(std::iter::repeat_n(
            Role::Member,
            task.team_size.saturating_sub(1) as usize,
        ));
        roles.extend(std::iter::repeat_n(
            Role::Partner,
            task.partner_members as usize,
        ));
        let mut team: Vec<&str> = Vec::new();
        let mut skipped: Vec<Skip> = Vec::new();
        for role in roles {
            let mut reasons: BTreeMap<&'static str, usize> = BTreeMap::new();
            let mut filled = false;
            for (_, _, o) in &order {
                let (agency, division, cadre) = o.role();
                let department = agency == rules.department;
                let fits = match role {
                    Role::Cadre => department && division == Some(task.division.as_str()) && cadre,
                    Role::Member => department && division == Some(task.division.as_str()),
                    Role::Partner => task.partner_agency.as_deref() == Some(agency),
                };
                let id = o.id();
                if !fits || team.contains(&id) {
                    continue;
                }
                let reason = self.ineligible(o, e).or_else(|| {
                    (self.load.get(id).copied().unwrap_or(0) >= rules.cap_per_officer)
                        .then_some("cap")
                });
                match reason {
                    Some(r) => {
                        *reasons.entry(r).or_insert(0) += 1;
                        if !skipped.iter().any(|x| x.officer == id) {
                            skipped.push(Skip {
                                officer: id.to_string(),
                                reason: r.to_string(),
                            });
                        }
                    }
                    None => {
                        team.push(id);
                        *self.load.entry(id.to_string()).or_insert(0) += 1;
                        filled = true;
                        break;
                    }
                }
            }
            if !filled {
                let skipped = if reasons.is_empty() {
                    "none (no officer has this role at all)".to_string()
                } else {
                    reasons
                        .iter()
                        .map(|(r, n)| format!("{n} {r}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(DrawError::Unstaffed {
                    entity: e.to_string(),
                    task: task.task.clone(),
                    role: role.name().to_string(),
                    skipped,
                });
            }
        }
        let size = task.team_size as usize;
        Ok(Team {
            entity: e.to_string(),
            task: task.task.clone(),
            stratum: stratum.to_string(),
            cadre: team[0].to_string(),
            members: team[..size].iter().map(|x| x.to_string()).collect(),
            partners: team[size..].iter().map(|x| x.to_string()).collect(),
            skipped,
        })
    }
}

/// Forms the teams, entity by entity in selection order.
pub fn teams(
    manifest: &Manifest,
    strata: &[StratumResult],
    t: &Ticketer,
) -> Result<Vec<Team>, DrawError> {
    let mut staffing = Staffing::new(manifest, t);
    let mut out = Vec::new();
    for s in strata {
        for pick in &s.selected {
            out.push(staffing.team(&s.task, &s.stratum, &pick.id)?);
        }
    }
    Ok(out)
}

/// The whole draw from a manifest (and its digest) and a seed value.
pub fn run(
    manifest: &Manifest,
    manifest_digest: &str,
    value: &SeedValue,
) -> Result<DrawDoc, DrawError> {
    check_seed(&manifest.seed_source, value)?;
    let seed = seed(&manifest.spec, manifest_digest, value.kind, &value.value);
    let t = Ticketer::new(&seed);
    let strata = select(manifest, &t)?;
    let teams = teams(manifest, &strata, &t)?;
    Ok(DrawDoc {
        spec: manifest.spec.clone(),
        manifest_digest: manifest_digest.to_string(),
        seed_source: value.clone(),
        seed,
        strata,
        teams,
    })
}

/// What a verified manifest says about its own timing, for the verifier to print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timing {
    pub spec: String,
    pub frozen_at: Option<String>,
    pub available_at: Option<String>,
    /// `frozen_at` came from a replayed or rehearsed clock.
    pub simulated: bool,
    pub beacon_round: Option<u64>,
}

/// Reads a published manifest and checks what it says about time: a v2 manifest must have
/// been frozen strictly before its seed became public, and a drand manifest must name the
/// first quicknet round at or after that moment.
pub fn check_manifest(manifest_bytes: &[u8]) -> Result<(Manifest, Timing), String> {
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| format!("manifest is not a suiji-draw manifest: {e}"))?;
    if ![SPEC_V5, SPEC, SPEC_V3, SPEC_V2, SPEC_V1].contains(&manifest.spec.as_str()) {
        return Err(format!(
            "unknown spec `{}` (expected {SPEC_V5}, {SPEC}, {SPEC_V3}, {SPEC_V2} or {SPEC_V1})",
            manifest.spec
        ));
    }
    eligibility::check_members(&manifest)?;
    let timing = Timing {
        spec: manifest.spec.clone(),
        frozen_at: manifest.frozen_at.clone(),
        available_at: manifest.seed_source.available_at.map(|t| t.to_rfc3339()),
        simulated: manifest.simulated,
        beacon_round: manifest.seed_source.beacon.as_ref().map(|b| b.round),
    };
    if manifest.spec == SPEC_V1 {
        if manifest.frozen_at.is_some()
            || manifest.simulated
            || manifest.seed_source.available_at.is_some()
            || manifest.seed_source.beacon.is_some()
            || manifest.seed_source.kind == SeedKind::Drand
        {
            return Err(format!("a {SPEC_V1} manifest has v2 members"));
        }
        return Ok((manifest, timing));
    }
    let frozen = manifest
        .frozen_at
        .as_deref()
        .ok_or("frozen_at is missing")?;
    let frozen_t = chrono::DateTime::parse_from_rfc3339(frozen)
        .map_err(|_| format!("frozen_at `{}` is not an RFC 3339 time", text_quote(frozen)))?;
    let available = manifest
        .seed_source
        .available_at
        .ok_or("seed_source.available_at is missing")?;
    if frozen_t >= available {
        return Err(format!(
            "frozen_at {frozen} is not before seed_source.available_at {}: the manifest was \
             frozen when the randomness could already be known",
            available.to_rfc3339()
        ));
    }
    let expected_date = available
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    if manifest.team_rules.certificate_date != expected_date {
        return Err(format!(
            "team_rules.certificate_date {} is not the day of available_at ({expected_date})",
            manifest.team_rules.certificate_date
        ));
    }
    match (&manifest.seed_source.kind, &manifest.seed_source.beacon) {
        (SeedKind::Drand, Some(b)) => b.check(available).map_err(|e| e.to_string())?,
        (SeedKind::Drand, None) => return Err("a drand manifest has no seed_source.beacon".into()),
        (_, Some(_)) => return Err("only a drand manifest has seed_source.beacon".into()),
        (_, None) => {}
    }
    Ok((manifest, timing))
}

fn text_quote(s: &str) -> String {
    crate::text::quote(s)
}

/// Recomputes a published draw from the two files alone. The manifest's timing, or the first
/// difference.
pub fn verify(manifest_bytes: &[u8], draw_bytes: &[u8]) -> Result<Timing, String> {
    let (manifest, timing) = check_manifest(manifest_bytes)?;
    let published: DrawDoc = serde_json::from_slice(draw_bytes)
        .map_err(|e| format!("draw is not a suiji-draw document: {e}"))?;
    if published.spec != manifest.spec {
        return Err(format!(
            "spec: the draw says {}, its manifest {}",
            published.spec, manifest.spec
        ));
    }
    let digest = crate::audit::sha256_hex(manifest_bytes);
    if digest != published.manifest_digest {
        return Err(format!(
            "manifest_digest: the draw says {}, the manifest hashes to {digest}",
            published.manifest_digest
        ));
    }
    let recomputed = run(&manifest, &digest, &published.seed_source).map_err(|e| e.to_string())?;
    let (a, b) = (
        serde_json::to_value(&published).map_err(|e| e.to_string())?,
        serde_json::to_value(&recomputed).map_err(|e| e.to_string())?,
    );
    match first_difference("", &a, &b) {
        None => Ok(timing),
        Some((path, published, recomputed)) => Err(format!(
            "{path}: published {published}, recomputed {recomputed}"
        )),
    }
}

/// The first place two documents differ, in document order (array positions matter).
fn first_difference(path: &str, a: &Value, b: &Value) -> Option<(String, String, String)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(&p, va, vb) {
                            return Some(d);
                        }
                    }
                    None => return Some((p, va.to_string(), "(missing)".into())),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| (format!("{path}.{k}"), "(missing)".into(), y[k].to_string()))
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(&format!("{path}[{i}]"), va, vb) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| {
                (
                    format!("{path}.length"),
                    x.len().to_string(),
                    y.len().to_string(),
                )
            })
        }
        _ if a != b => Some((path.to_string(), a.to_string(), b.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
