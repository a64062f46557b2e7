"""The dev splits a training run is measured on while it runs (never the test splits): Nearby's
held-out docstring -> code pairs, CoSQA's real web queries over its 6,267-function pool, and
CodeSearchNet Ruby. Same protocol as `nearby eval`: each query ranks the whole pool; MRR@10.
The public sets are read in place from ../shared/eval (NEARBY_EVAL_DIR overrides it)."""
import json
import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
EVAL_DIR = Path(os.environ.get("NEARBY_EVAL_DIR", HERE.parent.parent / "shared" / "eval"))


def _rows(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def load_devsets():
    """[(name, queries, pool, answers)]: answers[i] is the pool index of query i's answer."""
    sets = []
    held = _rows(HERE.parent / "eval" / "heldout" / "dev.jsonl")
    sets.append(("heldout", [r["query"] for r in held], [r["code"] for r in held], list(range(len(held)))))
    cosqa = EVAL_DIR / "cosqa"
    if cosqa.exists():
        pool = _rows(cosqa / "codebase.jsonl")
        place = {r["code_id"]: i for i, r in enumerate(pool)}
        dev = _rows(cosqa / "dev.jsonl")
        sets.append(("cosqa", [r["query"] for r in dev], [r["code"] for r in pool], [place[r["code_id"]] for r in dev]))
    ruby = EVAL_DIR / "csn_ruby_codexglue"
    if ruby.exists():
        dev = _rows(ruby / "dev.jsonl")
        sets.append(("csn_ruby", [r["query"] for r in dev], [r["code"] for r in dev], list(range(len(dev)))))
    return sets


def mrr_at_10(query_vectors, pool_vectors, answers):
    """Mean reciprocal rank of each answer within the top 10 (ties counted against it)."""
    scores = query_vectors @ pool_vectors.T
    gold = scores[np.arange(len(answers)), answers]
    rank = (scores > gold[:, None]).sum(axis=1) + (scores == gold[:, None]).sum(axis=1)
    return float(np.where(rank <= 10, 1.0 / rank, 0.0).mean())


def evaluate(encode, sets):
    """`encode(texts, is_query)` -> unit vectors (numpy). Returns {name: MRR@10}."""
    out = {}
    for name, queries, pool, answers in sets:
        out[name] = round(mrr_at_10(encode(queries, True), encode(pool, False), np.array(answers)), 4)
    return out
