"""Cuts the held-out pairs (packages never seen in training) into the dev and test sets that
`nearby eval heldout` reads. Dev tunes ranking weights; test is only ever reported.

Some languages come from a single held-out package, so the split is by pair, not by package:
deterministic, by a hash of the query and code.
"""
import hashlib
import json
import random
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE.parent / "eval" / "heldout"
PER_LANGUAGE = {"dev": 300, "test": 800}


def main():
    licences = {p["package"]: p["licence"].split("\n")[0].strip() for p in json.loads((HERE / "data-manifest-v2.json").read_text())["packages"]}
    by_lang = defaultdict(lambda: {"dev": [], "test": []})
    for line in (HERE / "work" / "heldout.jsonl").open():
        pair = json.loads(line)
        digest = hashlib.sha256(f"{pair['query']}\0{pair['code']}".encode()).digest()
        split = "dev" if digest[0] < 86 else "test"  # about one third dev
        by_lang[pair["lang"]][split].append({**pair, "licence": licences.get(pair["pkg"], "unknown")})
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(13)
    for split, cap in PER_LANGUAGE.items():
        rows = []
        for lang in sorted(by_lang):
            pairs = by_lang[lang][split]
            rng.shuffle(pairs)
            rows.extend(pairs[:cap])
        with (OUT / f"{split}.jsonl").open("w") as f:
            for r in rows:
                f.write(json.dumps({k: r[k] for k in ("lang", "pkg", "licence", "query", "code")}) + "\n")
        counts = defaultdict(int)
        for r in rows:
            counts[r["lang"]] += 1
        print(split, dict(counts))


if __name__ == "__main__":
    main()
