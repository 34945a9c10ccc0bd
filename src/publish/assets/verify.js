/*
 * suiji draw verifier for the browser (docs/draw-spec.md: suiji-draw-v5 and suiji-draw-v4, and
 * the older suiji-draw-v3, suiji-draw-v2 and suiji-draw-v1).
 *
 * An independent re-computation of a published history from its published files, in plain
 * JavaScript with nothing but WebCrypto (SHA-256), BigInt and TextEncoder/TextDecoder. It
 * shares no code with suiji and fetches nothing but the files it is pointed at (a pair, or
 * index.json, the files it lists, manifest.json, draw.json, selection.json, selection.csv and
 * the timestamps timestamp-<n>.tsr).
 *
 *   SuijiVerify.verify(manifestBytes, drawBytes, progress[, names]) -> Promise<report>
 *   SuijiVerify.run(container, manifestUrl, drawUrl)       -> Promise<report>
 *   SuijiVerify.runFiles(container, manifestFile, drawFile) -> Promise<report> (files picked by the reader)
 *   SuijiVerify.verifyHistory(indexBytes, getFile, progress[, options]) -> Promise<history report>
 *   SuijiVerify.runHistory(container, indexUrl)             -> Promise<history report>
 *   SuijiVerify.checkSelection(rows, csvBytes, manifest, draw, names) -> {rows, problems}
 *
 * One draw (sections 1-6): the manifest's members and, for v3, v4 and v5, its structure (entities,
 * eligible officers, recused groups, eligibility digest; no v1/v2 member; v4 and v5: every
 * stratum's label, and a quota stated as a ratio recomputed from it; no label or ratio before v4;
 * v5: capped, the entities the plan's yearly caps leave out, each {uscc, cap >= 1, inspections >=
 * cap}, ascending by uscc, none of them a candidate of any stratum; no capped before v5); its
 * timing (v2 and later: frozen_at strictly before seed_source.available_at, certificate_date the
 * Asia/Shanghai day of available_at, a drand beacon that is quicknet's first round at or after
 * available_at);
 * manifest_digest against the SHA-256 of the manifest's exact bytes; the seed value's form (for
 * drand: the round the manifest fixed, and the value the SHA-256 of the signature; for a v3-v5
 * manual seed whose manifest names a game, 双色球 or 大乐透, a result of that game, and any other
 * game, or a game or announcement in v1/v2 or for another kind, makes the manifest invalid; an
 * announcement must be an http(s) address without user information, spaces or hidden
 * characters, and is shown as a link); the seed;
 * every stratum's selected entities and alternates with their tickets (Rivest's consistent
 * sampler); every team (v3-v5: reasons not_eligible and cap; v1/v2: the older reasons). What it
 * does not: the BLS signature of a drand round (see beacon_note): `suiji verify DIR` and
 * tools/verify_draw.py do.
 *
 * The whole published history (section 7, index.json suiji-publication-v2 or v1), always all
 * of it: the entries in order (numbered 1, 2, ..., `at` never backwards, freeze / refreeze /
 * draw / void / takedown rules: a takedown names an earlier draw, one of its objects, a task
 * taken down once and a reason, and changes nothing else); every listed file downloaded and its
 * SHA-256 compared with the index;
 * every manifest checked and of the index's plan and year; every draw recomputed from the
 * manifest in force; `current`, manifest.json and draw.json; no unlisted manifest-N.json or
 * draw-N.json (the next numbers are probed, a folder cannot be listed over the web); the store
 * (production or rehearsal); every seed public after every earlier draw and void, a redraw from
 * a manifest frozen after the void, no seed used twice; and, served over http(s) from a path
 * ending in /<year>/<plan>/, the folder's year and plan are the index's. Section 10: for a v3, v4
 * or v5 standing draw, selection.json (and selection.csv) against the draw and its manifest.
 * Section 11: head(n) of every entry (the last one is shown). Section 12: every
 * timestamp-<n>.tsr (asked for each entry; HTTP 404 is no timestamp, and one for the entry after
 * the last is a history cut short): the token's TSTInfo must have a SHA-256 imprint of head(n);
 * its genTime is shown in Beijing time. What it does not: the timestamp authority's signature
 * and certificate chain (`suiji verify DIR --tsa-ca FILE` does).
 *
 * A file that cannot be downloaded (a network error, an HTTP status other than 200, a page
 * opened from disk) is reported as such (state "unchecked", 未能验证), never as a difference.
 * Everything shown on the page is Chinese; every node is built with textContent.
 *
 * A classic script: loading it defines globalThis.SuijiVerify (and module.exports under Node).
 * On a page with a #verify-history button (data-index: index.json's URL), a click renders the
 * history check into #verify-history-output; verifying one draw (run) checks the whole history
 * there too.
 */
(function (root) {
  "use strict";

  var V1 = "suiji-draw-v1";
  var V2 = "suiji-draw-v2";
  var V3 = "suiji-draw-v3";
  var V4 = "suiji-draw-v4"; // v3 with a label, and optionally a ratio, on each stratum
  var V5 = "suiji-draw-v5"; // v4 with capped, the entities the plan's yearly caps leave out
  // drand quicknet (scheme bls-unchained-g1-rfc9380), held here, never taken from a manifest.
  var QUICKNET = {
    chain_hash: "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
    public_key: "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a" +
      "6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73b" +
      "ab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
    genesis_time: 1692803367,
    period: 3
  };
  var DRAND_URL = "https://api.drand.sh/" + QUICKNET.chain_hash + "/public/";
  // Manifest members: in every spec, v1/v2 only, v3 and later only, v5 only, and the timed ones
  // (v2 and later); a stratum's members in every spec, and those v4 (and v5) adds; a capped entry's.
  var COMMON = ["spec", "plan", "seed_source", "strata", "tasks", "officers", "team_rules"];
  var OLD_ONLY = ["conflicts", "entity_cities", "last_year_pairs"];
  var V3_ONLY = ["entities", "recused", "eligibility"];
  var V5_ONLY = ["capped"];
  var STRATUM = ["task", "stratum", "quota", "candidates"];
  var STRATUM_V4 = ["label", "ratio"];
  var CAPPED = ["uscc", "cap", "inspections"];
  var TIMED = ["frozen_at", "simulated"];
  var DRAW_MEMBERS = ["spec", "manifest_digest", "seed_source", "seed", "strata", "teams"];
  var CHUNK = 4096; // digests requested at once
  var REASONS = ["not_eligible", "inactive", "certificate_expired", "declared_conflict", "home_city",
    "last_year", "cap"];
  // Section 2: the lotteries a v3 manual seed may name (seed_source.game), balls in draw order
  // as groups [how many, lowest, highest], each group drawn without repeats.
  var GAMES = {
    "双色球": { groups: [[6, 1, 33], [1, 1, 16]],
      format: "6 个红球（01–33，按开奖顺序，不重复）后接 1 个蓝球（01–16），每个号码两位" },
    "大乐透": { groups: [[5, 1, 35], [2, 1, 12]],
      format: "5 个前区号码（01–35，按开奖顺序，不重复）后接 2 个后区号码（01–12，不重复），每个号码两位" }
  };
  var SEED_V3 = ["game", "announcement"]; // seed_source members of v3 (v4, v5) manual seeds only
  // Control characters, white space, and characters that change how text displays without
  // showing themselves (bidi controls, Unicode's default-ignorable code points), as suiji refuses.
  var HIDDEN_CLASS = "[\\s\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5" +
    "\\u180b-\\u180f\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0" +
    "\\ufff0-\\ufff8\\u{1bca0}-\\u{1bca3}\\u{1d173}-\\u{1d17a}\\u{e0000}-\\u{e0fff}]";
  var HIDDEN = new RegExp(HIDDEN_CLASS, "u");
  var HIDDEN_ALL = new RegExp(HIDDEN_CLASS, "gu");
  var ROLE_NAMES = { cadre: "带队处级干部（cadre）", member: "检查组成员（member）", partner: "联合部门人员（partner）" };

  /** The first problem of a document that cannot be checked any further. */
  function Invalid(message) { this.message = message; }

  function has(obj, key) { return Object.prototype.hasOwnProperty.call(obj, key); }
  /**
   * Whether documents of spec publish who is eligible and who is recused (entities, eligible
   * officers, recused groups, eligibility digest) rather than the registry's facts: v3, v4 and
   * v5, which differ only in their strata (v4 and v5) and capped (v5).
   */
  function publicEligibility(spec) { return spec === V3 || spec === V4 || spec === V5; }
  /** Whether a stratum of spec has a label, and optionally a ratio: v4 and v5. */
  function labelledStrata(spec) { return spec === V4 || spec === V5; }
  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function isInteger(v) { return typeof v === "number" && Math.floor(v) === v && isFinite(v); }
  function show(v) {
    if (typeof v === "string") return v;
    if (v === null) return "（无）";
    if (v === undefined) return "（缺失）";
    var s = JSON.stringify(v);
    return s.length > 120 ? s.slice(0, 117) + "..." : s;
  }

  // ---------------------------------------------------------------- bytes, hashes, JSON

  var HEX = [];
  for (var h = 0; h < 256; h++) HEX.push((h < 16 ? "0" : "") + h.toString(16));
  var encoder = new TextEncoder();

  function subtle() {
    var c = root.crypto;
    if (!c || !c.subtle || typeof c.subtle.digest !== "function") {
      throw new Invalid("此浏览器不提供 WebCrypto（crypto.subtle）：请通过 https 或 localhost 打开本页，" +
        "或使用 suiji verify / verify_draw.py 验证");
    }
    return c.subtle;
  }

  function toBytes(data, what) {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (typeof data === "string") return encoder.encode(data);
    throw new Invalid(what + "：不是文件内容");
  }

  function hexOf(bytes, offset, length) {
    var s = "";
    for (var i = offset; i < offset + length; i++) s += HEX[bytes[i]];
    return s;
  }

  function sha256Bytes(bytes) {
    return subtle().digest("SHA-256", bytes).then(function (buf) {
      return hexOf(new Uint8Array(buf), 0, 32);
    });
  }

  function sha256Hex(text) { return sha256Bytes(encoder.encode(text)); }

  /** The key's canonical JSON (RFC 8785 for the integers-only documents suiji writes). */
  function canonical(v) {
    if (Array.isArray(v)) {
      var parts = new Array(v.length);
      for (var i = 0; i < v.length; i++) parts[i] = canonical(v[i]);
      return "[" + parts.join(",") + "]";
    }
    if (isObject(v)) {
      var keys = Object.keys(v).sort();
      var out = [];
      for (var k = 0; k < keys.length; k++) out.push(JSON.stringify(keys[k]) + ":" + canonical(v[keys[k]]));
      return "{" + out.join(",") + "}";
    }
    return JSON.stringify(v);
  }

  /** The first member name an object of valid JSON text repeats, or null. */
  function repeatedMember(text) {
    var stack = [], expectKey = false;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c === 34) {
        var j = i + 1;
        for (;;) {
          var d = text.charCodeAt(j);
          if (d === 92) j += 2; else if (d === 34) break; else j++;
        }
        var top = stack[stack.length - 1];
        if (top && expectKey) {
          var key = JSON.parse(text.slice(i, j + 1));
          if (top.has(key)) return key;
          top.add(key);
          expectKey = false;
        }
        i = j;
      } else if (c === 123) { stack.push(new Set()); expectKey = true; }
      else if (c === 91) stack.push(null);
      else if (c === 125 || c === 93) stack.pop();
      else if (c === 44) expectKey = !!stack[stack.length - 1];
    }
    return null;
  }

  function decodeText(bytes, name) {
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch (e) {
      throw new Invalid(name + "：不是 UTF-8 文本");
    }
  }

  /** JSON text of any value; no object may repeat a member. */
  function parseAnyJson(bytes, name) {
    var text = decodeText(bytes, name), value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new Invalid(name + "：不是有效的 JSON");
    }
    // Canonical JSON (as suiji publishes) cannot repeat a member; anything else is scanned.
    if (canonical(value) !== text) {
      var key = repeatedMember(text);
      if (key !== null) throw new Invalid(name + "：JSON 对象中重复出现成员 " + JSON.stringify(key));
    }
    return value;
  }

  function parseJson(bytes, name) {
    var value = parseAnyJson(bytes, name);
    if (!isObject(value)) throw new Invalid(name + "：不是 JSON 对象");
    return value;
  }

  // ---------------------------------------------------------------- time

  var RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:[Zz]|([+-])(\d\d):(\d\d))$/;

  function daysFromCivil(y, m, d) { // days since 1970-01-01 (proleptic Gregorian)
    y -= m <= 2 ? 1 : 0;
    var era = Math.floor(y / 400);
    var yoe = y - era * 400;
    var doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
    var doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
    return era * 146097 + doe - 719468;
  }

  function civilFromDays(z) {
    z += 719468;
    var era = Math.floor(z / 146097);
    var doe = z - era * 146097;
    var yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
    var doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    var mp = Math.floor((5 * doy + 2) / 153);
    var d = doy - Math.floor((153 * mp + 2) / 5) + 1;
    var m = mp < 10 ? mp + 3 : mp - 9;
    var y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    return y + "-" + (m < 10 ? "0" : "") + m + "-" + (d < 10 ? "0" : "") + d;
  }

  /** An RFC 3339 time as {seconds: Unix seconds, fraction: decimal digits after the point}. */
  function instant(text, what) {
    var m = typeof text === "string" ? RFC3339.exec(text) : null;
    if (!m) throw new Invalid(what + " " + show(text) + " 不是带时区的 RFC 3339 时间");
    var y = +m[1], mo = +m[2], d = +m[3], hh = +m[4], mi = +m[5], ss = +m[6];
    var monthDays = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30,
      31, 31, 30, 31, 30, 31];
    if (mo < 1 || mo > 12 || d < 1 || d > monthDays[mo - 1] || hh > 23 || mi > 59 || ss > 59) {
      throw new Invalid(what + " " + text + " 不是存在的时间");
    }
    var offset = m[8] === undefined ? 0 : (m[8] === "+" ? 1 : -1) * (+m[9] * 3600 + +m[10] * 60);
    return {
      seconds: daysFromCivil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - offset,
      fraction: (m[7] || "").replace(/0+$/, "")
    };
  }

  function compareInstants(a, b) {
    if (a.seconds !== b.seconds) return a.seconds < b.seconds ? -1 : 1;
    return a.fraction < b.fraction ? -1 : a.fraction > b.fraction ? 1 : 0;
  }

  function shanghaiDay(t) { return civilFromDays(Math.floor((t.seconds + 8 * 3600) / 86400)); }

  /** The first quicknet round at or after instant t. */
  function firstRound(t) {
    var d = t.seconds - QUICKNET.genesis_time;
    if (d < 0 || (d === 0 && !t.fraction)) return 1;
    return t.fraction ? Math.floor(d / QUICKNET.period) + 1 + 1 : Math.ceil(d / QUICKNET.period) + 1;
  }

  // ---------------------------------------------------------------- section 1: the manifest

  /** A string as a message may repeat it: at most 60 characters, white space and hidden ones as \u{...}. */
  function escaped(v) {
    if (typeof v !== "string") return show(v);
    var chars = Array.from(v);
    var s = chars.slice(0, 60).join("").replace(HIDDEN_ALL, function (c) {
      return c === " " ? c : "\\u{" + c.codePointAt(0).toString(16) + "}";
    });
    return chars.length > 60 ? s + "…（共 " + chars.length + " 个字符）" : s;
  }

  /**
   * Why u is not a web address suiji publishes (http:// or https://, at most 2048 bytes, no
   * white space or hidden character, no user information before the host), or null.
   */
  function urlProblem(u) {
    if (typeof u !== "string") return show(u) + " 不是字符串";
    var t = u.trim(), scheme = t.slice(0, 8).toLowerCase();
    if (!(scheme === "https://" || scheme.slice(0, 7) === "http://") || encoder.encode(u).length > 2048 ||
        HIDDEN.test(u)) {
      return escaped(u) + " 不是网址：只接受以 http:// 或 https:// 开头、不含空白或隐藏字符的链接";
    }
    var authority = t.slice(t.indexOf("://") + 3).split(/[\/?#]/)[0];
    if (authority.indexOf("@") >= 0) {
      return escaped(u) + " 在主机名前含有用户信息（…@）：显示的是一个网站，打开的却是另一个，不予接受";
    }
    return null;
  }

  /** Why digits are not a result of the game (a key of GAMES), or null. */
  function lotteryProblem(game, digits) {
    var groups = GAMES[game].groups, balls = 0;
    groups.forEach(function (g) { balls += g[0]; });
    if (digits.length !== 2 * balls || !/^[0-9]*$/.test(digits)) {
      return "应为 " + 2 * balls + " 位数字（每个号码两位），此处为 " + digits.length + " 位";
    }
    var at = 0;
    for (var k = 0; k < groups.length; k++) {
      var seen = new Set();
      for (var i = 0; i < groups[k][0]; i++) {
        var two = digits.substr(at, 2), ball = +two;
        if (ball < groups[k][1] || ball > groups[k][2]) return "第 " + (at / 2 + 1) + " 个号码为 " + two;
        if (seen.has(ball)) return "号码 " + two + " 出现两次";
        seen.add(ball);
        at += 2;
      }
    }
    return null;
  }

  /** obj is an object with exactly these members (throws otherwise). */
  function exactMembers(obj, keys, what) {
    if (!isObject(obj)) throw new Invalid(what + "：不是 JSON 对象");
    var missing = keys.filter(function (k) { return !has(obj, k); });
    if (missing.length) throw new Invalid(what + "：缺少成员 " + missing.join("、"));
    var extra = Object.keys(obj).filter(function (k) { return keys.indexOf(k) < 0; });
    if (extra.length) throw new Invalid(what + "：含有规范之外的成员 " + extra.join("、"));
  }

  /** A non-empty (unless allowEmpty) list of strings in strictly ascending order (throws otherwise). */
  function ascendingStrings(list, what, allowEmpty) {
    if (!Array.isArray(list)) throw new Invalid(what + "：不是列表");
    if (!allowEmpty && !list.length) throw new Invalid(what + "：为空");
    for (var i = 0; i < list.length; i++) {
      if (typeof list[i] !== "string" || !list[i]) throw new Invalid(what + "[" + i + "]：不是非空字符串");
      if (i && !(list[i - 1] < list[i])) {
        throw new Invalid(what + "[" + i + "]：" + list[i] + " 未按升序排列或与前一项重复（前一项 " + list[i - 1] + "）");
      }
    }
  }

  /** obj is an object with (at least) these members (throws otherwise). */
  function requireMembers(obj, keys, what) {
    if (!isObject(obj)) throw new Invalid(what + "：不是 JSON 对象");
    var missing = keys.filter(function (k) { return !has(obj, k); });
    if (missing.length) throw new Invalid(what + "：缺少成员 " + missing.join("、"));
  }

  /** Basis points as a percentage, in integers: 1250 as "12.5%", 1 as "0.01%". */
  function percentOf(bp) {
    var cents = bp % 100, digits = (cents < 10 ? "0" : "") + cents;
    return Math.floor(bp / 100) + (cents ? "." + digits.replace(/0$/, "") : "") + "%";
  }

  /**
   * A v4 or v5 stratum's label and ratio (section 1, "Ratio quotas"): the label a non-empty
   * name, and a quota the plan gives as a share of the pool must be exactly the one its ratio
   * gives for the stratum's candidates, so that nobody can publish a ratio and draw another
   * number. The share is rounded up in integers: n x basis_points stays far below 2^53 for any
   * pool. w: the stratum's place in messages (its candidates already checked to be a list);
   * spec: the manifest's.
   */
  function checkLabelAndRatio(s, w, spec) {
    if (typeof s.label !== "string" || !s.label.trim()) {
      throw new Invalid(w + ".label：" + (typeof s.label === "string" ? "为空或只含空白" : "为 " + show(s.label)) +
        "，应为非空字符串（" + spec + " 的每个分层都有供公众阅读的名称）");
    }
    if (!has(s, "ratio")) return;
    var r = s.ratio, rw = w + ".ratio";
    exactMembers(r, ["basis_points", "min"].concat(isObject(r) && has(r, "max") ? ["max"] : []), rw);
    ["basis_points", "min", "max"].forEach(function (k) {
      if (has(r, k) && !isInteger(r[k])) throw new Invalid(rw + "." + k + "：为 " + show(r[k]) + "，不是整数");
    });
    if (r.basis_points < 1 || r.basis_points > 10000) {
      throw new Invalid(rw + ".basis_points：为 " + r.basis_points + "，应在 1 到 10000 之间（1 个基点为万分之一）");
    }
    if (r.min < 0) throw new Invalid(rw + ".min：为 " + r.min + "，不是非负整数");
    if (has(r, "max") && r.max < r.min) {
      throw new Invalid(rw + ".max：为 " + r.max + "，小于 min（" + r.min + "）");
    }
    var n = s.candidates.length;
    var share = Math.floor((n * r.basis_points + 9999) / 10000);
    var expected = Math.max(r.min, share);
    if (has(r, "max")) expected = Math.min(r.max, expected);
    if (s.quota !== expected) {
      var bounds = (r.min > 0 ? "，至少 " + r.min + " 个" : "") + (has(r, "max") ? "，至多 " + r.max + " 个" : "");
      throw new Invalid(w + "（分层 " + show(s.stratum) + "）.quota：为 " + show(s.quota) + "，但按 ratio（" +
        percentOf(r.basis_points) + bounds + "）与候选对象 " + n + " 个，配额应为 " + expected + "（" + n + " × " +
        percentOf(r.basis_points) + " 向上取整为 " + share + "）");
    }
  }

  /**
   * A v5 manifest's capped (section 1, "Yearly caps (v5)"): a list of {uscc, cap, inspections},
   * strictly ascending by uscc (no USCC twice), cap an integer of at least 1 and inspections one of
   * at least cap; and none of them a candidate: an entity the plan's yearly caps leave out cannot
   * be drawn. m: the manifest, its strata already checked; candidates: the USCCs of every
   * stratum's candidates; at: the manifest's name and a space.
   */
  function checkCapped(m, candidates, at) {
    var list = m.capped, w = at + "capped";
    if (!Array.isArray(list)) {
      throw new Invalid(w + "：为 " + show(list) + "，应为列表（" + V5 + " 列出因年度检查上限而排除的对象，无人排除时为 []）");
    }
    list.forEach(function (c, i) {
      var wi = w + "[" + i + "]";
      exactMembers(c, CAPPED, wi);
      if (typeof c.uscc !== "string" || !c.uscc) throw new Invalid(wi + ".uscc：为 " + show(c.uscc) + "，不是非空字符串");
      if (i && !(list[i - 1].uscc < c.uscc)) {
        throw new Invalid(wi + ".uscc：" + c.uscc + " 未按升序排列或与前一项重复（前一项 " + list[i - 1].uscc + "）");
      }
      if (!isInteger(c.cap) || c.cap < 1) {
        throw new Invalid(wi + "（" + c.uscc + "）.cap：为 " + show(c.cap) + "，应为不小于 1 的整数（每年最多检查次数）");
      }
      if (!isInteger(c.inspections) || c.inspections < c.cap) {
        throw new Invalid(wi + "（" + c.uscc + "）.inspections：为 " + show(c.inspections) + "，应为不小于 cap（" +
          c.cap + "）的整数：未达上限的对象不应排除");
      }
    });
    list.forEach(function (c, i) {
      if (!candidates.has(c.uscc)) return;
      for (var j = 0; m.strata[j].candidates.indexOf(c.uscc) < 0; j++) { /* the first stratum holding it */ }
      throw new Invalid(w + "[" + i + "].uscc：" + c.uscc + " 已达年度检查上限（cap " + c.cap + "，已检查 " +
        c.inspections + " 次），却是 strata[" + j + "]（分层 " + show(m.strata[j].stratum) + "）的候选对象");
    });
  }

  /**
   * The structure a suiji-draw-v3, v4 or v5 manifest must have (sections 1 and 8): v4 is v3 with
   * a label, and optionally a ratio, on every stratum; v5 is v4 with capped. Throws at the first
   * fault.
   */
  function checkV3Structure(m, name) {
    var at = name + " ";
    requireMembers(m.plan, ["id", "year", "title", "script_sha256", "window"], at + "plan");
    var rules = m.team_rules;
    requireMembers(rules, ["department", "cap_per_officer", "require_valid_certificate", "certificate_date",
      "recusal"], at + "team_rules");
    if (typeof rules.department !== "string") throw new Invalid(at + "team_rules.department：不是字符串");
    if (!isInteger(rules.cap_per_officer) || rules.cap_per_officer < 0) {
      throw new Invalid(at + "team_rules.cap_per_officer：不是非负整数");
    }
    if (!Array.isArray(m.tasks)) throw new Invalid(at + "tasks：不是列表");
    m.tasks.forEach(function (t, i) {
      var w = at + "tasks[" + i + "]";
      requireMembers(t, ["task", "name", "division", "team_size", "partner_agency", "partner_members", "items"], w);
      if (typeof t.task !== "string" || typeof t.name !== "string") throw new Invalid(w + "：task 或 name 不是字符串");
      if (!isInteger(t.team_size) || t.team_size < 1) throw new Invalid(w + ".team_size：不是正整数");
      if (!isInteger(t.partner_members) || t.partner_members < 0) throw new Invalid(w + ".partner_members：不是非负整数");
    });
    if (!Array.isArray(m.strata)) throw new Invalid(at + "strata：不是列表");
    var candidates = new Set(), labelled = labelledStrata(m.spec);
    m.strata.forEach(function (s, i) {
      var w = at + "strata[" + i + "]";
      // v4, v5: label always, ratio only where the plan states one; v3: neither (checkManifest).
      exactMembers(s, labelled ? STRATUM.concat(isObject(s) && has(s, "ratio") ? STRATUM_V4 : ["label"]) : STRATUM, w);
      ascendingStrings(s.candidates, w + ".candidates", true);
      if (labelled) checkLabelAndRatio(s, w, m.spec);
      s.candidates.forEach(function (c) { candidates.add(c); });
    });
    // v5: the entities the yearly caps leave out, none of them a candidate (checkManifest: v5 only).
    if (m.spec === V5) checkCapped(m, candidates, at);
    // entities: exactly the candidates, each {name, city}.
    if (!isObject(m.entities)) throw new Invalid(at + "entities：不是 JSON 对象");
    candidates.forEach(function (c) {
      if (!has(m.entities, c)) throw new Invalid(at + "entities：缺少候选对象 " + c);
    });
    Object.keys(m.entities).forEach(function (e) {
      var w = at + "entities." + e;
      if (!candidates.has(e)) throw new Invalid(w + "：不是任何分层的候选对象");
      exactMembers(m.entities[e], ["name", "city"], w);
      if (typeof m.entities[e].name !== "string" || typeof m.entities[e].city !== "string") {
        throw new Invalid(w + "：name 或 city 不是字符串");
      }
    });
    // officers: the eligible officers, ascending by id.
    if (!Array.isArray(m.officers)) throw new Invalid(at + "officers：不是列表");
    var eligible = new Set();
    m.officers.forEach(function (o, i) {
      var w = at + "officers[" + i + "]";
      var older = isObject(o) ? ["home_city", "active", "valid_until"].filter(function (k) { return has(o, k); }) : [];
      if (older.length) {
        throw new Invalid(w + "：含有 v1/v2 成员 " + older.join("、") + "（" + m.spec + " 只公布符合条件人员的 id、name、agency、division、cadre）");
      }
      exactMembers(o, ["id", "name", "agency", "division", "cadre"], w);
      if (typeof o.id !== "string" || !o.id) throw new Invalid(w + ".id：不是非空字符串");
      if (typeof o.name !== "string") throw new Invalid(w + ".name：不是字符串");
      if (typeof o.agency !== "string") throw new Invalid(w + ".agency：不是字符串");
      if (o.division !== null && typeof o.division !== "string") throw new Invalid(w + ".division：不是字符串或 null");
      if (o.agency !== rules.department && o.division !== null) {
        throw new Invalid(w + ".division：本部门以外的人员应为 null，此处为 " + show(o.division));
      }
      if (typeof o.cadre !== "boolean") throw new Invalid(w + ".cadre：不是 true 或 false");
      if (i && !(m.officers[i - 1].id < o.id)) {
        throw new Invalid(w + ".id：" + o.id + " 未按升序排列或与前一项重复（前一项 " + m.officers[i - 1].id + "）");
      }
      eligible.add(o.id);
    });
    // recused: groups ordered by their first entity, no entity twice, no list empty.
    if (!Array.isArray(m.recused)) throw new Invalid(at + "recused：不是列表");
    var grouped = new Set();
    m.recused.forEach(function (g, i) {
      var w = at + "recused[" + i + "]";
      exactMembers(g, ["entities", "officers"], w);
      ascendingStrings(g.entities, w + ".entities", false);
      ascendingStrings(g.officers, w + ".officers", false);
      g.entities.forEach(function (e) {
        if (!candidates.has(e)) throw new Invalid(w + ".entities：" + e + " 不是候选对象");
        if (grouped.has(e)) throw new Invalid(w + ".entities：" + e + " 已在前面的回避组中");
        grouped.add(e);
      });
      g.officers.forEach(function (o) {
        if (!eligible.has(o)) throw new Invalid(w + ".officers：" + o + " 不在 officers（符合条件的人员）中");
      });
      if (i && !(m.recused[i - 1].entities[0] < g.entities[0])) {
        throw new Invalid(w + "：回避组未按其第一个对象升序排列");
      }
    });
    exactMembers(m.eligibility, ["sha256"], at + "eligibility");
    if (typeof m.eligibility.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(m.eligibility.sha256)) {
      throw new Invalid(at + "eligibility.sha256：不是 64 位小写十六进制数字");
    }
  }

  function checkManifest(m, report, problems, name) {
    name = name || "manifest";
    var spec = m.spec;
    if (spec !== V1 && spec !== V2 && !publicEligibility(spec)) throw new Invalid(name + " spec：未知的规范 " + show(spec));
    var source = m.seed_source;
    if (!isObject(source)) throw new Invalid(name + "：缺少 seed_source");
    var required = COMMON.concat(publicEligibility(spec) ? V3_ONLY : ["conflicts"], spec === V1 ? [] : ["frozen_at"],
      spec === V5 ? V5_ONLY : []);
    var missing = required.filter(function (k) { return !has(m, k); })
      .concat(["kind", "source"].concat(spec === V1 ? [] : ["available_at"])
        .filter(function (k) { return !has(source, k); })
        .map(function (k) { return "seed_source." + k; }));
    Object.keys(m).forEach(function (k) {
      if (required.indexOf(k) >= 0) return;
      if (TIMED.indexOf(k) >= 0) {
        if (spec === V1) throw new Invalid(name + "：" + V1 + " 的文件不得含 v2 成员 " + k);
        return;
      }
      if (V3_ONLY.indexOf(k) >= 0) throw new Invalid(name + "：" + spec + " 的文件不得含 v3 成员 " + k);
      if (V5_ONLY.indexOf(k) >= 0) throw new Invalid(name + "：" + spec + " 的文件不得含 v5 成员 " + k);
      if (OLD_ONLY.indexOf(k) >= 0) {
        if (publicEligibility(spec)) throw new Invalid(name + "：" + spec + " 的文件不得含 v1/v2 成员 " + k);
        return;
      }
      throw new Invalid(name + "：含有规范之外的成员 " + k);
    });
    if (missing.length) throw new Invalid(name + "：缺少成员 " + missing.join("、"));
    if (!publicEligibility(spec) && Array.isArray(m.officers)) {
      for (var i = 0; i < m.officers.length; i++) {
        if (isObject(m.officers[i]) && has(m.officers[i], "name")) {
          throw new Invalid(name + " officers[" + i + "]：" + spec + " 的文件不得含 v3 成员 name");
        }
      }
    }
    // Section 8: a label or ratio before v4 is not the document its spec describes (a ratio
    // there would state a quota nobody is asked to recompute).
    if (!labelledStrata(spec) && Array.isArray(m.strata)) {
      for (var j = 0; j < m.strata.length; j++) {
        var newer = isObject(m.strata[j]) ? STRATUM_V4.filter(function (k) { return has(m.strata[j], k); }) : [];
        if (newer.length) {
          throw new Invalid(name + " strata[" + j + "]：" + spec + " 的文件不得含 v4 成员 " + newer.join("、"));
        }
      }
    }
    var kind = source.kind;
    report.seed_kind = kind;
    if (!publicEligibility(spec)) {
      SEED_V3.forEach(function (k) {
        if (has(source, k)) throw new Invalid(name + "：" + spec + " 的文件不得含 v3 成员 seed_source." + k);
      });
    }
    var sourceKeys = spec === V1 ? ["kind", "source"] : ["kind", "source", "available_at", "beacon"]
      .concat(publicEligibility(spec) ? SEED_V3 : []);
    var extraSource = Object.keys(source).filter(function (k) { return sourceKeys.indexOf(k) < 0; });
    if (extraSource.length) {
      throw new Invalid(name + "：seed_source 含有" + (spec === V1 ? " " + V1 + " 不允许的" : "规范之外的") +
        "成员 " + extraSource.join("、"));
    }
    if (spec === V1 ? kind !== "manual" && kind !== "os" : ["manual", "drand", "os"].indexOf(kind) < 0) {
      throw new Invalid(name + " seed_source.kind：" + spec + " 不允许的种子类型 " + show(kind));
    }
    if (spec === V1) return;
    if (has(m, "simulated")) {
      if (m.simulated !== true) throw new Invalid(name + " simulated：存在但不为 true");
      report.simulated = true;
      report.simulated_note = name + " 在模拟时钟上冻结（回放或演练）：它不能证明自己在种子公开之前冻结，真实时间见主管部门的审计日志";
    }
    report.frozen_at = m.frozen_at === undefined ? null : m.frozen_at;
    report.available_at = source.available_at === undefined ? null : source.available_at;
    var frozen = instant(m.frozen_at, name + " frozen_at");
    var available = instant(source.available_at, name + " seed_source.available_at");
    if (compareInstants(frozen, available) >= 0) {
      problems.push(name + " frozen_at：" + m.frozen_at + " 不早于 seed_source.available_at " +
        source.available_at + "：冻结时种子可能已经公开");
    }
    var day = shanghaiDay(available);
    var certificateDate = isObject(m.team_rules) ? m.team_rules.certificate_date : undefined;
    if (certificateDate !== day) {
      problems.push(name + " team_rules.certificate_date：为 " + show(certificateDate) +
        "，应为 available_at 当日（" + day + "）");
    }
    if (kind === "drand") {
      var b = source.beacon;
      var same = isObject(b) && Object.keys(b).length === 5 && has(b, "round") &&
        Object.keys(QUICKNET).every(function (k) { return b[k] === QUICKNET[k]; });
      if (!same) {
        problems.push(name + " seed_source.beacon：不是 drand quicknet（链哈希、公钥、创世时间或周期不符）");
      }
      var expected = firstRound(available);
      var round = isObject(b) ? b.round : undefined;
      if (round !== expected) {
        problems.push(name + " seed_source.beacon.round：为 " + show(round) + "，应为 " + source.available_at +
          " 时或之后的第一轮（" + expected + "）");
      }
    } else if (has(source, "beacon")) {
      problems.push(name + " seed_source.beacon：只有 drand 种子才有");
    }
    if (has(source, "game")) {
      if (kind !== "manual" || typeof source.game !== "string" || !has(GAMES, source.game)) {
        problems.push(name + " seed_source.game：" + escaped(source.game) +
          " 不是人工（manual）种子可以指定的彩票：只有 manual 种子可以指定，且只能是" + Object.keys(GAMES).join("或"));
      } else {
        report.seed_game = source.game;
      }
    }
    if (has(source, "announcement")) {
      var bad = urlProblem(source.announcement);
      if (bad) problems.push(name + " seed_source.announcement：" + bad);
      else report.announcement = source.announcement;
    }
    if (publicEligibility(spec)) checkV3Structure(m, name);
  }

  // ---------------------------------------------------------------- section 2: the seed

  /** The draw's seed_source against the manifest's: the expected seed_source, or throws. */
  function checkSeedSource(m, source, report, problems, dn) {
    var kind = m.seed_source.kind;
    if (!isObject(source) || source.kind !== kind) {
      throw new Invalid(dn + " seed_source：manifest 规定的种子类型为 " + kind + "，结果文件中为 " + show(source));
    }
    var value = source.value;
    if (typeof value !== "string") throw new Invalid(dn + " seed_source.value：" + show(value) + " 不是字符串");
    report.seed_value = value;
    if (kind !== "drand" && (has(source, "round") || has(source, "signature"))) {
      problems.push(dn + " seed_source：只有 drand 种子才有 round 和 signature");
    }
    if (kind === "manual" && !/^[0-9]{6,}$/.test(value)) {
      problems.push(dn + " seed_source.value：" + value + " 不是至少 6 位的十进制数字");
    }
    var game = m.seed_source.game;
    if (kind === "manual" && /^[0-9]{6,}$/.test(value) && typeof game === "string" && has(GAMES, game)) {
      var wrong = lotteryProblem(game, value);
      if (wrong) {
        problems.push(dn + " seed_source.value：开奖号码 " + value + " 不是" + game + "的开奖结果：" + wrong +
          "（" + game + "：" + GAMES[game].format + "）");
      }
    }
    if (kind === "os" && !/^[0-9a-f]{64}$/.test(value)) {
      problems.push(dn + " seed_source.value：" + value + " 不是 64 位小写十六进制数字");
    }
    if (kind !== "drand") return Promise.resolve({ kind: kind, value: value });
    var fixed = m.seed_source.beacon ? m.seed_source.beacon.round : undefined;
    var round = source.round, signature = source.signature;
    report.round = round === undefined ? null : round;
    report.beacon_note = "浏览器未验证 drand 第 " + show(round) + " 轮的 BLS 签名，只核对了随机数是所公布签名的 " +
      "SHA-256；请用 suiji verify 或 verify_draw.py 验证签名，或与 " + DRAND_URL +
      (typeof round === "number" ? round : "轮次") + " 公布的签名比对";
    if (typeof round !== "number" || round !== fixed) {
      problems.push(dn + " seed_source.round：为 " + show(round) + "，manifest 规定的轮次为 " + show(fixed));
    }
    var expected = { kind: kind, value: value, round: round, signature: signature };
    if (typeof signature !== "string" || !/^[0-9a-fA-F]{96}$/.test(signature)) {
      problems.push(dn + " seed_source.signature：不是 96 位十六进制数字");
      return Promise.resolve(expected);
    }
    var bytes = new Uint8Array(48);
    for (var i = 0; i < 48; i++) bytes[i] = parseInt(signature.substr(2 * i, 2), 16);
    return sha256Bytes(bytes).then(function (randomness) {
      if (value !== randomness) {
        problems.push(dn + " seed_source.value：为 " + value + "，但第 " + show(round) + " 轮签名的 SHA-256 为 " +
          randomness);
      }
      return expected;
    });
  }

  // ---------------------------------------------------------------- section 3: tickets

  /**
   * Hashes sha256_hex(seed) + prefix + ids[i] for every i (in batches of CHUNK) into
   * {digests: 32 bytes each, k1, k2}: the ticket's first 10 and next 9 decimal digits as numbers,
   * that is the low 19 decimal digits of the hash's integer, reversed.
   */
  function hashAll(seedHash, prefix, ids, progress, label) {
    var n = ids.length;
    var digests = new Uint8Array(32 * n);
    var k1 = new Float64Array(n), k2 = new Float64Array(n);
    var head = encoder.encode(seedHash + prefix);
    var reportEvery = n >= 200000 ? 100000 : n >= 20000 ? 10000 : 0;
    var next = reportEvery;
    var digest = subtle().digest.bind(subtle());

    function chunk(start) {
      if (start >= n) return Promise.resolve();
      var end = Math.min(n, start + CHUNK);
      var size = 0;
      for (var i = start; i < end; i++) size += head.length + 3 * ids[i].length;
      var buf = new Uint8Array(size), views = [], off = 0;
      for (i = start; i < end; i++) {
        buf.set(head, off);
        var used = head.length + encoder.encodeInto(ids[i], buf.subarray(off + head.length)).written;
        views.push(buf.subarray(off, off + used));
        off += used;
      }
      return Promise.all(views.map(function (v) { return digest("SHA-256", v); })).then(function (results) {
        for (var r = 0; r < results.length; r++) {
          var d = new Uint8Array(results[r]), at = start + r;
          digests.set(d, 32 * at);
          // n mod 10^19 as hi * 10^10 + lo: Horner over 16-bit words, every value below 2^53
          var hi = 0, lo = 0, t, f;
          for (var b = 0; b < 32; b += 2) {
            lo = lo * 65536 + (d[b] << 8 | d[b + 1]);
            f = Math.floor(lo / 1e10);
            lo -= f * 1e10;
            t = hi * 65536 + f;
            hi = t - Math.floor(t / 1e9) * 1e9;
          }
          var a = 0, c = 0, q;
          for (q = 0; q < 10; q++) { f = Math.floor(lo / 10); a = a * 10 + (lo - f * 10); lo = f; }
          for (q = 0; q < 9; q++) { f = Math.floor(hi / 10); c = c * 10 + (hi - f * 10); hi = f; }
          k1[at] = a;
          k2[at] = c;
        }
        if (reportEvery && end >= next && progress) {
          progress(label + "：" + end + "/" + n + " 张签");
          while (next <= end) next += reportEvery;
        }
        return chunk(end);
      });
    }
    return chunk(0).then(function () { return { digests: digests, k1: k1, k2: k2 }; });
  }

  /** sha256_uniform: "0." + the integer's decimal digits left-padded to 64 and reversed. */
  function ticketOf(digests, i) {
    var digits = BigInt("0x" + hexOf(digests, 32 * i, 32)).toString();
    while (digits.length < 64) digits = "0" + digits;
    return "0." + digits.split("").reverse().join("");
  }

  /** A comparator in ticket order (ties by id) over indices of ids. */
  function ticketOrder(hashed, ids) {
    var k1 = hashed.k1, k2 = hashed.k2;
    return function (i, j) {
      if (k1[i] !== k1[j]) return k1[i] - k1[j];
      if (k2[i] !== k2[j]) return k2[i] - k2[j];
      var ti = ticketOf(hashed.digests, i), tj = ticketOf(hashed.digests, j);
      if (ti !== tj) return ti < tj ? -1 : 1;
      return ids[i] < ids[j] ? -1 : ids[i] > ids[j] ? 1 : 0;
    };
  }

  /** The k first indices of 0..n-1 in the comparator's order. */
  function firstInOrder(n, k, cmp) {
    var all, i;
    if (k >= n / 4) {
      all = new Array(n);
      for (i = 0; i < n; i++) all[i] = i;
      all.sort(cmp);
      return all.slice(0, k);
    }
    if (k <= 0) return [];
    var heap = []; // max-heap of the k first so far
    function down(p) {
      for (;;) {
        var l = 2 * p + 1, r = l + 1, top = p;
        if (l < heap.length && cmp(heap[l], heap[top]) > 0) top = l;
        if (r < heap.length && cmp(heap[r], heap[top]) > 0) top = r;
        if (top === p) return;
        var t = heap[p]; heap[p] = heap[top]; heap[top] = t; p = top;
      }
    }
    for (i = 0; i < n; i++) {
      if (heap.length < k) {
        heap.push(i);
        for (var c = heap.length - 1; c > 0;) {
          var p = (c - 1) >> 1;
          if (cmp(heap[c], heap[p]) <= 0) break;
          var t = heap[p]; heap[p] = heap[c]; heap[c] = t; c = p;
        }
      } else if (cmp(i, heap[0]) < 0) {
        heap[0] = i;
        down(0);
      }
    }
    return heap.sort(cmp);
  }

  function select(m, seedHash, progress, state, mn) {
    var taken = new Set(), out = [];
    var strata = m.strata;
    if (!Array.isArray(strata)) throw new Invalid(mn + " strata：不是列表");
    function stratum(s) {
      if (s >= strata.length) return Promise.resolve(out);
      var st = strata[s];
      if (!isObject(st)) throw new Invalid(mn + " strata[" + s + "]：不是 JSON 对象");
      var ids = st.candidates, quota = st.quota;
      if (!Array.isArray(ids) || !ids.every(function (x) { return typeof x === "string"; }) ||
          typeof quota !== "number" || quota < 0 || Math.floor(quota) !== quota) {
        throw new Invalid(mn + " strata[" + s + "]：candidates 或 quota 格式错误");
      }
      state.candidates += ids.length;
      var label = "分层 " + st.stratum;
      if (progress) progress(label + "：" + ids.length + " 张签");
      return hashAll(seedHash, "", ids, progress, label).then(function (hashed) {
        var inTaken = 0;
        for (var i = 0; i < ids.length; i++) if (taken.has(ids[i])) inTaken++;
        var order = firstInOrder(ids.length, Math.min(ids.length, 2 * quota + inTaken), ticketOrder(hashed, ids));
        var selected = [], alternates = [];
        for (var o = 0; o < order.length && alternates.length < quota; o++) {
          var id = ids[order[o]];
          if (taken.has(id)) continue;
          var pick = { id: id, ticket: ticketOf(hashed.digests, order[o]) };
          if (selected.length < quota) selected.push(pick); else alternates.push(pick);
        }
        var problem = selected.length < quota ?
          "无法抽足配额（符合条件的候选对象 " + selected.length + " 个，配额 " + quota + " 个）" : null;
        selected.forEach(function (p) { taken.add(p.id); });
        out.push({ task: st.task, stratum: st.stratum, quota: quota, selected: selected,
          alternates: alternates, problem: problem });
        return stratum(s + 1);
      });
    }
    return stratum(0);
  }

  // ---------------------------------------------------------------- section 4: teams

  function formTeams(m, strata, seedHash, progress, mn) {
    var v3 = publicEligibility(m.spec); // v3, v4 or v5: the same teams
    var rules = m.team_rules;
    if (!isObject(rules)) throw new Invalid(mn + " team_rules：不是 JSON 对象");
    var dept = rules.department, cap = rules.cap_per_officer;
    var recusal = rules.recusal || {};
    var pairs = function (list) {
      var set = new Set();
      (list || []).forEach(function (p) { set.add(JSON.stringify([p[0], p[1]])); });
      return set;
    };
    // v1/v2: the registry's facts; v3: the recused groups (who is eligible at all is `officers`).
    var conflicts = v3 ? null : pairs(m.conflicts), lastYear = v3 ? null : pairs(m.last_year_pairs);
    var cities = new Map(v3 ? [] : Object.entries(m.entity_cities || {}));
    var recusedFrom = new Map();
    if (v3) {
      m.recused.forEach(function (g) {
        var who = new Set(g.officers);
        g.entities.forEach(function (e) { recusedFrom.set(e, who); });
      });
    }
    var tasks = new Map();
    if (!Array.isArray(m.tasks)) throw new Invalid(mn + " tasks：不是列表");
    m.tasks.forEach(function (t) { if (isObject(t)) tasks.set(t.task, t); });
    var officers = m.officers;
    if (!Array.isArray(officers) || !officers.every(function (o) { return isObject(o) && typeof o.id === "string"; })) {
      throw new Invalid(mn + " officers：格式错误");
    }
    var officerIds = officers.map(function (o) { return o.id; });
    var load = new Map(), out = [];
    var picks = [];
    strata.forEach(function (s) { s.selected.forEach(function (p) { picks.push({ s: s, e: p.id }); }); });

    function reasonFor(o, e) {
      if (v3) {
        var recused = recusedFrom.get(e);
        if (recused && recused.has(o.id)) return "not_eligible";
      } else {
        if (!o.active) return "inactive";
        if (rules.require_valid_certificate && o.valid_until !== null && o.valid_until !== undefined &&
            o.valid_until < rules.certificate_date) return "certificate_expired";
        var pair = JSON.stringify([o.id, e]);
        if (conflicts.has(pair)) return "declared_conflict";
        if (recusal.home_city && o.home_city !== null && o.home_city !== undefined &&
            cities.has(e) && o.home_city === cities.get(e)) return "home_city";
        if (recusal.last_year && lastYear.has(pair)) return "last_year";
      }
      if ((load.get(o.id) || 0) >= cap) return "cap";
      return null;
    }

    function team(t) {
      if (t >= picks.length) return Promise.resolve(out);
      var s = picks[t].s, e = picks[t].e;
      var task = tasks.get(s.task);
      if (!task) throw new Invalid(mn + "：分层 " + s.stratum + " 的任务 " + show(s.task) + " 不在 tasks 中");
      if (progress && (t % 10 === 0)) progress("检查组：" + t + "/" + picks.length);
      return hashAll(seedHash, e + "/", officerIds, null, "").then(function (hashed) {
        var order = firstInOrder(officerIds.length, officerIds.length, ticketOrder(hashed, officerIds));
        var roles = ["cadre"];
        for (var r = 1; r < task.team_size; r++) roles.push("member");
        for (r = 0; r < task.partner_members; r++) roles.push("partner");
        var members = [], skipped = [], skippedIds = new Set();
        roles.forEach(function (role) {
          var counts = {};
          for (var x = 0; x < order.length; x++) {
            var o = officers[order[x]];
            var own = o.agency === dept && o.division === task.division;
            var fits = role === "cadre" ? own && o.cadre === true : role === "member" ? own :
              o.agency === task.partner_agency;
            if (!fits || members.indexOf(o.id) >= 0) continue;
            var reason = reasonFor(o, e);
            if (reason) {
              counts[reason] = (counts[reason] || 0) + 1;
              if (!skippedIds.has(o.id)) {
                skippedIds.add(o.id);
                skipped.push({ officer: o.id, reason: reason });
              }
              continue;
            }
            members.push(o.id);
            load.set(o.id, (load.get(o.id) || 0) + 1);
            return;
          }
          var why = REASONS.filter(function (k) { return counts[k]; })
            .map(function (k) { return k + " " + counts[k] + " 人"; }).join("、");
          throw new Invalid("无法为 " + e + "（任务 " + s.task + "）配齐" + ROLE_NAMES[role] + "（跳过：" +
            (why || "无") + "）");
        });
        out.push({ entity: e, task: s.task, stratum: s.stratum, cadre: members[0],
          members: members.slice(0, task.team_size), partners: members.slice(task.team_size), skipped: skipped });
        return team(t + 1);
      });
    }
    return team(0);
  }

  // ---------------------------------------------------------------- comparing

  /** The first difference between the published value a and the recomputed b, or null. */
  function difference(path, a, b) {
    if (Array.isArray(b)) {
      if (!Array.isArray(a)) return path + "：结果文件中为 " + show(a) + "，重算应为列表";
      for (var i = 0; i < Math.min(a.length, b.length); i++) {
        var d = difference(path + "[" + i + "]", a[i], b[i]);
        if (d) return d;
      }
      return a.length === b.length ? null :
        path + "：结果文件中有 " + a.length + " 项，重算为 " + b.length + " 项";
    }
    if (isObject(b)) {
      if (!isObject(a)) return path + "：结果文件中为 " + show(a) + "，重算应为对象";
      var keys = Object.keys(b);
      for (var k = 0; k < keys.length; k++) {
        var dk = difference(path + "." + keys[k], a[keys[k]], b[keys[k]]);
        if (dk) return dk;
      }
      var extra = Object.keys(a).filter(function (x) { return !has(b, x); });
      return extra.length ? path + "." + extra[0] + "：结果文件中有此成员，重算中没有" : null;
    }
    if (a === b) return null;
    return path + "：结果文件中为 " + show(a) + "，重算为 " + show(b);
  }

  /** A stratum's picks: "selected[2].id：结果文件中为 X，重算为 Y", then the ticket. */
  function pickDifference(path, a, b) {
    if (!Array.isArray(a)) return path + "：结果文件中为 " + show(a) + "，重算应为列表";
    for (var i = 0; i < Math.min(a.length, b.length); i++) {
      var p = a[i];
      if (!isObject(p)) return path + "[" + i + "]：结果文件中为 " + show(p) + "，重算为 " + b[i].id;
      if (p.id !== b[i].id) return path + "[" + i + "].id：结果文件中为 " + show(p.id) + "，重算为 " + b[i].id;
      var d = difference(path + "[" + i + "]", p, b[i]);
      if (d) return d;
    }
    if (a.length !== b.length) {
      return path + "：结果文件中有 " + a.length + " 项，重算为 " + b.length + " 项" +
        (a.length > b.length ? "（多出 " + show(a[b.length] && a[b.length].id) + "）" :
          "（缺少 " + b[a.length].id + "）");
    }
    return null;
  }

  function compareStratum(pub, mine, path) {
    if (!isObject(pub)) return path + "：结果文件中没有此分层";
    var fields = ["task", "stratum", "quota"];
    for (var f = 0; f < fields.length; f++) {
      if (pub[fields[f]] !== mine[fields[f]]) {
        return path + "." + fields[f] + "：结果文件中为 " + show(pub[fields[f]]) + "，重算为 " + show(mine[fields[f]]);
      }
    }
    var d = pickDifference(path + ".selected", pub.selected, mine.selected) ||
      pickDifference(path + ".alternates", pub.alternates, mine.alternates);
    if (d) return d;
    var extra = Object.keys(pub).filter(function (k) {
      return ["task", "stratum", "quota", "selected", "alternates"].indexOf(k) < 0;
    });
    return extra.length ? path + "." + extra[0] + "：结果文件中有此成员，重算中没有" : null;
  }

  // ---------------------------------------------------------------- section 6: verify

  /**
   * One manifest and draw (exact bytes). names: {manifest, draw}, the files' names as the
   * messages show them (by default "manifest" and "draw").
   */
  function verify(manifestBytes, drawBytes, progress, names) {
    var started = Date.now();
    var say = typeof progress === "function" ? function (t) {
      try { progress(t); } catch (e) { /* a display problem is not a verification problem */ }
    } : null;
    var mn = names && names.manifest ? names.manifest : "manifest";
    var dn = names && names.draw ? names.draw : "draw";
    var problems = [];
    var state = { candidates: 0 };
    var report = {
      ok: false, state: "differs", spec: null, frozen_at: null, available_at: null, simulated: false,
      manifest_name: mn, draw_name: dn,
      seed_kind: null, seed_game: null, announcement: null, seed_value: null, round: null, seed_ok: false,
      seed: null, manifest_digest: null, digest_ok: false, strata: [], teams: { ok: false, count: 0, problem: null },
      problems: problems, unchecked: [], candidates: 0, distinct: null, millis: 0
    };
    var m, d, digest, seedHash, strata;

    function finish() {
      report.candidates = state.candidates;
      // v3 names every candidate once in entities (checked to be the strata's union): an
      // entity in several strata is one candidate.
      report.distinct = m && isObject(m.entities) ? Object.keys(m.entities).length : null;
      report.ok = problems.length === 0 && report.seed_ok && report.digest_ok && report.teams.ok &&
        report.strata.every(function (s) { return s.ok; });
      if (!report.ok && !problems.length) problems.push(dn + "：未能完成核对");
      report.state = report.ok ? "ok" : "differs";
      report.millis = Date.now() - started;
      if (say) say(report.ok ? "一致" : "不一致：" + problems[0]);
      return report;
    }

    return Promise.resolve().then(function () {
      if (say) say("解析文件");
      var mb = toBytes(manifestBytes, mn), db = toBytes(drawBytes, dn);
      m = parseJson(mb, mn);
      d = parseJson(db, dn);
      report.spec = m.spec === undefined ? null : m.spec;
      checkManifest(m, report, problems, mn);
      if (d.spec !== m.spec) {
        problems.push(dn + " spec：为 " + show(d.spec) + "，其 manifest（" + mn + "）为 " + show(m.spec));
      }
      var missing = DRAW_MEMBERS.filter(function (k) { return !has(d, k); });
      if (missing.length) problems.push(dn + "：缺少成员 " + missing.join("、"));
      var extra = Object.keys(d).filter(function (k) { return DRAW_MEMBERS.indexOf(k) < 0; });
      if (extra.length) problems.push(dn + "：含有规范之外的成员 " + extra.join("、"));
      return sha256Bytes(mb);
    }).then(function (hex) {
      digest = hex;
      report.manifest_digest = hex;
      report.digest_ok = d.manifest_digest === hex;
      if (!report.digest_ok) {
        problems.push(dn + " manifest_digest：为 " + show(d.manifest_digest) + "，但 " + mn + " 的 SHA-256 为 " + hex);
      }
      var before = problems.length;
      return checkSeedSource(m, d.seed_source, report, problems, dn).then(function (expected) {
        var diff = difference("seed_source", d.seed_source, expected);
        if (diff) problems.push(dn + " " + diff);
        var kind = m.seed_source.kind;
        return sha256Hex(m.spec + "\n" + digest + "\n" + kind + "\n" + expected.value).then(function (seed) {
          report.seed = seed;
          if (d.seed !== seed) problems.push(dn + " seed：结果文件中为 " + show(d.seed) + "，重算为 " + seed);
          report.seed_ok = problems.length === before;
          return sha256Hex(seed);
        });
      });
    }).then(function (hash) {
      seedHash = hash;
      return select(m, seedHash, say, state, mn);
    }).then(function (mine) {
      strata = mine;
      var published = Array.isArray(d.strata) ? d.strata : [];
      if (!Array.isArray(d.strata)) problems.push(dn + " strata：结果文件中为 " + show(d.strata) + "，应为列表");
      mine.forEach(function (s, i) {
        var path = "strata[" + i + "]（分层 " + s.stratum + "）";
        var problem = s.problem ? path + "：" + s.problem : compareStratum(published[i], s, path);
        // v4, v5: the stratum's name for readers (checked with the manifest; the draw has none).
        var label = typeof m.strata[i].label === "string" ? m.strata[i].label : null;
        report.strata.push({ task: s.task, stratum: s.stratum, label: label, quota: s.quota, ok: !problem,
          problem: problem });
        if (problem) problems.push(dn + " " + problem);
      });
      if (published.length > mine.length) {
        problems.push(dn + " strata：结果文件中有 " + published.length + " 个分层，manifest 中为 " + mine.length + " 个");
      }
      if (say) say("检查组");
      return formTeams(m, strata, seedHash, say, mn).then(function (teams) {
        var published = d.teams;
        var problem = null;
        if (!Array.isArray(published)) problem = "teams：结果文件中为 " + show(published) + "，应为列表";
        else {
          for (var i = 0; i < Math.min(published.length, teams.length) && !problem; i++) {
            problem = difference("teams[" + i + "]", published[i], teams[i]);
          }
          if (!problem && published.length !== teams.length) {
            var n = Math.min(published.length, teams.length);
            problem = "teams：结果文件中有 " + published.length + " 个检查组，重算为 " + teams.length + " 个（" +
              (published.length > n ? "多出 teams[" + n + "]，对象 " +
                show(isObject(published[n]) ? published[n].entity : published[n]) :
                "缺少 teams[" + n + "]，对象 " + teams[n].entity) + "）";
          }
        }
        report.teams = { ok: !problem, count: teams.length, problem: problem };
        if (problem) problems.push(dn + " " + problem);
      }, function (e) {
        if (!(e instanceof Invalid)) throw e;
        report.teams = { ok: false, count: 0, problem: e.message };
        problems.push(dn + " teams：" + e.message);
      });
    }).then(finish, function (e) {
      problems.push(e instanceof Invalid ? e.message :
        mn + " 或 " + dn + "：格式错误，无法核对（" + (e && e.name ? e.name : "Error") + "）");
      return finish();
    });
  }

  // ---------------------------------------------------------------- section 10: the selection downloads

  var COLUMNS = ["任务编号", "来源", "抽查任务", "分层", "抽取顺位", "检查对象", "统一社会信用代码", "所在地",
    "执法人员（姓名/执法证号）", "联合部门人员（姓名/执法证号）", "状态"];
  var OFFICER_COLUMNS = [COLUMNS[8], COLUMNS[9]];

  /** A cell's text: a string (抽取顺位 may also be written as a number), else null. */
  function cellText(v, column) {
    return typeof v === "string" ? v : column === "抽取顺位" && isInteger(v) ? String(v) : null;
  }

  /** "name（id）、name（id）" as [{name, id}], or null when it does not read so. */
  function readPeople(text) {
    if (text === "") return [];
    var out = [];
    var parts = text.split("）、"); // a name may hold "、"; an item ends with "）"
    for (var i = 0; i < parts.length; i++) {
      var p = /^([\s\S]*)（([^（）]+)）$/.exec(parts[i] + (i < parts.length - 1 ? "）" : ""));
      if (!p) return null;
      out.push({ name: p[1], id: p[2] });
    }
    return out;
  }

  /**
   * Section 10: selection.json's rows (parsed) against the standing draw d (parsed; null when
   * no draw stands) and its manifest m (parsed, v3, v4 or v5). names: {selection, manifest, draw}.
   * Returns {rows, problems}.
   */
  function checkSelection(rows, m, d, names) {
    var sn = names.selection, mn = names.manifest, dn = names.draw;
    var problems = [];
    function fail(i, column, text) {
      problems.push(sn + " [" + i + "]" + (column ? "." + column : "") + "：" + text);
    }
    if (!Array.isArray(rows)) return { rows: 0, problems: [sn + "：不是列表"] };
    if (!d) {
      if (rows.length) problems.push(sn + "：现在没有有效的抽取，却列出 " + rows.length + " 行");
      return { rows: rows.length, problems: problems };
    }
    var teams = Array.isArray(d.teams) ? d.teams : [];
    var strata = new Map();
    (Array.isArray(d.strata) ? d.strata : []).forEach(function (s) { if (isObject(s)) strata.set(s.stratum, s); });
    var officerName = new Map(), taskName = new Map(), recusedFrom = new Map();
    m.officers.forEach(function (o) { officerName.set(o.id, o.name); });
    m.tasks.forEach(function (t) { taskName.set(t.task, t.name); });
    m.recused.forEach(function (g) {
      var who = new Set(g.officers);
      g.entities.forEach(function (e) { recusedFrom.set(e, who); });
    });
    function entity(id) { return has(m.entities, id) && isObject(m.entities[id]) ? m.entities[id] : {}; }
    function people(ids) {
      return (Array.isArray(ids) ? ids : []).map(function (id) {
        return (officerName.has(id) ? officerName.get(id) : "?") + "（" + id + "）";
      }).join("、");
    }
    function expect(i, v, column, wanted, whence) {
      if (v[column] !== wanted) {
        fail(i, column, "为 " + show(v[column]) + "，应为 " + show(wanted) + "（" + whence + "）");
      }
    }
    var lastTask = null, places = new Map(), drawn = new Map(), substitutes = new Map();
    rows.forEach(function (row, i) {
      if (!isObject(row)) { fail(i, null, "不是 JSON 对象"); return; }
      var missing = COLUMNS.filter(function (c) { return !has(row, c); });
      if (missing.length) { fail(i, null, "缺少列 " + missing.join("、")); return; }
      var extra = Object.keys(row).filter(function (c) { return COLUMNS.indexOf(c) < 0; });
      if (extra.length) fail(i, null, "含有规范之外的列 " + extra.join("、"));
      var v = {};
      var notText = COLUMNS.filter(function (c) { v[c] = cellText(row[c], c); return v[c] === null; });
      if (notText.length) { fail(i, notText[0], "不是文本：" + show(row[notText[0]])); return; }
      var task = v["任务编号"];
      if (lastTask !== null && !(lastTask < task)) {
        fail(i, "任务编号", task + " 排在 " + lastTask + " 之后：各行未按任务编号顺序排列");
      }
      lastTask = task;
      var place = /^[1-9][0-9]*$/.test(v["抽取顺位"]) ? +v["抽取顺位"] : null;
      if (place === null) { fail(i, "抽取顺位", "为 " + show(row["抽取顺位"]) + "，不是正整数"); return; }
      if (places.has(place)) { fail(i, "抽取顺位", place + " 与第 [" + places.get(place) + "] 行重复"); return; }
      places.set(place, i);
      if (v["来源"] === "抽取") {
        if (place > teams.length) {
          fail(i, "抽取顺位", "为 " + place + "，但 " + dn + " 只有 " + teams.length + " 个检查组");
          return;
        }
        drawn.set(place, i);
        var t = teams[place - 1];
        if (!isObject(t)) { fail(i, "抽取顺位", dn + " teams[" + (place - 1) + "] 不是 JSON 对象"); return; }
        var at = dn + " teams[" + (place - 1) + "]";
        var e = entity(t.entity);
        expect(i, v, "统一社会信用代码", t.entity, at + ".entity");
        expect(i, v, "检查对象", e.name, mn + " entities." + t.entity + ".name");
        expect(i, v, "所在地", e.city, mn + " entities." + t.entity + ".city");
        expect(i, v, "分层", t.stratum, at + ".stratum");
        expect(i, v, "抽查任务", taskName.get(t.task), mn + " tasks 中 " + t.task + " 的 name");
        expect(i, v, OFFICER_COLUMNS[0], people(t.members), at + ".members，姓名取自 " + mn + " officers");
        expect(i, v, OFFICER_COLUMNS[1], people(t.partners), at + ".partners，姓名取自 " + mn + " officers");
      } else if (v["来源"] === "替补") {
        if (!substitutes.has(v["分层"])) substitutes.set(v["分层"], []);
        substitutes.get(v["分层"]).push({ i: i, place: place, v: v });
      } else {
        fail(i, "来源", "为 " + show(v["来源"]) + "，应为“抽取”或“替补”");
      }
    });
    teams.forEach(function (t, k) {
      if (!drawn.has(k + 1)) {
        problems.push(sn + "：" + dn + " 的检查组 teams[" + k + "]（对象 " + show(isObject(t) ? t.entity : t) +
          "，抽取顺位 " + (k + 1) + "）没有对应的“抽取”行");
      }
    });
    substitutes.forEach(function (list, stratum) {
      var s = strata.get(stratum);
      if (!s) {
        list.forEach(function (x) { fail(x.i, "分层", show(stratum) + " 不是 " + dn + " 中的分层"); });
        return;
      }
      var alternates = Array.isArray(s.alternates) ? s.alternates : [];
      list.sort(function (a, b) { return a.place - b.place || a.i - b.i; });
      list.forEach(function (x, k) {
        var v = x.v, i = x.i;
        var isAlternate = alternates.some(function (a) { return isObject(a) && a.id === v["统一社会信用代码"]; });
        if (!isAlternate) {
          fail(i, "统一社会信用代码", v["统一社会信用代码"] + " 不是 " + dn + " 中分层 " + stratum + " 的替补对象（alternates）");
          return;
        }
        var alt = alternates[k];
        if (!isObject(alt)) {
          fail(i, "统一社会信用代码", v["统一社会信用代码"] + " 是分层 " + stratum + " 的第 " + (k + 1) +
            " 个替补，但 " + dn + " 中该分层只有 " + alternates.length + " 个替补对象");
          return;
        }
        var e = entity(alt.id);
        expect(i, v, "统一社会信用代码", alt.id, "分层 " + stratum + " 按抽取顺位的第 " + (k + 1) + " 个替补，" + dn +
          " 该分层的 alternates[" + k + "]");
        expect(i, v, "检查对象", e.name, mn + " entities." + alt.id + ".name");
        expect(i, v, "所在地", e.city, mn + " entities." + alt.id + ".city");
        expect(i, v, "抽查任务", taskName.get(s.task), mn + " tasks 中 " + s.task + " 的 name");
        var recused = recusedFrom.get(alt.id);
        OFFICER_COLUMNS.forEach(function (column) {
          var list = readPeople(v[column]);
          if (list === null) { fail(i, column, show(v[column]) + " 不是“姓名（执法证号）”以“、”连接的形式"); return; }
          list.forEach(function (p) {
            if (!officerName.has(p.id)) {
              fail(i, column, p.id + " 不在 " + mn + " 的 officers（符合条件的人员）中");
            } else if (officerName.get(p.id) !== p.name) {
              fail(i, column, p.id + " 的姓名为 " + show(p.name) + "，" + mn + " officers 中为 " + show(officerName.get(p.id)));
            } else if (recused && recused.has(p.id)) {
              fail(i, column, p.id + " 按 " + mn + " recused 应回避 " + alt.id);
            }
          });
        });
      });
    });
    return { rows: rows.length, problems: problems };
  }

  /** RFC 4180 CSV text as rows of cells. */
  function readCsv(text) {
    var rows = [], row = [], cell = "", quoted = false, wasQuoted = false;
    for (var i = 0; i < text.length; i++) {
      var c = text[i];
      if (quoted) {
        if (c !== '"') cell += c;
        else if (text[i + 1] === '"') { cell += '"'; i++; }
        else quoted = false;
      } else if (c === '"' && cell === "" && !wasQuoted) { quoted = true; wasQuoted = true; }
      else if (c === ",") { row.push(cell); cell = ""; wasQuoted = false; }
      else if (c === "\n" || (c === "\r" && text[i + 1] === "\n")) {
        if (c === "\r") i++;
        row.push(cell); rows.push(row); row = []; cell = ""; wasQuoted = false;
      } else cell += c;
    }
    if (cell !== "" || row.length || wasQuoted) { row.push(cell); rows.push(row); }
    return rows;
  }

  /** selection.csv holds the rows of selection.json, in the same column order. */
  function checkCsv(bytes, rows, cn, sn) {
    var text = decodeText(bytes, cn);
    var problems = [];
    if (text.charCodeAt(0) === 0xFEFF) text = text.slice(1);
    else problems.push(cn + "：开头没有 UTF-8 BOM");
    var table = readCsv(text);
    var header = table[0] || [];
    if (header.join("\u0000") !== COLUMNS.join("\u0000")) {
      problems.push(cn + " 表头：为 " + header.join("，") + "，应为 " + COLUMNS.join("，"));
      return problems;
    }
    if (!Array.isArray(rows)) return problems;
    if (table.length - 1 !== rows.length) {
      problems.push(cn + "：有 " + (table.length - 1) + " 行，" + sn + " 有 " + rows.length + " 行");
    }
    for (var k = 0; k < Math.min(rows.length, table.length - 1); k++) {
      var row = rows[k], cells = table[k + 1];
      if (!isObject(row)) continue;
      if (cells.length !== COLUMNS.length) {
        problems.push(cn + " 第 " + (k + 2) + " 行：有 " + cells.length + " 列，应为 " + COLUMNS.length + " 列");
        continue;
      }
      for (var c = 0; c < COLUMNS.length; c++) {
        var want = cellText(row[COLUMNS[c]], COLUMNS[c]), got = cells[c];
        // A cell a spreadsheet would read as a formula is written with a leading apostrophe.
        var guarded = want !== null && /^[=+\-@\t\r]/.test(want) ? "'" + want : want;
        if (got !== want && got !== guarded) {
          problems.push(cn + " 第 " + (k + 2) + " 行 " + COLUMNS[c] + "：为 " + show(got) + "，" + sn + " [" + k +
            "] 中为 " + show(want));
          break;
        }
      }
    }
    return problems;
  }

  // ---------------------------------------------------------------- sections 11 and 12: heads, timestamps

  /**
   * Section 11: head(n) for every n = 1 .. entries.length, the SHA-256 (hex) of the canonical
   * bytes of {plan, year, entries: the first n entries}, the values exactly as index.json holds
   * them. Each entry's canonical text is computed once; the members are in canonical order
   * (entries, plan, year), so the text is canonical({plan, year, entries: entries.slice(0, n)}).
   */
  function headsOf(index) {
    var parts = index.entries.map(canonical);
    var tail = '],"plan":' + canonical(index.plan) + ',"year":' + canonical(index.year) + "}";
    var out = [];
    function next(n) {
      if (n > parts.length) return Promise.resolve(out);
      return sha256Hex('{"entries":[' + parts.slice(0, n).join(",") + tail).then(function (hex) {
        out.push(hex);
        return next(n + 1);
      });
    }
    return next(1);
  }

  // Object identifiers, as the hex of their DER content.
  var OID_SHA256 = "608648016503040201"; // 2.16.840.1.101.3.4.2.1
  var OID_SIGNED_DATA = "2a864886f70d010702"; // 1.2.840.113549.1.7.2
  var OID_TST_INFO = "2a864886f70d0109100104"; // 1.2.840.113549.1.9.16.1.4

  /** The DER element at bytes[pos] (not beyond end): {tag, start, end} of its content. */
  function derAt(bytes, pos, end, what) {
    if (pos >= end) throw new Invalid(what + " 缺失（文件被截断）");
    var tag = bytes[pos++];
    if ((tag & 0x1f) === 0x1f) throw new Invalid(what + "：使用了 RFC 3161 不使用的多字节标签");
    if (pos >= end) throw new Invalid(what + "：长度缺失（文件被截断）");
    var first = bytes[pos++], len = first;
    if (first >= 0x80) {
      var k = first & 0x7f;
      if (k === 0 || k > 4 || end - pos < k) throw new Invalid(what + "：长度格式错误");
      len = 0;
      for (var i = 0; i < k; i++) len = len * 256 + bytes[pos++];
    }
    if (end - pos < len) throw new Invalid(what + "：内容不完整（文件被截断）");
    return { tag: tag, start: pos, end: pos + len };
  }

  /** The elements inside a constructed element, in order. */
  function derChildren(bytes, el, what) {
    var out = [], pos = el.start;
    while (pos < el.end) {
      var c = derAt(bytes, pos, el.end, what);
      out.push(c);
      pos = c.end;
    }
    return out;
  }

  function derExpect(el, tag, what) {
    if (!el || el.tag !== tag) throw new Invalid(what + " 缺失或格式错误");
    return el;
  }

  /**
   * Section 12: a timestamp token (the CMS ContentInfo of a TimeStampResp, DER) read as far as
   * its TSTInfo: {algorithm: the imprint's hash OID (hex of its content), hashed: the hashed
   * message (hex), genTime: the GeneralizedTime's text}. Throws Invalid when it is malformed.
   * The signature is not checked here (suiji verify DIR --tsa-ca FILE does).
   */
  function readToken(bytes) {
    var ci = derChildren(bytes, derExpect(derAt(bytes, 0, bytes.length, "ContentInfo"), 0x30, "ContentInfo"),
      "ContentInfo");
    var type = derExpect(ci[0], 0x06, "contentType");
    if (hexOf(bytes, type.start, type.end - type.start) !== OID_SIGNED_DATA) {
      throw new Invalid("不是 CMS SignedData");
    }
    var explicit = derChildren(bytes, derExpect(ci[1], 0xa0, "content"), "content");
    var sd = derChildren(bytes, derExpect(explicit[0], 0x30, "SignedData"), "SignedData");
    var encap = derChildren(bytes, derExpect(sd[2], 0x30, "encapContentInfo"), "encapContentInfo");
    var eType = derExpect(encap[0], 0x06, "eContentType");
    if (hexOf(bytes, eType.start, eType.end - eType.start) !== OID_TST_INFO) {
      throw new Invalid("签名的内容不是 TSTInfo");
    }
    var eContent = derChildren(bytes, derExpect(encap[1], 0xa0, "eContent"), "eContent");
    var octets = derExpect(eContent[0], 0x04, "eContent");
    var tst = derChildren(bytes, derExpect(derAt(bytes, octets.start, octets.end, "TSTInfo"), 0x30, "TSTInfo"),
      "TSTInfo");
    var imprint = derChildren(bytes, derExpect(tst[2], 0x30, "messageImprint"), "messageImprint");
    var alg = derChildren(bytes, derExpect(imprint[0], 0x30, "hashAlgorithm"), "hashAlgorithm");
    var oid = derExpect(alg[0], 0x06, "hashAlgorithm");
    var hashed = derExpect(imprint[1], 0x04, "hashedMessage");
    var gen = derExpect(tst[4], 0x18, "genTime");
    var genTime = "";
    for (var i = gen.start; i < gen.end; i++) genTime += String.fromCharCode(bytes[i]);
    return {
      algorithm: hexOf(bytes, oid.start, oid.end - oid.start),
      hashed: hexOf(bytes, hashed.start, hashed.end - hashed.start),
      genTime: genTime
    };
  }

  /** A GeneralizedTime (UTC, "YYYYMMDDHHMMSS[.f]Z") as Beijing time "YYYY-MM-DD HH:MM:SS[.f]", or null. */
  function beijingTime(g) {
    var m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d+))?Z$/.exec(g);
    if (!m) return null;
    var y = +m[1], mo = +m[2], d = +m[3], hh = +m[4], mi = +m[5], ss = +m[6];
    var days = daysFromCivil(y, mo, d);
    if (mo < 1 || mo > 12 || d < 1 || civilFromDays(days) !== m[1] + "-" + m[2] + "-" + m[3] ||
        hh > 23 || mi > 59 || ss > 59) return null;
    var t = days * 86400 + hh * 3600 + mi * 60 + ss + 8 * 3600;
    var day = Math.floor(t / 86400), s = t - day * 86400;
    function two(x) { return (x < 10 ? "0" : "") + x; }
    return civilFromDays(day) + " " + two(Math.floor(s / 3600)) + ":" + two(Math.floor(s % 3600 / 60)) + ":" +
      two(s % 60) + (m[7] && /[1-9]/.test(m[7]) ? "." + m[7].replace(/0+$/, "") : "");
  }

  var TSA_COMMAND = "suiji verify 目录 --tsa-ca 证书文件";

  // ---------------------------------------------------------------- section 7: the history

  var INDEX_V1 = "suiji-publication-v1";
  var INDEX_V2 = "suiji-publication-v2";
  var STORES = ["production", "rehearsal"];
  var EVENT_NAMES = { freeze: "冻结", refreeze: "重新冻结", draw: "抽取", "void": "作废", takedown: "撤下" };
  // A takedown's task: its published number (letters, digits, ".", "_" and "-").
  var TASK_NUMBER = /^[A-Za-z0-9._-]+$/;

  /**
   * A file that could not be downloaded (a network error, an HTTP status other than 200, a page
   * opened from disk): what it should have shown is then not verified (未能验证), which is not the
   * same as differing. A getFile passed to verifyHistory rejects with an error whose
   * `unavailable` is true for this (message: why, e.g. "HTTP 404"); any other rejection means the
   * file is missing.
   */
  function Unavailable(message, status) {
    this.message = message;
    this.unavailable = true;
    this.status = status === undefined ? null : status;
  }

  function sameBytes(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function messageOf(e) {
    return e && e.message ? e.message : String(e);
  }

  function notDownloaded(name, e) { return "无法下载 " + name + "（" + messageOf(e) + "）：未能验证"; }

  /**
   * Section 7, from index.json's bytes and getFile(name) -> Promise<ArrayBuffer> for the files it
   * lists (and manifest.json, draw.json, selection.json, selection.csv): the whole history, always
   * (see the head of this file), and section 10 for a v3-v5 standing draw. options.folder: {year,
   * plan, path} when the index was served from a /<year>/<plan>/ folder (checked against the
   * index), else null (a copy: verified for the plan and year its index states). Problems are
   * collected (not only the first); a file that could not be downloaded leaves what it should
   * show not verified.
   */
  function verifyHistory(indexBuffer, getFile, progress, options) {
    var started = Date.now();
    options = options || {};
    var say = typeof progress === "function" ? function (t) {
      try { progress(t); } catch (e) { /* a display problem is not a verification problem */ }
    } : function () {};
    var report = {
      ok: false, state: "differs", spec: null, store: null, rehearsal: false, plan: null, year: null,
      folder: options.folder || null, binding: null,
      entries: [], current: null, selection: null, problems: [], unchecked: [], notes: [], millis: 0,
      files: 0, recomputed: 0, heads: [], head: null, timestamps: []
    };
    var index, entries;
    var manifests = new Map(), draws = new Map(), listed = new Set(), unfetched = new Set();
    var inForce = null, standing = null;
    // For the checks over the whole history: the previous event's time, the draws and voids so
    // far (what a later manifest's seed must come after), the last void, every draw's seed.
    var previous = null, settled = [], lastVoid = null, seeds = [];
    // For takedowns: every draw listed so far (voided or not, downloaded or not) and the tasks
    // already taken down (task -> the entry's number).
    var drawn = new Set(), takenDown = new Map();

    function where(row) {
      return row ? "index.json entries[" + (row.n - 1) + "]（第 " + row.n + " 项）：" : "index.json：";
    }
    function problem(row, text) {
      if (row) row.problems.push(text);
      report.problems.push(where(row) + text);
    }
    function notChecked(row, text) {
      if (row) row.unchecked.push(text);
      report.unchecked.push(where(row) + text);
    }

    /** A file's bytes, or null (missing: a problem; not downloaded: not verified). */
    function load(name, row) {
      return Promise.resolve().then(function () { return getFile(name); }).then(function (buf) {
        return toBytes(buf, name);
      }, function (e) {
        if (e && e.unavailable) {
          unfetched.add(name);
          notChecked(row, notDownloaded(name, e));
        } else {
          problem(row, name + " 缺失或无法读取：" + messageOf(e));
        }
        return null;
      });
    }

    /** The document an entry publishes: its bytes (or null), which must hash to its sha256. */
    function listedFile(e, row, stem) {
      var name = e.file;
      if (typeof name !== "string" || !new RegExp("^" + stem + "-[1-9][0-9]*\\.json$").test(name)) {
        problem(row, "file 为 " + show(name) + "，应为 " + stem + "-N.json");
        return Promise.resolve(null);
      }
      return load(name, row).then(function (bytes) {
        if (!bytes) return null;
        report.files++;
        return sha256Bytes(bytes).then(function (digest) {
          if (digest !== e.sha256) {
            problem(row, name + " 的 SHA-256 为 " + digest + "，index.json 中 sha256 为 " + show(e.sha256) +
              "：文件在公布后被改动");
          } else {
            row.notes.push(name + " 的 SHA-256 与 index.json 一致");
          }
          return bytes;
        });
      });
    }

    function manifestEntry(e, row) {
      var name = typeof e.file === "string" ? e.file : null;
      var reason = typeof e.reason === "string" && e.reason.trim() ? e.reason : null;
      if ((e.event === "freeze") !== (inForce === null)) {
        problem(row, inForce === null ? "event 为 refreeze，但第一份 manifest 应为 freeze" :
          "event 为 freeze，但此前已有 manifest，之后的 manifest 应为 refreeze");
      }
      if (e.event === "refreeze" && !reason) problem(row, "重新冻结（refreeze）缺少 reason");
      if (standing) problem(row, "在 " + standing + " 仍有效（未作废）时重新冻结");
      if (reason) row.notes.push("原因：" + reason);
      return listedFile(e, row, "manifest").then(function (bytes) {
        var record = { pos: row.n, bytes: bytes, m: null };
        if (name) manifests.set(name, record);
        inForce = name;
        if (!bytes) return;
        var m = null, mr = {}, found = [];
        try {
          m = parseJson(bytes, name);
          checkManifest(m, mr, found, name);
        } catch (err) {
          if (!(err instanceof Invalid)) throw err;
          found.push(err.message);
        }
        found.forEach(function (p) { problem(row, p); });
        if (!m || !isObject(m.seed_source)) return;
        record.m = m;
        if (!isObject(m.plan) || m.plan.id !== index.plan || m.plan.year !== index.year) {
          problem(row, name + " plan：为 " + show(isObject(m.plan) ? m.plan.id : m.plan) + "（" +
            show(isObject(m.plan) ? m.plan.year : undefined) + " 年度），不是 index.json 的计划 " + show(index.plan) +
            "（" + show(index.year) + " 年度）");
        }
        var declared = m.seed_source.available_at;
        if (e.available_at !== undefined && declared !== undefined) {
          try {
            if (compareInstants(instant(e.available_at, "available_at"), instant(declared, name)) !== 0) {
              problem(row, "available_at：index.json 中为 " + show(e.available_at) + "，" + name + " 中为 " + show(declared));
            }
          } catch (err) {
            if (!(err instanceof Invalid)) throw err;
            problem(row, err.message);
          }
        }
        if (m.simulated === true) {
          if (report.rehearsal) {
            row.notes.push(mr.simulated_note);
          } else {
            problem(row, name + " 在模拟时钟上冻结（回放或演练），却出现在正式（production）公示历史中：" +
              "它不能证明自己在种子产生之前冻结");
          }
        }
        if (typeof declared === "string") {
          var available;
          try { available = instant(declared, name); } catch (err) { return; } // reported above
          for (var s = 0; s < settled.length; s++) {
            var x = settled[s];
            if (compareInstants(available, x.t) <= 0) {
              problem(row, name + " 冻结于 " + x.draw + (x.isVoid ? " 作废" : " 抽取") + "（" + x.at +
                "）之后，而它的种子自 " + declared + " 起公开，并不晚于该次" + (x.isVoid ? "作废" : "抽取") +
                "：冻结时种子可能已为人所知");
              break;
            }
          }
          row.notes.push("冻结于 " + show(m.frozen_at) + "，种子公开于 " + declared);
        }
        if (publicEligibility(mr.spec) || publicEligibility(m.spec)) row.notes.push("规范 " + m.spec);
      });
    }

    function drawEntry(e, row, t) {
      var name = typeof e.file === "string" ? e.file : null;
      var from = inForce ? manifests.get(inForce) : null;
      var drawnFrom = inForce;
      if (inForce === null || e.manifest !== inForce) {
        problem(row, "manifest：为 " + show(e.manifest) + "，但当时有效的 manifest 为 " + show(inForce));
      }
      if (standing) problem(row, "在 " + standing + " 仍有效（未作废）时再次抽取");
      if (lastVoid && from && from.pos < lastVoid.pos) {
        problem(row, show(name) + " 在 " + lastVoid.draw + " 作废后，仍依据作废前冻结的 " + inForce +
          " 重新抽取：重新抽取须依据作废之后冻结、当时种子尚不存在的 manifest");
      }
      if (name) {
        standing = name;
        drawn.add(name);
        if (t) settled.push({ draw: name, isVoid: false, t: t, at: e.at });
      }
      return listedFile(e, row, "draw").then(function (bytes) {
        if (!bytes) return;
        var record = { bytes: bytes, d: null, manifest: drawnFrom };
        if (name) draws.set(name, record);
        var d = null;
        try { d = parseJson(bytes, name); } catch (err) {
          if (!(err instanceof Invalid)) throw err;
          problem(row, err.message);
          return;
        }
        record.d = d;
        var source = isObject(d.seed_source) ? d.seed_source : {};
        if (typeof source.value === "string") {
          row.seed = { kind: source.kind, value: source.value,
            round: source.kind === "drand" && typeof source.round === "number" ? source.round : null };
          for (var s = 0; s < seeds.length; s++) {
            var used = seeds[s].seed;
            if (used.value === row.seed.value || (used.kind === "drand" && row.seed.kind === "drand" &&
                used.round !== null && used.round === row.seed.round)) {
              problem(row, name + " 与 " + seeds[s].draw + " 使用了同一个种子（值 " + used.value +
                (used.kind === "drand" ? "，drand 第 " + used.round + " 轮" : "") + "）");
              break;
            }
          }
          seeds.push({ draw: name, seed: row.seed });
        }
        if (!from || !drawnFrom) return;
        if (!from.bytes) {
          if (unfetched.has(drawnFrom)) {
            notChecked(row, "依据的 " + drawnFrom + " 无法下载，未能重算 " + name + "：未能验证");
          } else {
            problem(row, "依据的 " + drawnFrom + " 缺失或无法读取，无法重算 " + name);
          }
          return;
        }
        say("第 " + row.n + " 项：依据 " + drawnFrom + " 重算 " + name);
        return verify(from.bytes, bytes, function (text) { say("第 " + row.n + " 项 " + name + "：" + text); },
          { manifest: drawnFrom, draw: name }).then(function (r) {
          report.recomputed++;
          if (r.ok) {
            row.notes.push("依据 " + drawnFrom + " 重算，全部 " + r.strata.length + " 个分层和 " + r.teams.count +
              " 个检查组一致");
          } else {
            problem(row, "依据 " + drawnFrom + " 重算 " + name + " 不一致：" + r.problems[0] +
              (r.problems.length > 1 ? "（另有 " + (r.problems.length - 1) + " 处差异）" : ""));
          }
          if (r.beacon_note) row.notes.push(r.beacon_note);
        });
      });
    }

    function voidEntry(e, row, t) {
      var reason = typeof e.reason === "string" && e.reason.trim() ? e.reason : null;
      if (has(e, "file") || has(e, "sha256")) problem(row, "作废（void）不发布文件，不应有 file 或 sha256");
      if (e.draw === undefined || e.draw === null || e.draw !== standing) {
        problem(row, "draw：为 " + show(e.draw) + "，但当时有效的抽取为 " + show(standing));
      }
      if (!reason) problem(row, "作废（void）缺少 reason");
      else row.notes.push("原因：" + reason + (e.forced ? "（强制作废）" : ""));
      var voided = typeof e.draw === "string" ? e.draw : standing;
      if (voided) {
        if (t) settled.push({ draw: voided, isVoid: true, t: t, at: e.at });
        lastVoid = { pos: row.n, draw: voided };
      }
      standing = null;
      return Promise.resolve();
    }

    /** The objects of a parsed draw: every selected and alternate id of its strata, or null. */
    function objectsOf(d) {
      if (!isObject(d) || !Array.isArray(d.strata)) return null;
      var ids = new Set();
      d.strata.forEach(function (s) {
        if (!isObject(s)) return;
        [s.selected, s.alternates].forEach(function (list) {
          if (!Array.isArray(list)) return;
          list.forEach(function (x) { if (isObject(x) && typeof x.id === "string") ids.add(x.id); });
        });
      });
      return ids;
    }

    /**
     * A takedown: names a draw listed earlier (voided or not), one of its objects, the task's
     * published number (taken down once) and the rule; publishes nothing and changes nothing.
     */
    function takedownEntry(e, row) {
      var reason = typeof e.reason === "string" && e.reason.trim() ? e.reason : null;
      var task = typeof e.task === "string" && TASK_NUMBER.test(e.task) ? e.task : null;
      var entity = typeof e.entity === "string" && e.entity ? e.entity : null;
      var name = typeof e.draw === "string" ? e.draw : null;
      if (has(e, "file") || has(e, "sha256") || has(e, "manifest")) {
        problem(row, "撤下（takedown）不发布文件，不应有 file、sha256 或 manifest");
      }
      if (!task) {
        problem(row, "task：为 " + (e.task === "" ? "空" : show(e.task)) + "，应为任务的公示编号（字母、数字、“.”、“_”和“-”，不能为空）");
      } else if (takenDown.has(task)) {
        problem(row, "任务 " + task + " 已在第 " + takenDown.get(task) + " 项撤下，不应再次撤下");
      }
      if (task && !takenDown.has(task)) takenDown.set(task, row.n);
      if (!reason) problem(row, "撤下（takedown）缺少 reason");
      if (!entity) problem(row, "entity：为 " + show(e.entity) + "，应为检查对象的统一社会信用代码");
      if (!name || !drawn.has(name)) {
        problem(row, "draw：为 " + show(e.draw) + "，不是 index.json 中此前列出的抽取");
      } else if (entity) {
        var record = draws.get(name);
        var objects = record ? objectsOf(record.d) : null;
        if (!record) {
          if (unfetched.has(name)) {
            notChecked(row, name + " 无法下载，未能核对 " + entity + " 是否为其检查对象：未能验证");
          } else {
            problem(row, name + " 缺失或无法读取，无法核对 " + entity + " 是否为其检查对象");
          }
        } else if (!objects) {
          problem(row, name + " 格式错误，无法核对 " + entity + " 是否为其检查对象");
        } else if (!objects.has(entity)) {
          problem(row, "entity：" + entity + " 不是 " + name + " 的检查对象（不在任何分层的 selected 或 alternates 中）");
        }
      }
      row.notes.push("撤下 任务 " + (task || show(e.task)) + "（" + (entity || show(e.entity)) + "）的结果：" +
        (reason || show(e.reason)));
      return Promise.resolve();
    }

    function entry(i) {
      if (i >= entries.length) return Promise.resolve();
      var e = entries[i];
      var row = { n: i + 1, event: null, file: null, at: null, seed: null, ok: false, state: "differs",
        problems: [], unchecked: [], notes: [] };
      report.entries.push(row);
      if (!isObject(e)) {
        problem(row, "不是 JSON 对象");
        row.state = "differs";
        return entry(i + 1);
      }
      row.event = typeof e.event === "string" ? e.event : show(e.event);
      row.file = e.event === "void" || e.event === "takedown" ? (typeof e.draw === "string" ? e.draw : null) :
        (typeof e.file === "string" ? e.file : null);
      row.at = typeof e.at === "string" ? e.at : null;
      say("第 " + row.n + "/" + entries.length + " 项");
      if (e.n !== row.n) problem(row, "n：为 " + show(e.n) + "，应为 " + row.n + "（事件须按发生顺序从 1 连续编号）");
      var t = null;
      try { t = instant(e.at, "at"); } catch (err) {
        if (!(err instanceof Invalid)) throw err;
        problem(row, err.message);
      }
      if (t) {
        if (previous && compareInstants(t, previous.t) < 0) {
          problem(row, "at：为 " + e.at + "，早于上一项（第 " + previous.n + " 项，" + previous.event + "）的 " +
            previous.at + "：事件时间倒退");
        }
        previous = { t: t, n: row.n, event: row.event, at: e.at };
      }
      if (e.event !== "takedown" && (has(e, "task") || has(e, "entity"))) {
        problem(row, "只有撤下（takedown）才有 task 和 entity");
      }
      var done;
      if (e.event === "freeze" || e.event === "refreeze") done = manifestEntry(e, row);
      else if (e.event === "draw") done = drawEntry(e, row, t);
      else if (e.event === "void") done = voidEntry(e, row, t);
      else if (e.event === "takedown") done = takedownEntry(e, row);
      else {
        problem(row, "event：未知的事件 " + show(e.event));
        done = Promise.resolve();
      }
      return done.then(function () {
        if (e.event !== "void" && e.event !== "takedown" && typeof e.file === "string") {
          if (listed.has(e.file)) problem(row, e.file + " 在 index.json 中列出了两次");
          listed.add(e.file);
        }
        row.state = row.problems.length ? "differs" : row.unchecked.length ? "unchecked" : "ok";
        row.ok = row.state === "ok";
        return entry(i + 1);
      });
    }

    /** The current documents: index.json's current, and manifest.json / draw.json as copies. */
    function current() {
      var c = { ok: false, state: "differs", manifest: inForce, draw: standing, problems: [], unchecked: [], notes: [] };
      report.current = c;
      var said = isObject(index.current) ? index.current : {};
      var saidManifest = said.manifest === undefined ? null : said.manifest;
      var saidDraw = said.draw === undefined ? null : said.draw;
      function fail(text) { c.problems.push(text); report.problems.push("index.json current：" + text); }
      if (!isObject(index.current) || saidManifest !== inForce || saidDraw !== standing) {
        fail("为 " + show(saidManifest) + " 和 " + show(saidDraw) + "，但按公示历史现行的是 " +
          show(inForce) + " 和 " + show(standing));
      }
      var copies = [["manifest.json", inForce, inForce && manifests.get(inForce) ? manifests.get(inForce).bytes : null],
        ["draw.json", standing, standing && draws.get(standing) ? draws.get(standing).bytes : null]];
      return copies.reduce(function (chain, copy) {
        return chain.then(function () {
          if (!copy[1]) return;
          return Promise.resolve().then(function () { return getFile(copy[0]); }).then(function (buf) {
            var bytes = toBytes(buf, copy[0]);
            if (!copy[2]) return;
            if (sameBytes(bytes, copy[2])) c.notes.push(copy[0] + " 与现行的 " + copy[1] + " 逐字节相同");
            else fail(copy[0] + " 不是现行的 " + copy[1] + " 的逐字节副本");
          }, function (e) {
            if (e && e.unavailable) {
              c.unchecked.push(notDownloaded(copy[0], e));
              report.unchecked.push("现行文件：" + notDownloaded(copy[0], e));
            } else {
              fail(copy[0] + " 缺失：" + messageOf(e));
            }
          });
        });
      }, Promise.resolve()).then(function () {
        // A folder cannot be listed over the web: the next numbers are probed instead.
        var next = { manifest: 1, draw: 1 };
        listed.forEach(function (f) {
          var m = /^(manifest|draw)-([1-9][0-9]*)\.json$/.exec(f);
          if (m && +m[2] >= next[m[1]]) next[m[1]] = +m[2] + 1;
        });
        return Promise.all(["manifest", "draw"].map(function (stem) {
          var name = stem + "-" + next[stem] + ".json";
          return Promise.resolve().then(function () { return getFile(name); }).then(function (buf) {
            var d;
            try { d = parseJson(toBytes(buf, name), name); } catch (e) { return; }
            if (typeof d.spec === "string" && d.spec.indexOf("suiji-draw-") === 0) {
              var text = name + " 在文件夹中，却未列入 index.json";
              c.problems.push(text);
              report.problems.push("index.json：" + text);
            }
          }, function () { /* absent, as it should be */ });
        }));
      }).then(function () {
        c.state = c.problems.length ? "differs" : c.unchecked.length ? "unchecked" : "ok";
        c.ok = c.state === "ok";
      });
    }

    /** Section 10: the selection downloads, for a v3, v4 or v5 manifest in force. */
    function selection() {
      var rec = inForce ? manifests.get(inForce) : null;
      var drawRec = standing ? draws.get(standing) : null;
      var m = rec ? rec.m : null;
      var spec = m ? m.spec : drawRec && drawRec.d ? drawRec.d.spec : null;
      if (!publicEligibility(spec)) return Promise.resolve(); // v1, v2, nothing frozen, or unknown (reported above)
      var s = { ok: false, state: "differs", rows: 0, problems: [], unchecked: [], notes: [] };
      report.selection = s;
      function fail(text) { s.problems.push(text); report.problems.push(text); }
      function skip(text) { s.unchecked.push(text); report.unchecked.push(text); }
      function settle() {
        s.state = s.problems.length ? "differs" : s.unchecked.length ? "unchecked" : "ok";
        s.ok = s.state === "ok";
      }
      function get(name) {
        return Promise.resolve().then(function () { return getFile(name); }).then(function (buf) {
          return toBytes(buf, name);
        }, function (e) {
          if (e && e.unavailable) skip(notDownloaded(name, e));
          else fail(name + " 缺失：" + messageOf(e));
          return null;
        });
      }
      say("核对 selection.json");
      // A folder that publishes no selection and no plan.html (a test, a dry run) has nothing to
      // check; any other selection.json that cannot be downloaded is not verified.
      return Promise.resolve().then(function () { return getFile("selection.json"); }).then(function (buf) {
        return toBytes(buf, "selection.json");
      }, function (e) {
        if (!e || !e.unavailable || e.status !== 404) throw e;
        return Promise.resolve().then(function () { return getFile("plan.html"); }).then(function () { throw e; },
          function (p) {
            if (p && p.unavailable && p.status === 404) return "none";
            throw e;
          });
      }).then(null, function (e) {
        if (e && e.unavailable) skip(notDownloaded("selection.json", e));
        else fail("selection.json 缺失：" + messageOf(e));
        return null;
      }).then(function (bytes) {
        if (bytes === "none") {
          report.selection = null;
          report.notes.push("文件夹中没有 selection.json 和 plan.html，无需核对抽取结果公示");
          return;
        }
        if (!bytes) return;
        var rows;
        try { rows = parseAnyJson(bytes, "selection.json"); } catch (err) {
          if (!(err instanceof Invalid)) throw err;
          fail(err.message);
          return;
        }
        if (!m) { skip("依据的 " + inForce + " 无法下载，selection.json 未能验证"); return; }
        if (standing && (!drawRec || !drawRec.d)) {
          skip("现行抽取 " + standing + " 无法下载，selection.json 未能验证");
          return;
        }
        var checked;
        try {
          checked = checkSelection(rows, m, standing ? drawRec.d : null,
            { selection: "selection.json", manifest: inForce, draw: standing });
        } catch (err) {
          fail("selection.json：无法依据 " + inForce + " 核对（" + (err instanceof Invalid ? err.message :
            inForce + " 格式错误") + "）");
          return;
        }
        s.rows = checked.rows;
        checked.problems.forEach(fail);
        if (!checked.problems.length) {
          s.notes.push("selection.json 共 " + checked.rows + " 行，与" + (standing ? "现行抽取 " + standing + " 及 " :
            "（尚无有效抽取）") + inForce + " 一致");
        }
        return get("selection.csv").then(function (csv) {
          if (!csv) return;
          var found;
          try { found = checkCsv(csv, rows, "selection.csv", "selection.json"); } catch (err) {
            if (!(err instanceof Invalid)) throw err;
            found = [err.message];
          }
          found.forEach(fail);
          if (!found.length) s.notes.push("selection.csv 与 selection.json 逐行一致");
        });
      }).then(settle);
    }

    /**
     * Sections 11 and 12: head(n) of every entry, and every timestamp-<n>.tsr the folder
     * publishes (a folder cannot be listed over the web: each n is asked for; HTTP 404 is no
     * timestamp). A token must be a TSTInfo whose imprint is SHA-256 of head(n); its genTime is
     * shown; its signature is left to suiji verify DIR --tsa-ca FILE. A token for the entry
     * after the last is a history cut short.
     */
    function timestamps() {
      return headsOf(index).then(function (heads) {
        report.heads = heads;
        if (heads.length) report.head = { n: heads.length, hex: heads[heads.length - 1] };
        if (heads.length) say("核对时间戳");
        // Asked at once, reported in order.
        var asked = heads.map(function (head, i) { return stamp(i + 1, head, heads); });
        return Promise.all(asked.concat([beyond(heads.length + 1)]));
      }).then(function (found) {
        found.forEach(function (row) {
          if (!row) return;
          if (row.n) report.timestamps.push(row);
          row.problems.forEach(function (p) { report.problems.push(p); });
          row.unchecked.forEach(function (p) { report.unchecked.push(p); });
        });
      });
    }

    function stamp(n, head, heads) {
      var name = "timestamp-" + n + ".tsr";
      var row = { n: n, file: name, head: head, ok: false, state: "differs", gen_time: null, beijing: null,
        problems: [], unchecked: [], notes: [] };
      function settle() {
        row.state = row.problems.length ? "differs" : row.unchecked.length ? "unchecked" : "ok";
        row.ok = row.state === "ok";
        return row;
      }
      return Promise.resolve().then(function () { return getFile(name); }).then(function (buf) {
        var bytes = toBytes(buf, name);
        var first = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
        while (first < bytes.length && [0x20, 0x09, 0x0a, 0x0d].indexOf(bytes[first]) >= 0) first++;
        if (bytes[first] === 0x3c) { // "<": a web page (a server's "not found" page), not a file of the folder
          row.unchecked.push(name + "：服务器返回的是网页而不是时间戳文件（也许是网站的“未找到”页面）：未能验证");
          return settle();
        }
        var token;
        try { token = readToken(bytes); } catch (err) {
          if (!(err instanceof Invalid)) throw err;
          row.problems.push(name + " 不是有效的时间戳（RFC 3161 时间戳令牌）：" + err.message);
          return settle();
        }
        row.gen_time = token.genTime;
        var fail = null;
        if (token.algorithm !== OID_SHA256) {
          fail = name + " 的摘要算法不是 SHA-256（OID 2.16.840.1.101.3.4.2.1）";
        } else if (token.hashed !== head) {
          var other = heads.indexOf(token.hashed);
          fail = name + " 加盖时间戳的摘要为 " + token.hashed + "，而第 " + n + " 项的公示历史摘要 head(" + n + ") 为 " +
            head + (other >= 0 ? "（它是第 " + (other + 1) + " 项的公示历史摘要：文件名与内容不符）" :
              "：它不是本公示历史第 " + n + " 项的时间戳，或第 " + n + " 项及之前的事件在加盖时间戳后被改动");
        } else {
          row.beijing = beijingTime(token.genTime);
          if (row.beijing === null) fail = name + " 的 genTime " + show(token.genTime) + " 不是 UTC 时间（GeneralizedTime）";
        }
        if (fail) {
          row.problems.push(fail);
        } else {
          row.notes.push("第 " + n + " 项及之前的公示历史在 " + row.beijing + "（北京时间）之前已存在，由时间戳服务机构签名；" +
            "浏览器未核验该签名，签名请用命令行核验：" + TSA_COMMAND);
        }
        return settle();
      }, function (e) {
        if (!e || !e.unavailable || e.status === 404) return null; // not timestamped
        row.unchecked.push(notDownloaded(name, e));
        return settle();
      });
    }

    /** A token for an entry the history does not have: index.json lost its last entries. */
    function beyond(n) {
      var name = "timestamp-" + n + ".tsr";
      return Promise.resolve().then(function () { return getFile(name); }).then(function (buf) {
        try { readToken(toBytes(buf, name)); } catch (e) { return null; }
        return { n: 0, problems: [name + " 在文件夹中，但 index.json 只列出 " + (n - 1) + " 项事件：" +
          "公示历史的后续事件可能被删去"], unchecked: [] };
      }, function () { return null; /* absent, as it should be */ });
    }

    function finish() {
      report.state = report.problems.length ? "differs" : report.unchecked.length ? "unchecked" : "ok";
      report.ok = report.state === "ok";
      report.millis = Date.now() - started;
      say(report.ok ? "一致" : report.state === "unchecked" ? "未能验证" : "不一致：" + report.problems[0]);
      return report;
    }

    return Promise.resolve().then(function () {
      say("解析 index.json");
      index = parseJson(toBytes(indexBuffer, "index.json"), "index.json");
      report.spec = index.spec === undefined ? null : index.spec;
      report.plan = index.plan === undefined ? null : index.plan;
      report.year = index.year === undefined ? null : index.year;
      // The folder binding: a /<year>/<plan>/ folder holds only its own plan's history.
      if (typeof index.plan !== "string" || !index.plan || !isInteger(index.year)) {
        throw new Invalid("index.json plan / year：为 " + show(index.plan) + " / " + show(index.year) +
          "，不是计划编号和年度");
      }
      var folder = options.folder;
      if (folder) {
        report.binding = String(index.year) === folder.year && index.plan === folder.plan;
        if (!report.binding) {
          report.problems.push("index.json plan / year：为 " + show(index.plan) + " / " + show(index.year) +
            "，但本文件夹是 " + folder.year + "/" + folder.plan + "/：公示历史与所在文件夹的计划或年度不符");
        }
      }
      if (index.spec !== INDEX_V1 && index.spec !== INDEX_V2) {
        throw new Invalid("index.json spec：未知的规范 " + show(index.spec));
      }
      if (index.spec === INDEX_V1) {
        if (has(index, "store")) throw new Invalid("index.json：" + INDEX_V1 + " 不应有 store");
        report.store = "production";
      } else if (!has(index, "store")) {
        throw new Invalid("index.json：缺少 store（应为 production 或 rehearsal）");
      } else if (STORES.indexOf(index.store) < 0) {
        throw new Invalid("index.json store：为 " + show(index.store) + "，应为 production 或 rehearsal");
      } else {
        report.store = index.store;
      }
      report.rehearsal = report.store === "rehearsal";
      if (report.rehearsal) {
        report.notes.push("演练：本公示历史由演练库（模拟或演示）发布，不能证明任何真实的时间先后");
      }
      if (!Array.isArray(index.entries)) throw new Invalid("index.json entries：不是列表");
      entries = index.entries;
      return entry(0).then(current).then(selection).then(timestamps);
    }).then(finish, function (e) {
      report.problems.push(e instanceof Invalid ? e.message :
        "文件格式错误，无法核对（" + (e && e.name ? e.name : "Error") + "）");
      return finish();
    });
  }

  // ---------------------------------------------------------------- the page

  // Long hex digests wrap inside their own code cells; wide tables scroll inside their own box:
  // the verifier's output never makes the page wider than a phone's screen.
  var CODE_STYLE = "overflow-wrap:anywhere;word-break:break-all;";
  var SCROLL_STYLE = "overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch;";
  // Not verified (a file could not be downloaded) is a notice, not the colour of a failure.
  var UNCHECKED_STYLE = "background:#fff8c5;border:1px solid #d4a72c;color:#6f4a00;padding:.4rem .7rem;";
  var UNCHECKED_CELL = "background:#fff8c5;";
  var FROM_DISK = "从本地文件打开本页时，浏览器不允许下载；请通过网站访问本页，或选择已下载的文件";

  function element(doc, tag, text, attrs) {
    var el = doc.createElement(tag);
    if (text !== undefined && text !== null) el.textContent = String(text);
    if (attrs) Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }

  function code(doc, text) { return element(doc, "code", text, { style: CODE_STYLE }); }

  /**
   * A list item: a label, then values (a string is text, {code} is a code cell, {link, text} a
   * link to an http(s) address checked by urlProblem).
   */
  function fact(doc, list, parts) {
    var li = element(doc, "li");
    parts.forEach(function (p) {
      if (p === null || p === undefined) return;
      li.appendChild(typeof p === "string" ? doc.createTextNode(p) : p.link !== undefined ?
        element(doc, "a", p.text, { href: p.link, rel: "noopener noreferrer", "class": "mono", style: CODE_STYLE }) :
        code(doc, p.code));
    });
    list.appendChild(li);
  }

  function scrollBox(doc, table) {
    var box = element(doc, "div", null, { "class": "scroll", style: SCROLL_STYLE });
    box.appendChild(table);
    return box;
  }

  function clear(container) {
    while (container.firstChild) container.removeChild(container.firstChild);
  }

  /** The line at the top of a report; tests read its id, data-ok and data-state. */
  function verdict(doc, id, state, text) {
    var attrs = { id: id, "data-ok": state === "ok" ? "true" : "false", "data-state": state,
      "class": state === "unchecked" ? "banner verify-unchecked" : "verify-summary" };
    if (state === "unchecked") attrs.style = UNCHECKED_STYLE;
    return element(doc, "p", text, attrs);
  }

  var STATE_TEXT = { ok: "一致 ✓", differs: "不一致 ✗", unchecked: "未能验证" };

  function stateRow(doc, attrs, state, cells) {
    attrs["data-ok"] = state === "ok" ? "true" : "false";
    attrs["data-state"] = state;
    var row = element(doc, "tr", null, attrs);
    cells.forEach(function (c) {
      var td = element(doc, "td", c && c.code !== undefined ? null : c);
      if (c && c.code !== undefined) {
        td.setAttribute("class", "mono");
        td.setAttribute("style", CODE_STYLE);
        td.textContent = c.code;
      }
      if (state === "unchecked") td.setAttribute("style", (td.getAttribute("style") || "") + UNCHECKED_CELL);
      row.appendChild(td);
    });
    return row;
  }

  function table(doc, attrs, headers) {
    var t = element(doc, "table", null, attrs);
    var head = element(doc, "tr");
    headers.forEach(function (h) { head.appendChild(element(doc, "th", h)); });
    var thead = element(doc, "thead");
    thead.appendChild(head);
    t.appendChild(thead);
    var body = element(doc, "tbody");
    t.appendChild(body);
    return { table: t, body: body };
  }

  function problemList(doc, container, title, id, items) {
    if (!items.length) return;
    container.appendChild(element(doc, "p", title));
    var list = element(doc, "ol", null, { id: id, "class": "verify-problems" });
    items.forEach(function (p) { list.appendChild(element(doc, "li", p)); });
    container.appendChild(list);
  }

  function render(container, report) {
    var doc = container.ownerDocument || root.document;
    clear(container);
    var state = report.state || (report.ok ? "ok" : "differs");
    var text = state === "ok" ? "一致：" + report.draw_name + " 依据 " + report.manifest_name + " 重算，全部分层和检查组逐项一致" :
      state === "unchecked" ? report.unchecked[0] || "未能验证" :
        "不一致 — 首个差异：" + (report.problems[0] || "");
    container.appendChild(verdict(doc, "verify-summary", state, text));
    var facts = element(doc, "ul", null, { "class": "verify-facts" });
    if (report.spec) fact(doc, facts, ["规范：", { code: report.spec }]);
    if (report.frozen_at) fact(doc, facts, ["冻结时间：" + report.frozen_at]);
    if (report.available_at) fact(doc, facts, ["种子公开时间：" + report.available_at]);
    if (report.simulated) fact(doc, facts, [report.simulated_note]);
    if (report.manifest_digest) {
      fact(doc, facts, [report.manifest_name + " 的 SHA-256：", { code: report.manifest_digest },
        report.digest_ok ? " ✓" : " ✗"]);
    }
    if (report.seed_kind) {
      fact(doc, facts, ["随机数（" + report.seed_kind + (report.round !== null ? "，drand 第 " + report.round + " 轮" : "") +
        (report.seed_game ? "，" + report.seed_game + "开奖号码" : "") + "）：",
        { code: report.seed_value === null ? "-" : report.seed_value }, report.seed_ok ? " ✓" : " ✗"]);
    }
    if (report.announcement && urlProblem(report.announcement) === null) {
      fact(doc, facts, ["开奖公告：", { link: report.announcement, text: report.announcement }]);
    }
    if (report.seed) fact(doc, facts, ["种子：", { code: report.seed }]);
    if (report.beacon_note) fact(doc, facts, [report.beacon_note]);
    if (state !== "unchecked") {
      fact(doc, facts, [report.distinct !== null ?
        "候选对象：" + report.distinct + " 个（各分层相加 " + report.candidates + " 个次，同一对象可在多个分层中）" :
        "候选对象：各分层相加 " + report.candidates + " 个次（同一对象可能在多个分层中）"]);
    }
    if (facts.firstChild) container.appendChild(facts);

    if (report.strata.length || state !== "unchecked") {
      var t = table(doc, { "class": "verify-table" }, ["任务 / 分层", "配额", "结果", "说明"]);
      report.strata.forEach(function (s) {
        // A v4 or v5 stratum by its name, with its code, which the messages use.
        var code = s.task === s.stratum ? s.stratum : s.task + " / " + s.stratum;
        t.body.appendChild(stateRow(doc, { "data-stratum": String(s.stratum) }, s.ok ? "ok" : "differs",
          [s.label ? s.label + "（" + s.stratum + "）" : code, s.quota, s.ok ? "✓" : "✗",
            s.ok ? "一致" : s.problem]));
      });
      var teams = report.teams;
      t.body.appendChild(stateRow(doc, { "data-teams": "true" }, teams.ok ? "ok" : "differs",
        ["检查组", teams.count, teams.ok ? "✓" : "✗", teams.ok ? "一致" : teams.problem || "未核对"]));
      container.appendChild(scrollBox(doc, t.table));
    }
    if (report.problems.length > 1) problemList(doc, container, "全部差异：", "verify-problems", report.problems);
    if ((report.unchecked || []).length > 1) problemList(doc, container, "未能验证：", "verify-unchecked", report.unchecked);
    if (report.history_note) container.appendChild(element(doc, "p", report.history_note, { "class": "note" }));
    container.appendChild(element(doc, "p", "用时：" + report.millis + " 毫秒",
      { id: "verify-elapsed", "data-millis": String(report.millis) }));
  }

  function pairReport(state, text, millis) {
    return {
      ok: false, state: state, spec: null, simulated: false, seed_kind: null, seed_value: null, round: null,
      seed_ok: false, seed: null, strata: [], teams: { ok: false, count: 0, problem: null },
      problems: state === "differs" ? [text] : [], unchecked: state === "unchecked" ? [text] : [],
      candidates: 0, millis: millis
    };
  }

  /** getFile for a folder's files: bytes, or rejects with Unavailable (never "missing"). */
  function fetcher(baseUrl) {
    var fromDisk = !!baseUrl && baseUrl.protocol === "file:";
    return function (name) {
      if (fromDisk) return Promise.reject(new Unavailable(FROM_DISK));
      var url = baseUrl ? new URL(name, baseUrl).href : name;
      return Promise.resolve().then(function () {
        return root.fetch(url, { credentials: "same-origin", cache: "no-store" });
      }).then(function (r) {
        if (r.status !== 200) throw new Unavailable("HTTP " + r.status, r.status);
        return r.arrayBuffer();
      }).then(null, function (e) {
        if (e && e.unavailable) throw e;
        throw new Unavailable("网络错误，或浏览器拒绝了下载");
      });
    };
  }

  function baseOf(doc, url) {
    try {
      return new URL(url || "./", doc && doc.baseURI ? doc.baseURI : root.location && root.location.href);
    } catch (e) {
      return null;
    }
  }

  /** Loads the two files (a promise of two buffers), verifies them and renders the report. */
  function runWith(container, what, load, names, describe) {
    var doc = container.ownerDocument || root.document;
    clear(container);
    var status = element(doc, "p", what, { "class": "verify-progress", "aria-live": "polite" });
    container.appendChild(status);
    var started = Date.now();
    return Promise.resolve().then(load).then(function (files) {
      return verify(files[0], files[1], function (text) { status.textContent = text; }, names);
    }, function (e) {
      return e && e.unavailable ? pairReport("unchecked", e.message, Date.now() - started) :
        pairReport("differs", describe(e), Date.now() - started);
    }).then(function (report) {
      render(container, report);
      return report;
    });
  }

  /**
   * Downloads manifestUrl and drawUrl (exact bytes), verifies them and renders into container;
   * then, on a page with the history check, checks the whole history too.
   */
  function run(container, manifestUrl, drawUrl) {
    var doc = container.ownerDocument || root.document;
    var get = fetcher(baseOf(doc));
    function one(url) {
      return get(url).then(null, function (e) { throw new Unavailable(notDownloaded(url, e)); });
    }
    return runWith(container, "正在下载 " + manifestUrl + " 和 " + drawUrl, function () {
      return Promise.all([one(manifestUrl), one(drawUrl)]);
    }, { manifest: manifestUrl, draw: drawUrl }, messageOf).then(function (report) {
      if (startHistory(doc)) {
        container.appendChild(element(doc, "p", "本页同时核对全部公示历史（每一次冻结、抽取和作废），结果见下方“验证全部公示历史”。",
          { "class": "note", id: "verify-history-note" }));
      }
      return report;
    });
  }

  /** The same for two files the reader picked (File or Blob objects). */
  function runFiles(container, manifestFile, drawFile) {
    function read(file) {
      if (file && typeof file.arrayBuffer === "function") return file.arrayBuffer();
      return new Promise(function (resolve, reject) {
        var reader = new root.FileReader();
        reader.onload = function () { resolve(reader.result); };
        reader.onerror = function () { reject(new Unavailable("无法读取所选文件：未能验证")); };
        reader.readAsArrayBuffer(file);
      });
    }
    var names = { manifest: manifestFile && manifestFile.name || "manifest", draw: drawFile && drawFile.name || "draw" };
    return runWith(container, "正在读取所选文件", function () {
      return Promise.all([read(manifestFile), read(drawFile)]).then(null, function (e) {
        throw new Unavailable(e && e.unavailable ? e.message : "无法读取所选文件：未能验证");
      });
    }, names, messageOf).then(function (report) {
      report.history_note = "只核对了所选的两份文件，没有核对全部公示历史；请通过网站使用“验证全部公示历史”，或使用 suiji verify / verify_draw.py。";
      render(container, report);
      return report;
    });
  }

  // ---------------------------------------------------------------- the page: the whole history

  function seedText(seed) {
    if (!seed) return "";
    return seed.kind === "drand" ? "drand 第 " + seed.round + " 轮：" + seed.value : show(seed.kind) + "：" + seed.value;
  }

  /** A /<year>/<plan>/ folder that index.json was served from over http(s), or null. */
  function folderOf(url) {
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) return null;
    var parts = url.pathname.split("/").filter(function (p) { return p !== ""; });
    if (/\.[A-Za-z0-9]+$/.test(parts[parts.length - 1] || "") || url.pathname.slice(-1) !== "/") parts.pop();
    if (parts.length < 2) return null;
    var year, plan;
    try {
      year = decodeURIComponent(parts[parts.length - 2]);
      plan = decodeURIComponent(parts[parts.length - 1]);
    } catch (e) {
      return null;
    }
    if (!/^[0-9]{4}$/.test(year)) return null;
    return { year: year, plan: plan, path: year + "/" + plan + "/" };
  }

  function renderHistory(container, report) {
    var doc = container.ownerDocument || root.document;
    clear(container);
    // The plan and year verified come first: a copy is verified for those its index states.
    if (report.plan !== null || report.year !== null) {
      var f = report.folder;
      var plan = element(doc, "p", null, { id: "history-plan" });
      plan.appendChild(doc.createTextNode("核对的计划："));
      plan.appendChild(code(doc, show(report.plan)));
      plan.appendChild(doc.createTextNode("，年度：" + show(report.year) + "（按 index.json；" +
        (!f ? "本页不在“年度/计划”文件夹中，按 index.json 所述的计划和年度核对" :
          report.binding ? "与所在文件夹 " + f.path + " 一致" : "与所在文件夹 " + f.path + " 不符") + "）"));
      container.appendChild(plan);
    }
    if (report.rehearsal) {
      container.appendChild(element(doc, "p", "演练：这是演练库（模拟或演示）发布的公示历史，不是正式抽查，" +
        "不能证明任何真实的时间先后", { id: "history-rehearsal", "class": "banner" }));
    }
    var sel = report.selection;
    var text = report.state === "ok" ? "一致：全部公示历史核对无误（" + report.entries.length + " 项事件，" + report.files +
      " 个文件的 SHA-256 与 index.json 一致，重算 " + report.recomputed + " 次抽取全部一致" +
      (sel && sel.ok ? "；selection.json 共 " + sel.rows + " 行一致" : "") +
      (report.timestamps.length ? "；" + report.timestamps.length + " 个时间戳与公示历史摘要一致" : "") + "）" :
      report.state === "unchecked" ? (report.unchecked[0] || "未能验证") +
        (report.unchecked.length > 1 ? "（另有 " + (report.unchecked.length - 1) + " 处未能验证）" : "") :
        "不一致 — 首个问题：" + (report.problems[0] || "");
    container.appendChild(verdict(doc, "history-verdict", report.state, text));

    var facts = element(doc, "ul", null, { "class": "verify-facts" });
    if (report.spec !== null) fact(doc, facts, ["公示历史规范：", { code: show(report.spec) }]);
    if (report.store !== null) fact(doc, facts, ["发布库：" + (report.rehearsal ? "演练（rehearsal）" : "正式（production）")]);
    fact(doc, facts, ["事件数：" + report.entries.length]);
    container.appendChild(facts);

    if (report.entries.length || report.current || sel) {
      var t = table(doc, { id: "history-table", "class": "verify-table history-table" },
        ["序号", "事件", "文件", "时间", "种子 / 摘要", "结果", "说明"]);
      var stamps = new Map();
      report.timestamps.forEach(function (s) { stamps.set(s.n, s); });
      report.entries.forEach(function (r) {
        t.body.appendChild(stateRow(doc, { "data-entry": String(r.n), "data-event": String(r.event) }, r.state,
          [r.n, has(EVENT_NAMES, r.event) ? EVENT_NAMES[r.event] + "（" + r.event + "）" : r.event,
            r.file === null ? "" : r.file, r.at === null ? "" : r.at, { code: seedText(r.seed) }, STATE_TEXT[r.state],
            r.problems.concat(r.unchecked, r.state === "ok" ? r.notes : []).join("；")]));
        // Section 12: the entry's timestamp, when the folder publishes one.
        var s = stamps.get(r.n);
        if (s) {
          t.body.appendChild(stateRow(doc, { "data-timestamp": String(s.n) }, s.state,
            ["", "时间戳（第 " + s.n + " 项及之前）", s.file, s.beijing === null ? "" : s.beijing + "（北京时间）",
              { code: s.head }, STATE_TEXT[s.state],
              s.problems.concat(s.unchecked, s.state === "ok" ? s.notes : []).join("；")]));
        }
      });
      if (report.head) {
        // Section 11: head(N), what a witness's receipt and a timestamp of the last entry name.
        var headRow = element(doc, "tr", null, { "data-head": String(report.head.n) });
        headRow.appendChild(element(doc, "td", ""));
        headRow.appendChild(element(doc, "td", "公示历史摘要（第 " + report.head.n + " 项）"));
        var cell = element(doc, "td", null, { colspan: "5" });
        var hex = code(doc, report.head.hex);
        hex.setAttribute("id", "history-head");
        hex.setAttribute("data-n", String(report.head.n));
        cell.appendChild(hex);
        cell.appendChild(doc.createTextNode("（head(" + report.head.n + ")：第 1 至 " + report.head.n +
          " 项事件的 SHA-256，按 index.json 重算；见证人回执和时间戳核对的就是这一摘要，之前任何一项被改动或删去都会得出另一个摘要）"));
        headRow.appendChild(cell);
        t.body.appendChild(headRow);
      }
      var c = report.current;
      if (c) {
        t.body.appendChild(stateRow(doc, { "data-current": "true" }, c.state,
          ["", "现行文件", [c.manifest, c.draw].filter(function (x) { return x; }).join("，") || "（无）", "", "",
            STATE_TEXT[c.state], c.problems.concat(c.unchecked, c.state === "ok" ? c.notes : []).join("；")]));
      }
      if (sel) {
        t.body.appendChild(stateRow(doc, { "data-selection": "true", "data-rows": String(sel.rows) }, sel.state,
          ["", "抽取结果公示", "selection.json，selection.csv", "", "", STATE_TEXT[sel.state],
            sel.problems.concat(sel.unchecked, sel.state === "ok" ? sel.notes : []).join("；")]));
      }
      container.appendChild(scrollBox(doc, t.table));
    }
    if (sel) {
      var selText = sel.state === "ok" ? "selection.json：" + sel.rows + " 行与现行抽取一致" :
        sel.state === "unchecked" ? "selection.json：" + (sel.unchecked[0] || "未能验证") :
          "selection.json：不一致 — " + (sel.problems[0] || "");
      var p = element(doc, "p", selText, { id: "history-selection", "data-state": sel.state,
        "data-ok": sel.ok ? "true" : "false", "data-rows": String(sel.rows) });
      if (sel.state === "unchecked") p.setAttribute("style", UNCHECKED_STYLE);
      container.appendChild(p);
    }
    problemList(doc, container, "全部问题：", "history-problems", report.problems);
    problemList(doc, container, "未能验证：", "history-unchecked", report.unchecked);
    container.appendChild(element(doc, "p", "用时：" + report.millis + " 毫秒",
      { id: "history-elapsed", "data-millis": String(report.millis) }));
  }

  /**
   * Downloads indexUrl and the files it lists (relative to it), verifies the whole history and
   * renders it into container. A file that cannot be downloaded (a page opened from disk, a
   * network failure, an HTTP status other than 200) is not verified (未能验证), not differing.
   */
  function runHistory(container, indexUrl) {
    var doc = container.ownerDocument || root.document;
    indexUrl = indexUrl || "index.json";
    clear(container);
    var status = element(doc, "p", "正在下载 " + indexUrl, { "class": "verify-progress", "aria-live": "polite" });
    container.appendChild(status);
    var started = Date.now();
    var base = baseOf(doc, indexUrl);
    var get = fetcher(base);
    var folder = folderOf(base);
    return get(base ? base.href : indexUrl).then(function (buffer) {
      return verifyHistory(buffer, get, function (text) { status.textContent = text; }, { folder: folder });
    }, function (e) {
      return {
        ok: false, state: "unchecked", spec: null, store: null, rehearsal: false, folder: folder, binding: null,
        plan: null, year: null, entries: [], current: null, selection: null, files: 0, recomputed: 0,
        heads: [], head: null, timestamps: [], problems: [], unchecked: [notDownloaded("index.json", e)], notes: [],
        millis: Date.now() - started
      };
    }).then(function (report) {
      renderHistory(container, report);
      return report;
    });
  }

  var historyRunning = false;

  /** Starts the whole history check on a page that has one; false when it has none. */
  function startHistory(doc) {
    var button = doc && doc.getElementById ? doc.getElementById("verify-history") : null;
    var out = doc && doc.getElementById ? doc.getElementById("verify-history-output") : null;
    if (!button || !out) return false;
    if (historyRunning) return true;
    historyRunning = true;
    button.disabled = true;
    function done() { historyRunning = false; button.disabled = false; }
    runHistory(out, button.getAttribute("data-index") || "index.json").then(done, done);
    return true;
  }

  /** On a page with a #verify-history button: it verifies the history into #verify-history-output. */
  function wire(doc) {
    var button = doc.getElementById("verify-history");
    if (!button || button.getAttribute("data-wired") === "true") return;
    button.setAttribute("data-wired", "true");
    button.addEventListener("click", function () { startHistory(doc); });
  }

  var api = { verify: verify, run: run, runFiles: runFiles, verifyHistory: verifyHistory,
    runHistory: runHistory, checkSelection: checkSelection, Unavailable: Unavailable };
  root.SuijiVerify = api;
  if (typeof module === "object" && module && module.exports) module.exports = api;
  var doc = root.document;
  if (doc && typeof doc.getElementById === "function") {
    if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", function () { wire(doc); });
    else wire(doc);
  }
})(typeof globalThis !== "undefined" ? globalThis : typeof self !== "undefined" ? self : this);
