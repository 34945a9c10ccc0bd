#!/usr/bin/env python3
"""Independent verifier for suiji draws: suiji-draw-v1 and suiji-draw-v2 (docs/draw-spec.md).

Usage: verify_draw.py DIR

If DIR holds index.json (spec suiji-publication-v2, or v1), verifies the whole published history
(spec section 7): entries numbered 1, 2, ... in order; every listed file present with the
index's SHA-256; a first `freeze`, later `refreeze`s with a reason and none while a draw stands;
every manifest's timing (section 1: v2 frozen_at strictly before seed_source.available_at,
certificate_date the Asia/Shanghai day of available_at, a drand beacon that is quicknet and its
first round at or after available_at); every draw recomputed from the manifest in force
(section 6); every void naming the standing draw, with a reason; `current`, manifest.json and
draw.json matching what is in force; no manifest-*.json or draw-*.json left out of the index.
Over the whole history it also checks:

- `store` (v2: required; a v1 index has none and counts as production) is `production` or
  `rehearsal`. In a production history a manifest frozen on a simulated clock fails; in a
  rehearsal history (演练: a simulation or demo, which proves nothing about real timing) it is
  a NOTE, and the history is announced as a rehearsal at the top.
- the entries' `at` times never go backwards;
- every v2 manifest's seed becomes public (seed_source.available_at) strictly after every
  earlier draw and void: no manifest is frozen with a seed that could already be known;
- a draw after a void is drawn from a manifest frozen after that void;
- no two draws use the same seed (the same value, or the same drand round).

Without index.json, verifies the single pair manifest.json + draw.json.

Draws are recomputed with Ronald Rivest's consistent sampler (PyPI `consistent-sampler` 1.0.10)
for every ordering and the team rules as the spec states them. A drand seed's BLS signature is
checked with PyPI `drand-verify` 0.2.1 against quicknet's public key, which is held here and
never taken from a manifest.

Prints a line per event saying what was checked (for a draw: its seed's kind and value, and a
drand seed's round; a NOTE for a manifest frozen on a simulated clock in a rehearsal history or
a single pair, which proves nothing about timing), then `verified` and exits 0; or
`NOT verified: ` and the first problem, and exits 1. Shares no code with suiji.
"""
import calendar
import datetime
import hashlib
import json
import math
import os
import re
import sys
from fractions import Fraction

import drand_verify
from consistent_sampler import sampler

V1, V2 = "suiji-draw-v1", "suiji-draw-v2"
INDEX_V1, INDEX_V2 = "suiji-publication-v1", "suiji-publication-v2"
STORES = ("production", "rehearsal")
# drand quicknet (scheme bls-unchained-g1-rfc9380): https://drand.love
QUICKNET = {
    "chain_hash": "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
    "public_key": "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a"
                  "6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73b"
                  "ab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
    "genesis_time": 1692803367,
    "period": 3,
}
SHANGHAI = 8 * 3600  # Asia/Shanghai: UTC+08:00, no daylight saving since 1991
MEMBERS = {"spec", "plan", "seed_source", "strata", "tasks", "officers", "team_rules", "conflicts"}
OPTIONAL = {"entity_cities", "last_year_pairs"}
RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?"
                     r"(?:[Zz]|([+-])(\d\d):(\d\d))\Z")


class Invalid(Exception):
    """The first problem found."""


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_json(data, name):
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise Invalid("%s: a JSON object repeats a member" % name)
        return dict(pairs)

    def no_constants(word):
        raise Invalid("%s: %s is not JSON" % (name, word))
    return json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates,
                      parse_constant=no_constants)


def instant(text, what):
    """Unix seconds (exact) of an RFC 3339 time."""
    m = RFC3339.match(text) if isinstance(text, str) else None
    if not m:
        raise Invalid("%s %r is not an RFC 3339 time with an offset" % (what, text))
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    datetime.datetime(y, mo, d, h, mi, s)  # rejects impossible dates
    offset = 0 if m.group(8) is None else \
        (1 if m.group(8) == "+" else -1) * (int(m.group(9)) * 3600 + int(m.group(10)) * 60)
    fraction = Fraction(int(m.group(7)), 10 ** len(m.group(7))) if m.group(7) else 0
    return calendar.timegm((y, mo, d, h, mi, s)) - offset + fraction


def shanghai_day(t):
    day = datetime.date(1970, 1, 1) + datetime.timedelta(seconds=math.floor(t) + SHANGHAI)
    return day.isoformat()


def first_round(t):
    """The first quicknet round at or after Unix second t."""
    genesis = QUICKNET["genesis_time"]
    return 1 if t <= genesis else math.ceil(Fraction(t - genesis) / QUICKNET["period"]) + 1


def check_manifest(name, data):
    """Section 1 (section 8 for v1): the manifest, what was checked, and a NOTE or None."""
    m = parse_json(data, name)
    spec, source = m.get("spec"), m.get("seed_source")
    if spec not in (V1, V2):
        raise Invalid("%s: unknown spec %r" % (name, spec))
    missing = sorted(MEMBERS - set(m) | {"kind", "source"} - set(source))
    if missing:
        raise Invalid("%s: %s missing" % (name, ", ".join(missing)))
    kind = source["kind"]
    if spec == V1:
        extra = sorted(set(m) - MEMBERS - OPTIONAL | set(source) - {"kind", "source"})
        if extra or kind not in ("manual", "os"):
            raise Invalid("%s: a %s manifest carries v2 members or kinds (%s)"
                          % (name, V1, ", ".join(extra) or kind))
        return m, "%s (no freeze time: v1), %s seed" % (spec, kind), None
    extra = sorted(set(m) - MEMBERS - OPTIONAL - {"frozen_at", "simulated"}
                   | set(source) - {"kind", "source", "available_at", "beacon"})
    if extra or kind not in ("manual", "drand", "os"):
        raise Invalid("%s: unknown members or seed kind (%s)" % (name, ", ".join(extra) or kind))
    frozen_at, available_at = m.get("frozen_at"), source.get("available_at")
    frozen = instant(frozen_at, name + ": frozen_at")
    available = instant(available_at, name + ": seed_source.available_at")
    if frozen >= available:
        raise Invalid("%s: frozen_at %s is not before seed_source.available_at %s: it was frozen "
                      "when the seed could already be public" % (name, frozen_at, available_at))
    day = shanghai_day(available)
    if m["team_rules"]["certificate_date"] != day:
        raise Invalid("%s: team_rules.certificate_date %r is not the day of available_at (%s)"
                      % (name, m["team_rules"]["certificate_date"], day))
    line = "%s, frozen_at %s before available_at %s, %s seed" \
        % (spec, frozen_at, available_at, kind)
    beacon = source.get("beacon")
    if kind == "drand":
        declared = dict(beacon) if isinstance(beacon, dict) else {}
        round_, expected = declared.pop("round", None), first_round(available)
        if json.dumps(declared, sort_keys=True) != json.dumps(QUICKNET, sort_keys=True):
            raise Invalid("%s: seed_source.beacon is not drand quicknet (chain hash, public key, "
                          "genesis or period differ)" % name)
        if type(round_) is not int or round_ != expected:
            raise Invalid("%s: beacon round %r is not the first quicknet round at or after %s "
                          "(that is %d)" % (name, round_, available_at, expected))
        line += " (quicknet round %d, the first at or after available_at)" % round_
    elif beacon is not None:
        raise Invalid("%s: only a drand manifest has seed_source.beacon" % name)
    note = None
    if "simulated" in m:
        if m["simulated"] is not True:
            raise Invalid("%s: simulated is present but not true" % name)
        note = ("NOTE: %s was frozen on a replayed or rehearsed clock (the department's audit "
                "log has the real time): it proves nothing about timing" % name)
    return m, line, note


def check_seed(manifest, source):
    """Section 2: the draw's seed_source against the manifest's; the expected seed_source."""
    kind = manifest["seed_source"]["kind"]
    if not isinstance(source, dict) or source.get("kind") != kind:
        raise Invalid("seed_source: the manifest declares a %s seed, the draw has %r"
                      % (kind, source))
    value = source.get("value")
    if kind != "drand" and ("round" in source or "signature" in source):
        raise Invalid("seed_source: only a drand seed carries a round and a signature")
    if kind == "manual" and not (isinstance(value, str) and re.fullmatch("[0-9]{6,}", value)):
        raise Invalid("seed_source.value %r is not at least 6 decimal digits" % (value,))
    if kind == "os" and not (isinstance(value, str) and re.fullmatch("[0-9a-f]{64}", value)):
        raise Invalid("seed_source.value %r is not 64 lowercase hex digits" % (value,))
    if kind != "drand":
        return {"kind": kind, "value": value}, "%s seed %s" % (kind, value)
    fixed = manifest["seed_source"]["beacon"]["round"]
    round_, signature = source.get("round"), source.get("signature")
    if type(round_) is not int or round_ != fixed:
        raise Invalid("seed_source.round %r is not the round the manifest fixed (%d)"
                      % (round_, fixed))
    if not (isinstance(signature, str) and re.fullmatch("[0-9a-fA-F]{96}", signature)):
        raise Invalid("seed_source.signature is not 96 hex digits")
    try:
        randomness = drand_verify.verify_quicknet(round_, signature, QUICKNET["public_key"])
    except ValueError:
        raise Invalid("seed_source.signature does not verify for round %d against quicknet's "
                      "public key (forged, corrupted or of another round)" % round_)
    if value != randomness:
        raise Invalid("seed_source.value %r is not the randomness of round %d (%s)"
                      % (value, round_, randomness))
    return ({"kind": kind, "value": value, "round": round_, "signature": signature},
            "drand seed %s of round %d, its signature verified against quicknet's public key"
            % (value, round_))


def ordered(ids, seed):
    """ids in increasing ticket order (ticket = sha256_uniform(sha256_hex(seed) + id))."""
    return [t.id for t in sampler(list(ids), seed, output="ticket")]


def tickets(ids, seed):
    return {t.id: t.ticket_number for t in sampler(list(ids), seed, output="ticket", digits=1000)}


def select(manifest, seed):
    taken, out = set(), []
    for s in manifest["strata"]:
        order = ordered(s["candidates"], seed)
        tix = tickets(s["candidates"], seed)
        selected, alternates = [], []
        for e in order:
            if e in taken:
                continue
            if len(selected) < s["quota"]:
                selected.append(e)
            elif len(alternates) < s["quota"]:
                alternates.append(e)
            else:
                break
        if len(selected) < s["quota"]:
            raise Invalid("stratum %s cannot meet its quota" % s["stratum"])
        taken.update(selected)
        out.append({"task": s["task"], "stratum": s["stratum"], "quota": s["quota"],
                    "selected": [{"id": e, "ticket": tix[e]} for e in selected],
                    "alternates": [{"id": e, "ticket": tix[e]} for e in alternates]})
    return out


def teams(manifest, strata, seed):
    rules = manifest["team_rules"]
    dept, cap = rules["department"], rules["cap_per_officer"]
    conflicts = {tuple(p) for p in manifest["conflicts"]}
    last_year = {tuple(p) for p in manifest.get("last_year_pairs", [])}
    cities = manifest.get("entity_cities", {})
    tasks = {t["task"]: t for t in manifest["tasks"]}
    officers = {o["id"]: o for o in manifest["officers"]}
    load, out = {}, []
    for s in strata:
        task = tasks[s["task"]]
        for pick in s["selected"]:
            e = pick["id"]
            prefix = e + "/"
            order = [k[len(prefix):] for k in ordered([prefix + o for o in officers], seed)]
            roles = ["cadre"] + ["member"] * (task["team_size"] - 1) + ["partner"] * task["partner_members"]
            team, skipped = [], []
            for role in roles:
                for oid in order:
                    o = officers[oid]
                    own = o["agency"] == dept and o["division"] == task["division"]
                    fits = {"cadre": own and o["cadre"], "member": own,
                            "partner": o["agency"] == task["partner_agency"]}[role]
                    if not fits or oid in team:
                        continue
                    reason = None
                    if not o["active"]:
                        reason = "inactive"
                    elif rules["require_valid_certificate"] and o["valid_until"] is not None \
                            and o["valid_until"] < rules["certificate_date"]:
                        reason = "certificate_expired"
                    elif (oid, e) in conflicts:
                        reason = "declared_conflict"
                    elif rules["recusal"]["home_city"] and o["home_city"] is not None \
                            and o["home_city"] == cities.get(e):
                        reason = "home_city"
                    elif rules["recusal"]["last_year"] and (oid, e) in last_year:
                        reason = "last_year"
                    elif load.get(oid, 0) >= cap:
                        reason = "cap"
                    if reason:
                        if all(x["officer"] != oid for x in skipped):
                            skipped.append({"officer": oid, "reason": reason})
                        continue
                    team.append(oid)
                    load[oid] = load.get(oid, 0) + 1
                    break
                else:
                    raise Invalid("no %s for %s" % (role, e))
            size = task["team_size"]
            out.append({"entity": e, "task": s["task"], "stratum": s["stratum"], "cadre": team[0],
                        "members": team[:size], "partners": team[size:], "skipped": skipped})
    return out


def first_difference(path, a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            d = first_difference("%s.%s" % (path, k) if path else k, a.get(k), b.get(k))
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference("%s[%d]" % (path, i), x, y)
            if d:
                return d
        return None if len(a) == len(b) else "%s: length %d vs %d" % (path, len(a), len(b))
    if a == b and type(a) is type(b):
        return None
    return "%s: published %r, recomputed %r" % (path, a, b)


def verify_draw(manifest_name, manifest_bytes, manifest, draw_name, draw_bytes):
    """Section 6: recomputes the draw from its manifest; says what was checked, and its
    seed_source."""
    published = parse_json(draw_bytes, draw_name)
    spec, digest = manifest["spec"], hashlib.sha256(manifest_bytes).hexdigest()
    if published.get("spec") != spec:
        raise Invalid("%s: spec %r, its manifest's is %s"
                      % (draw_name, published.get("spec"), spec))
    if published.get("manifest_digest") != digest:
        raise Invalid("%s: manifest_digest %r, but %s hashes to %s"
                      % (draw_name, published.get("manifest_digest"), manifest_name, digest))
    try:
        source, what = check_seed(manifest, published.get("seed_source"))
        seed = sha256_hex("%s\n%s\n%s\n%s" % (spec, digest, source["kind"], source["value"]))
        strata = select(manifest, seed)
        recomputed = {"spec": spec, "manifest_digest": digest, "seed_source": source, "seed": seed,
                      "strata": strata, "teams": teams(manifest, strata, seed)}
    except Invalid as e:
        raise Invalid("%s: %s" % (draw_name, e))
    difference = first_difference("", published, recomputed)
    if difference:
        raise Invalid("%s: %s" % (draw_name, difference))
    return "recomputed from %s (%s): identical" % (manifest_name, what), source


def read(directory, name):
    try:
        with open(os.path.join(directory, name), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def verify_pair(directory):
    files = {n: read(directory, n) for n in ("manifest.json", "draw.json")}
    for name, data in files.items():
        if data is None:
            raise Invalid("%s is missing" % os.path.join(directory, name))
    manifest, line, note = check_manifest("manifest.json", files["manifest.json"])
    print("manifest.json: " + line)
    if note:
        print(note)
    print("draw.json: " + verify_draw("manifest.json", files["manifest.json"], manifest,
                                      "draw.json", files["draw.json"])[0])


def listed_file(directory, e, where, stem):
    """The document an entry publishes: its name and bytes, which must hash to its sha256."""
    name = e.get("file")
    if not (isinstance(name, str) and re.fullmatch(stem + r"-[1-9][0-9]*\.json", name)):
        raise Invalid("%s: file %r is not named %s-N.json" % (where, name, stem))
    data = read(directory, name)
    if data is None:
        raise Invalid("%s: %s is missing" % (where, name))
    digest = hashlib.sha256(data).hexdigest()
    if digest != e.get("sha256"):
        raise Invalid("%s: %s hashes to %s, the index says %r (altered after publication)"
                      % (where, name, digest, e.get("sha256")))
    return name, data


def verify_history(directory, index):
    """Section 7: the events in order, what is current, and nothing left out."""
    spec = index.get("spec")
    if spec not in (INDEX_V1, INDEX_V2):
        raise Invalid("index.json: unknown spec %r" % spec)
    if spec == INDEX_V1:
        if "store" in index:
            raise Invalid("index.json: a %s index has no store member" % INDEX_V1)
        store = "production"
    elif "store" not in index:
        raise Invalid("index.json: store missing (a %s index says production or rehearsal)"
                      % INDEX_V2)
    else:
        store = index["store"]
        if store not in STORES:
            raise Invalid("index.json: store %r is neither production nor rehearsal" % (store,))
    entries = index["entries"]
    print("index.json: %s, plan %s (%s), %s store, %d events"
          % (spec, index["plan"], index["year"], store, len(entries)))
    if store == "rehearsal":
        print("REHEARSAL HISTORY (演练): published by a rehearsal store, a simulation or demo; it "
              "proves nothing about real timing")
    manifests, listed, in_force, standing = {}, set(), None, None
    # For the checks over the whole history: the previous event's time, the draws and voids so
    # far (what a later manifest's seed must postdate), where each manifest was frozen, the last
    # void, and every draw's seed.
    previous, settled, frozen_at_entry, last_void, seeds = None, [], {}, None, []
    for i, e in enumerate(entries, 1):
        event = e.get("event")
        where = "index.json entry %d (%s)" % (i, event)
        if e.get("n") != i:
            raise Invalid("%s: numbered %r, expected %d" % (where, e.get("n"), i))
        at = instant(e.get("at"), where + ": at")
        if previous is not None and at < previous[0]:
            raise Invalid("index.json entries %d and %d: events not in time order (entry %d (%s) "
                          "at %s, entry %d (%s) at %s)" % (previous[1], i, previous[1],
                                                           previous[2], previous[3], i, event,
                                                           e["at"]))
        previous = (at, i, event, e["at"])
        reason = e.get("reason") if isinstance(e.get("reason"), str) else None
        reason = reason if reason and reason.strip() else None
        if event in ("freeze", "refreeze"):
            name, data = listed_file(directory, e, where, "manifest")
            if (event == "freeze") != (in_force is None):
                raise Invalid("%s: the first manifest must be a freeze, later ones refreezes"
                              % where)
            if event == "refreeze" and not reason:
                raise Invalid("%s: a refreeze needs its reason" % where)
            if standing:
                raise Invalid("%s: refrozen while %s stands" % (where, standing))
            manifest, line, note = check_manifest(name, data)
            if [manifest["plan"]["id"], manifest["plan"]["year"]] != [index["plan"], index["year"]]:
                raise Invalid("%s: %s is a manifest of another plan or year" % (where, name))
            said, declared = e.get("available_at"), manifest["seed_source"].get("available_at")
            if said is not None and declared is not None and \
                    instant(said, where + ": available_at") != instant(declared, name):
                raise Invalid("%s: available_at %s, but %s says %s" % (where, said, name, declared))
            if note and store == "production":
                raise Invalid("%s: %s was frozen on a simulated clock (replayed or rehearsed) in a "
                              "production history: it proves nothing about being frozen before "
                              "the seed existed" % (where, name))
            if declared is not None:
                available = instant(declared, name)
                for what, t, when in settled:
                    if available <= t:
                        raise Invalid("%s: %s was frozen after %s (at %s) and its seed is public "
                                      "from %s, not after that %s: its seed could already be "
                                      "known when it was frozen"
                                      % (where, name, what, when, declared,
                                         "void" if what.startswith("the void") else "draw"))
            print("%3d. %-9s %-16s sha256 ok; %s%s"
                  % (i, event, name, line, "; reason: " + reason if reason else ""))
            if note:
                print("     " + note)
            manifests[name], in_force = (data, manifest), name
            frozen_at_entry[name] = i
        elif event == "draw":
            name, data = listed_file(directory, e, where, "draw")
            if in_force is None or e.get("manifest") != in_force:
                raise Invalid("%s: drawn from %r, but the manifest in force was %s"
                              % (where, e.get("manifest"), in_force))
            if standing:
                raise Invalid("%s: drawn while %s stands (not voided)" % (where, standing))
            if last_void and frozen_at_entry[in_force] < last_void[0]:
                raise Invalid("%s: %s redraws from %s after the void of %s: a redraw needs a "
                              "manifest frozen after the void, with a seed that did not exist "
                              "then" % (where, name, in_force, last_void[1]))
            line, source = verify_draw(in_force, manifests[in_force][0], manifests[in_force][1],
                                       name, data)
            for earlier, used in seeds:
                if used["value"] == source["value"] or \
                        (source["kind"] == "drand" and used["kind"] == "drand"
                         and used["round"] == source["round"]):
                    raise Invalid("%s: %s reuses the seed of %s (value %s%s)"
                                  % (where, name, earlier, used["value"],
                                     ", drand round %d" % used["round"]
                                     if used["kind"] == "drand" else ""))
            print("%3d. draw      %-16s sha256 ok; %s" % (i, name, line))
            seeds.append((name, source))
            settled.append((name, at, e["at"]))
            standing = name
        elif event == "void":
            if "file" in e or "sha256" in e:
                raise Invalid("%s: a void publishes no file" % where)
            if e.get("draw") is None or e.get("draw") != standing:
                raise Invalid("%s: %r is not the standing draw (%s)"
                              % (where, e.get("draw"), standing))
            if not reason:
                raise Invalid("%s: a void needs its reason" % where)
            print("%3d. void      %-16s the standing draw, voided%s: %s"
                  % (i, standing, " (forced)" if e.get("forced") else "", reason))
            settled.append(("the void of " + standing, at, e["at"]))
            last_void = (i, standing)
            name, standing = None, None
        else:
            raise Invalid("%s: unknown event" % where)
        if name in listed:
            raise Invalid("%s: %s is listed twice" % (where, name))
        listed.add(name or "")
    current = index["current"]
    if (current.get("manifest"), current.get("draw")) != (in_force, standing):
        raise Invalid("index.json: current names %s and %s, but in force are %s and %s"
                      % (current.get("manifest"), current.get("draw"), in_force, standing))
    copies = [(copy, name) for copy, name in (("manifest.json", in_force), ("draw.json", standing))
              if name is not None]
    for copy, name in copies:
        if read(directory, copy) != read(directory, name):
            raise Invalid("%s is not a byte-identical copy of %s, the current document"
                          % (copy, name))
    unlisted = sorted(f for f in os.listdir(directory)
                      if re.fullmatch(r"(manifest|draw)-.*\.json", f) and f not in listed)
    if unlisted:
        raise Invalid("%s is in the folder but not in index.json" % unlisted[0])
    print("current: %s%s (byte-identical copies); every manifest-*.json and draw-*.json is "
          "in the index" % (", ".join("%s = %s" % c for c in copies) or "nothing frozen",
                            "" if standing else ", no standing draw"))


def main(directory):
    index = read(directory, "index.json")
    if index is None:
        verify_pair(directory)
    else:
        verify_history(directory, parse_json(index, "index.json"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        main(sys.argv[1])
    except Invalid as e:
        problem = str(e)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, OSError) as e:
        problem = "malformed or unreadable document (%s: %s)" % (type(e).__name__, e)
    else:
        problem = None
    print("verified" if problem is None else "NOT verified: " + problem)
    sys.exit(0 if problem is None else 1)
