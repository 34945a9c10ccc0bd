#!/usr/bin/env python3
"""Independent verifier for suiji draws: suiji-draw-v1, -v2, -v3, -v4 and -v5
(docs/draw-spec.md).

Usage: verify_draw.py DIR [--since OLD] [--witness FILE]... [--tsa-ca FILE]

If DIR holds index.json (spec suiji-publication-v2, or v1), verifies the whole published history
(spec section 7) of the plan and year the index states, which it prints first; a folder named as
published (`<year>/<plan>`, the parent a 4-digit year) must be that plan's and year's. Then:
entries numbered 1, 2, ... in order; every listed file present with the index's SHA-256; a first
`freeze`, later `refreeze`s with a reason and none while a draw stands; every manifest's timing
(section 1: v2, v3, v4 and v5 frozen_at strictly before seed_source.available_at,
certificate_date the Asia/Shanghai day of available_at, a drand beacon that is quicknet and its
first round at or after available_at); every draw recomputed from the manifest in force
(section 6); every void naming the standing draw, with a reason; every takedown naming a draw
listed before it (voided or not), one of that draw's objects (`entity`: a selected or alternate
id of one of its strata), a task number (`task`: letters, digits, `.`, `_` and `-`) no earlier
takedown named, and a reason, with no file, sha256 or manifest (a takedown changes nothing
current); no other entry with a task or entity; `current`, manifest.json and draw.json matching
what is in force; no manifest-*.json or draw-*.json left out of the index.
Over the whole history it also checks:

- `store` (v2: required; a v1 index has none and counts as production) is `production` or
  `rehearsal`. In a production history a manifest frozen on a simulated clock fails; in a
  rehearsal history (演练: a simulation or demo, which proves nothing about real timing) it is
  a NOTE, and the history is announced as a rehearsal at the top.
- the entries' `at` times never go backwards;
- every v2, v3, v4 or v5 manifest's seed becomes public (seed_source.available_at) strictly after
  every earlier draw and void: no manifest is frozen with a seed that could already be known;
- a draw after a void is drawn from a manifest frozen after that void;
- no two draws use the same seed (the same value, or the same drand round).

A v3, v4 or v5 manual seed may name its lottery (seed_source.game: 双色球 or 大乐透; any other game
makes the manifest invalid) and where its result is announced (seed_source.announcement: an
http(s) address without user information before the host, spaces or hidden characters); the
draw's value must then be a result of that game, two digits per ball in draw order (section 2).

A suiji-draw-v3, -v4 or -v5 manifest publishes only eligible officers ({id, name, agency,
division, cadre}), the candidates' names and cities (`entities`), the `recused` groups and the
eligibility record's SHA-256, all checked strictly (section 1); its teams skip with
`not_eligible` and `cap` (section 4). A v3, v4 or v5 document with a v1/v2-only member, or a
v1/v2 one with a v3 member, is invalid (section 8). A folder with plan.html must have
selection.json; when the standing draw is v3, v4 or v5 (or none stands under a v3, v4 or v5
manifest), selection.json and selection.csv, the public pages' downloads, are checked against it
and its manifest (section 10).

A suiji-draw-v4 manifest is v3's with two members in each stratum (section 1): `label`, a
non-empty string, required; and, optionally, `ratio` {basis_points 1-10000, min >= 0[, max >=
min]}, integers, when the stratum's quota must be exactly min(max, max(min, ceil(n ×
basis_points / 10000))) for its n candidates. A v1, v2 or v3 stratum with `label` or `ratio` is
invalid (section 8).

A suiji-draw-v5 manifest is v4's (its strata, draw, seed and pages too, with suiji-draw-v5 as the
spec string) with one more member, `capped` (section 1), required: the entities the plan's
yearly caps on inspections leave out of its pools, [{uscc, cap, inspections}], strictly
ascending by uscc (no USCC twice), cap and inspections integers with 1 <= cap <= inspections,
exactly these members; none of its USCCs may be a candidate of any stratum. A v1-v4 manifest
with `capped` is invalid.

Section 12: every timestamp-<n>.tsr in a folder with index.json is an RFC 3161 token (DER, read
here without any library) of entry n of the history: CMS SignedData over a TSTInfo whose message
imprint is SHA-256 with the 32 bytes of head(n) (below); a line per token says its genTime.
Without `--tsa-ca FILE` its signature is not checked, and the line says so. With it (FILE: the
authority's CA certificate, PEM) every token's signature is also checked by `openssl ts -verify`
(OpenSSL's command, which must be installed) against FILE, the chain valid at the token's
genTime.

Without index.json, verifies the single pair manifest.json + draw.json (and its selection.json,
if any, when v3, v4 or v5); --since, --witness and --tsa-ca are refused there.

Section 11, once DIR's history verifies (both need DIR's index.json; the options come in any
order after DIR):

- `--since OLD`: OLD is an older copy of the same folder, or its index.json. DIR's history must
  extend it: the same plan and year, and every entry of OLD equal to DIR's entry at the same
  place, every member compared except `actor`.
- `--witness FILE`, as often as wanted: FILE is a witness receipt (suiji-witness-v1) of the same
  plan and year; DIR's entry n must have the receipt's event, at, file, sha256 and audit, and
  head(n), the SHA-256 of the canonical JSON (RFC 8785) of {plan, year, entries: the first n
  entries as index.json holds them}, must be the receipt's head.

Draws are recomputed with Ronald Rivest's consistent sampler (PyPI `consistent-sampler` 1.0.10)
for every ordering and the team rules as the spec states them. A drand seed's BLS signature is
checked with PyPI `drand-verify` 0.2.1 against quicknet's public key, which is held here and
never taken from a manifest.

Prints a line per event saying what was checked (for a draw: its seed's kind and value, and a
drand seed's round; a NOTE for a manifest frozen on a simulated clock in a rehearsal history or
a single pair, which proves nothing about timing), a line per timestamp, older copy and
receipt, then `verified` and exits 0; or `NOT verified: ` and the first problem, and exits 1. A
malformed command line (an unknown option, a missing value), or --tsa-ca without an `openssl`
command, is refused with exit status 2. Shares no code with suiji.
"""
import calendar
import codecs
import csv
import datetime
import hashlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from fractions import Fraction

import drand_verify
from consistent_sampler import sampler

V1, V2, V3, V4, V5 = ("suiji-draw-v1", "suiji-draw-v2", "suiji-draw-v3", "suiji-draw-v4",
                      "suiji-draw-v5")
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
COMMON = {"spec", "plan", "seed_source", "strata", "tasks", "officers", "team_rules"}
MEMBERS = COMMON | {"conflicts"}  # v1/v2
OPTIONAL = {"entity_cities", "last_year_pairs"}  # v1/v2
V3_MEMBERS = COMMON | {"frozen_at", "entities", "recused", "eligibility"}
V3_ONLY = {"entities", "recused", "eligibility"}
V3_OFFICER = ("id", "name", "agency", "division", "cadre")
V12_OFFICER = {"home_city", "active", "valid_until"}
# Section 10: the columns of selection.json and selection.csv, in order.
SELECTION = ("任务编号", "来源", "抽查任务", "分层", "抽取顺位", "检查对象", "统一社会信用代码", "所在地",
             "执法人员（姓名/执法证号）", "联合部门人员（姓名/执法证号）", "状态")
STAFF, PARTNERS = SELECTION[8], SELECTION[9]
WITNESS = "suiji-witness-v1"
# Section 11: a receipt's members; file and sha256 only when entry n has them (not a void's).
RECEIPT = ("spec", "plan", "year", "n", "event", "at", "file", "sha256", "audit", "head")
RECEIPT_OPTIONAL = ("file", "sha256")
OPTIONS = ("--since", "--witness", "--tsa-ca")
# Section 2: the lotteries a v3 manual seed may name, balls in draw order as groups of (how many,
# lowest, highest), each group drawn without repeats; and how their results are written.
GAMES = {
    "双色球": (((6, 1, 33), (1, 1, 16)),
            "6 red balls 01-33 in draw order without repeats, then the blue ball 01-16, two "
            "digits each"),
    "大乐透": (((5, 1, 35), (2, 1, 12)),
            "5 front-zone balls 01-35 in draw order without repeats, then 2 back-zone balls "
            "01-12 without repeats, two digits each"),
}
SEED_V3 = ("game", "announcement")  # seed_source members of v3, v4 and v5 manual seeds only
# Section 1, v4: a stratum's ratio, {basis_points, min[, max]}, integers. v5 strata are v4's.
RATIO, RATIO_OPTIONAL = ("basis_points", "min", "max"), ("max",)
LABELLED = (V4, V5)  # the specs whose strata carry label and, optionally, ratio
# Section 1, v5: an entry of the manifest's capped, an entity the plan's yearly caps leave out.
CAPPED = ("uscc", "cap", "inspections")
# Section 12: the object identifiers of a timestamp token (RFC 3161, RFC 5652, RFC 5754).
SIGNED_DATA = "1.2.840.113549.1.7.2"
TST_INFO = "1.2.840.113549.1.9.16.1.4"
SHA256_OID = "2.16.840.1.101.3.4.2.1"
TOKEN = re.compile(r"timestamp-(\d+)\.tsr\Z")
GENERALIZED_TIME = re.compile(r"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\.\d*[1-9])?Z\Z")
RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?"
                     r"(?:[Zz]|([+-])(\d\d):(\d\d))\Z")


class Invalid(Exception):
    """The first problem found."""


class Unavailable(Exception):
    """A tool this check needs (openssl for --tsa-ca) cannot be run: nothing was decided."""


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical(value, what):
    """Canonical JSON (RFC 8785, section 1) of a parsed value, as text: members sorted by their
    UTF-16 code units, no insignificant white space, minimal string escapes, integers only."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if isinstance(value, str):
        # json escapes exactly what RFC 8785 requires: ", \ and the control characters (\b \f
        # \n \r \t, the others as lowercase \u00xx); everything else stays as it is.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v, what) for v in value) + "]"
    if isinstance(value, dict):
        members = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(value[k], what)
                              for k in members) + "}"
    raise Invalid("%s: %r is not an integer (canonical JSON holds integers only)" % (what, value))


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


def lottery_problem(game, digits):
    """Section 2: why digits are not a result of game (a key of GAMES), or None."""
    groups, _ = GAMES[game]
    balls = sum(n for n, _, _ in groups)
    if len(digits) != 2 * balls or not re.fullmatch("[0-9]*", digits):
        return "%d digits are needed" % (2 * balls)
    at = 0
    for n, low, high in groups:
        seen = set()
        for _ in range(n):
            ball = int(digits[at:at + 2])
            if not low <= ball <= high:
                return "ball %d is %02d" % (at // 2 + 1, ball)
            if ball in seen:
                return "%02d is drawn twice" % ball
            seen.add(ball)
            at += 2
    return None


def hidden(c):
    """A control character or one that changes how text displays without showing itself (bidi
    controls, Unicode's default-ignorable code points), as suiji refuses them."""
    o = ord(c)
    return (o < 0x20 or 0x7F <= o < 0xA0 or o in (0x00AD, 0x034F, 0x061C, 0x115F, 0x1160,
                                                  0x17B4, 0x17B5, 0x3164, 0xFEFF, 0xFFA0)
            or 0x180B <= o <= 0x180F or 0x200B <= o <= 0x200F or 0x202A <= o <= 0x202E
            or 0x2060 <= o <= 0x206F or 0xFE00 <= o <= 0xFE0F or 0xFFF0 <= o <= 0xFFF8
            or 0x1BCA0 <= o <= 0x1BCA3 or 0x1D173 <= o <= 0x1D17A or 0xE0000 <= o <= 0xE0FFF)


def url_problem(u):
    """Why u is not a web address suiji publishes (http:// or https://, at most 2048 bytes, no
    white space or hidden character, no user information before the host), or None."""
    if not isinstance(u, str):
        return "%r is not a string" % (u,)
    shown = repr(u) if len(u) <= 60 else "%r... (%d characters)" % (u[:60], len(u))
    lower = u.strip().lower()
    if not lower.startswith(("https://", "http://")) or len(u.encode("utf-8")) > 2048 \
            or any(c.isspace() or hidden(c) for c in u):
        return ("%s is not a web address: only http:// and https:// links, without spaces or "
                "hidden characters" % shown)
    authority = re.split("[/?#]", u.strip()[lower.find("://") + 3:])[0]
    if "@" in authority:
        return ("%s has user information before its host (...@): it would show one site and "
                "lead to another" % shown)
    return None


def public_eligibility(spec):
    """Whether documents of spec publish eligible officers, entities and recused groups rather
    than officers' private attributes (v3, v4 and v5; section 8)."""
    return spec in (V3, V4, V5)


def check_seed_v3(name, source):
    """Section 1, v3, v4 and v5: seed_source.game (a manual seed's lottery, one of GAMES) and
    seed_source.announcement (an http(s) address). Says what was found, or None."""
    said = []
    if "game" in source:
        game = source["game"]
        if source["kind"] != "manual" or not isinstance(game, str) or game not in GAMES:
            raise Invalid("%s: seed_source.game %r is not a lottery for a manual seed (only a "
                          "manual seed names one: %s)" % (name, game, " or ".join(GAMES)))
        said.append("the digits must be a %s result" % game)
    if "announcement" in source:
        problem = url_problem(source["announcement"])
        if problem:
            raise Invalid("%s: seed_source.announcement: %s" % (name, problem))
        said.append("announced at %s" % source["announcement"])
    return ", ".join(said) or None


def check_v3(name, m):
    """Section 1, the v3 rows (v3, v4 and v5), strictly: eligible officers, entities, recused
    groups and the eligibility record's hash. Says what was checked."""
    officers, ids = m["officers"], []
    if not isinstance(officers, list):
        raise Invalid("%s: officers is not an array" % name)
    for i, o in enumerate(officers):
        where = "%s: officers[%d]" % (name, i)
        if not isinstance(o, dict):
            raise Invalid("%s is not an object" % where)
        older = sorted(set(o) & V12_OFFICER)
        if older:
            raise Invalid("%s (id %r) carries v1/v2 members (%s): a %s manifest lists eligible "
                          "officers with id, name, agency, division and cadre only"
                          % (where, o.get("id"), ", ".join(older), m["spec"]))
        if set(o) != set(V3_OFFICER):
            raise Invalid("%s (id %r) has members %s, expected %s"
                          % (where, o.get("id"), ", ".join(sorted(o)), ", ".join(V3_OFFICER)))
        for field, ok, what in (
                ("id", isinstance(o["id"], str) and o["id"] != "", "a non-empty string"),
                ("name", isinstance(o["name"], str), "a string"),
                ("agency", isinstance(o["agency"], str), "a string"),
                ("division", o["division"] is None or isinstance(o["division"], str),
                 "a string or null"),
                ("cadre", type(o["cadre"]) is bool, "true or false")):
            if not ok:
                raise Invalid("%s.%s %r is not %s" % (where, field, o[field], what))
        if ids and o["id"] <= ids[-1]:
            raise Invalid("%s: officers are not ascending by id (%s after %s)"
                          % (where, o["id"], ids[-1]))
        ids.append(o["id"])
    eligible = set(ids)
    candidates = set()
    for s in m["strata"]:
        candidates.update(s["candidates"])
    entities = m["entities"]
    if not isinstance(entities, dict):
        raise Invalid("%s: entities is not an object" % name)
    missing = sorted(candidates - set(entities))
    if missing:
        raise Invalid("%s: entities has no entry for the candidate %s" % (name, missing[0]))
    extra = sorted(set(entities) - candidates)
    if extra:
        raise Invalid("%s: entities[%s]: not a candidate of any stratum" % (name, extra[0]))
    for e in sorted(entities):
        v = entities[e]
        if not (isinstance(v, dict) and set(v) == {"name", "city"}
                and isinstance(v["name"], str) and isinstance(v["city"], str)):
            raise Invalid("%s: entities[%s] is not {name, city} with string values: %r"
                          % (name, e, v))
    recused, grouped, first = m["recused"], set(), None
    if not isinstance(recused, list):
        raise Invalid("%s: recused is not an array" % name)
    for i, g in enumerate(recused):
        where = "%s: recused[%d]" % (name, i)
        if not (isinstance(g, dict) and set(g) == {"entities", "officers"}):
            raise Invalid("%s is not {entities, officers}" % where)
        for field in ("entities", "officers"):
            listed = g[field]
            if not (isinstance(listed, list) and listed):
                raise Invalid("%s.%s is empty or not an array (no list is empty)" % (where, field))
            if not all(isinstance(x, str) for x in listed):
                raise Invalid("%s.%s holds something other than a string" % (where, field))
            for a, b in zip(listed, listed[1:]):
                if b <= a:
                    raise Invalid("%s.%s is not ascending (%s after %s)" % (where, field, b, a))
        for e in g["entities"]:
            if e not in candidates:
                raise Invalid("%s.entities: %s is not a candidate" % (where, e))
            if e in grouped:
                raise Invalid("%s.entities: %s is also in an earlier group (no entity is in two "
                              "groups)" % (where, e))
            grouped.add(e)
        for o in g["officers"]:
            if o not in eligible:
                raise Invalid("%s.officers: %s is not in officers (recused officers are eligible "
                              "ones)" % (where, o))
        if first is not None and g["entities"][0] <= first:
            raise Invalid("%s: groups are not ordered by their first entity (%s after %s)"
                          % (where, g["entities"][0], first))
        first = g["entities"][0]
    eligibility = m["eligibility"]
    if not (isinstance(eligibility, dict) and set(eligibility) == {"sha256"}
            and isinstance(eligibility["sha256"], str)
            and re.fullmatch("[0-9a-f]{64}", eligibility["sha256"])):
        raise Invalid("%s: eligibility is not {sha256} with 64 lowercase hex digits: %r"
                      % (name, eligibility))
    return ("%d eligible officers, %d candidates named, %d recused groups (%d candidates), "
            "eligibility record %s" % (len(eligible), len(candidates), len(recused), len(grouped),
                                       eligibility["sha256"]))


def check_strata(name, spec, strata):
    """Section 1: a v4 or v5 stratum's label, and its quota where its ratio gives it; a stratum of
    an earlier spec has neither member (section 8). Says what was checked for v4 or v5, or
    None."""
    if not isinstance(strata, list):
        raise Invalid("%s: strata is not an array" % name)
    ratios = 0
    for i, s in enumerate(strata):
        where = "%s: strata[%d]" % (name, i)
        if not isinstance(s, dict):
            raise Invalid("%s is not an object" % where)
        where += " (%s)" % s.get("stratum")
        if spec not in LABELLED:
            newer = [k for k in ("label", "ratio") if k in s]
            if newer:
                raise Invalid("%s carries %s: a %s stratum has no label or ratio (%s members)"
                              % (where, " and ".join(newer), spec, V4))
            continue
        if "label" not in s:
            raise Invalid("%s: label missing (every %s stratum is named for readers)"
                          % (where, spec))
        if not (isinstance(s["label"], str) and s["label"].strip()):
            raise Invalid("%s: label %r is not a non-empty string" % (where, s["label"]))
        if "ratio" not in s:
            continue
        ratio = s["ratio"]
        if not isinstance(ratio, dict):
            raise Invalid("%s: ratio %r is not an object {basis_points, min[, max]}"
                          % (where, ratio))
        missing = [k for k in RATIO if k not in ratio and k not in RATIO_OPTIONAL]
        extra = sorted(set(ratio) - set(RATIO))
        if missing or extra:
            raise Invalid("%s: ratio: %s" % (where, "; ".join(
                ["%s missing" % ", ".join(missing)] * bool(missing)
                + ["unknown members %s" % ", ".join(extra)] * bool(extra))))
        for k in RATIO:
            if k in ratio and type(ratio[k]) is not int:
                raise Invalid("%s: ratio.%s %r is not an integer" % (where, k, ratio[k]))
        b, lo, hi = ratio["basis_points"], ratio["min"], ratio.get("max")
        if not 1 <= b <= 10000:
            raise Invalid("%s: ratio.basis_points %d is not from 1 to 10000 (one basis point is "
                          "1/100 of a percent)" % (where, b))
        if lo < 0:
            raise Invalid("%s: ratio.min %d is negative" % (where, lo))
        if hi is not None and hi < lo:
            raise Invalid("%s: ratio.max %d is below ratio.min %d" % (where, hi, lo))
        candidates = s.get("candidates")
        if not isinstance(candidates, list):
            raise Invalid("%s: candidates is not an array" % where)
        n = len(candidates)
        # In integers, so every verifier gets the same number; the share is rounded up:
        # min(max, max(min, ceil(n × b / 10000))).
        expected = max(lo, (n * b + 9999) // 10000)
        if hi is not None:
            expected = min(hi, expected)
        if type(s.get("quota")) is not int or s["quota"] != expected:
            raise Invalid("%s: quota %s, but its ratio (basis_points %d, min %d, %s) gives %d "
                          "for its %d candidates" % (where, shown(s, "quota"), b, lo,
                                                     "no max" if hi is None else "max %d" % hi,
                                                     expected, n))
        ratios += 1
    if spec not in LABELLED:
        return None
    return ("%d strata labelled, %d %s recomputed from %s ratio"
            % (len(strata), ratios, "quota" if ratios == 1 else "quotas",
               "its" if ratios == 1 else "their"))


def check_capped(name, m):
    """Section 1, v5: capped, strictly: {uscc, cap, inspections} objects ascending by uscc with no
    USCC twice, cap and inspections integers with 1 <= cap <= inspections, and no capped USCC a
    candidate of any stratum. Says what was checked."""
    capped, previous = m["capped"], None
    if not isinstance(capped, list):
        raise Invalid("%s: capped is not an array" % name)
    for i, c in enumerate(capped):
        where = "%s: capped[%d]" % (name, i)
        if not isinstance(c, dict):
            raise Invalid("%s is not an object" % where)
        if set(c) != set(CAPPED):
            raise Invalid("%s (uscc %r) has members %s, expected %s"
                          % (where, c.get("uscc"), ", ".join(sorted(c)), ", ".join(CAPPED)))
        if not isinstance(c["uscc"], str):
            raise Invalid("%s.uscc %r is not a string" % (where, c["uscc"]))
        where += " (%s)" % c["uscc"]
        for k in ("cap", "inspections"):
            if type(c[k]) is not int:  # true and false are not integers, whatever Python says
                raise Invalid("%s: %s %r is not an integer" % (where, k, c[k]))
        if c["cap"] < 1:
            raise Invalid("%s: cap %d is below 1" % (where, c["cap"]))
        if c["inspections"] < c["cap"]:
            raise Invalid("%s: inspections %d is below its cap %d, which therefore does not leave "
                          "it out" % (where, c["inspections"], c["cap"]))
        if c["uscc"] == previous:
            raise Invalid("%s: capped lists %s twice" % (where, previous))
        if previous is not None and c["uscc"] < previous:
            raise Invalid("%s: capped is not ascending by uscc (%s after %s)"
                          % (where, c["uscc"], previous))
        previous = c["uscc"]
    stratum_of = {}
    for s in m["strata"]:
        for e in s["candidates"]:
            stratum_of.setdefault(e, s["stratum"])
    for i, c in enumerate(capped):
        if c["uscc"] in stratum_of:
            raise Invalid("%s: capped[%d]: %s is a candidate of stratum %s, but its yearly cap "
                          "(%d, reached with %d inspections) leaves it out of the pools"
                          % (name, i, c["uscc"], stratum_of[c["uscc"]], c["cap"],
                             c["inspections"]))
    return ("%d %s left out by yearly caps, none a candidate"
            % (len(capped), "entity" if len(capped) == 1 else "entities"))


def check_manifest(name, data):
    """Section 1 (section 8 for v1, v2 and v3): the manifest, what was checked, and a NOTE or
    None."""
    m = parse_json(data, name)
    spec, source = m.get("spec"), m.get("seed_source")
    if spec not in (V1, V2, V3, V4, V5):
        raise Invalid("%s: unknown spec %r" % (name, spec))
    # capped is v5's alone: a plan without yearly caps is frozen as v4, and an older document
    # carrying it would claim a check its spec never made.
    if spec != V5 and "capped" in m:
        raise Invalid("%s: a %s manifest carries capped (a %s member)" % (name, spec, V5))
    if public_eligibility(spec):
        older = sorted(set(m) & (MEMBERS - COMMON | OPTIONAL))
        if older:
            raise Invalid("%s: a %s manifest carries v1/v2 members (%s)"
                          % (name, spec, ", ".join(older)))
        # A v5 manifest must say whom the caps left out, even when nobody (an empty array).
        required = V3_MEMBERS | ({"capped"} if spec == V5 else set())
    else:
        newer = sorted(set(m) & V3_ONLY)
        if not newer and isinstance(source, dict):
            newer = ["seed_source." + k for k in SEED_V3 if k in source]
        officers = m.get("officers")
        if not newer and isinstance(officers, list):
            newer = ["officers[%d].name" % i for i, o in enumerate(officers)
                     if isinstance(o, dict) and "name" in o][:1]
        if newer:
            raise Invalid("%s: a %s manifest carries v3 members (%s)"
                          % (name, spec, ", ".join(newer)))
        required = MEMBERS
    missing = sorted(required - set(m) | {"kind", "source"} - set(source))
    if missing:
        raise Invalid("%s: %s missing" % (name, ", ".join(missing)))
    labelled = check_strata(name, spec, m["strata"])
    kind = source["kind"]
    if spec == V1:
        extra = sorted(set(m) - MEMBERS - OPTIONAL | set(source) - {"kind", "source"})
        if extra or kind not in ("manual", "os"):
            raise Invalid("%s: a %s manifest carries v2 members or kinds (%s)"
                          % (name, V1, ", ".join(extra) or kind))
        return m, "%s (no freeze time: v1), %s seed" % (spec, kind), None
    extra = sorted(set(m) - required - OPTIONAL - {"frozen_at", "simulated"}
                   | set(source) - {"kind", "source", "available_at", "beacon"}
                   - (set(SEED_V3) if public_eligibility(spec) else set()))
    if extra or kind not in ("manual", "drand", "os"):
        raise Invalid("%s: unknown members or seed kind (%s)" % (name, ", ".join(extra) or kind))
    published = check_v3(name, m) if public_eligibility(spec) else None
    capped = check_capped(name, m) if spec == V5 else None
    lottery = check_seed_v3(name, source) if public_eligibility(spec) else None
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
    if lottery:
        line += " (%s)" % lottery
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
    if labelled:
        line += "; " + labelled
    if published:
        line += "; " + published
    if capped:
        line += "; " + capped
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
    game = manifest["seed_source"].get("game")
    if kind == "manual" and game is not None:
        problem = lottery_problem(game, value)
        if problem:
            raise Invalid("seed_source.value %s is not a %s result: %s (%s)"
                          % (value, game, problem, GAMES[game][1]))
    if kind == "os" and not (isinstance(value, str) and re.fullmatch("[0-9a-f]{64}", value)):
        raise Invalid("seed_source.value %r is not 64 lowercase hex digits" % (value,))
    if kind != "drand":
        return {"kind": kind, "value": value}, "%s seed %s%s" \
            % (kind, value, ", a %s result" % game if game is not None else "")
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


def recused_from(manifest):
    """v3, v4 and v5: each candidate's recused officers (a candidate in no group has none)."""
    return {e: set(g["officers"]) for g in manifest["recused"] for e in g["entities"]}


def teams(manifest, strata, seed):
    rules = manifest["team_rules"]
    dept, cap = rules["department"], rules["cap_per_officer"]
    v3 = public_eligibility(manifest["spec"])
    if v3:
        recused = recused_from(manifest)
    else:
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
                    if v3:
                        if oid in recused.get(e, ()):
                            reason = "not_eligible"
                    elif not o["active"]:
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
                    if reason is None and load.get(oid, 0) >= cap:
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


def people(ids, officers):
    """Section 10: officers as the downloads write them, `name（id）` joined by `、`."""
    return "、".join("%s（%s）" % (officers[o]["name"], o) for o in ids)


def spreadsheet_safe(value):
    """A CSV cell as suiji writes it: a value that a spreadsheet would read as a formula (starting
    with =, +, -, @, a tab or a carriage return) is written after a quote."""
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def check_csv(directory, rows):
    """Section 10: selection.csv (UTF-8 with BOM) has the columns in order and selection.json's
    rows."""
    data = read(directory, "selection.csv")
    if data is None:
        raise Invalid("selection.csv is missing (it is published with selection.json)")
    if not data.startswith(codecs.BOM_UTF8):
        raise Invalid("selection.csv does not start with a UTF-8 BOM")
    try:
        text = data[len(codecs.BOM_UTF8):].decode("utf-8")
    except UnicodeDecodeError as e:
        raise Invalid("selection.csv is not UTF-8 (%s)" % e)
    table = list(csv.reader(io.StringIO(text, newline="")))
    if not table or table[0] != list(SELECTION):
        raise Invalid("selection.csv: the header row is %s, expected %s"
                      % (",".join(table[0]) if table else "missing", ",".join(SELECTION)))
    if len(table) - 1 != len(rows):
        raise Invalid("selection.csv has %d rows, selection.json %d" % (len(table) - 1, len(rows)))
    for i, (cells, row) in enumerate(zip(table[1:], rows), 1):
        if len(cells) != len(SELECTION):
            raise Invalid("selection.csv row %d has %d cells, expected %d"
                          % (i, len(cells), len(SELECTION)))
        for column, cell in zip(SELECTION, cells):
            value = str(row[column])
            if cell != value and cell != spreadsheet_safe(value):
                raise Invalid("selection.csv row %d: %s %r, but selection.json row %d has %r"
                              % (i, column, cell, i, value))


def place_of(row, where):
    """A row's 抽取顺位 as a positive integer (written as text or as a number)."""
    value = row["抽取顺位"]
    if type(value) is int and value > 0:
        return value
    if isinstance(value, str) and re.fullmatch("[1-9][0-9]*", value):
        return int(value)
    raise Invalid("%s: 抽取顺位 %r is not a positive integer" % (where, value))


def listed_officers(text, where, column):
    """The (name, id) pairs of an officer column: `name（id）` joined by `、`."""
    out = []
    for item in re.split("(?<=）)、", text) if text else []:
        m = re.fullmatch("(.*)（([^（）]+)）", item, re.S)
        if not m:
            raise Invalid("%s: %s: %r is not written name（id）" % (where, column, item))
        out.append((m.group(1), m.group(2)))
    return out


def check_selection(directory, draw_name, manifest_name, manifest):
    """Section 10: selection.json and selection.csv against the standing v3, v4 or v5 draw (None
    if no draw stands) and its manifest. Says what was checked, or None if the folder publishes
    no selection (and no plan.html)."""
    data = read(directory, "selection.json")
    if data is None:
        if os.path.exists(os.path.join(directory, "plan.html")):
            raise Invalid("selection.json is missing, but plan.html, which shows the selection, "
                          "is published")
        return None
    rows = parse_json(data, "selection.json")
    if not isinstance(rows, list):
        raise Invalid("selection.json is not an array")
    for i, row in enumerate(rows, 1):
        where = "selection.json row %d" % i
        if not isinstance(row, dict):
            raise Invalid("%s is not an object" % where)
        missing, extra = [c for c in SELECTION if c not in row], sorted(set(row) - set(SELECTION))
        if missing or extra:
            raise Invalid("%s: %s" % (where, "; ".join(
                ["%s missing" % ", ".join(missing)] * bool(missing)
                + ["unknown members %s" % ", ".join(extra)] * bool(extra))))
        for column in SELECTION:
            if not isinstance(row[column], str) and column != "抽取顺位":
                raise Invalid("%s: %s %r is not a string" % (where, column, row[column]))
        if i > 1 and not rows[i - 2]["任务编号"] < row["任务编号"]:
            raise Invalid("%s: 任务编号 %s after %s: the rows are not in task-number order"
                          % (where, row["任务编号"], rows[i - 2]["任务编号"]))
    if draw_name is None:
        if rows:
            raise Invalid("selection.json has %d rows, but no draw stands" % len(rows))
        check_csv(directory, rows)
        return "selection: no rows, no draw stands (selection.json and selection.csv)"
    draw = parse_json(read(directory, draw_name), draw_name)
    drawn_teams, strata = draw["teams"], {s["stratum"]: s for s in draw["strata"]}
    tasks = {t["task"]: t for t in manifest["tasks"]}
    officers = {o["id"]: o for o in manifest["officers"]}
    entities, recused = manifest["entities"], recused_from(manifest)
    places, drawn, replacements = {}, {}, {}
    for i, row in enumerate(rows, 1):
        where = "selection.json row %d (任务编号 %s, %s)" % (i, row["任务编号"], row["来源"])
        place, e = place_of(row, where), row["统一社会信用代码"]
        if place in places:
            raise Invalid("%s: 抽取顺位 %d is also row %d's" % (where, place, places[place]))
        places[place] = i
        if row["来源"] == "抽取":
            if place > len(drawn_teams):
                raise Invalid("%s: 抽取顺位 %d, but %s has %d teams"
                              % (where, place, draw_name, len(drawn_teams)))
            team = drawn_teams[place - 1]
            source = "%s teams[%d] (%s)" % (draw_name, place - 1, team["entity"])
            expected = [("统一社会信用代码", team["entity"], source + ".entity"),
                        ("检查对象", entities[team["entity"]]["name"],
                         "%s entities[%s].name" % (manifest_name, team["entity"])),
                        ("所在地", entities[team["entity"]]["city"],
                         "%s entities[%s].city" % (manifest_name, team["entity"])),
                        ("分层", team["stratum"], source + ".stratum"),
                        ("抽查任务", tasks[team["task"]]["name"],
                         "%s task %s's name" % (manifest_name, team["task"])),
                        (STAFF, people(team["members"], officers), "%s.members, named as in %s "
                         "officers" % (source, manifest_name)),
                        (PARTNERS, people(team["partners"], officers), "%s.partners, named as in "
                         "%s officers" % (source, manifest_name))]
            drawn[place] = i
        elif row["来源"] == "替补":
            stratum = strata.get(row["分层"])
            if stratum is None:
                raise Invalid("%s: 分层 %r is not a stratum of %s" % (where, row["分层"], draw_name))
            alternates = [a["id"] for a in stratum["alternates"]]
            if e not in alternates:
                raise Invalid("%s: 统一社会信用代码 %s is not an alternate of stratum %s in %s"
                              % (where, e, stratum["stratum"], draw_name))
            expected = [("检查对象", entities[e]["name"], "%s entities[%s].name" % (manifest_name, e)),
                        ("所在地", entities[e]["city"], "%s entities[%s].city" % (manifest_name, e)),
                        ("抽查任务", tasks[stratum["task"]]["name"],
                         "%s task %s's name" % (manifest_name, stratum["task"]))]
            for column in (STAFF, PARTNERS):
                for name, oid in listed_officers(row[column], where, column):
                    if oid not in officers:
                        raise Invalid("%s: %s lists %s, who is not an eligible officer (not in %s "
                                      "officers)" % (where, column, oid, manifest_name))
                    if name != officers[oid]["name"]:
                        raise Invalid("%s: %s lists %s as %r, but %s officers names them %r"
                                      % (where, column, oid, name, manifest_name,
                                         officers[oid]["name"]))
                    if oid in recused.get(e, ()):
                        raise Invalid("%s: %s lists %s, who is recused from %s (%s recused)"
                                      % (where, column, oid, e, manifest_name))
            replacements.setdefault(stratum["stratum"], []).append((place, i, e, alternates))
        else:
            raise Invalid("%s: 来源 %r is neither 抽取 nor 替补" % (where, row["来源"]))
        for column, value, source in expected:
            if row[column] != value:
                raise Invalid("%s: %s %r, expected %r (%s)"
                              % (where, column, row[column], value, source))
    for place, team in enumerate(drawn_teams, 1):
        if place not in drawn:
            raise Invalid("selection.json: no 抽取 row with 抽取顺位 %d for %s teams[%d] (%s)"
                          % (place, draw_name, place - 1, team["entity"]))
    for stratum, used in sorted(replacements.items()):
        used.sort()
        for k, (place, i, e, alternates) in enumerate(used):
            if e != alternates[k]:
                raise Invalid("selection.json row %d (任务编号 %s, 替补): %s is replacement %d of "
                              "stratum %s by 抽取顺位, but the stratum's alternate %d in %s is %s "
                              "(alternates are used in order)"
                              % (i, rows[i - 1]["任务编号"], e, k + 1, stratum, k + 1, draw_name,
                                 alternates[k]))
    check_csv(directory, rows)
    return ("selection: %d rows match %s (%d drawn, %d replacements; selection.json and "
            "selection.csv)" % (len(rows), draw_name[:-len(".json")], len(drawn),
                                sum(len(u) for u in replacements.values())))


def verify_pair(directory):
    files = {n: read(directory, n) for n in ("manifest.json", "draw.json")}
    for name, data in files.items():
        if data is None:
            raise Invalid("%s is missing" % os.path.join(directory, name))
    manifest, line, note = check_manifest("manifest.json", files["manifest.json"])
    print("plan %s, year %s (manifest.json; a single manifest and draw pair, no index.json)"
          % (manifest["plan"]["id"], manifest["plan"]["year"]))
    print("manifest.json: " + line)
    if note:
        print(note)
    print("draw.json: " + verify_draw("manifest.json", files["manifest.json"], manifest,
                                      "draw.json", files["draw.json"])[0])
    if public_eligibility(manifest["spec"]):
        line = check_selection(directory, "draw.json", "manifest.json", manifest)
        if line:
            print(line)


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


def bind_folder(directory, index):
    """Section 7: the plan and year verified, printed first; a folder named as published
    (`<year>/<plan>`) must be the index's."""
    plan, year = index.get("plan"), index.get("year")
    if not (isinstance(plan, str) and plan and type(year) is int):
        raise Invalid("index.json: plan %r and year %r are not a plan id and a year" % (plan, year))
    path = os.path.realpath(directory)  # the folder itself, not a link's name
    folder, parent = os.path.basename(path), os.path.basename(os.path.dirname(path))
    if re.fullmatch("[0-9]{4}", parent):
        if (parent, folder) == (str(year), plan):
            print("plan %s, year %d (index.json), in its published folder %s/%s"
                  % (plan, year, parent, folder))
        else:
            print("plan %s, year %d (index.json)" % (plan, year))
            raise Invalid("index.json: plan %s, year %d, but the folder is %s/%s: a published "
                          "<year>/<plan> folder holds only its own plan's history"
                          % (plan, year, parent, folder))
    else:
        print("plan %s, year %d, as index.json states (the folder %s is not named <year>/<plan> "
              "as published: a copy, verified for the plan and year its index states)"
              % (plan, year, path))


def verify_history(directory, index):
    """Section 7: the events in order, what is current, and nothing left out; section 10 when
    the standing draw is v3, v4 or v5."""
    bind_folder(directory, index)
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
    # For takedowns: every draw listed so far with its objects (selected and alternate ids), and
    # the tasks already taken down, with their entries.
    objects, taken_down = {}, {}
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
        if event in ("freeze", "refreeze", "draw", "void") and ("task" in e or "entity" in e):
            raise Invalid("%s: only a takedown names a task or entity (%s)"
                          % (where, ", ".join(m for m in ("task", "entity") if m in e)))
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
            # Recomputed identical above, so its strata are the sampler's.
            objects[name] = {o["id"]: kind
                             for s in parse_json(data, name)["strata"]
                             for kind in ("selected", "alternates") for o in s[kind]}
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
        elif event == "takedown":
            present = [m for m in ("file", "sha256", "manifest") if m in e]
            if present:
                raise Invalid("%s: a takedown publishes no file and names no manifest (%s)"
                              % (where, ", ".join(present)))
            name, task, entity = e.get("draw"), e.get("task"), e.get("entity")
            if not (isinstance(name, str) and name in objects):
                raise Invalid("%s: %r is not a draw listed before it (draws so far: %s)"
                              % (where, name, ", ".join(objects) or "none"))
            if not (isinstance(entity, str) and entity in objects[name]):
                raise Invalid("%s: entity %r is not one of %s's objects (a selected or alternate "
                              "id of one of its strata)" % (where, entity, name))
            if not (isinstance(task, str) and re.fullmatch(r"[A-Za-z0-9._-]+", task)):
                raise Invalid("%s: task %r is not a task number (letters, digits, '.', '_' and "
                              "'-')" % (where, task))
            if not reason:
                raise Invalid("%s: a takedown needs its reason (the rule)" % where)
            if task in taken_down:
                raise Invalid("%s: task %s was already taken down by entry %d"
                              % (where, task, taken_down[task]))
            taken_down[task] = i
            print("%3d. takedown  %-16s %s (%s, %s%s) taken down: %s"
                  % (i, name, task, entity,
                     "selected" if objects[name][entity] == "selected" else "alternate",
                     "" if name == standing else "; a voided draw", reason))
            name = None  # publishes nothing, changes nothing current
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
    if in_force is not None and public_eligibility(manifests[in_force][1]["spec"]):
        # No refreeze while a draw stands: the standing draw's manifest is the one in force.
        line = check_selection(directory, standing, in_force, manifests[in_force][1])
        print(line or "selection: no selection.json or plan.html in the folder (nothing to check)")
    elif os.path.exists(os.path.join(directory, "selection.json")):
        print("selection: selection.json not checked (section 10 covers %s, %s and %s draws; the "
              "%s is %s)" % (V3, V4, V5, "standing draw" if standing else "manifest in force",
                             manifests[in_force][1]["spec"] if in_force else "none"))
    elif os.path.exists(os.path.join(directory, "plan.html")):
        raise Invalid("selection.json is missing, but plan.html, which shows the selection, is "
                      "published")


def head(index, n):
    """Section 11: head(n), the SHA-256 of the canonical {plan, year, entries: the first n
    entries}, the entries exactly as index.json holds them."""
    return sha256_hex(canonical({"plan": index["plan"], "year": index["year"],
                                 "entries": index["entries"][:n]}, "index.json"))


def shown(document, member):
    return repr(document[member]) if member in document else "none"


def same_member(a, b, member):
    """Whether two objects have the same member: both without it, or both with equal values
    (strictly: 1, 1.0 and true differ)."""
    if (member in a) != (member in b):
        return False
    return json.dumps(a.get(member), sort_keys=True) == json.dumps(b.get(member), sort_keys=True)


def check_since(index, old):
    """Section 11: the history extends OLD, an older copy of the folder or of its index.json:
    the same plan and year, and every entry of OLD equal to the entry at the same place, every
    member compared except actor. Says so."""
    path = os.path.join(old, "index.json") if os.path.isdir(old) else old
    data = read(os.path.dirname(path), os.path.basename(path))
    if data is None:
        raise Invalid("--since %s: %s is missing" % (old, path))
    older = parse_json(data, path)
    if not (isinstance(older, dict) and isinstance(older.get("entries"), list)):
        raise Invalid("--since %s: %s is not an index (no entries array)" % (old, path))
    plan, year = older.get("plan"), older.get("year")
    if not (plan == index["plan"] and type(year) is int and year == index["year"]):
        raise Invalid("--since %s: it is the history of plan %s, year %s, this one of plan %s, "
                      "year %d: not an older copy of this folder"
                      % (old, plan, year, index["plan"], index["year"]))
    entries = index["entries"]
    for i, e in enumerate(older["entries"], 1):
        if not isinstance(e, dict):
            raise Invalid("--since %s: its entry %d is not an object" % (old, i))
        where = "the history does not extend %s: entry %d (%s)" % (old, i, e.get("event"))
        if i > len(entries):
            raise Invalid("%s is missing: the history has %d entries (it only ever grows)"
                          % (where, len(entries)))
        now = entries[i - 1]
        for member in list(e) + [m for m in now if m not in e]:
            if member == "actor":
                continue  # releases before v3 published a login there, now a role
            if not same_member(e, now, member):
                raise Invalid("%s has changed: %s %s there, %s now"
                              % (where, member, shown(e, member), shown(now, member)))
    n = len(older["entries"])
    counted = "1 event is the first" if n == 1 else "%d events are the first %d" % (n, n)
    return ("extends %s: its %s of %d (every member compared but actor)"
            % (old, counted, len(entries)))


def check_witness(index, path):
    """Section 11: a witness receipt of entry n; the history's entry n has its event, at, file,
    sha256 and audit, and head(n) is its head. Says so."""
    data = read(os.path.dirname(path), os.path.basename(path))
    where = "witness receipt %s" % path
    if data is None:
        raise Invalid("%s is missing" % where)
    r = parse_json(data, path)
    if not isinstance(r, dict):
        raise Invalid("%s is not an object" % where)
    if r.get("spec") != WITNESS:
        raise Invalid("%s: spec %r is not %s" % (where, r.get("spec"), WITNESS))
    missing = [m for m in RECEIPT if m not in r and m not in RECEIPT_OPTIONAL]
    extra = sorted(set(r) - set(RECEIPT))
    if missing or extra:
        raise Invalid("%s: %s" % (where, "; ".join(
            ["%s missing" % ", ".join(missing)] * bool(missing)
            + ["unknown members %s" % ", ".join(extra)] * bool(extra))))
    plan, year, n = r["plan"], r["year"], r["n"]
    if not (plan == index["plan"] and type(year) is int and year == index["year"]):
        raise Invalid("%s: plan %s, year %s, but the history is plan %s, year %d"
                      % (where, plan, year, index["plan"], index["year"]))
    if type(n) is not int or n < 1:
        raise Invalid("%s: n %r is not an entry number (1, 2, ...)" % (where, n))
    entries = index["entries"]
    if n > len(entries):
        raise Invalid("%s: entry %d, but the history has %d entries: the entry the witness saw "
                      "is not published" % (where, n, len(entries)))
    e = entries[n - 1]
    for member in ("event", "at", "file", "sha256", "audit"):
        if not same_member(r, e, member):
            raise Invalid("%s: %s %s, but the history's entry %d (%s) has %s"
                          % (where, member, shown(r, member), n, e.get("event"), shown(e, member)))
    said = r["head"]
    if not (isinstance(said, str) and re.fullmatch("[0-9a-f]{64}", said)):
        raise Invalid("%s: head %r is not 64 lowercase hex digits" % (where, said))
    computed = head(index, n)
    if computed != said:
        raise Invalid("%s: head(%d) of the history is %s, the receipt's is %s: entry %d or one "
                      "before it has changed (or was added or removed) since the witness's copy"
                      % (where, n, computed, said, n))
    return ("%s: entry %d (%s) and the history before it are unchanged (head %s)"
            % (where, n, e["event"], computed))


def der(data, what):
    """Section 12: the first DER element of data, strictly (one-byte tag, definite minimal
    length): its tag, its contents and the bytes after it."""
    if len(data) < 2:
        raise Invalid("%s is cut short" % what)
    tag, first = data[0], data[1]
    if tag & 0x1f == 0x1f:
        raise Invalid("%s has a multi-byte tag (not in a timestamp token)" % what)
    if first < 0x80:
        length, start = first, 2
    elif first == 0x80:
        raise Invalid("%s has an indefinite length (BER, not DER)" % what)
    else:
        size = first & 0x7f
        if size > 4 or len(data) < 2 + size:
            raise Invalid("%s has an impossible length" % what)
        length, start = int.from_bytes(data[2:2 + size], "big"), 2 + size
        if data[2] == 0 or length < 0x80:
            raise Invalid("%s has a length not in its shortest form (not DER)" % what)
    if len(data) < start + length:
        raise Invalid("%s is cut short: %d bytes of %d" % (what, len(data) - start, length))
    return tag, data[start:start + length], data[start + length:]


def der_only(data, tag, what):
    """The contents of data, which must be exactly one DER element with this tag."""
    found, body, rest = der(data, what)
    if found != tag:
        raise Invalid("%s has tag 0x%02x, expected 0x%02x" % (what, found, tag))
    if rest:
        raise Invalid("%d bytes follow %s" % (len(rest), what))
    return body


def der_items(body, what):
    """The elements (tag, contents) that the contents of a constructed element consist of."""
    out = []
    while body:
        tag, inner, body = der(body, "%s, element %d" % (what, len(out) + 1))
        out.append((tag, inner))
    return out


def der_item(items, i, tag, what):
    """The contents of element i of items, which must have this tag."""
    if i >= len(items):
        raise Invalid("%s is missing" % what)
    if items[i][0] != tag:
        raise Invalid("%s has tag 0x%02x, expected 0x%02x" % (what, items[i][0], tag))
    return items[i][1]


def oid(body, what):
    """An OBJECT IDENTIFIER's contents as dotted decimal."""
    if not body or body[-1] & 0x80:
        raise Invalid("%s is not an object identifier" % what)
    arcs, value, fresh = [], 0, True
    for b in body:
        if fresh and b == 0x80:
            raise Invalid("%s is not an object identifier in DER" % what)
        value, fresh = value << 7 | b & 0x7f, not b & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])


def read_token(token):
    """Section 12: the message imprint (algorithm, digest) and genTime of an RFC 3161 token,
    the ContentInfo of SignedData over a TSTInfo, read strictly from its DER."""
    ci = der_items(der_only(token, 0x30, "the ContentInfo"), "the ContentInfo")
    kind = oid(der_item(ci, 0, 0x06, "the ContentInfo's contentType"), "contentType")
    if kind != SIGNED_DATA:
        raise Invalid("its content type is %s, not SignedData (%s)" % (kind, SIGNED_DATA))
    if len(ci) != 2:
        raise Invalid("the ContentInfo has %d elements, expected 2" % len(ci))
    signed = der_only(der_item(ci, 1, 0xa0, "the ContentInfo's [0] content"), 0x30,
                      "the SignedData")
    sd = der_items(signed, "the SignedData")
    der_item(sd, 0, 0x02, "the SignedData's version")
    der_item(sd, 1, 0x31, "the SignedData's digestAlgorithms")
    encap = der_items(der_item(sd, 2, 0x30, "the SignedData's encapContentInfo"),
                      "the encapContentInfo")
    if len(sd) < 4 or sd[-1][0] != 0x31:
        raise Invalid("the SignedData ends without its signerInfos")
    kind = oid(der_item(encap, 0, 0x06, "the eContentType"), "eContentType")
    if kind != TST_INFO:
        raise Invalid("the signed content is %s, not a TSTInfo (%s)" % (kind, TST_INFO))
    if len(encap) != 2:
        raise Invalid("the encapContentInfo has %d elements, expected 2" % len(encap))
    content = der_only(der_item(encap, 1, 0xa0, "the eContent"), 0x04, "the eContent")
    tst = der_items(der_only(content, 0x30, "the TSTInfo"), "the TSTInfo")
    if der_item(tst, 0, 0x02, "the TSTInfo's version") != b"\x01":
        raise Invalid("the TSTInfo's version is not 1")
    oid(der_item(tst, 1, 0x06, "the TSTInfo's policy"), "the TSTInfo's policy")
    imprint = der_items(der_item(tst, 2, 0x30, "the messageImprint"), "the messageImprint")
    algorithm = der_items(der_item(imprint, 0, 0x30, "the imprint's hashAlgorithm"),
                          "the imprint's hashAlgorithm")
    name = oid(der_item(algorithm, 0, 0x06, "the imprint's algorithm"), "the imprint's algorithm")
    if algorithm[1:] not in ([], [(0x05, b"")]):
        raise Invalid("the imprint's hashAlgorithm has parameters other than NULL")
    digest = der_item(imprint, 1, 0x04, "the imprint's hashedMessage")
    if len(imprint) != 2:
        raise Invalid("the messageImprint has %d elements, expected 2" % len(imprint))
    der_item(tst, 3, 0x02, "the TSTInfo's serialNumber")
    text = der_item(tst, 4, 0x18, "the TSTInfo's genTime").decode("ascii", "replace")
    m = GENERALIZED_TIME.match(text)
    if not m:
        raise Invalid("genTime %r is not a DER GeneralizedTime (YYYYMMDDHHMMSS[.f]Z)" % text)
    parts = tuple(int(g) for g in m.groups()[:6])
    try:
        datetime.datetime(*parts)
    except ValueError:
        raise Invalid("genTime %s is not a date and time" % text)
    return name, digest, text, calendar.timegm(parts)


def check_signature(path, digest_hex, ca, at):
    """Section 12 with the authority's CA: `openssl ts -verify` of the token at path against
    the imprint, the CA and the token's genTime (Unix seconds). The problem, or None."""
    try:
        done = subprocess.run(["openssl", "ts", "-verify", "-token_in", "-in", path,
                               "-digest", digest_hex, "-CAfile", ca, "-attime", str(at)],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    except FileNotFoundError:
        raise Unavailable("--tsa-ca needs the openssl command (openssl ts -verify), and it is "
                          "not installed or not on PATH")
    out = done.stdout.decode("utf-8", "replace")
    if done.returncode == 0 and "Verification: OK" in out.splitlines():
        return None
    reasons = []
    for line in done.stderr.decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) >= 6 and parts[1] == "error":
            # <thread>:error:<code>:<library>:<function>:<reason>:<file>:<line>:<data>
            line = ":".join([parts[5]] + parts[8:]) if len(parts) > 8 else parts[5]
        line = line.strip()
        if line and not line.startswith("Using configuration") and line not in reasons:
            reasons.append(line)
    return ("its signature does not verify against the authority's CA %s (openssl ts -verify, "
            "exit status %d: %s)" % (ca, done.returncode, "; ".join(reasons) or out.strip()
                                     or "no message"))


def check_timestamps(directory, index, ca=None):
    """Section 12: every timestamp-<n>.tsr of the folder stamps head(n) of the history, with a
    SHA-256 imprint; given the authority's CA (PEM), its signature verifies. A line per token."""
    if ca is not None:
        data = read(os.path.dirname(ca), os.path.basename(ca))
        if data is None:
            raise Invalid("--tsa-ca %s is missing" % ca)
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise Invalid("--tsa-ca %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                          % ca)
    entries, lines = len(index["entries"]), []
    found = sorted((int(m.group(1)), f) for f in os.listdir(directory)
                   for m in [TOKEN.match(f)] if m)
    for n, name in found:
        if not 1 <= n <= entries:
            raise Invalid("%s: the history has no entry %d (it has %d entries): a timestamp of "
                          "something not published" % (name, n, entries))
        where = "%s does not stamp the history up to entry %d" % (name, n)
        token, stamped = read(directory, name), head(index, n)
        try:
            algorithm, digest, gen_time, at = read_token(token)
        except Invalid as e:
            raise Invalid("%s: it is not a timestamp token as section 12 says (%s)" % (where, e))
        if algorithm != SHA256_OID:
            raise Invalid("%s: its message imprint is by %s, not SHA-256 (%s)"
                          % (where, algorithm, SHA256_OID))
        if digest != bytes.fromhex(stamped):
            other = [m for m in range(1, entries + 1) if digest == bytes.fromhex(head(index, m))]
            raise Invalid("%s: it stamps %s, but head(%d) is %s"
                          % (where, "head(%d), the history up to entry %d" % (other[0], other[0])
                             if other else "%s, no head of this history" % digest.hex(),
                             n, stamped))
        if ca is not None:
            problem = check_signature(os.path.join(directory, name), stamped, ca, at)
            if problem:
                raise Invalid("%s: %s" % (where, problem))
        lines.append("%s: the history up to entry %d existed at %s (UTC)%s"
                     % (name, n, gen_time, ", signed by the authority" if ca is not None else
                        "; the signature was not checked (give the authority's CA: --tsa-ca)"))
    if ca is not None and not found:
        lines.append("timestamps: no timestamp-<n>.tsr in the folder (nothing for --tsa-ca to "
                     "check)")
    return lines


def main(directory, since=None, witnesses=(), tsa_ca=None):
    index = read(directory, "index.json")
    if index is None:
        verify_pair(directory)
        if tsa_ca is not None:
            raise Invalid("--since, --witness and --tsa-ca check a published history, and %s has "
                          "no index.json" % directory)
        if since is not None or witnesses:
            raise Invalid("--since and --witness check a published history, and %s has no "
                          "index.json" % directory)
    else:
        index = parse_json(index, "index.json")
        verify_history(directory, index)
        for line in check_timestamps(directory, index, tsa_ca):
            print(line)
        if since is not None:
            print(check_since(index, since))
        for path in witnesses:
            print(check_witness(index, path))


def arguments(argv):
    """DIR, --since's OLD (or None), the --witness FILEs and --tsa-ca's FILE (or None), the
    options in any order after DIR (`--since OLD` or `--since=OLD`); or a usage problem."""
    if not argv:
        return None, "no folder DIR given"
    if argv[0].startswith("-"):
        return None, "the folder DIR comes first, then the options"
    directory, since, witnesses, tsa_ca, rest = argv[0], None, [], None, list(argv[1:])
    while rest:
        option, value = rest.pop(0), None
        if option.startswith("--") and "=" in option:
            option, value = option.split("=", 1)
        if option not in OPTIONS:
            return None, ("unknown option %r" % option if option.startswith("-")
                          else "unexpected argument %r (one folder only)" % option)
        if value is None:
            if not rest:
                return None, "%s needs a value" % option
            value = rest.pop(0)
        if value == "":
            return None, "%s needs a value" % option
        if option == "--since":
            if since is not None:
                return None, "--since is given twice"
            since = value
        elif option == "--tsa-ca":
            if tsa_ca is not None:
                return None, "--tsa-ca is given twice"
            tsa_ca = value
        else:
            witnesses.append(value)
    if tsa_ca is not None and shutil.which("openssl") is None:
        return None, ("--tsa-ca needs the openssl command (openssl ts -verify), and it is not "
                      "installed or not on PATH")
    return (directory, since, witnesses, tsa_ca), None


if __name__ == "__main__":
    parsed, usage = arguments(sys.argv[1:])
    if usage:
        sys.stderr.write("verify_draw.py: %s\n%s\n" % (usage, __doc__.split("\n\n")[1]))
        sys.exit(2)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        main(*parsed)
    except Unavailable as e:
        sys.stderr.write("verify_draw.py: %s\n" % e)
        sys.exit(2)
    except Invalid as e:
        problem = str(e)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, OSError) as e:
        problem = "malformed or unreadable document (%s: %s)" % (type(e).__name__, e)
    else:
        problem = None
    print("verified" if problem is None else "NOT verified: " + problem)
    sys.exit(0 if problem is None else 1)
