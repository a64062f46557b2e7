"""Trains Nearby's contextual tier: a small BERT encoder (2 layers, hidden 256, 4 heads,
intermediate 1024, the same WordPiece vocabulary, 256 positions), mean-pooled over the attention
mask and L2-normalised, with the symmetric in-batch contrastive loss (InfoNCE) of the static tier.

Training a transformer from scratch on one CPU thread is slow, so this trainer is built to make
the most of a fixed budget:
  - the word embeddings start from a trained static tier's 256-d vectors (--init), so step 0 is
    already a bag-of-words retriever and the layers learn what order and context add;
  - texts are cut short (query 32, code 128 tokens by default) and batches are drawn from pairs
    of similar code length, so little work is spent on padding;
  - it stops after --minutes of its own CPU time (so pausing it with SIGSTOP while something else
    is measured costs nothing), saving a checkpoint every --save-every minutes and at the end,
    with the learning-rate schedule laid over that budget rather than over epochs.

--init takes a static tier's embeddings.npy, or a shipped static tier's ONNX file (its int8
token vectors times their scales).

Usage (exact command in model/README.md):
  python model/train_encoder.py --init models/nearby-code-small/onnx/model_quantized.onnx \
      --minutes 100 --threads 1 --seed 13 --out model/work/encoder
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
from transformers import BertConfig, BertModel

from train_static import seeded_pairs

HERE = Path(__file__).resolve().parent


def bert_config(args, vocab):
    return BertConfig(
        vocab_size=vocab,
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=args.intermediate,
        max_position_embeddings=args.max_positions,
        type_vocab_size=2,
        hidden_dropout_prob=args.dropout,
        attention_probs_dropout_prob=args.dropout,
    )


class Encoder(torch.nn.Module):
    """BertModel + attention-masked mean pooling + L2 normalisation: what the exported graph does."""

    def __init__(self, config):
        super().__init__()
        self.bert = BertModel(config, add_pooling_layer=False)

    def forward(self, ids, mask):
        hidden = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        return F.normalize(pooled, dim=-1)


def pad(batch_ids):
    width = max(len(x) for x in batch_ids)
    ids = torch.zeros(len(batch_ids), width, dtype=torch.long)
    mask = torch.zeros(len(batch_ids), width, dtype=torch.long)
    for i, x in enumerate(batch_ids):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    return ids, mask


def batches(order, code_len, batch, rng):
    """Batches of pairs with similar code length (shuffled within 50-batch windows, then shuffled)."""
    out = []
    window = batch * 50
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda i: code_len[i])
        out.extend(chunk[b : b + batch] for b in range(0, len(chunk), batch))
    out = [b for b in out if len(b) == batch]
    rng.shuffle(out)
    return out


def static_vectors(path):
    """A static tier's token vectors: from embeddings.npy, or dequantized from its ONNX graph."""
    if str(path).endswith(".onnx"):
        import onnx
        from onnx import numpy_helper

        init = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
        return init["token_vectors_int8"].astype(np.float32) * init["token_scales"].astype(np.float32)
    return np.load(path).astype(np.float32)


def warm_start(model, path):
    """Copies the static tier's token vectors into the word embeddings, rescaled to BERT's init
    scale (the embedding LayerNorm removes the overall scale anyway)."""
    e = torch.from_numpy(static_vectors(path))
    w = model.bert.embeddings.word_embeddings.weight
    assert e.shape == w.shape, f"{path}: {tuple(e.shape)} != {tuple(w.shape)}"
    with torch.no_grad():
        w.copy_(e * (0.02 / e.std().item()) * 10)
        # Start near "no position signal": positions learn what order adds on top of the words.
        model.bert.embeddings.position_embeddings.weight.mul_(0.1)


def save(model, out, args, step, seen, elapsed, note):
    out.mkdir(parents=True, exist_ok=True)
    model.bert.save_pretrained(out / "hf")
    (out / "train-state.json").write_text(json.dumps({"args": vars(args), "step": step, "pairs_seen": seen, "minutes": round(elapsed / 60, 1), "note": note}, indent=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=str(HERE / "work" / "pairs.jsonl"))
    ap.add_argument("--init", help="embeddings.npy or model_quantized.onnx of a trained static tier (same vocabulary, 256-d)")
    ap.add_argument("--out", default=str(HERE / "work" / "encoder"))
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--max-positions", type=int, default=256)
    ap.add_argument("--query-len", type=int, default=32)
    ap.add_argument("--code-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--emb-lr", type=float, default=None, help="learning rate of the word embeddings (default: --lr)")
    ap.add_argument("--warmup", type=float, default=0.03, help="fraction of the budget spent warming up")
    ap.add_argument("--scale", type=float, default=20.0, help="inverse temperature of the contrastive loss")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--minutes", type=float, default=100.0, help="training budget in CPU minutes of this process")
    ap.add_argument("--save-every", type=float, default=15.0, help="minutes between checkpoints")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume", help="a checkpoint directory (--out of an interrupted run with the same arguments): continue its schedule from its weights")
    args = ap.parse_args()
    tok, rows, q_ids, c_ids = seeded_pairs(args, args.query_len, args.code_len)
    code_len = [len(x) for x in c_ids]

    model = Encoder(bert_config(args, tok.get_vocab_size()))
    resumed = {"step": 0, "minutes": 0.0}
    if args.resume:
        resumed = json.loads((Path(args.resume) / "train-state.json").read_text())
        model.bert = BertModel.from_pretrained(Path(args.resume) / "hf", add_pooling_layer=False)
        print(f"resuming {args.resume} at step {resumed['step']}, {resumed['minutes']} CPU min", flush=True)
    elif args.init:
        warm_start(model, args.init)
    emb = [model.bert.embeddings.word_embeddings.weight]
    rest = [p for n, p in model.named_parameters() if p is not emb[0]]
    opt = torch.optim.AdamW([{"params": emb, "lr": args.emb_lr or args.lr, "weight_decay": 0.0}, {"params": rest, "lr": args.lr, "weight_decay": 0.01}])
    base_lrs = [g["lr"] for g in opt.param_groups]
    print(f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M", flush=True)

    budget = args.minutes * 60
    rng = random.Random(args.seed)
    order = list(range(len(rows)))
    clock = time.process_time
    # A resumed run counts the checkpoint's minutes as spent and replays the same shuffles and
    # batches without training on them, so it sees the pairs the interrupted run had not reached.
    # AdamW's moments are not checkpointed: they restart, at the low late-schedule learning rate.
    start = clock() - resumed["minutes"] * 60
    last_save = clock()
    step = seen = epoch = 0
    running, running_n = 0.0, 0
    labels = torch.arange(args.batch)
    done = False
    while not done:
        epoch += 1
        rng.shuffle(order)
        for idx in batches(order, code_len, args.batch, rng):
            if step < resumed["step"]:
                step += 1
                seen += len(idx)
                continue
            elapsed = clock() - start
            if elapsed >= budget:
                done = True
                break
            # Schedule over the time budget: linear warm-up, then cosine decay to 5%.
            frac = elapsed / budget
            factor = frac / args.warmup if frac < args.warmup else 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (frac - args.warmup) / (1 - args.warmup)))
            for g, lr in zip(opt.param_groups, base_lrs):
                g["lr"] = lr * factor
            model.train()
            q = model(*pad([q_ids[i] for i in idx]))
            c = model(*pad([c_ids[i] for i in idx]))
            logits = args.scale * q @ c.T
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            seen += len(idx)
            running += loss.item()
            running_n += 1
            if step % 50 == 0:
                print(f"step {step} epoch {epoch} pairs {seen} loss {running / running_n:.4f} lr {factor:.3f} ({(clock() - start) / 60:.1f} CPU min, {seen / (clock() - start):.1f} pairs/s)", flush=True)
                running, running_n = 0.0, 0
            if clock() - last_save >= args.save_every * 60:
                save(model, Path(args.out), args, step, seen, clock() - start, "checkpoint")
                last_save = clock()
                print(f"checkpoint at step {step}", flush=True)
    save(model, Path(args.out), args, step, seen, clock() - start, "final")
    print(f"saved {args.out} after {step} steps, {seen} pairs, {(clock() - start) / 60:.1f} CPU min", flush=True)


if __name__ == "__main__":
    main()
