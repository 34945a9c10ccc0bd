#!/usr/bin/env python3
"""Test vectors for the rules over a whole published history (docs/draw-spec.md, section 7).

Usage: history_cases.py OUT

Builds one folder per case under OUT from the golden draws (tests/golden/v2, tests/golden/drand)
and writes OUT/cases.json: each case's name and whether a verifier must accept it. Later
manifests and their draws are computed with tools/verify_draw.py's sampler, so the cases differ
from the golden vectors only where a rule is meant to catch them. Every verifier (suiji verify,
verify_draw.py, verify.js in a browser) is run on the same folders by tests/site.rs.
"""
import hashlib, json, os, shutil, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import verify_draw as V

G = os.path.join(HERE, "..", "tests", "golden")
OUT = sys.argv[1]
CASES = {}

def canon(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

def rd(p):
    return open(p, "rb").read()

M1, D1 = rd(G + "/v2/manifest.json"), rd(G + "/v2/draw.json")
MD, DD = rd(G + "/drand/manifest.json"), rd(G + "/drand/draw.json")

def make_draw(mbytes, source):
    m = json.loads(mbytes)
    digest = hashlib.sha256(mbytes).hexdigest()
    seed = V.sha256_hex("%s\n%s\n%s\n%s" % (m["spec"], digest, source["kind"], source["value"]))
    strata = V.select(m, seed)
    return canon({"spec": m["spec"], "manifest_digest": digest, "seed_source": source,
                  "seed": seed, "strata": strata, "teams": V.teams(m, strata, seed)})

def variant(mbytes, **changes):
    m = json.loads(mbytes)
    for k, v in changes.items():
        if k == "available_at":
            m["seed_source"]["available_at"] = v
            m["team_rules"]["certificate_date"] = v[:10]
        elif k == "source":
            m["seed_source"]["source"] = v
        else:
            m[k] = v
    return canon(m)

# Later manifests and their draws.
M2 = variant(M1, frozen_at="2024-05-18T09:00:00.000+08:00", available_at="2024-05-20T21:15:00+08:00",
             source="双色球 2024年5月20日开奖号码")
D2 = make_draw(M2, {"kind": "manual", "value": "01020304050607"})
D2_SAME = make_draw(M2, {"kind": "manual", "value": "03071218253109"})
MS = variant(M1, simulated=True)
DS = make_draw(MS, {"kind": "manual", "value": "03071218253109"})
MD2 = variant(MD, frozen_at="2023-09-15T18:20:00.000+08:00", source="drand quicknet, again")
DD2 = make_draw(MD2, json.loads(DD)["seed_source"])
DD_VOIDED = DD

def sha(b):
    return hashlib.sha256(b).hexdigest()

def build(name, events, spec="suiji-publication-v2", store="production", extra=None, after=None):
    CASES[name] = name.startswith("ok-")
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    entries, in_force, standing, audit = [], None, None, 0
    for ev in events:
        kind, at = ev[0], ev[1]
        audit += 1
        e = {"n": len(entries) + 1, "event": kind, "at": at, "actor": "tester",
             "audit": {"seq": audit, "hash": "%064x" % audit}}
        if kind in ("freeze", "refreeze"):
            fname, data = ev[2], ev[3]
            e.update(file=fname, sha256=sha(data),
                     available_at=json.loads(data)["seed_source"].get("available_at"))
            if e["available_at"] is None:
                del e["available_at"]
            if kind == "refreeze":
                e["reason"] = "补充对象库"
            in_force = fname
        elif kind == "draw":
            fname, data = ev[2], ev[3]
            e.update(file=fname, sha256=sha(data), manifest=ev[4] if len(ev) > 4 else in_force)
            standing = fname
        elif kind == "void":
            e.update(draw=standing, reason="抽取操作失误")
            standing = None
            fname, data = None, None
        elif kind == "takedown":
            # (kind, at, draw file, task, entity, rule): a result taken down (spec section 7).
            e.update(draw=ev[2], task=ev[3], entity=ev[4], reason=ev[5])
            fname, data = None, None
        if fname:
            open(os.path.join(d, fname), "wb").write(data)
            open(os.path.join(d, fname + ".sha256"), "w").write("%s  %s\n" % (sha(data), fname))
        entries.append(e)
    index = {"spec": spec, "plan": "henan-2024", "year": 2024, "entries": entries,
             "current": {"manifest": in_force, "draw": standing},
             "audit_head": {"seq": audit, "hash": "%064x" % audit}}
    if store is not None:
        index["store"] = store
    if extra:
        index.update(extra)
    if in_force:
        shutil.copy(os.path.join(d, in_force), os.path.join(d, "manifest.json"))
    if standing:
        shutil.copy(os.path.join(d, standing), os.path.join(d, "draw.json"))
    open(os.path.join(d, "index.json"), "wb").write(canon(index))
    if after:
        after(d)

F1 = ("freeze", "2024-05-13T09:00:00.000+08:00", "manifest-1.json", M1)
DR1 = ("draw", "2024-05-16T21:20:00.000+08:00", "draw-1.json", D1)
VOID = ("void", "2024-05-17T10:00:00.000+08:00")
R2 = ("refreeze", "2024-05-18T09:00:00.000+08:00", "manifest-2.json", M2)
DR2 = ("draw", "2024-05-20T21:30:00.000+08:00", "draw-2.json", D2)

def first_selected(draw_bytes):
    return json.loads(draw_bytes)["strata"][0]["selected"][0]["id"]

def takedown(at, draw="draw-1.json", task="henan-2024-noncoal-001", entity=None, rule="公示满5年（public.retention_years）"):
    return ("takedown", at, draw, task, entity or first_selected(D1), rule)

TD = takedown("2029-06-05T01:00:00.000+08:00")

# Expected to verify
build("ok-single", [F1, DR1])
build("ok-takedown", [F1, DR1, TD])
build("ok-takedown-of-voided-draw", [F1, DR1, VOID, R2, DR2, takedown("2029-06-05T01:00:00.000+08:00")])
build("ok-redraw", [F1, DR1, VOID, R2, DR2])
build("ok-drand-then-v2", [
    ("freeze", "2023-09-14T09:00:00.000+08:00", "manifest-1.json", MD),
    ("draw", "2023-09-15T19:05:00.000+08:00", "draw-1.json", DD),
    ("void", "2024-05-01T10:00:00.000+08:00"),
    ("refreeze", "2024-05-13T09:00:00.000+08:00", "manifest-2.json", M1),
    ("draw", "2024-05-16T21:20:00.000+08:00", "draw-2.json", D1)])
build("ok-v1-index", [F1, DR1], spec="suiji-publication-v1", store=None)
build("ok-freeze-only", [F1])
build("ok-rehearsal-simulated", [("freeze", "2024-05-13T09:00:00.000+08:00", "manifest-1.json", MS),
                                 ("draw", "2024-05-16T21:20:00.000+08:00", "draw-1.json", DS)],
      store="rehearsal")
# Expected to fail
build("bad-v2-no-store", [F1, DR1], store=None)
build("bad-takedown-not-an-object", [F1, DR1, takedown("2029-06-05T01:00:00.000+08:00", entity="91410000000000000X")])
build("bad-takedown-twice", [F1, DR1, TD, takedown("2029-06-06T01:00:00.000+08:00")])
build("bad-takedown-no-rule", [F1, DR1, takedown("2029-06-05T01:00:00.000+08:00", rule=" ")])
build("bad-takedown-unknown-draw", [F1, DR1, takedown("2029-06-05T01:00:00.000+08:00", draw="draw-2.json")])
build("bad-takedown-before-its-draw", [F1, takedown("2024-05-14T01:00:00.000+08:00"), DR1])
build("bad-store-value", [F1, DR1], store="staging")
build("bad-v1-with-store", [F1, DR1], spec="suiji-publication-v1")
build("bad-h1-simulated-production", [("freeze", "2024-05-13T09:00:00.000+08:00", "manifest-1.json", MS),
                                      ("draw", "2024-05-16T21:20:00.000+08:00", "draw-1.json", DS)])
build("bad-h2-time-order", [F1, ("draw", "2024-05-12T21:20:00.000+08:00", "draw-1.json", D1)])
build("bad-h2-offsets", [F1, DR1, ("void", "2024-05-16T13:19:00.000Z")])  # 21:19+08:00, a minute earlier
build("bad-h3-same-manifest-again", [F1, DR1, VOID,
                                     ("refreeze", "2024-05-17T11:00:00.000+08:00", "manifest-2.json", M1)])
build("bad-h3-after-void", [F1, DR1, ("void", "2024-05-21T10:00:00.000+08:00"),
                            ("refreeze", "2024-05-21T11:00:00.000+08:00", "manifest-2.json", M2)])
build("bad-h4-redraw-same-manifest", [F1, DR1, VOID,
                                      ("draw", "2024-05-18T10:00:00.000+08:00", "draw-2.json", D1)])
build("bad-h5-same-value", [F1, DR1, VOID, R2, ("draw", "2024-05-20T21:30:00.000+08:00", "draw-2.json", D2_SAME)])
build("bad-h5-same-round", [
    ("freeze", "2023-09-14T09:00:00.000+08:00", "manifest-1.json", MD),
    ("draw", "2023-09-15T18:00:00.000+08:00", "draw-1.json", DD),
    ("void", "2023-09-15T18:10:00.000+08:00"),
    ("refreeze", "2023-09-15T18:20:00.000+08:00", "manifest-2.json", MD2),
    ("draw", "2023-09-15T19:05:00.000+08:00", "draw-2.json", DD2)])
def tamper(d):
    p = os.path.join(d, "draw-1.json")
    b = bytearray(open(p, "rb").read()); b[-3] ^= 1; open(p, "wb").write(bytes(b))
build("bad-sha256", [F1, DR1], after=tamper)
build("bad-unlisted", [F1, DR1], after=lambda d: shutil.copy(os.path.join(d, "draw-1.json"), os.path.join(d, "draw-2.json")))
build("bad-current-copy", [F1, DR1], after=lambda d: open(os.path.join(d, "draw.json"), "wb").write(D2))
def renumber(d):
    b = open(os.path.join(d, "index.json"), "rb").read().replace(b'"n":2', b'"n":3')
    open(os.path.join(d, "index.json"), "wb").write(b)
build("bad-numbering", [F1, DR1], after=renumber)
with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump(CASES, f, indent=1, sort_keys=True)
print("built %d cases in %s" % (len(CASES), OUT))
