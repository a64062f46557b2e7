"""Measures retrieval quality on held-out packages (never trained on): for each language, every
held-out description is a query and the pool is every held-out code entry of that language
(sampled to --pool). Reports MRR@10 and recall@1/10 for BM25, vector and hybrid (reciprocal rank
fusion), computing vectors through the exported ONNX model with onnxruntime, the same graph the
product runs.

Usage: python model/evaluate.py --model models/nearby-code-small [--pool 2000] --out model/results.json
"""
import argparse
import json
import random
import re
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent


def code_terms(text):
    """BM25 terms: identifiers split at camelCase, snake_case and digits, plus the whole token."""
    out = []
    for tok in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text):
        parts = [p.lower() for p in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", tok)]
        out.append(tok.lower())
        if len(parts) > 1:
            out.extend(parts)
    return out


class Bm25:
    def __init__(self, docs, k1=1.2, b=0.75):
        self.k1, self.b = k1, b
        self.tf = []
        df = defaultdict(int)
        for d in docs:
            counts = defaultdict(int)
            for t in code_terms(d):
                counts[t] += 1
            self.tf.append(counts)
            for t in counts:
                df[t] += 1
        n = len(docs)
        self.idf = {t: np.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.lens = np.array([sum(c.values()) for c in self.tf], dtype=np.float32)
        self.avg = float(self.lens.mean()) if n else 1.0

    def scores(self, query):
        s = np.zeros(len(self.tf), dtype=np.float32)
        for t in set(code_terms(query)):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for i, c in enumerate(self.tf):
                f = c.get(t)
                if f:
                    s[i] += idf * f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * self.lens[i] / self.avg))
        return s


class OnnxEncoder:
    def __init__(self, model_dir, threads=2):
        meta = json.loads((Path(model_dir) / "nearby.json").read_text())
        self.max_tokens = meta["maxTokens"]
        self.tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        self.tok.enable_truncation(self.max_tokens)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(Path(model_dir) / "onnx" / "model_quantized.onnx"), opts)
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts, batch=64):
        out = []
        for i in range(0, len(texts), batch):
            enc = self.tok.encode_batch(texts[i : i + batch])
            n = max(len(e.ids) for e in enc)
            ids = np.zeros((len(enc), n), dtype=np.int64)
            mask = np.zeros((len(enc), n), dtype=np.int64)
            for j, e in enumerate(enc):
                ids[j, : len(e.ids)] = e.ids
                mask[j, : len(e.ids)] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(["last_hidden_state"], {k: v for k, v in feed.items() if k in self.inputs})[0]
            m = mask[..., None].astype(np.float32)
            v = (hidden * m).sum(1) / m.sum(1)
            out.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        return np.concatenate(out)


def ranks_from_scores(scores, gold):
    order = np.argsort(-scores, kind="stable")
    return int(np.where(order == gold)[0][0]) + 1


def metrics(ranks):
    r = np.array(ranks)
    return {"mrr@10": float(np.mean(np.where(r <= 10, 1.0 / r, 0.0))), "recall@1": float(np.mean(r <= 1)), "recall@10": float(np.mean(r <= 10)), "n": len(ranks)}


def rrf(score_lists, k=60):
    fused = np.zeros_like(score_lists[0])
    for s in score_lists:
        order = np.argsort(-s, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(1, len(s) + 1)
        fused += 1.0 / (k + rank)
    return fused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--heldout", default=str(HERE / "work" / "heldout.jsonl"))
    ap.add_argument("--pool", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default=str(HERE / "results.json"))
    args = ap.parse_args()
    rows = [json.loads(l) for l in open(args.heldout)]
    by_lang = defaultdict(list)
    for r in rows:
        by_lang[r["lang"]].append(r)
    results = {"heldout_packages": sorted({r["pkg"] for r in rows}), "pool": args.pool, "languages": {}}
    encoders = {m: OnnxEncoder(m) for m in args.model}
    for lang, items in sorted(by_lang.items()):
        if len(items) < 50:
            continue
        random.Random(args.seed).shuffle(items)
        items = items[: args.pool]
        codes = [r["code"] for r in items]
        queries = [r["query"] for r in items]
        bm25 = Bm25(codes)
        bm25_scores = [bm25.scores(q) for q in queries]
        lang_result = {"n": len(items), "bm25": metrics([ranks_from_scores(s, i) for i, s in enumerate(bm25_scores)])}
        for name, enc in encoders.items():
            t = time.time()
            cv = enc.encode(codes)
            qv = enc.encode(queries)
            sims = qv @ cv.T
            label = Path(name).name
            lang_result[f"vector:{label}"] = metrics([ranks_from_scores(sims[i], i) for i in range(len(items))])
            lang_result[f"hybrid:{label}"] = metrics([ranks_from_scores(rrf([sims[i], bm25_scores[i]]), i) for i in range(len(items))])
            lang_result[f"seconds:{label}"] = round(time.time() - t, 1)
        results["languages"][lang] = lang_result
        print(lang, json.dumps({k: (v["mrr@10"] if isinstance(v, dict) else v) for k, v in lang_result.items()}), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
