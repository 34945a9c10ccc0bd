//! A large published draw for the verifiers: shared by `tests/site.rs` and `benches/verify.rs`.

use std::path::Path;

/// The golden v2 inputs with the trade stratum's pool grown to 1,000,000 candidates, sealed
/// into a v3 manifest (every candidate named, eligibility published, reasons committed), drawn
/// by suiji: (manifest bytes, draw bytes).
pub fn million_candidate_draw() -> (Vec<u8>, Vec<u8>) {
    use suiji::draw::{self, Manifest, SeedValue};
    let mut m: Manifest = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v2/manifest.json"))
            .expect("golden"),
    )
    .expect("manifest");
    let trade = m
        .strata
        .iter_mut()
        .find(|s| s.stratum == "trade")
        .expect("trade stratum");
    trade.candidates = (0..1_000_000).map(|i| format!("91410000{i:010}")).collect();
    let (mut m, _) = draw::eligibility::seal(
        &m,
        &|id| Some(format!("执法人员{id}")),
        &|uscc| {
            Some(draw::EntityDecl {
                name: format!("河南某某商贸有限公司{}", &uscc[8..]),
                city: "郑州".into(),
            })
        },
        None,
    )
    .expect("seal");
    for s in &mut m.strata {
        s.label = Some(format!("分层 {}", s.stratum));
    }
    let manifest = draw::canonical(&m).expect("canonical");
    let digest = suiji::audit::sha256_hex(&manifest);
    let doc = draw::run(
        &m,
        &digest,
        &SeedValue::plain(suiji::plan::SeedKind::Manual, "03071218253109"),
    )
    .expect("draw");
    (manifest, draw::canonical(&doc).expect("canonical"))
}
