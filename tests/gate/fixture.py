#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Derive gate test inputs from a real epbatch-summary/1 file, and check outputs.

  fixture.py split IN VARIANT K OUT_A OUT_B
      two summaries holding VARIANT only, A from repeats 0..K-1 and B from
      repeats K..2K-1 (an A/A pair: same code, different repeats)
  fixture.py head IN K OUT
      IN with only the first K repeats of every variant (what `run --repeat K`
      would have written)
  fixture.py scale IN VARIANT METRIC FACTOR OUT
      IN with every sample (and the median) of VARIANT.METRIC multiplied by
      FACTOR: a synthetic regression over real repeats
  fixture.py aa IN VARIANT K OUTDIR [RANDOM_PAIRS]
      A/A pairs of K repeats each from VARIANT's repeats, as OUTDIR/NNN-a.json
      and OUTDIR/NNN-b.json: first the disjoint consecutive blocks (repeats
      0..K-1 vs K..2K-1, then 2K..3K-1 vs 3K..4K-1, ...: independent pairs,
      separated in time as a baseline and a later candidate are), then
      RANDOM_PAIRS pairs of 2K distinct repeats drawn with a fixed seed
  fixture.py drop IN VARIANT OUT [REASON]
      IN without VARIANT; with REASON, listed under "skipped" as run does
  fixture.py merge OUT IN...
      one summary holding every repeat of every IN, variant by variant (the
      first IN's other keys are kept; "merged_from" lists the inputs)
  fixture.py nsamples IN VARIANT METRIC
      how many repeats IN holds for VARIANT.METRIC
  fixture.py junit FILE METRIC...
      FILE parses as JUnit XML; its failures are exactly the METRICs given
  fixture.py markdown FILE ROWS
      FILE has a Markdown table of ROWS rows, every row with the header's columns
"""
import json
import statistics
import sys
import xml.etree.ElementTree as ET


def load(path):
    with open(path) as f:
        return json.load(f)


def save(doc, path):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)


def with_variant(doc, variant, body):
    out = {k: v for k, v in doc.items() if k not in ("variants", "skipped")}
    out["variants"] = {variant: body}
    return out


def subset(vbody, lo, hi):
    """The variant's metrics restricted to repeats lo..hi-1."""
    return pick(vbody, range(lo, hi))


def pick(vbody, idx):
    """The variant's metrics restricted to the repeats whose indexes are in idx."""
    idx = list(idx)
    body = {}
    for key, val in vbody.items():
        if isinstance(val, dict) and isinstance(val.get("samples"), list):
            s = [val["samples"][i] for i in idx]
            body[key] = {"median": statistics.median(s), "samples": s}
        elif key == "runs":
            body[key] = len(idx)
        else:
            body[key] = val
    return body


def main(argv):
    cmd = argv[1]
    if cmd == "split":
        doc, variant, k = load(argv[2]), argv[3], int(argv[4])
        vb = doc["variants"][variant]
        n = len(vb["rps"]["samples"])
        if 2 * k > n:
            sys.exit(f"split: {variant} has {n} repeats, {2 * k} needed")
        save(with_variant(doc, variant, subset(vb, 0, k)), argv[5])
        save(with_variant(doc, variant, subset(vb, k, 2 * k)), argv[6])
    elif cmd == "aa":
        import os
        import random
        doc, variant, k, outdir = load(argv[2]), argv[3], int(argv[4]), argv[5]
        nrandom = int(argv[6]) if len(argv) > 6 else 0
        vb = doc["variants"][variant]
        n = len(vb["rps"]["samples"])
        pairs = [(range(i, i + k), range(i + k, i + 2 * k)) for i in range(0, n - 2 * k + 1, 2 * k)]
        rng = random.Random(20261127)
        for _ in range(nrandom):
            drawn = rng.sample(range(n), 2 * k)
            pairs.append((drawn[:k], drawn[k:]))
        os.makedirs(outdir, exist_ok=True)
        for j, (a, b) in enumerate(pairs):
            kind = "block" if j < len(pairs) - nrandom else "random"
            save(with_variant(doc, variant, pick(vb, a)), f"{outdir}/{j:03d}-{kind}-a.json")
            save(with_variant(doc, variant, pick(vb, b)), f"{outdir}/{j:03d}-{kind}-b.json")
    elif cmd == "head":
        doc, k = load(argv[2]), int(argv[3])
        doc["variants"] = {n: subset(b, 0, k) for n, b in doc["variants"].items()}
        save(doc, argv[4])
    elif cmd == "scale":
        doc, variant, metric, factor = load(argv[2]), argv[3], argv[4], float(argv[5])
        m = doc["variants"][variant][metric]
        m["samples"] = [x * factor for x in m["samples"]]
        m["median"] = statistics.median(m["samples"])
        m.pop("ci95", None)
        save(doc, argv[6])
    elif cmd == "drop":
        doc = load(argv[2])
        del doc["variants"][argv[3]]
        if len(argv) > 5:
            doc.setdefault("skipped", {})[argv[3]] = argv[5]
        save(doc, argv[4])
    elif cmd == "merge":
        out, ins = argv[2], argv[3:]
        docs = [load(p) for p in ins]
        merged = {k: v for k, v in docs[0].items() if k not in ("variants", "failures", "skipped")}
        merged["merged_from"] = ins
        merged["variants"] = {}
        for d in docs:
            for name, body in d["variants"].items():
                mv = merged["variants"].setdefault(name, {"runs": 0})
                mv["runs"] += body.get("runs", 0)
                for key, val in body.items():
                    if isinstance(val, dict) and isinstance(val.get("samples"), list):
                        mv.setdefault(key, {"samples": []})["samples"] += val["samples"]
        for mv in merged["variants"].values():
            for val in mv.values():
                if isinstance(val, dict):
                    val["median"] = statistics.median(val["samples"])
        save(merged, out)
    elif cmd == "nsamples":
        doc = load(argv[2])
        print(len(doc["variants"][argv[3]][argv[4]]["samples"]))
    elif cmd == "junit":
        root = ET.parse(argv[2]).getroot()
        assert root.tag == "testsuites", root.tag
        cases = root.findall("./testsuite/testcase")
        assert cases, "no testcase"
        failed = sorted(c.get("name") for c in cases if c.find("failure") is not None)
        assert failed == sorted(argv[3:]), f"failures {failed}, expected {sorted(argv[3:])}"
        assert int(root.get("failures")) == len(failed)
        assert int(root.get("tests")) == len(cases)
        for c in cases:
            assert c.get("name") and c.get("classname"), "testcase without a name"
    elif cmd == "markdown":
        rows = [l for l in open(argv[2]).read().splitlines() if l.startswith("|")]
        want = int(argv[3])
        assert len(rows) == want + 2, f"{len(rows) - 2} table rows, expected {want}"
        cols = rows[0].count("|")
        assert all(r.count("|") == cols for r in rows), "ragged table"
        assert set(rows[1].replace("|", "").replace("-", "").replace(":", "")) <= {" ", ""}
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
