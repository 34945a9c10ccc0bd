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
        simulated: false,
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
        task_count: 1,
        total_candidates: 0,
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
