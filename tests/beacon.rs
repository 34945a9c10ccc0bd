//! The unattended draw from the drand quicknet beacon, end to end through the real binary: the
//! manifest fixes the round, the official draw fetches it from relays on loopback (one that
//! hangs, one that lies, one that tells the truth), verifies it offline, and both verifiers
//! accept the published history. A forged or wrong-round signature is refused.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use common::{TestDb, load_demo, on, python_accepts, refused, repo};

/// quicknet round 657413 (published 2023-09-15 19:00:03 Beijing time) and its signature.
const ROUND: u64 = 657413;
const SIG: &str = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";

/// A relay on loopback: answers every request with `body` (or never answers).
fn relay(body: Option<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            // Read the request head.
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            match &body {
                Some(b) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{b}",
                        b.len()
                    );
                }
                // Hang: hold the connection open without a word.
                None => std::thread::sleep(std::time::Duration::from_secs(30)),
            }
        }
    });
    format!("http://{addr}")
}

fn round_json(round: u64, sig: &str) -> String {
    format!(r#"{{"round":{round},"randomness":"00","signature":"{sig}"}}"#)
}

/// The Henan 2024 plan with a drand seed public at `available_at`.
fn drand_plan(dir: &Path, available_at: &str, name: &str) -> String {
    let text = std::fs::read_to_string(repo("rules/henan-2024.rhai")).expect("plan");
    let start = text.find("    seed: #{").expect("seed");
    let end = start + text[start..].find("    },\n").expect("end of seed") + "    },\n".len();
    let text = format!(
        "{}    seed: #{{ kind: \"drand\", available_at: \"{available_at}\" }},\n{}",
        &text[..start],
        &text[end..]
    )
    .replace("freeze: \"0 0 9 13 5 *\"", "freeze: \"0 0 9 14 9 *\"")
    .replace("draw: \"0 30 21 16 5 *\"", "draw: \"5 0 19 15 9 *\"");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write plan");
    path.display().to_string()
}

fn drand_draw(db: &TestDb) {
    load_demo(db);
    let flipped = {
        let mut s = SIG.to_string();
        s.replace_range(20..21, if &SIG[20..21] == "0" { "1" } else { "0" });
        s
    };
    let relays = [
        relay(None),
        relay(Some(round_json(ROUND, &flipped))),
        relay(Some(round_json(ROUND, SIG))),
    ];
    let config = db.path().join("suiji.toml");
    std::fs::write(
        &config,
        format!(
            "[beacon]\nrelays = [{}]\ntimeout_secs = 1\nattempts = 1\n",
            relays
                .iter()
                .map(|r| format!("\"{r}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    let plan = drand_plan(db.path(), "2023-09-15 19:00:01", "drand.rhai");

    let frozen = on(
        db,
        "2023-09-14",
        &["--config", &config, "freeze", "--plan", &plan],
    );
    assert_eq!(frozen["seed_source"]["kind"], "drand");
    assert_eq!(frozen["seed_source"]["beacon"]["round"], ROUND);

    // Typed in: a flipped bit is refused, so is a signature the manifest's round did not make.
    let official = ["--config", &config, "draw", "--plan", &plan, "--official"];
    let mut typed = official.to_vec();
    typed.extend(["--beacon-signature", &flipped]);
    let err = refused(db, "2023-09-16", &typed);
    assert!(
        err.contains("does not verify against the quicknet public key"),
        "{err}"
    );

    // Fetched: the hanging relay times out, the lying one is skipped, the third is believed
    // only because its signature verifies.
    let drawn = on(db, "2023-09-16", &official);
    assert_eq!(drawn["tasks"], 74);
    assert_eq!(drawn["seed_source"]["round"], ROUND);
    assert_eq!(
        drawn["seed_source"]["value"],
        "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
    );
    let dir = db.path().join("public/2024/henan-2024");
    let out = db.suiji(&["verify", dir.to_str().expect("utf-8")]);
    let text = common::stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("drand round 657413"), "{text}");
    python_accepts(&dir);
}

on_both_backends!(drand_draw);

/// A manifest fixes the first round at or after `available_at`: 19:00:04 is round 657414, and
/// round 657413's signature does not make it.
#[test]
fn another_rounds_signature_is_refused() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    load_demo(&db);
    let plan = drand_plan(db.path(), "2023-09-15 19:00:04", "later.rhai");
    let frozen = on(&db, "2023-09-14", &["freeze", "--plan", &plan]);
    assert_eq!(frozen["seed_source"]["beacon"]["round"], ROUND + 1);
    let err = refused(
        &db,
        "2023-09-16",
        &[
            "draw",
            "--plan",
            &plan,
            "--official",
            "--beacon-signature",
            SIG,
        ],
    );
    assert!(err.contains("round 657414"), "{err}");
}

/// The relays behind a department's own CA (`beacon.ca_file`): an HTTPS relay on loopback
/// (`openssl s_server -WWW`) with a certificate of a private CA. Without the CA the official
/// draw is refused and says why; with it the round is fetched, verified and drawn.
#[test]
fn a_relay_behind_the_departments_ca() {
    let Some(db) = TestDb::new(common::Backend::Sqlite) else {
        return;
    };
    load_demo(&db);
    let ca = common::test_ca(&db);
    let www = db.path().join("www");
    let public = www.join(suiji::beacon::CHAIN_HASH).join("public");
    std::fs::create_dir_all(&public).expect("mkdir");
    std::fs::write(public.join(ROUND.to_string()), round_json(ROUND, SIG)).expect("round");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    /// Stops the relay however the test ends.
    struct Relay(std::process::Child);
    impl Drop for Relay {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Relay(
        std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-WWW", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(ca.join("server.pem"))
            .arg("-key")
            .arg(ca.join("server.key"))
            .current_dir(&www)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server"),
    );
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed().as_secs() < 20, "s_server did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let config = |name: &str, ca_file: &str| {
        let path = db.path().join(name);
        std::fs::write(
            &path,
            format!(
                "[beacon]\nrelays = [\"https://127.0.0.1:{port}\"]\ntimeout_secs = 5\n\
                 attempts = 1\nca_file = \"{ca_file}\"\n"
            ),
        )
        .expect("config");
        path.display().to_string()
    };
    let without = config("without.toml", "");
    let with = config("with.toml", &ca.join("ca.pem").display().to_string());
    let plan = drand_plan(db.path(), "2023-09-15 19:00:01", "drand.rhai");
    on(
        &db,
        "2023-09-14",
        &["--config", &with, "freeze", "--plan", &plan],
    );
    let err = refused(
        &db,
        "2023-09-16",
        &["--config", &without, "draw", "--plan", &plan, "--official"],
    );
    assert!(
        err.contains(&format!("https://127.0.0.1:{port}"))
            && err.contains("issued by a CA this machine does not trust")
            && err.contains("beacon.ca_file"),
        "{err}"
    );
    let drawn = on(
        &db,
        "2023-09-16",
        &["--config", &with, "draw", "--plan", &plan, "--official"],
    );
    assert_eq!(drawn["tasks"], 74);
    assert_eq!(drawn["seed_source"]["round"], ROUND);
}
