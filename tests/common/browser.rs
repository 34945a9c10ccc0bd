#![allow(dead_code)]
//! A real browser for the public pages: Debian's `chromium`, headless, driven over the Chrome
//! DevTools Protocol (one websocket, flattened target sessions), and a loopback HTTP server for
//! a folder, as a department's portal would serve it.
//!
//! `.ci/run` installs chromium and sets REQUIRE_BROWSER=1, so that these tests can never be
//! skipped there; elsewhere they are skipped, saying so, when chromium is missing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::WebSocket;

pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next: u64,
    session: String,
    _profile: tempfile::TempDir,
}

fn chromium() -> Option<PathBuf> {
    let name = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = Command::new(&name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    found.then(|| PathBuf::from(name))
}

impl Browser {
    /// A fresh headless browser with one page, or None (skipped) when chromium is missing and
    /// not required.
    pub fn launch() -> Option<Browser> {
        let Some(bin) = chromium() else {
            assert!(
                std::env::var("REQUIRE_BROWSER").is_err(),
                "REQUIRE_BROWSER is set but chromium is not installed"
            );
            eprintln!("SKIPPED: chromium is not installed (apt-get install chromium)");
            return None;
        };
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(bin)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("chromium stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                    sent = true;
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium announces its DevTools endpoint");
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("host:port")
            .to_string();
        let stream = TcpStream::connect(&addr).expect("connect to DevTools");
        stream
            .set_read_timeout(Some(Duration::from_secs(180)))
            .expect("timeout");
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("DevTools websocket");
        let mut b = Browser {
            child,
            ws,
            next: 0,
            session: String::new(),
            _profile: profile,
        };
        let target = b.send(None, "Target.createTarget", json!({"url": "about:blank"}));
        let id = target["targetId"].as_str().expect("targetId").to_string();
        let attached = b.send(
            None,
            "Target.attachToTarget",
            json!({"targetId": id, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().expect("session").to_string();
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        b.viewport(1200, 900);
        // Any script a hostile name managed to run would call alert(): record it instead.
        b.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };"}),
        );
        Some(b)
    }

    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(tungstenite::Message::text(msg.to_string()))
            .expect("send to DevTools");
        loop {
            let m = self.ws.read().expect("read from DevTools");
            let Ok(text) = m.to_text() else { continue };
            let Ok(v) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
        }
    }

    /// A DevTools command on the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(&session), method, params)
    }

    pub fn viewport(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        );
    }

    /// Opens `url` and waits until the document has loaded.
    pub fn goto(&mut self, url: &str) {
        // The old document is marked first: `Page.navigate` can answer before the new one
        // replaces it, and the old one's readyState is already 'complete'.
        self.eval("window.__suijiLeaving = true");
        let r = self.call("Page.navigate", json!({"url": url}));
        assert!(r.get("errorText").is_none(), "{url}: {}", r["errorText"]);
        self.wait_for(
            "!window.__suijiLeaving && document.readyState === 'complete'",
            30,
        );
    }

    /// The value of a JavaScript expression (promises awaited).
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expression}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Waits until `expression` is truthy; returns its value.
    pub fn wait_for(&mut self, expression: &str, seconds: u64) -> Value {
        let start = Instant::now();
        loop {
            let v = self.eval(expression);
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0)) {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(seconds),
                "timed out after {seconds} s waiting for {expression}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The page's serious and critical accessibility violations, as axe-core (npm, installed
    /// by `.ci/run` into `target/axe`; `AXE_JS` names another copy) finds them with its default
    /// rules (WCAG 2.x A and AA, best practices): each as `rule: help (where)`. None when
    /// axe-core is missing and REQUIRE_BROWSER is unset.
    pub fn accessibility(&mut self) -> Option<Vec<String>> {
        let path = std::env::var("AXE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("target/axe/node_modules/axe-core/axe.min.js")
            });
        let Ok(source) = std::fs::read_to_string(&path) else {
            assert!(
                std::env::var("REQUIRE_BROWSER").is_err(),
                "REQUIRE_BROWSER is set but axe-core is not at {} (npm install --prefix \
                 target/axe axe-core)",
                path.display()
            );
            eprintln!("SKIPPED: accessibility (no axe-core at {})", path.display());
            return None;
        };
        if self.eval("typeof window.axe") != json!("object") {
            self.eval(&format!("{source}\n;true"));
        }
        let found = self.eval(
            "axe.run(document).then(r => r.violations \
               .filter(v => v.impact === 'serious' || v.impact === 'critical') \
               .map(v => v.id + ': ' + v.help + ' (' + v.nodes.slice(0, 3) \
                 .map(n => n.target.join(' ')).join(' | ') + ')'))",
        );
        Some(
            found
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// The whole page as a PNG, down to 12,000 px (Chromium refuses larger captures; a long
    /// directory is kept from its top).
    pub fn screenshot(&mut self, path: &Path) {
        use base64::Engine;
        let size = self
            .eval("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]");
        let width = size[0].as_f64().unwrap_or(1280.0);
        let height = size[1].as_f64().unwrap_or(900.0).min(12_000.0);
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
        );
        let data = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("png data"))
            .expect("base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, data).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `root` over HTTP on a loopback port (GET only, static files); returns the base URL.
pub fn serve(root: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || answer(conn, &root));
        }
    });
    base
}

fn answer(mut conn: TcpStream, root: &Path) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16384 {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = percent_decode(path);
    let file = if path.split('/').any(|p| p == "..") {
        None
    } else {
        let p = root.join(path.trim_start_matches('/'));
        Some(if p.is_dir() { p.join("index.html") } else { p })
    };
    let (status, body, kind) = match file.and_then(|f| std::fs::read(&f).ok().map(|b| (f, b))) {
        Some((f, b)) => {
            let kind = match f.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("json") => "application/json",
                Some("csv") => "text/csv; charset=utf-8",
                _ => "application/octet-stream",
            };
            ("200 OK", b, kind)
        }
        None => ("404 Not Found", b"not found".to_vec(), "text/plain"),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(&body);
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
