"""Trains Nearby's fast tier: a static token-embedding model. A text's vector is the mean of its
tokens' vectors (attention-masked, special tokens included, exactly what Nearby's ONNX graph
computes) then L2-normalised. Trained with a symmetric in-batch contrastive loss (InfoNCE) on
(description, code) pairs.

What v3 adds, each switchable so its effect can be measured on the dev splits:
  --group N        batches are made of runs of N pairs from one package: the other pairs of a run
                   share its vocabulary and names, so they are hard negatives at no cost
  --hard-negatives every code also meets the code of its package that the model itself ranks
                   highest for its query (mined again after each epoch with the current weights)
  --asym           queries and code get separate token tables (the query side learns how people
                   ask, the code side how code is written); an experiment: export_static.py
                   writes the code table only, and Nearby embeds queries with it
  --tokenizer      another WordPiece vocabulary (e.g. one trained on code)
  --bigrams N      the N most frequent pairs of adjacent tokens get vectors of their own, added to
                   the text's mean like tokens: "file to string" and "string to file" differ, and
                   an identifier cut into pieces is also seen whole. A pair is found through a
                   hash of its two ids into BIGRAM_BUCKETS buckets and a table from bucket to row
                   (row 0: none, a zero vector), which the exported graph computes itself
Checkpoints after every epoch (model, optimiser, random state) and resumes from one: a run that
is stopped continues where it was. Dev-split MRR@10 is printed after every epoch.

Usage: python model/train_static.py --pairs model/work/pairs-v3.jsonl --out model/work/static-v3 \
           --epochs 6 --batch 4096 --group 64 --threads 1
"""
import argparse
import hashlib
import json
import math
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from devsets import evaluate, load_devsets

HERE = Path(__file__).resolve().parent
TOKENIZER = HERE / "tokenizer" / "tokenizer.json"
# The bigram hash, repeated in export_static.py's graph: (left * 1000003 + right * 7919) mod a
# prime, in int64 without overflow for any vocabulary under two million tokens.
BIGRAM_BUCKETS = 1048573
BIGRAM_MULTIPLIERS = (1000003, 7919)


def load_pairs(paths, kinds, cap, lang_cap=0, seed=13):
    """Rows of the given kinds, at most `cap` per package (the first ones, in file order) and about
    `lang_cap` per language (an even sample of the languages over it): query, code, package and a
    hash of the code (to tell copies apart), nothing else kept in memory."""
    keep_share = {}
    if lang_cap:
        counts = defaultdict(int)
        for path in paths:
            for line in open(path):
                counts[json.loads(line).get("language", "")] += 1
        keep_share = {lang: min(1.0, lang_cap / n) for lang, n in counts.items()}
    rng = random.Random(seed)
    rows, per_package = [], defaultdict(int)
    for path in paths:
        for line in open(path):
            r = json.loads(line)
            if kinds and r.get("kind", "doc") not in kinds:
                continue
            if keep_share and rng.random() >= keep_share.get(r.get("language", ""), 1.0):
                continue
            key = r.get("package", "")
            if cap and per_package[key] >= cap:
                continue
            per_package[key] += 1
            rows.append((r["query"], r["code"], sys.intern(key), hash(r["code"])))
    return rows


class Texts:
    """Token ids of many texts in one int32 array (text i: ids[starts[i]:starts[i+1]]): a Python
    list per text cost gigabytes on a million pairs."""

    def __init__(self, ids, starts):
        self.ids, self.starts = ids, starts

    def __len__(self):
        return len(self.starts) - 1

    def batch(self, idx):
        """The texts `idx` as one flat tensor plus start offsets, for EmbeddingBag."""
        parts = [self.ids[self.starts[i] : self.starts[i + 1]] for i in idx]
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        return torch.from_numpy(np.concatenate(parts).astype(np.int64)), torch.from_numpy(offsets)


def bigram_buckets(texts, block=200000):
    """Per block of texts: (bucket of every adjacent pair inside a text, the text it belongs to)."""
    for first in range(0, len(texts), block):
        last = min(len(texts), first + block)
        lo, hi = texts.starts[first], texts.starts[last]
        ids = texts.ids[lo:hi].astype(np.int64)
        starts = texts.starts[first : last + 1] - lo
        owner = np.repeat(np.arange(first, last), np.diff(starts))
        inside = owner[:-1] == owner[1:]
        h = (ids[:-1] * BIGRAM_MULTIPLIERS[0] + ids[1:] * BIGRAM_MULTIPLIERS[1]) % BIGRAM_BUCKETS
        yield h[inside], owner[:-1][inside], (first, last, ids, owner)


def bigram_table(texts_list, rows):
    """Bucket -> row (1..rows for the most frequent buckets, 0 for the rest)."""
    counts = np.zeros(BIGRAM_BUCKETS, dtype=np.int64)
    for texts in texts_list:
        for h, _, _ in bigram_buckets(texts):
            counts += np.bincount(h, minlength=BIGRAM_BUCKETS)
    table = np.zeros(BIGRAM_BUCKETS, dtype=np.uint16)
    top = np.argsort(-counts, kind="stable")[:rows]
    table[top[counts[top] > 0]] = np.arange(1, rows + 1, dtype=np.uint16)[: int((counts[top] > 0).sum())]
    return table


def with_bigrams(texts, table, vocab):
    """The texts with, after their tokens, the rows (vocab + row) of their pairs that have one."""
    ids, starts = [], [np.zeros(1, np.int64)]
    total = 0
    for h, pair_owner, (first, last, uni, owner) in bigram_buckets(texts):
        r = table[h].astype(np.int64)
        known = r > 0
        all_ids = np.concatenate([uni, vocab + r[known]])
        all_owner = np.concatenate([owner, pair_owner[known]])
        order = np.argsort(all_owner, kind="stable")
        ids.append(all_ids[order].astype(np.int32))
        counts = np.bincount(all_owner - first, minlength=last - first)
        starts.append(total + np.cumsum(counts))
        total += int(counts.sum())
    return Texts(np.concatenate(ids), np.concatenate(starts))


def encode(tok, texts, max_len, cache=None):
    """Tokenised texts, read from `cache` (.npz) when it holds them, written there otherwise."""
    if cache is not None and cache.exists():
        z = np.load(cache)
        return Texts(z["ids"], z["starts"])
    tok.enable_truncation(max_len)
    # The shipped tokenizer.json pads batches (for transformers.js); padding is no token of the text.
    tok.no_padding()
    ids, starts = [], [0]
    for i in range(0, len(texts), 20000):
        for e in tok.encode_batch(texts[i : i + 20000]):
            ids.append(np.asarray(e.ids, dtype=np.int32))
            starts.append(starts[-1] + len(e.ids))
    out = Texts(np.concatenate(ids) if ids else np.zeros(0, np.int32), np.asarray(starts, dtype=np.int64))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, ids=out.ids, starts=out.starts)
    return out


class StaticEncoder(torch.nn.Module):
    """Mean of token vectors (no padding is ever materialised), then L2 normalisation; with
    `asym`, queries read their own table."""

    def __init__(self, vocab, dim, asym=False, init=None):
        super().__init__()
        self.emb = torch.nn.EmbeddingBag(vocab, dim, mode="mean")
        if init is not None:
            self.emb.weight.data.copy_(torch.from_numpy(init))
        else:
            torch.nn.init.normal_(self.emb.weight, std=0.1)
        self.query_emb = None
        if asym:
            self.query_emb = torch.nn.EmbeddingBag(vocab, dim, mode="mean")
            self.query_emb.weight.data.copy_(self.emb.weight.data)

    def forward(self, flat, offsets, is_query=False):
        table = self.query_emb if (is_query and self.query_emb is not None) else self.emb
        return F.normalize(table(flat, offsets), dim=-1)


def batches(rows, batch, group, rng):
    """Index batches: shuffled, or made of shuffled runs of `group` pairs from one package."""
    order = list(range(len(rows)))
    if group <= 1:
        rng.shuffle(order)
        return [order[i : i + batch] for i in range(0, len(order), batch)]
    by_package = defaultdict(list)
    for i, r in enumerate(rows):
        by_package[r[2]].append(i)
    runs = []
    for idx in by_package.values():
        rng.shuffle(idx)
        runs += [idx[i : i + group] for i in range(0, len(idx), group)]
    rng.shuffle(runs)
    flat = [i for run in runs for i in run]
    return [flat[i : i + batch] for i in range(0, len(flat), batch)]


@torch.no_grad()
def embed_all(model, texts, is_query, idx=None, chunk=8192):
    idx = list(range(len(texts))) if idx is None else idx
    out = []
    for i in range(0, len(idx), chunk):
        out.append(model(*texts.batch(idx[i : i + chunk]), is_query=is_query))
    return torch.cat(out) if out else torch.zeros(0)


@torch.no_grad()
def mine_hard_negatives(model, rows, q_ids, c_ids):
    """For each pair, the code of its package the current model ranks highest for its query,
    other than its own (and not an exact copy of it); -1 when the package has one pair."""
    negatives = np.full(len(rows), -1, dtype=np.int64)
    by_package = defaultdict(list)
    for i, r in enumerate(rows):
        by_package[r[2]].append(i)
    for idx in by_package.values():
        if len(idx) < 2:
            continue
        for start in range(0, len(idx), 4096):
            part = idx[start : start + 4096]
            q = embed_all(model, q_ids, True, part)
            c = embed_all(model, c_ids, False, part)
            s = q @ c.T
            s.fill_diagonal_(-2)
            codes = [rows[i][3] for i in part]
            best = s.topk(min(3, len(part) - 1), dim=1).indices.numpy()
            for a, cand in enumerate(best):
                for b in cand:
                    if codes[b] != codes[a]:
                        negatives[part[a]] = part[b]
                        break
    return negatives


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", nargs="+", default=[str(HERE / "work" / "pairs-v3.jsonl")])
    ap.add_argument("--kinds", nargs="*", default=None, help="pair kinds to train on (default: all)")
    ap.add_argument("--cap", type=int, default=0, help="at most this many pairs per package (0: all)")
    ap.add_argument("--lang-cap", type=int, default=0, help="about this many pairs per language at most, sampled evenly (0: all)")
    ap.add_argument("--tokenizer", default=str(TOKENIZER))
    ap.add_argument("--out", default=str(HERE / "work" / "static-v3"))
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--group", type=int, default=1)
    ap.add_argument("--hard-negatives", action="store_true")
    ap.add_argument("--asym", action="store_true")
    ap.add_argument("--bigrams", type=int, default=0, help="vectors for this many frequent token pairs (0: none; at most 65,535)")
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--scale", type=float, default=20.0, help="inverse temperature of the contrastive loss")
    ap.add_argument("--query-len", type=int, default=64)
    ap.add_argument("--code-len", type=int, default=256)
    ap.add_argument("--init", default=None, help="start from these token vectors (.npy)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N pairs (quick trials)")
    args = ap.parse_args()
    t0 = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    tok = Tokenizer.from_file(args.tokenizer)
    rows = load_pairs(args.pairs, set(args.kinds or []), args.cap, args.lang_cap, args.seed)
    if args.limit:
        rows = random.Random(args.seed).sample(rows, min(args.limit, len(rows)))
    # Tokenised once per data, selection and tokenizer: later runs read the ids back.
    key = hashlib.sha256(json.dumps([[str(Path(p).resolve()), Path(p).stat().st_mtime] for p in args.pairs] + [sorted(args.kinds or []), args.cap, args.lang_cap, args.limit, args.seed, args.tokenizer, args.query_len, args.code_len]).encode()).hexdigest()[:16]
    q_ids = encode(tok, [r[0] for r in rows], args.query_len, HERE / "work" / "token-cache" / f"{key}-q.npz")
    c_ids = encode(tok, [r[1] for r in rows], args.code_len, HERE / "work" / "token-cache" / f"{key}-c.npz")
    rows = [(None, None, r[2], r[3]) for r in rows]
    print(f"{len(rows)} pairs tokenised ({time.time() - t0:.0f} s)", flush=True)
    vocab = tok.get_vocab_size()
    table = None
    if args.bigrams:
        table = bigram_table([q_ids, c_ids], args.bigrams)
        q_ids, c_ids = with_bigrams(q_ids, table, vocab), with_bigrams(c_ids, table, vocab)
        np.save(out / "bigram_rows.npy", table)
        print(f"{args.bigrams} bigrams added ({time.time() - t0:.0f} s)", flush=True)
    devsets = load_devsets()
    dev_ids = {}

    def encode_dev(texts, is_query):
        key = (id(texts), is_query)
        if key not in dev_ids:
            dev_ids[key] = encode(tok, texts, args.query_len if is_query else args.code_len)
            if table is not None:
                dev_ids[key] = with_bigrams(dev_ids[key], table, vocab)
        return embed_all(model, dev_ids[key], is_query).numpy()

    init = np.load(args.init) if args.init else None
    model = StaticEncoder(vocab + (args.bigrams + 1 if args.bigrams else 0), args.dim, args.asym, init)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    rng = random.Random(args.seed)
    steps_per_epoch = len(batches(rows, args.batch, args.group, random.Random(0)))
    total = steps_per_epoch * args.epochs
    warmup = max(1, total // 20)
    # Linear warm-up over the first 5% of the steps, then a cosine decay to zero.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total))))
    start_epoch, history = 0, []
    negatives = None
    ckpt = out / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        rng.setstate(state["rng"])
        start_epoch, history, negatives = state["epoch"], state["history"], state.get("negatives")
        print(f"resumed after epoch {start_epoch}", flush=True)

    for epoch in range(start_epoch, args.epochs):
        if args.hard_negatives and epoch > 0 and negatives is None:
            negatives = mine_hard_negatives(model, rows, q_ids, c_ids)
            print(f"hard negatives mined for {(negatives >= 0).sum()} pairs ({time.time() - t0:.0f} s)", flush=True)
        running = 0.0
        plan = batches(rows, args.batch, args.group, rng)
        for idx in plan:
            q = model(*q_ids.batch(idx), is_query=True)
            codes = list(idx)
            if negatives is not None:
                codes += [int(n) for n in negatives[idx] if n >= 0]
            c = model(*c_ids.batch(codes))
            logits = args.scale * q @ c.T
            labels = torch.arange(len(idx))
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits[:, : len(idx)].T, labels)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
        dev = evaluate(encode_dev, devsets)
        history.append({"epoch": epoch + 1, "loss": round(running / len(plan), 4), "dev_mrr@10": dev, "seconds": round(time.time() - t0)})
        print(json.dumps(history[-1]), flush=True)
        if args.hard_negatives:
            negatives = mine_hard_negatives(model, rows, q_ids, c_ids)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "rng": rng.getstate(), "epoch": epoch + 1, "history": history, "negatives": negatives}, ckpt)

    weights = model.emb.weight.detach().numpy().astype(np.float32)
    if args.bigrams:
        weights[vocab] = 0  # the row of pairs without one of their own adds nothing
    np.save(out / "embeddings.npy", weights)
    if model.query_emb is not None:
        np.save(out / "query_embeddings.npy", model.query_emb.weight.detach().numpy().astype(np.float32))
    (out / "train-args.json").write_text(json.dumps({**vars(args), "pairs_used": len(rows), "history": history}, indent=1))
    print(f"saved {out} ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
