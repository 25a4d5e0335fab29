#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Renders docs/benchmarks.md from the results JSON of podfence-bench.

The measuring and the verdicts (targets met or not) are podfence-bench's, in
C; this script only picks the numbers the report shows and lays them out in
the prose of bench/benchmarks.md.j2.

usage: render_report.py RESULTS_JSON MARKDOWN_OUT [PNG]
"""
import json
import os
import sys

import jinja2


def num(v):
    """1234567 -> "1,234,567" (integers, as the tables print them)."""
    return f"{int(v):,}"


def rnd(v):
    """Rounded to the nearest integer as the C report did: (long long)(v + 0.5)."""
    return int(v + 0.5)


def cfmt(spec, *args):
    """printf formatting, with C's %+ and rounding (Python's % operator matches them)."""
    return spec % args


def lat_find(res, impl, shape=None, place=None, n=-1, bound=-1):
    for c in res.get("latency") or []:
        if c.get("impl") != impl:
            continue
        if shape is not None and c.get("shape") != shape:
            continue
        if place is not None and c.get("placement") != place:
            continue
        if n >= 0 and c.get("n") != n:
            continue
        if bound >= 0 and c.get("bound") != bound:
            continue
        return c
    return None


def target(res, tid):
    for t in res.get("targets") or []:
        if t.get("id") == tid:
            return t
    return None


def status_of(res, tid):
    t = target(res, tid)
    return t["status"] if t else "not measured"


def note_due(res, tid):
    st = status_of(res, tid)
    return st == "not met" or (st == "met" and target(res, tid)["use"] > 0.9)


def fix_verb(res, tid):
    return "What would fix it" if status_of(res, tid) == "not met" else "What would give it room"


def state(res, tid):
    if status_of(res, tid) == "not met":
        return "not met"
    return "met, at %.1f%% of the limit" % (100 * (target(res, tid) or {}).get("use", 0))


def png_relative(md_path, png_path):
    if not png_path:
        return None
    d = os.path.dirname(md_path) or "."
    if d != "." and png_path.startswith(d + "/"):
        return png_path[len(d) + 1:]
    return png_path


def bound_name(b):
    return "none (unbound pod)" if b == 0 else "1" if b == 1 else "8"


def latency_rows(res):
    rows = []
    for si, shape in enumerate(("template", "plain")):
        for pi, place in enumerate(("local", "remote")):
            label = "podfence, %s, pods on %s" % ("bindings" if si == 0 else "policies",
                                                   "this node" if pi == 0 else "other nodes")
            rows += [(label, c) for c in res.get("latency") or []
                     if c.get("impl") == "podfence" and c.get("shape") == shape
                     and c.get("placement") == place]
    rows += [("one program per policy (baseline)", c) for c in res.get("latency") or []
             if c.get("impl") == "baseline"]
    return rows


def bpf_rows(res):
    rows, last = [], None
    for cfg in res.get("configs") or []:
        n = cfg["n"]
        if n == last:
            continue
        last = n
        cells = []
        for k in range(4):
            shape = "plain" if k % 2 else "template"
            place = "local" if k < 2 else "remote"
            parts = []
            for b in ((1, 8) if k % 2 else (1, 8, 0)):
                x = lat_find(res, "podfence", shape, place, n, b)
                parts.append(num(rnd(x["bpf_ns_per_exec"])) if x else "-")
            cells.append(" / ".join(parts))
        rows.append((n, cells))
    return rows


def fixed_objects(fixed):
    """Largest first, as the C report's exchange sort left them (ties included)."""
    items = list((fixed.get("objects") or {}).items())
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if items[i][1] < items[j][1]:
                items[i], items[j] = items[j], items[i]
    return items


def sizes_text(sizes):
    return ", ".join("%s=%s" % (k, num(v)) for k, v in (sizes or {}).items())


def ceiling_rows(ceil):
    rows = []
    for c in ceil:
        maps = []
        for name, m in (c.get("usage") or {}).items():
            e, mx = m["entries"], m["max_entries"]
            if e >= 64 and mx > 1:
                maps.append("`%s` %s/%s%s" % (name, num(e), num(mx),
                                              " **(full)**" if e * 100 >= mx * 99 else ""))
        cerr = c.get("counters_error") or ""
        if c["counters"] < c["instances"]:
            cnt = "%s of %s instances have counters%s" % (
                num(c["counters"]), num(c["instances"]),
                "; podfence prints `%s`" % cerr if cerr else " (no error printed)")
        else:
            cnt = "%s of %s instances" % (num(c["counters"]), num(c["instances"]))
        rows.append({"c": c, "maps": ", ".join(maps), "counters": cnt,
                     "err": c.get("first_error") or "(none up to the search limit)"})
    return rows


def hash_bytes(fixed):
    total = 0
    for m in (fixed.get("usage") or {}).values():
        mx = m["max_entries"]
        # hash maps: bucket array = 16 bytes x max entries rounded up to a power of two
        if mx >= 1024 and m["memlock"] >= 16 * mx:
            total += m["memlock"]
    return total


def worst(items, key, pred):
    best = None
    for c in items:
        if pred(c) and (best is None or c[key] > best[key]):
            best = c
    return best


def notes(res):
    """The numbers the notes of "What dominates" need, case by case."""
    lat = res.get("latency") or []
    n = {}
    n["lat_worst"] = worst(lat, "ratio_median", lambda c: c.get("impl") == "podfence"
                           and c.get("shape") == "template" and c["n"] >= 10000)
    hi = worst(lat, "bpf_ns_per_exec", lambda c: c.get("impl") == "podfence" and c["bound"] > 0)
    u = lat_find(res, "podfence", "template", hi["placement"], hi["n"], 0) if hi else None
    u = u or lat_find(res, "podfence", "template", None, -1, 0)
    if hi and u:
        pr = res["bpf_probes"]
        empty, path = pr["probe_empty"], pr["probe_path"]
        b, unb = hi["bpf_ns_per_exec"], u["bpf_ns_per_exec"]
        rules = hi["bound"] if hi.get("shape") == "plain" else 1
        n["bpf"] = {"hi": hi, "b": b, "unb": unb, "empty": empty, "walk": path - empty,
                    "rest": b - (path - empty) - unb, "rules": rules,
                    "one": lat_find(res, "podfence", "plain", hi["placement"], hi["n"], 1)
                    if rules > 1 else None,
                    "t8": lat_find(res, "podfence", "template", hi["placement"], hi["n"], 8)
                    if rules > 1 else None}
    n["load"] = worst(res.get("control") or [], "load_median_s", lambda c: c["n"] == 10000)
    return n


def prior_art(res):
    lat = res.get("latency") or []
    bl = None
    for c in lat:
        if c.get("impl") == "baseline":
            bl = c
    pf = lat_find(res, "podfence", "template", "local", 100000, 1) or \
        lat_find(res, "podfence", "template", "local", -1, 1)
    b10 = None
    for x in (res.get("memory") or {}).get("per_binding") or []:
        if x.get("shape") == "template" and x["paths"] == 10:
            b10 = x
    return {"bl": bl, "pf": pf, "b10": rnd(b10["bytes_per_binding"]) if b10 else 0,
            "b100": lat_find(res, "baseline", None, None, 100),
            "b500": lat_find(res, "baseline", None, None, 500),
            "p1": lat_find(res, "podfence", "template", "local", 1, 1)}


def closing_ns(res):
    ns = []
    for c in res.get("latency") or []:
        if c.get("impl") != "none" and c["n"] not in ns:
            ns.append(c["n"])
    return sorted(ns)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1]) as f:
        res = json.load(f)
    here = os.path.dirname(os.path.abspath(__file__))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(here), trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["num"] = num
    env.filters["rnd"] = rnd
    env.globals.update(cfmt=cfmt, lat_find=lat_find, status_of=status_of, note_due=note_due,
                       fix_verb=fix_verb, state=state, bound_name=bound_name,
                       sizes_text=sizes_text, abs=abs, len=len)
    mem = res.get("memory") or {}
    fixed = mem.get("fixed") or {}
    out = env.get_template("benchmarks.md.j2").render(
        res=res, m=res.get("machine") or {}, p=res.get("params") or {},
        targets=res.get("targets") or [], png=png_relative(argv[2], argv[3] if len(argv) > 3
                                                            else None),
        nothing=lat_find(res, "none"), lat_rows=latency_rows(res), bpf_rows=bpf_rows(res),
        baselines=[c for c in res.get("latency") or [] if c.get("impl") == "baseline"],
        foreign=max([c.get("bpf_foreign_fraction", 0) for c in res.get("latency") or []] + [0]),
        fixed=fixed, fixed_objects=fixed_objects(fixed), per_binding=mem.get("per_binding") or [],
        configs=res.get("configs") or [], baseline_sets=res.get("baseline_sets") or [],
        control=res.get("control") or [], agent=res.get("agent") or [],
        ceiling=res.get("ceiling") or [], ceiling_rows=ceiling_rows(res.get("ceiling") or []),
        hash_bytes=hash_bytes(fixed), notes=notes(res), prior=prior_art(res),
        closing_ns=closing_ns(res))
    with open(argv[2], "w") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
