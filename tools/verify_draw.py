#!/usr/bin/env python3
"""Independent verifier for suiji-draw-v1 (docs/draw-spec.md).

Usage: verify_draw.py DIR   (DIR holds manifest.json and draw.json)

Recomputes the draw from the two published files with Ronald Rivest's consistent sampler
(PyPI `consistent-sampler` 1.0.10) for every ordering, and the team rules as the spec states
them. Prints `verified` and exits 0, or prints the first difference and exits 1.
Shares no code with suiji.
"""
import hashlib
import json
import sys

from consistent_sampler import sampler

SPEC = "suiji-draw-v1"


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
            raise ValueError("stratum %s cannot meet its quota" % s["stratum"])
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
                    raise ValueError("no %s for %s" % (role, e))
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
    return None if a == b else "%s: published %r, recomputed %r" % (path, a, b)


def main(directory):
    with open(directory + "/manifest.json", "rb") as f:
        manifest_bytes = f.read()
    with open(directory + "/draw.json", "rb") as f:
        published = json.loads(f.read())
    manifest = json.loads(manifest_bytes)
    if manifest["spec"] != SPEC or published["spec"] != SPEC:
        return "unknown spec"
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    kind, value = published["seed_source"]["kind"], published["seed_source"]["value"]
    seed = sha256_hex("%s\n%s\n%s\n%s" % (SPEC, digest, kind, value))
    strata = select(manifest, seed)
    recomputed = {"spec": SPEC, "manifest_digest": digest, "seed": seed,
                  "seed_source": {"kind": manifest["seed_source"]["kind"], "value": value},
                  "strata": strata, "teams": teams(manifest, strata, seed)}
    return first_difference("", published, recomputed)


if __name__ == "__main__":
    difference = main(sys.argv[1])
    print("verified" if difference is None else "NOT verified: " + difference)
    sys.exit(0 if difference is None else 1)
