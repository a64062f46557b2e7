"""Re-reads the final v3 pairs and reports matches against everything that must stay out
(decontam.py): (a) reserved projects by package name, upstream repository (from the manifest) and
vendored paths; (b) public benchmark functions, exact normalised code and MinHash near-duplicates;
(c) Nearby's real-repository evaluation projects; (d) the committed held-out sets' packages and
code. Prints a JSON report; with --record it is written into data-manifest.json too.

  python3 model/check_decontamination.py [--pairs model/work/pairs-v3.jsonl model/work/heldout-v3.jsonl] [--record]
"""
import argparse
import json
from collections import Counter
from pathlib import Path

import decontam
from decontam import normalise_code

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", nargs="*", default=[str(HERE / "work" / "pairs-v3.jsonl"), str(HERE / "work" / "heldout-v3.jsonl")])
    ap.add_argument("--manifest", default=str(HERE / "data-manifest.json"))
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    decontam.ensure_hash_seed()
    manifest = json.loads(Path(args.manifest).read_text())
    repo_of = {p["package"]: p.get("repository") for p in manifest.get("packages", []) if "skipped" not in p}
    bench_exact, bench_lsh = decontam.benchmark_index()
    own_prints, own_packages = decontam.own_eval_sets()
    own_keys = {decontam.project_key(p) for p in own_packages}
    hits = Counter()
    rows = 0
    packages = set()
    for path in args.pairs:
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                rows += 1
                pkg = r["package"]
                packages.add(pkg)
                blocked = decontam.blocked_package(pkg, repo_of.get(pkg))
                if blocked == "reserved":
                    hits["a_reserved_package_or_repo"] += 1
                elif blocked == "realrepo":
                    hits["c_realrepo_package_or_repo"] += 1
                if decontam.vendored_reserved(r["path"]):
                    hits["a_vendored_reserved_path"] += 1
                norm = normalise_code(r["code"])
                if norm in bench_exact:
                    hits["b_benchmark_exact"] += 1
                hit = bench_lsh.query(decontam.minhash(r["code"]))
                if hit is not None:
                    hits["b_benchmark_near_duplicate:" + bench_lsh.labels[hit]] += 1
                if pkg in own_packages or decontam.project_key(pkg) in own_keys:
                    hits["d_own_heldout_package"] += 1
                if norm in own_prints and path.endswith("pairs-v3.jsonl"):
                    hits["d_own_heldout_code_in_train"] += 1
    checks = ["a_reserved_package_or_repo", "a_vendored_reserved_path", "b_benchmark_exact", "c_realrepo_package_or_repo",
              "d_own_heldout_package", "d_own_heldout_code_in_train"]
    report = {
        "files": [str(Path(p).relative_to(HERE.parent)) if Path(p).is_absolute() else p for p in args.pairs],
        "rows_checked": rows,
        "packages_checked": len(packages),
        "benchmark_functions_indexed": len(bench_lsh.sigs),
        "reserved_repos": sorted(decontam.RESERVED_REPOS),
        "realrepo_repos": sorted(decontam.REALREPO_REPOS),
        "matches": {**{c: hits.get(c, 0) for c in checks},
                    "b_benchmark_near_duplicate": sum(v for k, v in hits.items() if k.startswith("b_benchmark_near"))},
        "detail": dict(hits),
    }
    report["all_zero"] = all(v == 0 for v in report["matches"].values())
    print(json.dumps(report, indent=1))
    if args.record:
        manifest["decontamination_check"] = report
        Path(args.manifest).write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
