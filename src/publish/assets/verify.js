/*
 * suiji draw verifier for the browser (docs/draw-spec.md: suiji-draw-v2 and suiji-draw-v1).
 *
 * An independent re-computation of a published draw from its published manifest, in plain
 * JavaScript with nothing but WebCrypto (SHA-256), BigInt and TextEncoder/TextDecoder. It
 * shares no code with suiji and fetches nothing but the files it is pointed at (a pair, or
 * index.json and the files it lists).
 *
 *   SuijiVerify.verify(manifestBytes, drawBytes, progress) -> Promise<report>
 *   SuijiVerify.run(container, manifestUrl, drawUrl)       -> Promise<report>
 *   SuijiVerify.runFiles(container, manifestFile, drawFile) -> Promise<report> (files picked by the reader)
 *   SuijiVerify.verifyHistory(indexBytes, getFile, progress) -> Promise<history report>
 *   SuijiVerify.runHistory(container, indexUrl)             -> Promise<history report>
 *
 * What it checks in one draw: the manifest's timing (v2: frozen_at strictly before
 * seed_source.available_at, certificate_date the Asia/Shanghai day of available_at, a drand
 * beacon that is quicknet's first round at or after available_at); manifest_digest against the
 * SHA-256 of the manifest's exact bytes; the seed value's form (for drand: the round the
 * manifest fixed, and the value the SHA-256 of the signature); the seed; every stratum's
 * selected entities and alternates with their tickets (Rivest's consistent sampler); every
 * team. What it does not: the BLS signature of a drand round (see beacon_note in the report):
 * `suiji verify DIR` and tools/verify_draw.py do.
 *
 * The whole published history (section 7, index.json suiji-publication-v2 or v1): numbering;
 * every listed file's SHA-256; a first freeze, later refreezes with a reason and none while a
 * draw stands; every manifest as above and of this plan; every draw made from the manifest in
 * force, with no other draw standing, and recomputed; every void naming the standing draw, with
 * a reason; `current`, manifest.json and draw.json. And over the whole history: `store` is
 * production or rehearsal (演练; a v1 index counts as production); a production history holds
 * no manifest frozen on a simulated clock; the entries' times never go backwards; every
 * manifest's seed becomes public strictly after every earlier draw and void; a draw after a void
 * comes from a manifest frozen after it; no two draws share a seed (value, or drand round).
 * Unlisted files cannot be listed over the web: the next manifest-N.json and draw-N.json are
 * probed instead. A file that cannot be fetched (a page opened from disk) leaves the history
 * not checked (无法核对), not differing.
 *
 * A classic script: loading it defines globalThis.SuijiVerify (and module.exports under Node).
 * On a page with a #verify-history button (data-index: index.json's URL), a click renders the
 * history check into #verify-history-output.
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

  // ---------------------------------------------------------------- section 7: the history

  var INDEX_V1 = "suiji-publication-v1";
  var INDEX_V2 = "suiji-publication-v2";
  var STORES = ["production", "rehearsal"];
  var EVENT_NAMES = { freeze: "冻结 (freeze)", refreeze: "重新冻结 (refreeze)", draw: "抽取 (draw)",
    "void": "作废 (void)" };

  /**
   * A file that could not be fetched at all (network failure, a page opened from disk): the
   * history is then not checked, which is not the same as differing. A getFile passed to
   * verifyHistory rejects with an error whose `unavailable` is true for this; any other
   * rejection means the file is missing.
   */
  function Unavailable(message) { this.message = message; this.unavailable = true; }

  function sameBytes(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function messageOf(e) {
    return e && e.message ? e.message : String(e);
  }

  /**
   * Section 7, from index.json's bytes and getFile(name) -> Promise<ArrayBuffer> for the files it
   * lists (and manifest.json, draw.json): numbering, every listed file's SHA-256, the order of
   * freezes, refreezes, draws and voids, every manifest's timing and plan, every draw recomputed
   * from the manifest in force (verify above), the current documents and their copies; and over
   * the whole history: a production store has no manifest frozen on a simulated clock, times
   * never go backwards, every manifest's seed becomes public after every earlier draw and void,
   * a redraw comes from a manifest frozen after the void, and no two draws share a seed.
   * Problems are collected (not only the first); a file that could not be fetched leaves its
   * entry not checked.
   */
  function verifyHistory(indexBuffer, getFile, progress) {
    var started = Date.now();
    var say = typeof progress === "function" ? function (t) {
      try { progress(t); } catch (e) { /* a display problem is not a verification problem */ }
    } : function () {};
    var report = {
      ok: false, state: "differs", spec: null, store: null, rehearsal: false, plan: null, year: null,
      entries: [], current: null, problems: [], unchecked: [], notes: [], millis: 0
    };
    var index, entries;
    var manifests = new Map(), draws = new Map(), listed = new Set(), unfetched = new Set();
    var inForce = null, standing = null;
    // For the checks over the whole history: the previous event's time, the draws and voids so
    // far (what a later manifest's seed must come after), the last void, every draw's seed.
    var previous = null, settled = [], lastVoid = null, seeds = [];

    function where(row) { return row ? "第 " + row.n + " 项 (entry " + row.n + ")：" : "index.json："; }
    function problem(row, text) {
      if (row) row.problems.push(text);
      report.problems.push(where(row) + text);
    }
    function notChecked(row, text) {
      if (row) row.unchecked.push(text);
      report.unchecked.push(where(row) + text);
    }

    /** A file's bytes, or null (missing: a problem; not fetched: not checked). */
    function load(name, row) {
      return Promise.resolve().then(function () { return getFile(name); }).then(function (buf) {
        return toBytes(buf, name);
      }, function (e) {
        if (e && e.unavailable) {
          unfetched.add(name);
          notChecked(row, name + " 无法下载，未核对 (could not be fetched; not checked)：" + messageOf(e));
        } else {
          problem(row, name + " 缺失或无法读取 (missing)：" + messageOf(e));
        }
        return null;
      });
    }

    /** The document an entry publishes: its bytes (or null), which must hash to its sha256. */
    function listedFile(e, row, stem) {
      var name = e.file;
      if (typeof name !== "string" || !new RegExp("^" + stem + "-[1-9][0-9]*\\.json$").test(name)) {
        problem(row, "文件名 " + show(name) + " 不是 " + stem + "-N.json (file is not named " + stem + "-N.json)");
        return Promise.resolve(null);
      }
      return load(name, row).then(function (bytes) {
        if (!bytes) return null;
        return sha256Bytes(bytes).then(function (digest) {
          if (digest !== e.sha256) {
            problem(row, name + " 的 SHA-256 为 " + digest + "，index.json 列为 " + show(e.sha256) +
              "：公布后被改动 (altered after publication)");
          } else {
            row.notes.push("SHA-256 一致 (sha256 ok)");
          }
          return bytes;
        });
      });
    }

    function manifestEntry(e, row, t) {
      var name = typeof e.file === "string" ? e.file : null;
      var reason = typeof e.reason === "string" && e.reason.trim() ? e.reason : null;
      if ((e.event === "freeze") !== (inForce === null)) {
        problem(row, "第一份输入应为 freeze，其后均为 refreeze (the first manifest must be a freeze, later ones refreezes)");
      }
      if (e.event === "refreeze" && !reason) problem(row, "重新冻结未说明原因 (a refreeze needs its reason)");
      if (standing) problem(row, "在 " + standing + " 仍有效时重新冻结 (refrozen while " + standing + " stands)");
      if (reason) row.notes.push("原因 (reason)：" + reason);
      return listedFile(e, row, "manifest").then(function (bytes) {
        var record = { pos: row.n, bytes: bytes, m: null };
        if (name) manifests.set(name, record);
        inForce = name;
        if (!bytes) return;
        var m = null, mr = {}, found = [];
        try {
          m = parseJson(bytes, name);
          checkManifest(m, mr, found);
        } catch (err) {
          if (!(err instanceof Invalid)) throw err;
          found.push(err.message);
        }
        found.forEach(function (p) { problem(row, name + ": " + p.replace(/^manifest: /, "")); });
        if (!m || !isObject(m.seed_source)) return;
        record.m = m;
        if (!isObject(m.plan) || m.plan.id !== index.plan || m.plan.year !== index.year) {
          problem(row, name + " 属于其他计划或年度 (a manifest of another plan or year)");
        }
        var declared = m.seed_source.available_at;
        if (e.available_at !== undefined && declared !== undefined) {
          try {
            if (compareInstants(instant(e.available_at, "available_at"), instant(declared, name)) !== 0) {
              problem(row, "index.json 所列 available_at " + show(e.available_at) + " 与 " + name + " 中的 " +
                show(declared) + " 不符 (available_at differs)");
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
            problem(row, name + " 在模拟时钟上冻结（回放或演练），却出现在正式公示历史中：不能证明它在种子产生之前冻结 (" +
              name + " was frozen on a simulated clock (replayed or rehearsed) in a production history: " +
              "it proves nothing about being frozen before the seed existed)");
          }
        }
        if (typeof declared === "string") {
          var available;
          try { available = instant(declared, name); } catch (err) { return; } // reported above
          for (var s = 0; s < settled.length; s++) {
            var x = settled[s];
            if (compareInstants(available, x.t) <= 0) {
              problem(row, name + " 冻结于" + (x.isVoid ? " " + x.draw + " 作废" : " " + x.draw + " 抽取") +
                "（" + x.at + "）之后，而它的种子自 " + declared + " 起公开，并不晚于该次" + (x.isVoid ? "作废" : "抽取") +
                "：冻结时种子可能已为人所知 (" + name + " was frozen after " + (x.isVoid ? "the void of " : "") + x.draw +
                " (at " + x.at + ") and its seed is public from " + declared + ", not after that " +
                (x.isVoid ? "void" : "draw") + ": its seed could already be known when it was frozen)");
              break;
            }
          }
          row.notes.push("冻结于 " + show(m.frozen_at) + "，种子公开于 " + declared + " (frozen before the seed is public)");
        }
      });
    }

    function drawEntry(e, row, t) {
      var name = typeof e.file === "string" ? e.file : null;
      var from = inForce ? manifests.get(inForce) : null;
      if (inForce === null || e.manifest !== inForce) {
        problem(row, "依据 " + show(e.manifest) + "，但当时有效的输入是 " + show(inForce) +
          " (drawn from " + show(e.manifest) + ", but the manifest in force was " + show(inForce) + ")");
      }
      if (standing) problem(row, "在 " + standing + " 仍有效（未作废）时抽取 (drawn while " + standing + " stands)");
      if (lastVoid && from && from.pos < lastVoid.pos) {
        problem(row, show(name) + " 在 " + lastVoid.draw + " 作废后，仍依据作废前冻结的 " + inForce +
          " 重新抽取：重新抽取需要作废之后冻结、当时种子尚不存在的输入 (" + show(name) + " redraws from " + inForce +
          " after the void of " + lastVoid.draw + ": a redraw needs a manifest frozen after the void, with a seed " +
          "that did not exist then)");
      }
      if (name) {
        standing = name;
        if (t) settled.push({ draw: name, isVoid: false, t: t, at: e.at });
      }
      return listedFile(e, row, "draw").then(function (bytes) {
        if (!bytes) return;
        if (name) draws.set(name, bytes);
        var d = null;
        try { d = parseJson(bytes, name); } catch (err) {
          if (!(err instanceof Invalid)) throw err;
          problem(row, err.message);
          return;
        }
        var source = isObject(d.seed_source) ? d.seed_source : {};
        if (typeof source.value === "string") {
          row.seed = { kind: source.kind, value: source.value,
            round: source.kind === "drand" && typeof source.round === "number" ? source.round : null };
          for (var s = 0; s < seeds.length; s++) {
            var used = seeds[s].seed;
            if (used.value === row.seed.value || (used.kind === "drand" && row.seed.kind === "drand" &&
                used.round !== null && used.round === row.seed.round)) {
              var what = "值 " + used.value + (used.kind === "drand" ? "，drand 第 " + used.round + " 轮" : "");
              problem(row, name + " 与 " + seeds[s].draw + " 使用了同一个种子（" + what + "）(" + name +
                " reuses the seed of " + seeds[s].draw + " (value " + used.value +
                (used.kind === "drand" ? ", drand round " + used.round : "") + "))");
              break;
            }
          }
          seeds.push({ draw: name, seed: row.seed });
        }
        if (!from || !inForce) return;
        if (!from.bytes) {
          if (unfetched.has(inForce)) {
            notChecked(row, "依据的输入 " + inForce + " 无法下载，未重算 (not recomputed)");
          } else {
            problem(row, "依据的输入 " + inForce + " 缺失，无法重算 (its manifest is missing)");
          }
          return;
        }
        say("第 " + row.n + " 项：重算 (recomputing) " + name);
        return verify(from.bytes, bytes).then(function (r) {
          if (r.ok) {
            row.notes.push("依据 " + inForce + " 重算，结果一致 (recomputed: identical)");
          } else {
            problem(row, "依据 " + inForce + " 重算不一致 (recomputed draw differs)：" + r.problems[0] +
              (r.problems.length > 1 ? "（另有 " + (r.problems.length - 1) + " 处差异）" : ""));
          }
          if (r.beacon_note) row.notes.push(r.beacon_note);
        });
      });
    }

    function voidEntry(e, row, t) {
      var reason = typeof e.reason === "string" && e.reason.trim() ? e.reason : null;
      if (has(e, "file") || has(e, "sha256")) problem(row, "作废不发布文件 (a void publishes no file)");
      if (e.draw === undefined || e.draw === null || e.draw !== standing) {
        problem(row, show(e.draw) + " 不是当时有效的抽取（当时有效：" + show(standing) + "）(" + show(e.draw) +
          " is not the standing draw)");
      }
      if (!reason) problem(row, "作废未说明原因 (a void needs its reason)");
      else row.notes.push("原因 (reason)：" + reason + (e.forced ? "（强制作废 forced）" : ""));
      var voided = typeof e.draw === "string" ? e.draw : standing;
      if (voided) {
        if (t) settled.push({ draw: voided, isVoid: true, t: t, at: e.at });
        lastVoid = { pos: row.n, draw: voided };
      }
      standing = null;
      return Promise.resolve();
    }

    function entry(i) {
      if (i >= entries.length) return Promise.resolve();
      var e = entries[i];
      var row = { n: i + 1, event: null, file: null, at: null, seed: null, ok: false, state: "differs",
        problems: [], unchecked: [], notes: [] };
      report.entries.push(row);
      if (!isObject(e)) {
        problem(row, "不是 JSON 对象 (not an object)");
        return entry(i + 1);
      }
      row.event = typeof e.event === "string" ? e.event : show(e.event);
      row.file = e.event === "void" ? (typeof e.draw === "string" ? e.draw : null) :
        (typeof e.file === "string" ? e.file : null);
      row.at = typeof e.at === "string" ? e.at : null;
      say("第 " + row.n + "/" + entries.length + " 项 (entry)");
      if (e.n !== row.n) problem(row, "编号为 " + show(e.n) + "，应为 " + row.n + " (numbered " + show(e.n) + ", expected " + row.n + ")");
      var t = null;
      try { t = instant(e.at, "at"); } catch (err) {
        if (!(err instanceof Invalid)) throw err;
        problem(row, "时间无效 (invalid time)：" + err.message);
      }
      if (t) {
        if (previous && compareInstants(t, previous.t) < 0) {
          problem(row, "事件时间顺序错误 (events not in time order)：第 " + previous.n + " 项（" + previous.event +
            "）在 " + previous.at + "，第 " + row.n + " 项（" + row.event + "）却在 " + e.at);
        }
        previous = { t: t, n: row.n, event: row.event, at: e.at };
      }
      var done;
      if (e.event === "freeze" || e.event === "refreeze") done = manifestEntry(e, row, t);
      else if (e.event === "draw") done = drawEntry(e, row, t);
      else if (e.event === "void") done = voidEntry(e, row, t);
      else {
        problem(row, "未知事件 (unknown event) " + show(e.event));
        done = Promise.resolve();
      }
      return done.then(function () {
        if (e.event !== "void" && typeof e.file === "string") {
          if (listed.has(e.file)) problem(row, e.file + " 在 index.json 中出现两次 (listed twice)");
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
      function fail(text) { c.problems.push(text); report.problems.push("现行文件 (current)：" + text); }
      if (!isObject(index.current) || saidManifest !== inForce || saidDraw !== standing) {
        fail("index.json 的 current 为 " + show(saidManifest) + " 和 " + show(saidDraw) + "，但实际有效的是 " +
          show(inForce) + " 和 " + show(standing) + " (current names other documents than those in force)");
      }
      var copies = [["manifest.json", inForce, inForce && manifests.get(inForce) ? manifests.get(inForce).bytes : null],
        ["draw.json", standing, standing ? draws.get(standing) || null : null]];
      return copies.reduce(function (chain, copy) {
        return chain.then(function () {
          if (!copy[1]) return;
          return Promise.resolve().then(function () { return getFile(copy[0]); }).then(function (buf) {
            var bytes = toBytes(buf, copy[0]);
            if (!copy[2]) return;
            if (sameBytes(bytes, copy[2])) c.notes.push(copy[0] + " = " + copy[1] + "（逐字节相同 byte-identical）");
            else fail(copy[0] + " 不是现行的 " + copy[1] + " 的逐字节副本 (not a byte-identical copy)");
          }, function (e) {
            if (e && e.unavailable) {
              c.unchecked.push(copy[0] + " 无法下载，未核对 (not checked)");
              report.unchecked.push("现行文件 (current)：" + copy[0] + " 无法下载 (could not be fetched)");
            } else {
              fail(copy[0] + " 缺失 (missing)：" + messageOf(e));
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
              var text = name + " 在文件夹中，却未列入 index.json (in the folder but not in index.json)";
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

    function finish() {
      report.state = report.problems.length ? "differs" : report.unchecked.length ? "unchecked" : "ok";
      report.ok = report.state === "ok";
      report.millis = Date.now() - started;
      say(report.ok ? "一致 (agrees)" : report.state === "unchecked" ? "无法核对 (not checked)" :
        "不一致 (differs): " + report.problems[0]);
      return report;
    }

    return Promise.resolve().then(function () {
      say("解析 index.json (parsing)");
      index = parseJson(toBytes(indexBuffer, "index.json"), "index.json");
      report.spec = index.spec === undefined ? null : index.spec;
      report.plan = index.plan === undefined ? null : index.plan;
      report.year = index.year === undefined ? null : index.year;
      if (index.spec !== INDEX_V1 && index.spec !== INDEX_V2) {
        throw new Invalid("index.json：未知的规范 (unknown spec) " + show(index.spec));
      }
      if (index.spec === INDEX_V1) {
        if (has(index, "store")) throw new Invalid("index.json：" + INDEX_V1 + " 不含 store (a v1 index has no store member)");
        report.store = "production";
      } else if (!has(index, "store")) {
        throw new Invalid("index.json：缺少 store，应为 production 或 rehearsal (store missing)");
      } else if (STORES.indexOf(index.store) < 0) {
        throw new Invalid("index.json：store " + show(index.store) + " 既不是 production 也不是 rehearsal (unknown store)");
      } else {
        report.store = index.store;
      }
      report.rehearsal = report.store === "rehearsal";
      if (report.rehearsal) {
        report.notes.push("演练 (rehearsal)：本公示历史由演练库（模拟或演示）发布，不能证明任何真实的时间先后 " +
          "(a rehearsal history proves nothing about real timing)");
      }
      if (!Array.isArray(index.entries)) throw new Invalid("index.json：entries 不是列表 (entries is not a list)");
      entries = index.entries;
      return entry(0).then(current);
    }).then(finish, function (e) {
      report.problems.push(e instanceof Invalid ? e.message :
        "malformed or unreadable document (" + (e && e.name ? e.name + ": " : "") + messageOf(e) + ")");
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


  // ---------------------------------------------------------------- the page: the whole history

  var FROM_DISK = "出于浏览器安全限制，从本地文件打开时无法下载；请使用“选择文件”或通过网站访问 " +
    "(a page opened from disk cannot fetch files)";

  function seedText(seed) {
    if (!seed) return "";
    return seed.kind === "drand" ? "drand 第 " + seed.round + " 轮 (round " + seed.round + ")：" + seed.value :
      show(seed.kind) + "：" + seed.value;
  }

  var STATE_TEXT = { ok: "✓", differs: "✗", unchecked: "未核对 (not checked)" };

  function renderHistory(container, report) {
    var doc = container.ownerDocument || root.document;
    while (container.firstChild) container.removeChild(container.firstChild);
    if (report.rehearsal) {
      container.appendChild(element(doc, "p", "演练 (rehearsal)：这是演练库（模拟或演示）发布的公示历史，不是正式抽查，" +
        "不能证明任何真实的时间先后 (a rehearsal history proves nothing about real timing)",
      { id: "history-rehearsal", "class": "banner" }));
    }
    var verdict = report.state === "ok" ? "全部公示历史一致 (the whole history verifies)" :
      report.state === "unchecked" ? "无法核对 (not checked)" + (report.unchecked.length ? " — " + report.unchecked[0] : "") :
        "公示历史不一致 (differs) — 首个问题 (first problem)：" + (report.problems[0] || "");
    // Not checked is not a difference: it is shown as a notice, not in the colour of a failure.
    container.appendChild(element(doc, "p", verdict, { id: "history-verdict",
      "class": report.state === "unchecked" ? "banner verify-unchecked" : "verify-summary",
      "data-ok": report.ok ? "true" : "false", "data-state": report.state }));

    var facts = element(doc, "ul", null, { "class": "verify-facts" });
    function fact(text) { facts.appendChild(element(doc, "li", text)); }
    if (report.plan !== null) fact("计划 (plan)：" + show(report.plan) + "，年度 (year)：" + show(report.year));
    if (report.spec !== null) fact("规范 (spec)：" + show(report.spec));
    if (report.store !== null) fact("发布库 (store)：" + (report.rehearsal ? "演练 (rehearsal)" : "正式 (production)"));
    fact("事件数 (events)：" + report.entries.length);
    container.appendChild(facts);

    if (report.entries.length || report.current) {
      var table = element(doc, "table", null, { id: "history-table", "class": "verify-table history-table" });
      var head = element(doc, "tr");
      ["序号 (n)", "事件 (event)", "文件 (file)", "时间 (at)", "种子 (seed)", "结果 (result)", "说明 (note)"]
        .forEach(function (t) { head.appendChild(element(doc, "th", t)); });
      var thead = element(doc, "thead");
      thead.appendChild(head);
      table.appendChild(thead);
      var body = element(doc, "tbody");
      report.entries.forEach(function (r) {
        var row = element(doc, "tr", null, { "data-entry": String(r.n), "data-event": String(r.event),
          "data-ok": r.ok ? "true" : "false", "data-state": r.state });
        row.appendChild(element(doc, "td", r.n));
        row.appendChild(element(doc, "td", has(EVENT_NAMES, r.event) ? EVENT_NAMES[r.event] : r.event));
        row.appendChild(element(doc, "td", r.file === null ? "" : r.file));
        row.appendChild(element(doc, "td", r.at === null ? "" : r.at));
        row.appendChild(element(doc, "td", seedText(r.seed), { "class": "mono" }));
        row.appendChild(element(doc, "td", STATE_TEXT[r.state]));
        row.appendChild(element(doc, "td", r.problems.concat(r.unchecked, r.state === "ok" ? r.notes : []).join("；")));
        body.appendChild(row);
      });
      var c = report.current;
      if (c) {
        var crow = element(doc, "tr", null, { "data-current": "true", "data-ok": c.ok ? "true" : "false",
          "data-state": c.state });
        crow.appendChild(element(doc, "td", ""));
        crow.appendChild(element(doc, "td", "现行文件 (current)"));
        crow.appendChild(element(doc, "td", [c.manifest, c.draw].filter(function (x) { return x; }).join("，")));
        crow.appendChild(element(doc, "td", ""));
        crow.appendChild(element(doc, "td", ""));
        crow.appendChild(element(doc, "td", STATE_TEXT[c.state]));
        crow.appendChild(element(doc, "td", c.problems.concat(c.unchecked, c.state === "ok" ? c.notes : []).join("；")));
        body.appendChild(crow);
      }
      table.appendChild(body);
      var scroll = element(doc, "div", null, { "class": "scroll" });
      scroll.appendChild(table);
      container.appendChild(scroll);
    }

    if (report.problems.length) {
      container.appendChild(element(doc, "p", "全部问题 (all problems)："));
      var list = element(doc, "ol", null, { id: "history-problems", "class": "verify-problems" });
      report.problems.forEach(function (p) { list.appendChild(element(doc, "li", p)); });
      container.appendChild(list);
    }
    if (report.unchecked.length) {
      container.appendChild(element(doc, "p", "未核对 (not checked)："));
      var missing = element(doc, "ol", null, { id: "history-unchecked", "class": "verify-problems" });
      report.unchecked.forEach(function (p) { missing.appendChild(element(doc, "li", p)); });
      container.appendChild(missing);
    }
    container.appendChild(element(doc, "p", "用时 (elapsed)：" + report.millis + " ms",
      { id: "history-elapsed", "data-millis": String(report.millis) }));
  }

  /**
   * Fetches indexUrl and the files it lists (relative to it), verifies the whole history and
   * renders it into container. Files that cannot be fetched at all (a page opened from disk, a
   * network failure) leave the history not checked (无法核对), not differing.
   */
  function runHistory(container, indexUrl) {
    var doc = container.ownerDocument || root.document;
    indexUrl = indexUrl || "index.json";
    while (container.firstChild) container.removeChild(container.firstChild);
    var status = element(doc, "p", "下载 (fetching) " + indexUrl, { "class": "verify-progress", "aria-live": "polite" });
    container.appendChild(status);
    var started = Date.now();
    var base;
    try {
      base = new URL(indexUrl, doc && doc.baseURI ? doc.baseURI : root.location && root.location.href);
    } catch (e) {
      base = null;
    }
    var fromDisk = !!base && base.protocol === "file:";
    function get(name) {
      var url = base ? new URL(name, base).href : name;
      return Promise.resolve().then(function () {
        return root.fetch(url, { credentials: "same-origin", cache: "no-store" });
      }).then(function (r) {
        if (r.status === 404 || r.status === 410) throw new Error(name + ": HTTP " + r.status);
        if (!r.ok) throw new Unavailable(name + ": HTTP " + r.status);
        return r.arrayBuffer();
      }, function (e) {
        throw new Unavailable(fromDisk ? FROM_DISK : messageOf(e));
      });
    }
    return get(base ? base.href : indexUrl).then(function (buffer) {
      return verifyHistory(buffer, get, function (text) { status.textContent = text; });
    }, function (e) {
      var unavailable = !!(e && e.unavailable);
      return {
        ok: false, state: unavailable ? "unchecked" : "differs", spec: null, store: null, rehearsal: false,
        plan: null, year: null, entries: [], current: null,
        problems: unavailable ? [] : ["index.json 缺失 (missing)：" + messageOf(e)],
        unchecked: unavailable ? ["index.json 无法下载 (could not be fetched)：" + messageOf(e)] : [],
        notes: [], millis: Date.now() - started
      };
    }).then(function (report) {
      renderHistory(container, report);
      return report;
    });
  }

  /** On a page with a #verify-history button: it verifies the history into #verify-history-output. */
  function wire(doc) {
    var button = doc.getElementById("verify-history");
    if (!button || button.getAttribute("data-wired") === "true") return;
    button.setAttribute("data-wired", "true");
    button.addEventListener("click", function () {
      var out = doc.getElementById("verify-history-output") || doc.getElementById("verify-output");
      if (!out) return;
      button.disabled = true;
      runHistory(out, button.getAttribute("data-index") || "index.json").then(function () {
        button.disabled = false;
      }, function () { button.disabled = false; });
    });
  }

  var api = { verify: verify, run: run, runFiles: runFiles, verifyHistory: verifyHistory,
    runHistory: runHistory, Unavailable: Unavailable };
  root.SuijiVerify = api;
  if (typeof module === "object" && module && module.exports) module.exports = api;
  var doc = root.document;
  if (doc && typeof doc.getElementById === "function") {
    if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", function () { wire(doc); });
    else wire(doc);
  }
})(typeof globalThis !== "undefined" ? globalThis : typeof self !== "undefined" ? self : this);
