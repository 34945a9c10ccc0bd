//! Synthetic Henan registry data: the shipped demo set under `examples/henan/` and the large
//! sets benchmarks use. Everything is a pure function of (size, seed): the same call gives the
//! same files on any machine and any version, because the generator is our own SplitMix64
//! rather than a library distribution that may change between releases.
//!
//! Files are written the way the national systems export them: Chinese headers and labels.
//! The people of the demo year, who record what the divisions did, are in [`people`].

pub mod people;

/// The shipped demo registry (`examples/henan/`), compiled in: `suiji demo run` needs no file of
/// the repository, whatever folder it runs in.
pub const HENAN_REGISTRY: [(&str, &str); 6] = [
    (
        "bureaus.csv",
        include_str!("../../examples/henan/bureaus.csv"),
    ),
    ("items.csv", include_str!("../../examples/henan/items.csv")),
    (
        "entities.csv",
        include_str!("../../examples/henan/entities.csv"),
    ),
    (
        "officers.csv",
        include_str!("../../examples/henan/officers.csv"),
    ),
    (
        "conflicts.csv",
        include_str!("../../examples/henan/conflicts.csv"),
    ),
    (
        "inspections.csv",
        include_str!("../../examples/henan/inspections.csv"),
    ),
];

/// The reference plans (`rules/`), compiled in: the demo's, and a department's starting point
/// (`suiji init`). The first is the demo's.
pub const REFERENCE_PLANS: [(&str, &str); 2] = [
    (
        "henan-2024.rhai",
        include_str!("../../rules/henan-2024.rhai"),
    ),
    (
        "henan-2025.rhai",
        include_str!("../../rules/henan-2025.rhai"),
    ),
];

/// Writes the compiled-in demo inputs into `dir` (the registry files and the demo's plan), as
/// the record of what the demo imported; returns the plan's path. Files already there with the
/// same bytes are left alone.
pub fn write_inputs(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let (plan, text) = REFERENCE_PLANS[0];
    for (name, bytes) in HENAN_REGISTRY.iter().chain([&(plan, text)]) {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(bytes.as_bytes()) {
            std::fs::write(&path, bytes)?;
        }
    }
    Ok(dir.join(plan))
}

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::import::{self, Kind, Known, Problem, Records, Row, Table};
use crate::registry::{RiskLevel, Snapshot};
use crate::uscc::{ALPHABET, Uscc};
use crate::vocab::{HENAN_UNITS, Vocabulary};

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and stable by construction.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0); the modulo bias is irrelevant for demo data.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Index chosen with the given integer weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut r = self.below(total as usize) as u32;
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Sector code, share of entities (per mille), how its names end, and its tags.
struct SectorProfile {
    code: &'static str,
    per_mille: u32,
    suffixes: &'static [&'static str],
    /// Risk weights red/orange/yellow/blue in percent.
    risk: [u32; 4],
    tags: &'static [(&'static str, usize)],
}

const PROFILES: &[SectorProfile] = &[
    SectorProfile {
        code: "noncoal_mine",
        per_mille: 120,
        suffixes: &[
            "矿业有限公司",
            "石材有限公司",
            "建材矿业有限公司",
            "铝土矿有限公司",
        ],
        risk: [6, 18, 46, 30],
        tags: &[("一般检查单位", 45), ("尾矿库", 15)],
    },
    SectorProfile {
        code: "hazchem",
        per_mille: 200,
        suffixes: &[
            "化工有限公司",
            "气体有限公司",
            "石化销售有限公司",
            "危险品储运有限公司",
        ],
        risk: [6, 18, 46, 30],
        tags: &[("危化品生产", 40), ("危化品经营", 55), ("重大危险源", 20)],
    },
    SectorProfile {
        code: "chemical",
        per_mille: 100,
        suffixes: &["化工有限公司", "精细化工有限公司", "新材料有限公司"],
        risk: [5, 15, 50, 30],
        tags: &[("重大危险源", 15)],
    },
    SectorProfile {
        code: "pharma",
        per_mille: 40,
        suffixes: &["制药有限公司", "药业有限公司", "生物医药有限公司"],
        risk: [2, 12, 50, 36],
        tags: &[],
    },
    SectorProfile {
        code: "industry_trade",
        per_mille: 420,
        suffixes: &[
            "钢铁有限公司",
            "铝业有限公司",
            "机械制造有限公司",
            "纺织有限公司",
            "食品有限公司",
            "建材有限公司",
            "纸业有限公司",
        ],
        risk: [2, 10, 48, 40],
        tags: &[("粉尘涉爆", 25), ("涉氨制冷", 10), ("有限空间", 30)],
    },
    SectorProfile {
        code: "central_soe",
        per_mille: 20,
        suffixes: &["集团河南分公司", "集团河南有限公司"],
        risk: [4, 16, 50, 30],
        tags: &[("一级子公司", 60)],
    },
    SectorProfile {
        code: "provincial_soe",
        per_mille: 15,
        suffixes: &["投资集团有限公司", "能源集团有限公司", "交通集团有限公司"],
        risk: [4, 16, 50, 30],
        tags: &[],
    },
    SectorProfile {
        code: "safety_evaluation",
        per_mille: 25,
        suffixes: &["安全评价有限公司", "安全技术咨询有限公司"],
        risk: [0, 5, 55, 40],
        tags: &[("本厅审批", 85)],
    },
    SectorProfile {
        code: "safety_testing",
        per_mille: 20,
        suffixes: &["检测检验有限公司", "安全检测技术有限公司"],
        risk: [0, 5, 55, 40],
        tags: &[("本厅审批", 85)],
    },
    SectorProfile {
        code: "safety_training",
        per_mille: 40,
        suffixes: &["安全培训中心", "职业技能培训学校"],
        risk: [0, 4, 46, 50],
        tags: &[("本厅备案", 80)],
    },
];

/// Three counties (or districts) per unit, with the last two digits of their codes.
const COUNTIES: [[(&str, &str); 3]; 18] = [
    [("中原区", "02"), ("金水区", "05"), ("新郑市", "84")],
    [("龙亭区", "02"), ("兰考县", "25"), ("杞县", "21")],
    [("涧西区", "05"), ("偃师区", "07"), ("栾川县", "24")],
    [("新华区", "02"), ("舞钢市", "81"), ("叶县", "22")],
    [("文峰区", "02"), ("林州市", "81"), ("汤阴县", "23")],
    [("淇滨区", "11"), ("浚县", "21"), ("淇县", "22")],
    [("红旗区", "02"), ("卫辉市", "81"), ("长垣市", "83")],
    [("解放区", "02"), ("沁阳市", "82"), ("武陟县", "23")],
    [("华龙区", "02"), ("范县", "26"), ("清丰县", "22")],
    [("魏都区", "02"), ("禹州市", "81"), ("长葛市", "82")],
    [("郾城区", "03"), ("舞阳县", "21"), ("临颍县", "22")],
    [("湖滨区", "02"), ("灵宝市", "82"), ("渑池县", "21")],
    [("宛城区", "02"), ("邓州市", "81"), ("西峡县", "23")],
    [("梁园区", "02"), ("永城市", "81"), ("夏邑县", "26")],
    [("浉河区", "02"), ("固始县", "25"), ("潢川县", "26")],
    [("川汇区", "02"), ("项城市", "81"), ("鹿邑县", "28")],
    [("驿城区", "02"), ("确山县", "25"), ("泌阳县", "26")],
    [("沁园街道", "01"), ("玉泉街道", "01"), ("克井镇", "01")],
];

/// Share of entities per unit, roughly following industrial weight (per cent).
const UNIT_WEIGHTS: [u32; 18] = [14, 5, 10, 7, 6, 3, 7, 6, 5, 6, 3, 4, 8, 5, 4, 4, 4, 3];

const TRADE_NAMES: &[&str] = &[
    "宏达", "鑫源", "中原", "豫安", "华宇", "恒信", "金泰", "瑞丰", "天成", "长城", "嵩山", "黄河",
    "伏牛", "汇通", "永盛", "龙腾", "明德", "润泽", "博远", "东方", "新港", "振兴", "万和", "鼎盛",
    "广厦", "安泰", "晟达", "泰和", "隆基", "聚源",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
];

const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞",
    "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "国庆", "红梅", "立新", "文博", "嘉怡",
];

/// Department officers per division: (division code, members, cadres, expertise).
const STAFFING: &[(&str, usize, usize, &[&str])] = &[
    ("noncoal", 22, 4, &["非煤矿山", "尾矿库", "爆破作业"]),
    ("hazchem", 26, 5, &["危险化学品", "化工工艺", "重大危险源"]),
    (
        "industry_trade",
        22,
        4,
        &["冶金", "有色", "粉尘防爆", "有限空间"],
    ),
    (
        "enforcement",
        40,
        6,
        &["行政执法", "危险化学品", "非煤矿山", "工贸"],
    ),
    ("policy", 10, 2, &["行政执法", "法制审核"]),
    ("planning", 14, 4, &["安全评价", "检测检验"]),
    ("training", 12, 4, &["安全培训", "考试管理"]),
];

const PARTNER_OFFICERS: usize = 20;

/// A generated data set, as rows of Chinese-labelled cells per file.
pub struct Dataset {
    pub files: Vec<DemoFile>,
}

pub struct DemoFile {
    pub name: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// Generates `entities` entities and the matching officers, conflicts, items and bureaus.
pub fn generate(entities: usize, seed: u64, vocab: &Vocabulary) -> Dataset {
    let mut rng = Rng(seed);
    let label = |code: &str| {
        vocab
            .sector(code)
            .map(|s| s.label.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let mut seen = std::collections::HashSet::new();
    let mut entity_rows = Vec::with_capacity(entities);
    let mut usccs = Vec::with_capacity(entities);
    let sector_weights: Vec<u32> = PROFILES.iter().map(|p| p.per_mille).collect();
    while entity_rows.len() < entities {
        let profile = &PROFILES[rng.weighted(&sector_weights)];
        let u = rng.weighted(&UNIT_WEIGHTS);
        let unit = &HENAN_UNITS[u];
        let (county, county_code) = *rng.pick(&COUNTIES[u]);
        let org: String = (0..8).map(|_| *rng.pick(ALPHABET) as char).collect();
        let kind = if profile.code == "safety_training" && rng.chance(50) {
            "52" // 民办非企业单位
        } else {
            "91"
        };
        let Some(uscc) = Uscc::compose(kind, &format!("{}{county_code}", unit.code), &org) else {
            continue;
        };
        if !seen.insert(uscc.clone()) {
            continue;
        }
        let risk = RiskLevel::ALL[rng.weighted(&profile.risk)].label();
        let name = match profile.code {
            "central_soe" => format!(
                "中国{}{}",
                rng.pick(TRADE_NAMES),
                rng.pick(profile.suffixes)
            ),
            "provincial_soe" => format!(
                "河南{}{}",
                rng.pick(TRADE_NAMES),
                rng.pick(profile.suffixes)
            ),
            _ => format!(
                "{}{}{}",
                unit.name,
                rng.pick(TRADE_NAMES),
                rng.pick(profile.suffixes)
            ),
        };
        let tags: Vec<&str> = profile
            .tags
            .iter()
            .filter(|(_, p)| rng.chance(*p))
            .map(|(t, _)| *t)
            .collect();
        let scale = *rng.pick(&["大型", "中型", "中型", "小型", "小型", "小型", "微型"]);
        let status = ["正常", "停产", "注销"][rng.weighted(&[93, 4, 3])];
        let city = if rng.chance(50) {
            format!("{}市", unit.name)
        } else {
            unit.name.to_string()
        };
        entity_rows.push(vec![
            uscc.to_string(),
            name,
            label(profile.code),
            city,
            county.to_string(),
            risk.to_string(),
            scale.to_string(),
            status.to_string(),
            tags.join(";"),
        ]);
        usccs.push(uscc.into_string());
    }

    let department = vocab.department().label.clone();
    let partner = vocab
        .agencies
        .iter()
        .find(|a| a.code != vocab.department().code)
        .map(|a| a.label.clone())
        .unwrap_or_default();
    let mut officer_rows = Vec::new();
    let mut officer_ids = Vec::new();
    let mut serial = 0;
    let person = |rng: &mut Rng| format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
    let home = |rng: &mut Rng| {
        // Provincial officers mostly live in Zhengzhou; some come from elsewhere.
        if rng.chance(55) {
            "郑州".to_string()
        } else {
            HENAN_UNITS[rng.below(HENAN_UNITS.len())].name.to_string()
        }
    };
    for (division, members, cadres, expertise) in STAFFING {
        let division_label = vocab
            .division(division)
            .map(|d| d.label.clone())
            .unwrap_or_else(|| division.to_string());
        for i in 0..*members {
            serial += 1;
            let id = format!("410{:08}", 1000 + serial * 7);
            let skills: Vec<&str> = expertise
                .iter()
                .filter(|_| rng.chance(60))
                .copied()
                .collect();
            let status = if rng.chance(4) { "离岗" } else { "在岗" };
            let valid_until = if rng.chance(3) {
                "2024-03-31"
            } else {
                "2028-12-31"
            };
            // Cadres lead inspections: reminders reach them at their own address.
            let email = if i < *cadres {
                format!("{id}@example.gov.cn")
            } else {
                String::new()
            };
            officer_rows.push(vec![
                id.clone(),
                person(&mut rng),
                department.clone(),
                division_label.clone(),
                if i < *cadres { "是" } else { "否" }.to_string(),
                home(&mut rng),
                skills.join(";"),
                status.to_string(),
                valid_until.to_string(),
                email,
            ]);
            officer_ids.push(id);
        }
    }
    for _ in 0..PARTNER_OFFICERS {
        serial += 1;
        let id = format!("419{:08}", 2000 + serial * 7);
        officer_rows.push(vec![
            id.clone(),
            person(&mut rng),
            partner.clone(),
            String::new(),
            "否".to_string(),
            home(&mut rng),
            "市场监管;特种设备".to_string(),
            "在岗".to_string(),
            "2028-12-31".to_string(),
            String::new(),
        ]);
        officer_ids.push(id);
    }

    let reasons = [
        "近亲属在该单位任职",
        "曾在该单位工作未满三年",
        "近三年为该单位提供过技术服务",
        "与该单位负责人有利害关系",
    ];
    let mut conflict_rows = Vec::new();
    let mut pairs = std::collections::HashSet::new();
    let wanted = (officer_ids.len() / 4).min(usccs.len());
    while conflict_rows.len() < wanted && !usccs.is_empty() {
        let o = rng.pick(&officer_ids).clone();
        let e = rng.pick(&usccs).clone();
        if pairs.insert((o.clone(), e.clone())) {
            conflict_rows.push(vec![o, e, rng.pick(&reasons).to_string()]);
        }
    }

    let bureau_rows = HENAN_UNITS
        .iter()
        .map(|u| {
            let name = if u.code == "4190" {
                "济源示范区应急管理局".to_string()
            } else {
                format!("{}市应急管理局", u.name)
            };
            vec![
                u.name.to_string(),
                name,
                format!("yjj{}@example.gov.cn", u.code),
            ]
        })
        .collect();

    Dataset {
        files: vec![
            DemoFile {
                name: "bureaus.csv",
                headers: vec!["地市", "名称", "邮箱"],
                rows: bureau_rows,
            },
            DemoFile {
                name: "items.csv",
                headers: ITEM_HEADERS.to_vec(),
                rows: items(),
            },
            DemoFile {
                name: "entities.csv",
                headers: vec![
                    "统一社会信用代码",
                    "单位名称",
                    "行业类别",
                    "所在地市",
                    "所在县区",
                    "风险等级",
                    "规模",
                    "状态",
                    "标签",
                ],
                rows: entity_rows,
            },
            DemoFile {
                name: "officers.csv",
                headers: vec![
                    "执法证号",
                    "姓名",
                    "所属单位",
                    "处室",
                    "是否处级",
                    "常驻地市",
                    "专长",
                    "状态",
                    "证件有效期至",
                    "邮箱",
                ],
                rows: officer_rows,
            },
            DemoFile {
                name: "conflicts.csv",
                headers: vec!["执法证号", "统一社会信用代码", "原因"],
                rows: conflict_rows,
            },
        ],
    }
}

const ITEM_HEADERS: [&str; 7] = [
    "事项编号",
    "事项名称",
    "抽查依据",
    "抽查对象",
    "抽查主体",
    "抽查方式",
    "抽查频次",
];

/// The item list (清单) of the department's random inspections.
fn items() -> Vec<Vec<String>> {
    const BODY: &str = "河南省应急管理厅";
    const ONSITE: &str = "现场检查、资料核查";
    const YEARLY: &str = "每年一次";
    [
        (
            "HNYJ-01",
            "非煤矿山企业安全生产条件及主体责任落实情况检查",
            "《中华人民共和国安全生产法》第六十五条；《非煤矿矿山企业安全生产许可证实施办法》",
            "非煤矿山企业（一般检查单位）",
        ),
        (
            "HNYJ-02",
            "尾矿库安全运行情况检查",
            "《尾矿库安全监督管理规定》",
            "非煤矿山企业",
        ),
        (
            "HNYJ-03",
            "危险化学品生产企业安全生产许可条件检查",
            "《危险化学品安全管理条例》第十四条；《危险化学品生产企业安全生产许可证实施办法》",
            "危险化学品生产企业",
        ),
        (
            "HNYJ-04",
            "危险化学品经营企业经营许可条件检查",
            "《危险化学品安全管理条例》第三十三条；《危险化学品经营许可证管理办法》",
            "危险化学品经营企业",
        ),
        (
            "HNYJ-05",
            "化工和医药企业安全生产主体责任落实情况检查",
            "《中华人民共和国安全生产法》第四条、第六十五条",
            "化工、医药企业",
        ),
        (
            "HNYJ-06",
            "工贸企业重大事故隐患排查整治情况检查",
            "《工贸企业重大事故隐患判定标准》；《中华人民共和国安全生产法》第四十一条",
            "工贸企业",
        ),
        (
            "HNYJ-07",
            "粉尘涉爆、涉氨制冷、有限空间作业安全检查",
            "《工贸企业粉尘防爆安全规定》；《工贸企业有限空间作业安全规定》",
            "工贸企业",
        ),
        (
            "HNYJ-08",
            "中央驻豫企业及省管企业安全生产主体责任落实情况检查",
            "《中华人民共和国安全生产法》第五条、第二十一条",
            "中央驻豫企业一级子公司、省管企业",
        ),
        (
            "HNYJ-09",
            "安全评价机构从业行为检查",
            "《安全评价检测检验机构管理办法》第二十九条",
            "本厅审批的安全评价机构",
        ),
        (
            "HNYJ-10",
            "安全生产检测检验机构从业行为检查",
            "《安全评价检测检验机构管理办法》第二十九条",
            "本厅审批的检测检验机构",
        ),
        (
            "HNYJ-11",
            "安全培训机构培训条件及培训质量检查",
            "《安全生产培训管理办法》第二十八条",
            "在本厅备案的安全培训机构",
        ),
        (
            "HNYJ-12",
            "工贸企业特种设备及产品质量联合检查",
            "国市监信〔2019〕38号；《中华人民共和国特种设备安全法》",
            "工贸企业",
        ),
    ]
    .iter()
    .map(|(code, name, basis, object)| {
        let body = if *code == "HNYJ-12" {
            "河南省应急管理厅会同河南省市场监督管理局"
        } else {
            BODY
        };
        vec![
            code.to_string(),
            name.to_string(),
            basis.to_string(),
            object.to_string(),
            body.to_string(),
            ONSITE.to_string(),
            YEARLY.to_string(),
        ]
    })
    .collect()
}

impl Dataset {
    /// The data set parsed as an import would, without a database: for tests and benchmarks.
    pub fn snapshot(&self, vocab: &Vocabulary) -> Result<Snapshot, Problem> {
        let mut snapshot = Snapshot::default();
        let mut known = Known::default();
        for f in &self.files {
            let kind = match f.name {
                "bureaus.csv" => Kind::Bureaus,
                "items.csv" => Kind::Items,
                "entities.csv" => Kind::Entities,
                "officers.csv" => Kind::Officers,
                _ => Kind::Conflicts,
            };
            let table = Table::new(
                f.name.to_string(),
                "UTF-8",
                1,
                f.headers.iter().map(|h| h.to_string()).collect(),
                f.rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| Row {
                        number: i as u64 + 2,
                        cells: r.clone(),
                    })
                    .collect(),
            )
            .map_err(|mut p| p.remove(0))?;
            let (records, _) =
                import::parse(kind, table, vocab, &known).map_err(|mut p| p.remove(0))?;
            match records {
                Records::Entities(mut e) => {
                    e.sort_by(|a, b| a.uscc.cmp(&b.uscc));
                    known.entities = e.iter().map(|e| e.uscc.clone()).collect();
                    snapshot.entities = crate::population::Population::of(&e)
                        .map_err(|m| crate::import::Problem::whole_file("entities.csv", &m))?;
                }
                Records::Officers(mut o) => {
                    o.sort_by(|a, b| a.id.cmp(&b.id));
                    known.officers = o.iter().map(|o| o.id.clone()).collect();
                    snapshot.officers = o;
                }
                Records::Conflicts(c) => snapshot.conflicts = c,
                Records::Items(i) => snapshot.items = i,
                Records::Bureaus(b) => snapshot.bureaus = b,
                Records::Inspections(list) => {
                    for i in list {
                        crate::registry::count_inspection(
                            &mut snapshot.inspections,
                            i.uscc,
                            i.inspected_on,
                        );
                    }
                }
            }
        }
        Ok(snapshot)
    }

    /// Writes every file as UTF-8 CSV into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for f in &self.files {
            let file = std::fs::File::create(dir.join(f.name))?;
            let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
            w.write_record(&f.headers)?;
            for row in &f.rows {
                w.write_record(row)?;
            }
            w.flush()?;
            w.into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))?
                .flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn generated_files_import_cleanly_and_deterministically() {
        let vocab = Settings::shipped()
            .and_then(|s| s.vocabulary())
            .expect("vocabulary");
        let a = generate(500, 7, &vocab);
        let b = generate(500, 7, &vocab);
        assert_eq!(a.files[2].rows, b.files[2].rows);
        let snapshot = a.snapshot(&vocab).unwrap_or_else(|p| panic!("{p}"));
        assert_eq!(snapshot.entities.len(), 500);
        assert_eq!(snapshot.bureaus.len(), 18);
        assert!(snapshot.officers.len() > 150);
        assert!(!snapshot.conflicts.is_empty());
    }
}
