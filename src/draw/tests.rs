use super::*;
use crate::plan::SeedKind;

/// A small v2 manifest (every officer in full; `eligibility::seal` makes its v3 form): two strata over overlapping candidates, one division with cadres, and a
/// partner agency for the joint task.
pub(crate) fn fixture(candidates: usize) -> Manifest {
    let ids: Vec<String> = (0..candidates).map(|i| format!("E{i:04}")).collect();
    let mut officers = Vec::new();
    for i in 0..12 {
        officers.push(OfficerDecl::Full(ManifestOfficer {
            id: format!("O{i:02}"),
            agency: "hnem".into(),
            division: Some("hazchem".into()),
            cadre: i < 3,
            home_city: Some(if i % 2 == 0 { "4101" } else { "4102" }.into()),
            active: i != 5,
            valid_until: None,
        }));
    }
    for i in 0..4 {
        officers.push(OfficerDecl::Full(ManifestOfficer {
            id: format!("P{i:02}"),
            agency: "hnsamr".into(),
            division: None,
            cadre: false,
            home_city: None,
            active: true,
            valid_until: None,
        }));
    }
    Manifest {
        spec: SPEC_V2.into(),
        frozen_at: Some("2024-05-13T09:00:00.000+08:00".into()),
        simulated: false,
        plan: ManifestPlan {
            id: "test".into(),
            year: 2024,
            title: "test".into(),
            script_sha256: "0".repeat(64),
            window: Window {
                start: chrono::NaiveDate::from_ymd_opt(2024, 5, 20).expect("date"),
                end: chrono::NaiveDate::from_ymd_opt(2024, 12, 31).expect("date"),
            },
        },
        seed_source: SeedDeclaration {
            kind: SeedKind::Manual,
            source: "dice".into(),
            available_at: crate::clock::parse_time("2024-05-16 21:15"),
            beacon: None,
            game: None,
            announcement: None,
        },
        strata: vec![
            ManifestStratum {
                task: "a".into(),
                stratum: "a/high".into(),
                label: None,
                ratio: None,
                quota: 2,
                candidates: ids[..candidates / 2].to_vec(),
            },
            ManifestStratum {
                task: "a".into(),
                stratum: "a/rest".into(),
                label: None,
                ratio: None,
                quota: 3,
                candidates: ids.clone(),
            },
        ],
        tasks: vec![ManifestTask {
            task: "a".into(),
            name: "A".into(),
            division: "hazchem".into(),
            team_size: 2,
            partner_agency: Some("hnsamr".into()),
            partner_members: 1,
            items: vec!["X-1".into()],
        }],
        officers,
        team_rules: TeamRulesDecl {
            department: "hnem".into(),
            cap_per_officer: 3,
            require_valid_certificate: true,
            certificate_date: chrono::NaiveDate::from_ymd_opt(2024, 5, 16).expect("date"),
            recusal: Recusal {
                home_city: false,
                last_year: false,
            },
        },
        entities: None,
        recused: None,
        eligibility: None,
        conflicts: Some(vec![]),
        entity_cities: BTreeMap::new(),
        last_year_pairs: vec![],
        capped: None,
    }
}

fn manual(v: &str) -> SeedValue {
    SeedValue::plain(SeedKind::Manual, v)
}

#[test]
fn strata_skip_earlier_selections_and_teams_follow_the_rules() {
    let m = fixture(40);
    let d = run(&m, "digest", &manual("123456")).expect("draw");
    let high: Vec<&str> = d.strata[0].selected.iter().map(|p| p.id.as_str()).collect();
    let rest: Vec<&str> = d.strata[1].selected.iter().map(|p| p.id.as_str()).collect();
    assert_eq!((high.len(), rest.len()), (2, 3));
    assert!(
        rest.iter().all(|r| !high.contains(r)),
        "no entity drawn twice"
    );
    assert_eq!(d.strata[1].alternates.len(), 3);
    // Tickets ascend within a stratum.
    let tickets: Vec<&String> = d.strata[1].selected.iter().map(|p| &p.ticket).collect();
    assert!(tickets.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(d.teams.len(), 5);
    let mut load: HashMap<&str, u32> = HashMap::new();
    for team in &d.teams {
        assert_eq!(team.members.len(), 2);
        assert_eq!(team.members[0], team.cadre);
        assert!(["O00", "O01", "O02"].contains(&team.cadre.as_str()));
        assert_eq!(team.partners.len(), 1);
        assert!(
            !team.members.contains(&"O05".to_string()),
            "inactive officer drawn"
        );
        for o in team.members.iter().chain(&team.partners) {
            *load.entry(o).or_insert(0) += 1;
        }
    }
    assert!(load.values().all(|&n| n <= 3), "cap respected: {load:?}");
    assert_eq!(run(&m, "digest", &manual("123456")), Ok(d), "deterministic");
}

#[test]
fn recusal_is_honoured() {
    let mut m = fixture(10);
    let first = run(&m, "digest", &manual("999999")).expect("draw");
    let e = first.teams[0].entity.clone();
    let cadre = first.teams[0].cadre.clone();
    m.conflicts
        .get_or_insert_default()
        .push((cadre.clone(), e.clone()));
    let second = run(&m, "digest", &manual("999999")).expect("draw");
    let team = second
        .teams
        .iter()
        .find(|t| t.entity == e)
        .expect("same entity drawn");
    assert_ne!(team.cadre, cadre);
    assert!(team.skipped.contains(&Skip {
        officer: cadre,
        reason: "declared_conflict".into()
    }));
}

#[test]
fn an_unstaffable_team_fails_naming_entity_role_and_reasons() {
    let mut m = fixture(10);
    for o in &mut m.officers {
        if let OfficerDecl::Full(o) = o
            && o.cadre
        {
            o.valid_until = chrono::NaiveDate::from_ymd_opt(2024, 1, 1);
        }
    }
    match run(&m, "digest", &manual("123456")) {
        Err(DrawError::Unstaffed {
            role,
            skipped,
            entity,
            ..
        }) => {
            assert_eq!(role, "responsible 处级 cadre");
            assert_eq!(skipped, "3 certificate_expired");
            assert!(entity.starts_with('E'));
        }
        other => panic!("expected a staffing failure, got {other:?}"),
    }
}

#[test]
fn seed_values_are_checked() {
    let m = fixture(4);
    let decl = |kind| SeedDeclaration {
        kind,
        ..m.seed_source.clone()
    };
    let check = |kind, v: &str| check_seed(&decl(kind), &SeedValue::plain(kind, v));
    assert!(check(SeedKind::Manual, "0307121825310").is_ok());
    assert!(check(SeedKind::Manual, "03 07 12").is_err());
    assert!(check(SeedKind::Manual, "123").is_err());
    assert!(check(SeedKind::Os, &"a".repeat(64)).is_ok());
    assert!(check(SeedKind::Os, &"A".repeat(64)).is_err());
    // A value of another kind than declared is refused.
    assert!(check_seed(&decl(SeedKind::Os), &manual("123456")).is_err());
}

#[test]
fn verify_finds_the_first_difference() {
    let m = fixture(30);
    let mb = canonical(&m).expect("manifest");
    let digest = crate::audit::sha256_hex(&mb);
    let d = run(&m, &digest, &manual("271828")).expect("draw");
    let db = canonical(&d).expect("draw json");
    assert!(verify(&mb, &db).is_ok());
    let mut forged = d.clone();
    forged.strata[1].selected[0].id = forged.strata[1].alternates[0].id.clone();
    let e = verify(&mb, &canonical(&forged).expect("json")).expect_err("forged");
    assert!(e.starts_with("strata[1].selected[0].id"), "{e}");
    let mut edited = m.clone();
    edited.strata[0].quota = 1;
    assert!(
        verify(&canonical(&edited).expect("json"), &db)
            .expect_err("manifest changed")
            .starts_with("manifest_digest")
    );
}

/// Over 20,000 seeds, every candidate of a stratum is selected about quota/size of the time:
/// Pearson's chi-square with 19 degrees of freedom stays below 43.82 (p = 0.001).
#[test]
fn selection_is_uniform_chi_square() {
    let size = 20usize;
    let quota = 5u32;
    let mut m = fixture(size);
    m.strata = vec![ManifestStratum {
        task: "a".into(),
        stratum: "a".into(),
        label: None,
        ratio: None,
        quota,
        candidates: (0..size).map(|i| format!("E{i:04}")).collect(),
    }];
    let seeds = 20_000;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for i in 0..seeds {
        let t = Ticketer::new(&format!("chi-square-{i}"));
        for p in &select(&m, &t).expect("select")[0].selected {
            *counts.entry(p.id.clone()).or_insert(0) += 1;
        }
    }
    let expected = seeds as f64 * f64::from(quota) / size as f64;
    let chi2: f64 = (0..size)
        .map(|i| {
            let o = counts.get(&format!("E{i:04}")).copied().unwrap_or(0) as f64;
            (o - expected).powi(2) / expected
        })
        .sum();
    assert!(
        chi2 < 43.82,
        "chi-square {chi2:.2} with 19 degrees of freedom: p < 0.001"
    );
}

#[test]
fn a_manifest_frozen_at_or_after_available_at_does_not_verify() {
    let mut m = fixture(30);
    m.frozen_at = Some("2024-05-16T21:15:00.000+08:00".into());
    let mb = canonical(&m).expect("manifest");
    let e = check_manifest(&mb).expect_err("frozen too late");
    assert!(e.contains("is not before seed_source.available_at"), "{e}");
    m.frozen_at = Some("2024-05-16T21:14:59.999+08:00".into());
    let timing = check_manifest(&canonical(&m).expect("manifest"))
        .expect("frozen in time")
        .1;
    assert_eq!(
        timing.available_at.as_deref(),
        Some("2024-05-16T21:15:00+08:00")
    );
}

/// drand quicknet round 657413 is published at 2023-09-15 19:00:03 Beijing time.
#[test]
fn a_drand_seed_is_the_verified_round_and_nothing_else() {
    let sig = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";
    let mut m = fixture(30);
    let at = crate::clock::parse_time("2023-09-15 19:00:02").expect("time");
    m.frozen_at = Some("2023-09-01T09:00:00.000+08:00".into());
    m.seed_source = SeedDeclaration {
        kind: SeedKind::Drand,
        source: "drand quicknet".into(),
        available_at: Some(at),
        beacon: Some(crate::beacon::BeaconDecl::quicknet_at(at)),
        game: None,
        announcement: None,
    };
    m.team_rules.certificate_date = chrono::NaiveDate::from_ymd_opt(2023, 9, 15).expect("date");
    assert_eq!(m.seed_source.beacon.as_ref().map(|b| b.round), Some(657413));
    let mb = canonical(&m).expect("manifest");
    let digest = crate::audit::sha256_hex(&mb);
    let b = crate::beacon::verify(657413, sig).expect("beacon");
    let d = run(&m, &digest, &SeedValue::drand(&b)).expect("draw");
    assert_eq!(
        d.seed_source.value,
        "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
    );
    let db = canonical(&d).expect("draw json");
    assert_eq!(
        verify(&mb, &db).expect("verifies").beacon_round,
        Some(657413)
    );
    // Another round's value, a forged value, or a typed-in value are all refused.
    let mut other = SeedValue::drand(&b);
    other.round = Some(657414);
    assert!(run(&m, &digest, &other).is_err());
    let mut forged = SeedValue::drand(&b);
    forged.value = "0".repeat(64);
    assert!(run(&m, &digest, &forged).is_err());
    assert!(
        run(
            &m,
            &digest,
            &SeedValue::plain(SeedKind::Drand, &b.randomness)
        )
        .is_err()
    );
}
