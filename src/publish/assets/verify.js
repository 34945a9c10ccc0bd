/*
 * suiji draw verifier for the browser (docs/draw-spec.md: suiji-draw-v2 and suiji-draw-v1).
 *
 * An independent re-computation of a published draw from its published manifest, in plain
 * JavaScript with nothing but WebCrypto (SHA-256), BigInt and TextEncoder/TextDecoder. It
 * shares no code with suiji and fetches nothing but the two files it is pointed at.
 *
 *   SuijiVerify.verify(manifestBytes, drawBytes, progress) -> Promise<report>
 *   SuijiVerify.run(container, manifestUrl, drawUrl)       -> Promise<report>
 *   SuijiVerify.runFiles(container, manifestFile, drawFile) -> Promise<report> (files picked by the reader)
 *
 * What it checks: the manifest's timing (v2: frozen_at strictly before
 * seed_source.available_at, certificate_date the Asia/Shanghai day of available_at, a drand
 * beacon that is quicknet's first round at or after available_at); manifest_digest against the
 * SHA-256 of the manifest's exact bytes; the seed value's form (for drand: the round the
 * manifest fixed, and the value the SHA-256 of the signature); the seed; every stratum's
 * selected entities and alternates with their tickets (Rivest's consistent sampler); every
 * team. What it does not: the BLS signature of a drand round (see beacon_note in the report),
 * and the published history (index.json): `suiji verify DIR` and tools/verify_draw.py do both.
 *
 * A classic script: loading it defines globalThis.SuijiVerify (and module.exports under Node).
 */
(function (root) {
  "use strict";

  var V1 = "suiji-draw-v1";
  var V2 = "suiji-draw-v2";
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
  var MEMBERS = ["spec", "plan", "seed_source", "strata", "tasks", "officers", "team_rules",
    "conflicts"];
  var OPTIONAL = ["entity_cities", "last_year_pairs"];
  var V2_ONLY = ["frozen_at", "simulated"];
  var DRAW_MEMBERS = ["spec", "manifest_digest", "seed_source", "seed", "strata", "teams"];
  var CHUNK = 4096; // digests requested at once
  var REASONS = ["inactive", "certificate_expired", "declared_conflict", "home_city",
    "last_year", "cap"];

  /** The first problem of a document that cannot be checked any further. */
  function Invalid(message) { this.message = message; }

  function has(obj, key) { return Object.prototype.hasOwnProperty.call(obj, key); }
  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function show(v) {
    if (typeof v === "string") return v;
    if (v === undefined) return "(missing)";
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
      throw new Invalid("this browser has no WebCrypto (crypto.subtle): open the page over " +
        "https or from localhost, or use `suiji verify` / tools/verify_draw.py");
    }
    return c.subtle;
  }

  function toBytes(data, what) {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (typeof data === "string") return encoder.encode(data);
    throw new Invalid(what + ": not bytes");
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

  function parseJson(bytes, name) {
    var text, value;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch (e) {
      throw new Invalid(name + " is not UTF-8");
    }
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new Invalid(name + " is not JSON (" + e.message + ")");
    }
    if (!isObject(value)) throw new Invalid(name + " is not a JSON object");
    // Canonical JSON (as suiji publishes) cannot repeat a member; anything else is scanned.
    if (canonical(value) !== text) {
      var key = repeatedMember(text);
      if (key !== null) throw new Invalid(name + ": a JSON object repeats the member " + JSON.stringify(key));
    }
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
    if (!m) throw new Invalid(what + " " + show(text) + " is not an RFC 3339 time with an offset");
    var y = +m[1], mo = +m[2], d = +m[3], hh = +m[4], mi = +m[5], ss = +m[6];
    var monthDays = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30,
      31, 31, 30, 31, 30, 31];
    if (mo < 1 || mo > 12 || d < 1 || d > monthDays[mo - 1] || hh > 23 || mi > 59 || ss > 59) {
      throw new Invalid(what + " " + text + " is not a possible time");
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

  function checkManifest(m, report, problems) {
    var spec = m.spec;
    if (spec !== V1 && spec !== V2) throw new Invalid("manifest: unknown spec " + show(spec));
    var source = m.seed_source;
    if (!isObject(source)) throw new Invalid("manifest: seed_source missing");
    var missing = MEMBERS.filter(function (k) { return !has(m, k); })
      .concat(["kind", "source"].filter(function (k) { return !has(source, k); }));
    if (missing.length) throw new Invalid("manifest: " + missing.join(", ") + " missing");
    var kind = source.kind;
    report.seed_kind = kind;
    if (spec === V1) {
      var extra1 = Object.keys(m).filter(function (k) { return MEMBERS.indexOf(k) < 0 && OPTIONAL.indexOf(k) < 0; })
        .concat(Object.keys(source).filter(function (k) { return k !== "kind" && k !== "source"; }));
      if (extra1.length || (kind !== "manual" && kind !== "os")) {
        throw new Invalid("manifest: a " + V1 + " manifest carries v2 members or kinds (" +
          (extra1.join(", ") || show(kind)) + ")");
      }
      return;
    }
    var extra = Object.keys(m).filter(function (k) {
      return MEMBERS.indexOf(k) < 0 && OPTIONAL.indexOf(k) < 0 && V2_ONLY.indexOf(k) < 0;
    }).concat(Object.keys(source).filter(function (k) {
      return ["kind", "source", "available_at", "beacon"].indexOf(k) < 0;
    }));
    if (extra.length || ["manual", "drand", "os"].indexOf(kind) < 0) {
      throw new Invalid("manifest: unknown members or seed kind (" + (extra.join(", ") || show(kind)) + ")");
    }
    if (has(m, "simulated")) {
      if (m.simulated !== true) throw new Invalid("manifest: simulated is present but not true");
      report.simulated = true;
      report.simulated_note = "模拟时钟冻结 (frozen on a replayed or rehearsed clock): the manifest " +
        "proves nothing about being frozen before the seed was public; the department's audit log has the real time";
    }
    report.frozen_at = m.frozen_at === undefined ? null : m.frozen_at;
    report.available_at = source.available_at === undefined ? null : source.available_at;
    var frozen = instant(m.frozen_at, "manifest: frozen_at");
    var available = instant(source.available_at, "manifest: seed_source.available_at");
    if (compareInstants(frozen, available) >= 0) {
      problems.push("manifest: frozen_at " + m.frozen_at + " is not before seed_source.available_at " +
        source.available_at + ": it was frozen when the seed could already be public");
    }
    var day = shanghaiDay(available);
    var certificateDate = isObject(m.team_rules) ? m.team_rules.certificate_date : undefined;
    if (certificateDate !== day) {
      problems.push("manifest: team_rules.certificate_date " + show(certificateDate) +
        " is not the day of available_at (" + day + ")");
    }
    if (kind === "drand") {
      var b = source.beacon;
      var same = isObject(b) && Object.keys(b).length === 5 && has(b, "round") &&
        Object.keys(QUICKNET).every(function (k) { return b[k] === QUICKNET[k]; });
      if (!same) {
        problems.push("manifest: seed_source.beacon is not drand quicknet (chain hash, public key, " +
          "genesis or period differ)");
      }
      var expected = firstRound(available);
      var round = isObject(b) ? b.round : undefined;
      if (round !== expected) {
        problems.push("manifest: beacon round " + show(round) + " is not the first quicknet round at or after " +
          source.available_at + " (that is " + expected + ")");
      }
    } else if (has(source, "beacon")) {
      problems.push("manifest: only a drand manifest has seed_source.beacon");
    }
  }

  // ---------------------------------------------------------------- section 2: the seed

  /** The draw's seed_source against the manifest's: the expected seed_source, or throws. */
  function checkSeedSource(m, source, report, problems) {
    var kind = m.seed_source.kind;
    if (!isObject(source) || source.kind !== kind) {
      throw new Invalid("seed_source: the manifest declares a " + kind + " seed, the draw has " + show(source));
    }
    var value = source.value;
    if (typeof value !== "string") throw new Invalid("seed_source.value " + show(value) + " is not a string");
    report.seed_value = value;
    if (kind !== "drand" && (has(source, "round") || has(source, "signature"))) {
      problems.push("seed_source: only a drand seed carries a round and a signature");
    }
    if (kind === "manual" && !/^[0-9]{6,}$/.test(value)) {
      problems.push("seed_source.value " + value + " is not at least 6 decimal digits");
    }
    if (kind === "os" && !/^[0-9a-f]{64}$/.test(value)) {
      problems.push("seed_source.value " + value + " is not 64 lowercase hex digits");
    }
    if (kind !== "drand") return Promise.resolve({ kind: kind, value: value });
    var fixed = m.seed_source.beacon ? m.seed_source.beacon.round : undefined;
    var round = source.round, signature = source.signature;
    report.round = round === undefined ? null : round;
    report.beacon_note = "BLS 签名未在浏览器中验证 (the BLS signature of drand round " + show(round) +
      " is not checked in the browser; this page only checks that the value is the SHA-256 of the " +
      "published signature): check it with `suiji verify` or tools/verify_draw.py, or compare the " +
      "signature with " + DRAND_URL + (typeof round === "number" ? round : "ROUND");
    if (typeof round !== "number" || round !== fixed) {
      problems.push("seed_source.round " + show(round) + " is not the round the manifest fixed (" + show(fixed) + ")");
    }
    var expected = { kind: kind, value: value, round: round, signature: signature };
    if (typeof signature !== "string" || !/^[0-9a-fA-F]{96}$/.test(signature)) {
      problems.push("seed_source.signature is not 96 hex digits");
      return Promise.resolve(expected);
    }
    var bytes = new Uint8Array(48);
    for (var i = 0; i < 48; i++) bytes[i] = parseInt(signature.substr(2 * i, 2), 16);
    return sha256Bytes(bytes).then(function (randomness) {
      if (value !== randomness) {
        problems.push("seed_source.value " + value + " is not the randomness of round " + show(round) +
          " (SHA-256 of its signature: " + randomness + ")");
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
          progress(label + ": " + end + "/" + n + " tickets");
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

  function select(m, seedHash, progress, state) {
    var taken = new Set(), out = [];
    var strata = m.strata;
    function stratum(s) {
      if (s >= strata.length) return Promise.resolve(out);
      var st = strata[s];
      var ids = st.candidates, quota = st.quota;
      if (!Array.isArray(ids) || !ids.every(function (x) { return typeof x === "string"; }) ||
          typeof quota !== "number" || quota < 0 || Math.floor(quota) !== quota) {
        throw new Invalid("manifest: strata[" + s + "] has malformed candidates or quota");
      }
      state.candidates += ids.length;
      var label = "stratum " + st.stratum;
      if (progress) progress(label + ": " + ids.length + " tickets");
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
          "cannot meet its quota (" + selected.length + " of " + quota + " eligible candidates)" : null;
        selected.forEach(function (p) { taken.add(p.id); });
        out.push({ task: st.task, stratum: st.stratum, quota: quota, selected: selected,
          alternates: alternates, problem: problem });
        return stratum(s + 1);
      });
    }
    return stratum(0);
  }

  // ---------------------------------------------------------------- section 4: teams

  function formTeams(m, strata, seedHash, progress) {
    var rules = m.team_rules;
    var dept = rules.department, cap = rules.cap_per_officer;
    var recusal = rules.recusal || {};
    var pairs = function (list) {
      var set = new Set();
      (list || []).forEach(function (p) { set.add(JSON.stringify([p[0], p[1]])); });
      return set;
    };
    var conflicts = pairs(m.conflicts), lastYear = pairs(m.last_year_pairs);
    var cities = new Map(Object.entries(m.entity_cities || {}));
    var tasks = new Map();
    m.tasks.forEach(function (t) { tasks.set(t.task, t); });
    var officers = m.officers;
    var officerIds = officers.map(function (o) { return o.id; });
    var load = new Map(), out = [];
    var picks = [];
    strata.forEach(function (s) { s.selected.forEach(function (p) { picks.push({ s: s, e: p.id }); }); });

    function reasonFor(o, e) {
      if (!o.active) return "inactive";
      if (rules.require_valid_certificate && o.valid_until !== null && o.valid_until !== undefined &&
          o.valid_until < rules.certificate_date) return "certificate_expired";
      var pair = JSON.stringify([o.id, e]);
      if (conflicts.has(pair)) return "declared_conflict";
      if (recusal.home_city && o.home_city !== null && o.home_city !== undefined &&
          cities.has(e) && o.home_city === cities.get(e)) return "home_city";
      if (recusal.last_year && lastYear.has(pair)) return "last_year";
      if ((load.get(o.id) || 0) >= cap) return "cap";
      return null;
    }

    function team(t) {
      if (t >= picks.length) return Promise.resolve(out);
      var s = picks[t].s, e = picks[t].e;
      var task = tasks.get(s.task);
      if (!task) throw new Invalid("manifest: task " + show(s.task) + " of stratum " + s.stratum + " is not in tasks");
      if (progress && (t % 10 === 0)) progress("teams: " + t + "/" + picks.length);
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
            .map(function (k) { return k + " " + counts[k]; }).join(", ");
          throw new Invalid("no " + role + " for " + e + " (task " + s.task + "; skipped: " + (why || "none") + ")");
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
  function difference(path, a, b, sep) {
    sep = sep || ": ";
    if (Array.isArray(b)) {
      if (!Array.isArray(a)) return path + sep + show(a) + " in the draw, a list recomputed";
      for (var i = 0; i < Math.min(a.length, b.length); i++) {
        var d = difference(path + "[" + i + "]", a[i], b[i], sep);
        if (d) return d;
      }
      return a.length === b.length ? null :
        path + sep + a.length + " entries in the draw, " + b.length + " recomputed";
    }
    if (isObject(b)) {
      if (!isObject(a)) return path + sep + show(a) + " in the draw, an object recomputed";
      var keys = Object.keys(b);
      for (var k = 0; k < keys.length; k++) {
        var dk = difference(path + "." + keys[k], a[keys[k]], b[keys[k]], sep);
        if (dk) return dk;
      }
      var extra = Object.keys(a).filter(function (x) { return !has(b, x); });
      return extra.length ? path + "." + extra[0] + sep + "in the draw, not recomputed" : null;
    }
    if (a === b) return null;
    return path + sep + show(a) + " in the draw, " + show(b) + " recomputed";
  }

  /** A stratum's picks: "selected[2] is X in the draw, Y recomputed", then the ticket. */
  function pickDifference(name, a, b) {
    if (!Array.isArray(a)) return name + " is " + show(a) + " in the draw, a list recomputed";
    for (var i = 0; i < Math.min(a.length, b.length); i++) {
      var p = a[i];
      if (!isObject(p)) return name + "[" + i + "] is " + show(p) + " in the draw, " + b[i].id + " recomputed";
      if (p.id !== b[i].id) return name + "[" + i + "] is " + show(p.id) + " in the draw, " + b[i].id + " recomputed";
      var d = difference(name + "[" + i + "]", p, b[i], " is ");
      if (d) return d;
    }
    if (a.length !== b.length) {
      return name + " has " + a.length + " entries in the draw, " + b.length + " recomputed" +
        (a.length > b.length ? " (first extra: " + show(a[b.length] && a[b.length].id) + ")" :
          " (first missing: " + b[a.length].id + ")");
    }
    return null;
  }

  function compareStratum(pub, mine) {
    if (!isObject(pub)) return "not in the draw";
    var fields = ["task", "stratum", "quota"];
    for (var f = 0; f < fields.length; f++) {
      if (pub[fields[f]] !== mine[fields[f]]) {
        return fields[f] + " is " + show(pub[fields[f]]) + " in the draw, " + show(mine[fields[f]]) + " recomputed";
      }
    }
    var d = pickDifference("selected", pub.selected, mine.selected) ||
      pickDifference("alternates", pub.alternates, mine.alternates);
    if (d) return d;
    var extra = Object.keys(pub).filter(function (k) {
      return ["task", "stratum", "quota", "selected", "alternates"].indexOf(k) < 0;
    });
    return extra.length ? "member " + extra[0] + " is in the draw, not recomputed" : null;
  }

  // ---------------------------------------------------------------- section 6: verify

  function verify(manifestBytes, drawBytes, progress) {
    var started = Date.now();
    var say = typeof progress === "function" ? function (t) {
      try { progress(t); } catch (e) { /* a display problem is not a verification problem */ }
    } : null;
    var problems = [];
    var state = { candidates: 0 };
    var report = {
      ok: false, spec: null, frozen_at: null, available_at: null, simulated: false,
      seed_kind: null, seed_value: null, round: null, seed_ok: false, seed: null,
      manifest_digest: null, digest_ok: false, strata: [], teams: { ok: false, count: 0, problem: null },
      problems: problems, candidates: 0, millis: 0
    };
    var m, d, digest, seedHash, strata;

    function finish() {
      report.candidates = state.candidates;
      report.ok = problems.length === 0 && report.seed_ok && report.digest_ok && report.teams.ok &&
        report.strata.every(function (s) { return s.ok; });
      report.millis = Date.now() - started;
      if (say) say(report.ok ? "一致 (agrees)" : "不一致 (differs): " + (problems[0] || ""));
      return report;
    }

    return Promise.resolve().then(function () {
      if (say) say("解析 (parsing)");
      var mb = toBytes(manifestBytes, "manifest"), db = toBytes(drawBytes, "draw");
      m = parseJson(mb, "manifest");
      d = parseJson(db, "draw");
      report.spec = m.spec === undefined ? null : m.spec;
      checkManifest(m, report, problems);
      if (d.spec !== m.spec) {
        problems.push("draw: spec " + show(d.spec) + ", its manifest's is " + show(m.spec));
      }
      var extra = Object.keys(d).filter(function (k) { return DRAW_MEMBERS.indexOf(k) < 0; });
      if (extra.length) problems.push("draw: unknown member " + extra[0]);
      return sha256Bytes(mb);
    }).then(function (hex) {
      digest = hex;
      report.manifest_digest = hex;
      report.digest_ok = d.manifest_digest === hex;
      if (!report.digest_ok) {
        problems.push("draw: manifest_digest " + show(d.manifest_digest) + ", but the manifest hashes to " + hex);
      }
      var before = problems.length;
      return checkSeedSource(m, d.seed_source, report, problems).then(function (expected) {
        var diff = difference("seed_source", d.seed_source, expected);
        if (diff) problems.push(diff);
        var kind = m.seed_source.kind;
        return sha256Hex(m.spec + "\n" + digest + "\n" + kind + "\n" + expected.value).then(function (seed) {
          report.seed = seed;
          if (d.seed !== seed) problems.push("seed: " + show(d.seed) + " in the draw, " + seed + " recomputed");
          report.seed_ok = problems.length === before;
          return sha256Hex(seed);
        });
      });
    }).then(function (hash) {
      seedHash = hash;
      return select(m, seedHash, say, state);
    }).then(function (mine) {
      strata = mine;
      var published = Array.isArray(d.strata) ? d.strata : [];
      if (!Array.isArray(d.strata)) problems.push("strata: " + show(d.strata) + " in the draw");
      mine.forEach(function (s, i) {
        var problem = s.problem || compareStratum(published[i], s);
        report.strata.push({ task: s.task, stratum: s.stratum, quota: s.quota, ok: !problem, problem: problem });
        if (problem) problems.push("stratum " + s.stratum + ": " + problem);
      });
      if (published.length > mine.length) {
        problems.push("strata: the draw has " + published.length + " strata, the manifest " + mine.length);
      }
      if (say) say("teams (检查组)");
      return formTeams(m, strata, seedHash, say).then(function (teams) {
        var published = d.teams;
        var problem = null;
        if (!Array.isArray(published)) problem = "teams: " + show(published) + " in the draw";
        else {
          for (var i = 0; i < Math.min(published.length, teams.length) && !problem; i++) {
            problem = difference("teams[" + i + "]", published[i], teams[i]);
          }
          if (!problem && published.length !== teams.length) {
            var n = Math.min(published.length, teams.length);
            problem = "teams: " + published.length + " in the draw, " + teams.length + " recomputed (first " +
              (published.length > n ? "extra: teams[" + n + "], entity " + show(isObject(published[n]) ? published[n].entity : published[n]) :
                "missing: teams[" + n + "], entity " + teams[n].entity) + ")";
          }
        }
        report.teams = { ok: !problem, count: teams.length, problem: problem };
        if (problem) problems.push(problem);
      }, function (e) {
        if (!(e instanceof Invalid)) throw e;
        report.teams = { ok: false, count: 0, problem: "teams: " + e.message };
        problems.push("teams: " + e.message);
      });
    }).then(finish, function (e) {
      problems.push(e instanceof Invalid ? e.message :
        "malformed or unreadable document (" + (e && e.name ? e.name + ": " : "") + (e && e.message ? e.message : String(e)) + ")");
      return finish();
    });
  }

  // ---------------------------------------------------------------- the page

  function element(doc, tag, text, attrs) {
    var el = doc.createElement(tag);
    if (text !== undefined && text !== null) el.textContent = String(text);
    if (attrs) Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }

  function render(container, report) {
    var doc = container.ownerDocument || root.document;
    while (container.firstChild) container.removeChild(container.firstChild);
    var ok = report.ok === true;
    // The summary line names the first difference, so a reader (or a test) sees it at once.
    var summary = element(doc, "p", ok ? "一致 / agrees" : "不一致 / differs" +
      (report.problems.length ? " — 首个差异 (first difference): " + report.problems[0] : ""),
      { id: "verify-summary", "data-ok": ok ? "true" : "false", "class": "verify-summary" });
    container.appendChild(summary);
    var facts = element(doc, "ul", null, { "class": "verify-facts" });
    function fact(text) { facts.appendChild(element(doc, "li", text)); }
    if (report.spec) fact("规范 (spec): " + report.spec);
    if (report.frozen_at) fact("冻结时间 (frozen at): " + report.frozen_at);
    if (report.available_at) fact("随机数公开时间 (seed public at): " + report.available_at);
    if (report.simulated) fact(report.simulated_note);
    if (report.manifest_digest) {
      fact("清单摘要 (manifest SHA-256): " + report.manifest_digest + (report.digest_ok ? " ✓" : " ✗"));
    }
    if (report.seed_kind) {
      fact("随机数 (seed " + report.seed_kind + (report.round !== null ? ", round " + report.round : "") + "): " +
        (report.seed_value === null ? "-" : report.seed_value) + (report.seed_ok ? " ✓" : " ✗"));
    }
    if (report.seed) fact("种子 (seed): " + report.seed);
    if (report.beacon_note) fact(report.beacon_note);
    fact("候选对象 (candidates): " + report.candidates);
    container.appendChild(facts);

    var table = element(doc, "table", null, { "class": "verify-table" });
    var head = element(doc, "tr");
    ["任务/分层 (task/stratum)", "配额 (quota)", "结果 (result)", "说明 (note)"].forEach(function (t) {
      head.appendChild(element(doc, "th", t));
    });
    var thead = element(doc, "thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var body = element(doc, "tbody");
    report.strata.forEach(function (s) {
      var row = element(doc, "tr", null, { "data-stratum": String(s.stratum), "data-ok": s.ok ? "true" : "false" });
      row.appendChild(element(doc, "td", s.task === s.stratum ? s.stratum : s.task + " / " + s.stratum));
      row.appendChild(element(doc, "td", s.quota));
      row.appendChild(element(doc, "td", s.ok ? "✓" : "✗"));
      row.appendChild(element(doc, "td", s.ok ? "一致 (agrees)" : s.problem));
      body.appendChild(row);
    });
    var teams = report.teams;
    var trow = element(doc, "tr", null, { "data-teams": "true", "data-ok": teams.ok ? "true" : "false" });
    trow.appendChild(element(doc, "td", "检查组 (teams)"));
    trow.appendChild(element(doc, "td", teams.count));
    trow.appendChild(element(doc, "td", teams.ok ? "✓" : "✗"));
    trow.appendChild(element(doc, "td", teams.ok ? "一致 (agrees)" : teams.problem || "未核对 (not checked)"));
    body.appendChild(trow);
    table.appendChild(body);
    container.appendChild(table);

    if (report.problems.length > 1) {
      var list = element(doc, "ol", null, { "class": "verify-problems" });
      report.problems.forEach(function (p) { list.appendChild(element(doc, "li", p)); });
      container.appendChild(element(doc, "p", "全部差异 (all problems):"));
      container.appendChild(list);
    }
    container.appendChild(element(doc, "p", "用时 (elapsed): " + report.millis + " ms",
      { id: "verify-elapsed", "data-millis": String(report.millis) }));
  }

  /** Loads the two files (a promise of two ArrayBuffers), verifies them and renders the report. */
  function runWith(container, what, load, failure) {
    var doc = container.ownerDocument || root.document;
    while (container.firstChild) container.removeChild(container.firstChild);
    var status = element(doc, "p", what, { "class": "verify-progress", "aria-live": "polite" });
    container.appendChild(status);
    var started = Date.now();
    return Promise.resolve().then(load).then(function (files) {
      return verify(files[0], files[1], function (text) { status.textContent = text; });
    }, function (e) {
      return {
        ok: false, spec: null, simulated: false, seed_kind: null, seed_value: null, round: null,
        seed_ok: false, seed: null, strata: [], teams: { ok: false, count: 0, problem: null },
        problems: [failure + ": " + (e && e.message ? e.message : String(e))],
        candidates: 0, millis: Date.now() - started
      };
    }).then(function (report) {
      render(container, report);
      return report;
    });
  }

  /** Fetches manifestUrl and drawUrl (exact bytes), verifies them and renders into container. */
  function run(container, manifestUrl, drawUrl) {
    function get(url) {
      return root.fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error(url + ": HTTP " + r.status);
        return r.arrayBuffer();
      });
    }
    return runWith(container, "下载 (fetching) " + manifestUrl + ", " + drawUrl, function () {
      return Promise.all([get(manifestUrl), get(drawUrl)]);
    }, "无法下载 (could not fetch)");
  }

  /** The same for two files the reader picked (File or Blob objects). */
  function runFiles(container, manifestFile, drawFile) {
    function read(file) {
      if (file && typeof file.arrayBuffer === "function") return file.arrayBuffer();
      return new Promise(function (resolve, reject) {
        var reader = new root.FileReader();
        reader.onload = function () { resolve(reader.result); };
        reader.onerror = function () { reject(reader.error || new Error("unreadable file")); };
        reader.readAsArrayBuffer(file);
      });
    }
    return runWith(container, "读取文件 (reading files)", function () {
      return Promise.all([read(manifestFile), read(drawFile)]);
    }, "无法读取文件 (could not read the files)");
  }

  var api = { verify: verify, run: run, runFiles: runFiles };
  root.SuijiVerify = api;
  if (typeof module === "object" && module && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : typeof self !== "undefined" ? self : this);
