use super::*;

#[test]
fn task_ids_become_safe_distinct_file_names() {
    assert_eq!(file_stem("henan-2024-trade-001"), "henan-2024-trade-001");
    assert_eq!(file_stem("../x"), "~2e~2e~2fx");
    assert_ne!(file_stem("a~2e"), file_stem("a."));
    assert!(!file_stem("任务/1").contains('/'));
}

#[test]
fn times_read_as_beijing_minutes() {
    assert_eq!(when("2024-05-16T21:15:00+08:00".into()), "2024-05-16 21:15");
    assert_eq!(when("2024-05-16T13:30:00.000Z".into()), "2024-05-16 21:30");
    assert_eq!(when("not a time".into()), "not a time");
}

fn site_with(fields: &[ResultField], url: Option<&str>) -> PlanSite {
    let officer = Officer {
        name: "张三".into(),
        certificate: "41000001001".into(),
    };
    PlanSite {
        department: "厅".into(),
        plan_id: "p".into(),
        year: 2024,
        title: "计划".into(),
        window_start: "2024-05-20".into(),
        window_end: "2024-12-31".into(),
        rehearsal: false,
        generated_at: "2024-06-01T08:00:00+08:00".into(),
        seed: None,
        manifest_file: Some("manifest-1.json".into()),
        manifest_digest: Some("ab".into()),
        frozen_at: Some("2024-05-13T09:00:00+08:00".into()),
        tasks: Vec::new(),
        history: Vec::new(),
        draws: Vec::new(),
        official: None,
        selection: Vec::new(),
        items: Vec::new(),
        results: vec![ResultRow {
            task: "p-t-001".into(),
            entity: "=1+1".into(),
            uscc: "914101".into(),
            division: "处".into(),
            city: "郑州".into(),
            items: "HNYJ-01".into(),
            inspected: NaiveDate::from_ymd_opt(2024, 6, 3),
            outcome: "行政处罚",
            outcome_code: "penalty",
            published: NaiveDate::from_ymd_opt(2024, 6, 20).unwrap_or_default(),
            deadline: NaiveDate::from_ymd_opt(2024, 6, 12),
            deadline_days: 5,
            on_time: false,
            penalty_decided: None,
            penalty_published: None,
            penalty_deadline: None,
            penalty_days: 7,
            penalty_on_time: None,
            officers: vec![officer],
            url: url.map(str::to_string),
            notes: Vec::new(),
            page: "results/p-t-001.html".into(),
        }],
        taken_down: Vec::new(),
        task_count: 1,
        total_candidates: 0,
        distinct_candidates: false,
        directories: Directories::default(),
        total_quota: 0,
        show: ResultField::ALL
            .iter()
            .map(|f| (f.key(), fields.contains(f)))
            .collect(),
        divisions: vec!["处".into()],
        cities: vec!["郑州".into()],
        outcomes: vec!["行政处罚"],
        audit_head: None,
    }
}

#[test]
fn only_configured_result_fields_are_published() {
    let site = site_with(&[ResultField::Outcome, ResultField::Officers], None);
    let (headers, rows) = result_table(&site);
    assert_eq!(
        headers,
        [
            "任务编号",
            "检查对象",
            "检查结果",
            "执法人员（姓名/执法证号）",
            "备注"
        ]
    );
    assert_eq!(rows[0][3], "张三（41000001001）");
    let files = render(&site).expect("renders");
    let page = files
        .iter()
        .find(|(n, _)| n == "results/p-t-001.html")
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .expect("result page");
    assert!(!page.contains("914101"), "the USCC is not configured");
    assert!(page.contains("执法证号 41000001001"));
    let csv = files
        .iter()
        .find(|(n, _)| n == "results.csv")
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .expect("csv");
    assert!(csv.contains("'=1+1"), "{csv}");
}

#[test]
fn every_page_renders_and_escapes() {
    let site = site_with(
        &ResultField::ALL,
        Some("https://example.gov.cn/a?b=1&c=<x>"),
    );
    for (name, bytes) in render(&site).expect("renders") {
        if name.ends_with(".html") {
            let html = String::from_utf8(bytes).expect("utf-8");
            assert!(!html.contains("c=<x>"), "{name}");
        }
    }
}

#[test]
fn pages_count_a_manifests_candidates_without_keeping_them() {
    let content = serde_json::json!({
        "spec": "suiji-manifest/2",
        "simulated": true,
        "plan": {"id": "p", "year": 2024, "title": "计划<一>", "script_sha256": "ab",
                 "window": {"start": "2024-05-20", "end": "2024-12-31"}},
        "seed_source": {"kind": "manual", "source": "摇号", "available_at": "2024-05-16"},
        "strata": [
            {"task": "t1", "stratum": "a", "quota": 2, "candidates": ["91", "92", "93"]},
            {"task": "t1", "stratum": "b", "quota": 1, "candidates": [{"nested": [1, 2]}]},
            {"task": "t2", "stratum": "c", "quota": 4, "candidates": []}
        ],
        "tasks": [
            {"task": "t1", "name": "一", "division": "d", "team_size": 2, "items": ["I1", "I2"]},
            {"task": "t2", "name": "二", "division": "d", "team_size": 3, "items": []}
        ],
        "officers": [{"id": "o1"}],
        "conflicts": [["o1", "91"]]
    })
    .to_string();
    let manifest = ManifestRecord {
        id: 7,
        plan_id: "p".into(),
        year: 2024,
        seq: 1,
        digest: "ab".into(),
        script_sha256: "cd".into(),
        content,
        status: "active".into(),
        frozen_at: "2024-05-13T09:00:00+08:00".into(),
        available_at: Some("2024-05-16T21:15:00+08:00".into()),
        reason: None,
        actor: "clerk".into(),
        audit: None,
    };
    let manifests = [manifest];
    let (index, _) = crate::publish::history(
        "p",
        2024,
        crate::store::Mode::Rehearsal,
        &manifests,
        &[],
        &[],
        None,
    );
    let label = |c: &str| format!("<{c}>");
    let officers = HashMap::new();
    let names = Names {
        department: "厅",
        division: &label,
        agency: &label,
        city: &label,
        officers: &officers,
        beacon_relay: "",
    };
    let input = Inputs {
        plan_id: "p",
        year: 2024,
        manifests: &manifests,
        draws: &[],
        index: &index,
        tasks: &[],
        facts: &[],
        items: &[],
        fields: &[],
        generated_at: "2024-05-13T09:00:00+08:00",
        today: NaiveDate::from_ymd_opt(2024, 5, 13).expect("date"),
        calendar: &crate::calendar::Calendar::shipped().expect("calendar"),
    };
    let site = PlanSite::build(&input, &names).expect("a site");
    assert_eq!((site.title.as_str(), site.rehearsal), ("计划<一>", true));
    assert_eq!(site.window_end, "2024-12-31");
    assert_eq!(site.seed.as_ref().map(|s| s.source.as_str()), Some("摇号"));
    let strata: Vec<(&str, &str, usize, usize)> = site
        .tasks
        .iter()
        .flat_map(|t| {
            t.strata
                .iter()
                .map(|s| (t.id.as_str(), s.id.as_str(), s.candidates, s.quota))
        })
        .collect();
    assert_eq!(
        strata,
        [("t1", "a", 3, 2), ("t1", "b", 1, 1), ("t2", "c", 0, 4)]
    );
    let per_task: Vec<usize> = site.tasks.iter().map(|t| t.candidates).collect();
    assert_eq!(per_task, [4, 0]);
    assert_eq!((site.total_candidates, site.total_quota), (4, 7));
    assert_eq!(site.tasks[0].items, "I1、I2");
}
