"""Trains Nearby's fast tier: a static token-embedding model. A text's vector is the mean of its
tokens' vectors (attention-masked, special tokens included, exactly what transformers.js's mean
pooling computes over the ONNX output) then L2-normalised. Trained with a symmetric in-batch
contrastive loss (InfoNCE) on (description, code) pairs from mine.py.

Usage: python model/train_static.py --out model/work/static --dim 256 --epochs 12 --seed 13
"""
import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
TOKENIZER = HERE / "tokenizer" / "tokenizer.json"


def load_pairs(path, limit=None):
    rows = [json.loads(l) for l in open(path)]
    return rows[:limit] if limit else rows


def encode(tok, texts, max_len):
    tok.enable_truncation(max_len)
    ids = [e.ids for e in tok.encode_batch(texts)]
    return ids


def seeded_pairs(args, query_len, code_len):
    """What both trainers start with: every random generator seeded, the thread count set, and
    the pairs (args.pairs) loaded and tokenised."""
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tok = Tokenizer.from_file(str(TOKENIZER))
    rows = load_pairs(args.pairs)
    t0 = time.time()
    q_ids = encode(tok, [r["query"] for r in rows], query_len)
    c_ids = encode(tok, [r["code"] for r in rows], code_len)
    print(f"{len(rows)} pairs tokenised in {time.time() - t0:.0f} s", flush=True)
    return tok, rows, q_ids, c_ids


def flatten(batch_ids):
    """Token ids of a batch as one flat tensor plus start offsets, for EmbeddingBag."""
    offsets = torch.tensor([0] + [len(x) for x in batch_ids[:-1]]).cumsum(0)
    return torch.tensor([t for x in batch_ids for t in x]), offsets


class StaticEncoder(torch.nn.Module):
    """Mean of token vectors (no padding is ever materialised), then L2 normalisation."""

    def __init__(self, vocab, dim):
        super().__init__()
        self.emb = torch.nn.EmbeddingBag(vocab, dim, mode="mean")
        torch.nn.init.normal_(self.emb.weight, std=0.1)

    def forward(self, flat, offsets):
        return F.normalize(self.emb(flat, offsets), dim=-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=str(HERE / "work" / "pairs.jsonl"))
    ap.add_argument("--out", default=str(HERE / "work" / "static"))
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--scale", type=float, default=20.0, help="inverse temperature of the contrastive loss")
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    t0 = time.time()
    tok, rows, q_ids, c_ids = seeded_pairs(args, args.max_len, args.max_len)

    model = StaticEncoder(tok.get_vocab_size(), args.dim)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(rows) / args.batch)
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.05)
    order = list(range(len(rows)))
    step = 0
    for epoch in range(args.epochs):
        random.shuffle(order)
        running = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch : (b + 1) * args.batch]
            q = model(*flatten([q_ids[i] for i in idx]))
            c = model(*flatten([c_ids[i] for i in idx]))
            logits = args.scale * q @ c.T
            labels = torch.arange(len(idx))
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
            step += 1
        print(f"epoch {epoch + 1}/{args.epochs} loss {running / steps_per_epoch:.4f} ({time.time() - t0:.0f} s)", flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "embeddings.npy", model.emb.weight.detach().numpy().astype(np.float32))
    (out / "train-args.json").write_text(json.dumps(vars(args), indent=1))
    print(f"saved {out}", flush=True)


if __name__ == "__main__":
    main()
