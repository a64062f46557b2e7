"""Exports the static tier in the layout transformers.js loads offline:
  models/<id>/config.json, tokenizer files, nearby.json, onnx/model_quantized.onnx, SHA256SUMS.
The ONNX graph maps input_ids to last_hidden_state = the tokens' vectors; transformers.js (and
Nearby's embedder) then mean-pool over the attention mask and normalise. Vectors are stored as
int8 with one scale per token (per-row): a single scale for the whole matrix would crush the
small vectors of frequent tokens, whose norms act as their weights in the mean.

Usage: python model/export_static.py --weights model/work/static/embeddings.npy [more.npy] --out models/nearby-code-small
"""
import argparse
import hashlib
import json
import random
import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from train_static import BIGRAM_BUCKETS, BIGRAM_MULTIPLIERS

HERE = Path(__file__).resolve().parent
# onnxruntime-node 1.30 reads IR versions up to 13; the onnx package writes newer by default.
IR_VERSION = 10


def quantize_rows(e):
    scale = np.abs(e).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.round(e / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def bigram_nodes(vocab, p):
    """input_ids, attention_mask → {p}pair_ids, {p}pair_mask: the rows of each text's adjacent
    pairs (train_static.py's hash, then its bucket → row table; row 0 is the zero vector of pairs
    without one), masked where either token is padding."""
    nodes = [
        helper.make_node("Slice", ["input_ids", "zero", "minus_one", "axis_1"], [p + "left"]),
        helper.make_node("Slice", ["input_ids", "axis_1", "end", "axis_1"], [p + "right"]),
        helper.make_node("Mul", [p + "left", "mult_left"], [p + "left_h"]),
        helper.make_node("Mul", [p + "right", "mult_right"], [p + "right_h"]),
        helper.make_node("Add", [p + "left_h", p + "right_h"], [p + "pair_key"]),
        helper.make_node("Mod", [p + "pair_key", "buckets"], [p + "bucket"]),
        helper.make_node("Gather", [p + "bigram_rows", p + "bucket"], [p + "pair_row_u16"], axis=0),
        helper.make_node("Cast", [p + "pair_row_u16"], [p + "pair_row"], to=TensorProto.INT64),
        helper.make_node("Add", [p + "pair_row", "vocab"], [p + "pair_ids"]),
        helper.make_node("Slice", ["attention_mask", "zero", "minus_one", "axis_1"], [p + "mask_left"]),
        helper.make_node("Slice", ["attention_mask", "axis_1", "end", "axis_1"], [p + "mask_right"]),
        helper.make_node("Mul", [p + "mask_left", p + "mask_right"], [p + "pair_mask"]),
    ]
    init = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus_one"),
        numpy_helper.from_array(np.array([np.iinfo(np.int64).max], dtype=np.int64), "end"),
        numpy_helper.from_array(np.array(BIGRAM_MULTIPLIERS[0], dtype=np.int64), "mult_left"),
        numpy_helper.from_array(np.array(BIGRAM_MULTIPLIERS[1], dtype=np.int64), "mult_right"),
        numpy_helper.from_array(np.array(BIGRAM_BUCKETS, dtype=np.int64), "buckets"),
        numpy_helper.from_array(np.array(vocab, dtype=np.int64), "vocab"),
    ]
    return nodes, init


def masked_sum_nodes(p, table, ids_in, mask_in):
    """{p}summed ([b, dim]) and {p}count ([b, 1]): the sum of the rows of `ids_in` where `mask_in`
    is set, and how many. Padding only ever follows a text's entries, so a text's sum is the same
    whatever width its batch pads to (no entry of it moves)."""
    return [
        helper.make_node("Gather", [table + "token_vectors_int8", ids_in], [p + "gathered"], axis=0),
        helper.make_node("Cast", [p + "gathered"], [p + "gathered_f"], to=TensorProto.FLOAT),
        helper.make_node("Gather", [table + "token_scales", ids_in], [p + "scales"], axis=0),  # [b, s, 1]
        helper.make_node("Cast", [mask_in], [p + "mask_f"], to=TensorProto.FLOAT),  # [b, s]
        helper.make_node("Unsqueeze", [p + "mask_f", "axis_2"], [p + "mask_3d"]),  # [b, s, 1]
        helper.make_node("Mul", [p + "scales", p + "mask_3d"], [p + "weights"]),  # dequantisation and mask in one
        helper.make_node("Transpose", [p + "weights"], [p + "weights_t"], perm=[0, 2, 1]),  # [b, 1, s]
        helper.make_node("MatMul", [p + "weights_t", p + "gathered_f"], [p + "summed_3d"]),  # [b, 1, dim]
        helper.make_node("Squeeze", [p + "summed_3d", "axis_1"], [p + "summed"]),  # [b, dim]
        helper.make_node("ReduceSum", [p + "mask_f", "axis_1"], [p + "count"], keepdims=1),  # [b, 1]
    ]


def pooled_nodes(p, q, scale, bigram_rows, vocab, out):
    """The masked mean of one table's token vectors (and pair vectors, with `bigram_rows`) → `out`.
    Names are prefixed with `p`, so several tables can share one graph. Pairs are summed apart
    from tokens and then added: behind a batch's padding their place would move with its width,
    and with it how the sum is grouped, so a text would not get exactly the same vector in every
    batch (one int8 step of the stored vector, seen)."""
    init = [numpy_helper.from_array(q, p + "token_vectors_int8"), numpy_helper.from_array(scale, p + "token_scales")]
    total, count = p + "summed", p + "count"
    if bigram_rows is None:
        nodes = masked_sum_nodes(p, p, "input_ids", "attention_mask")
    else:
        nodes, more = bigram_nodes(vocab, p)
        init += more + [numpy_helper.from_array(bigram_rows.astype(np.uint16), p + "bigram_rows")]
        nodes += masked_sum_nodes(p + "tok_", p, "input_ids", "attention_mask")
        nodes += masked_sum_nodes(p + "pair_", p, p + "pair_ids", p + "pair_mask")
        nodes += [
            helper.make_node("Add", [p + "tok_summed", p + "pair_summed"], [total]),
            helper.make_node("Add", [p + "tok_count", p + "pair_count"], [count]),
        ]
    nodes += [
        helper.make_node("Max", [count, "one"], [p + "count_safe"]),
        helper.make_node("Div", [total, p + "count_safe"], [out]),
    ]
    return nodes, init


def build_graph(tables, vocab, projection=None):
    """input_ids, attention_mask → sentence_embedding. One table: the masked mean of its token
    vectors, computed inside the graph so the runtime returns one row per text. Several (an
    ensemble of models trained apart): each mean scaled to unit length, then side by side, scaled so
    the whole has unit length too (the cosine of two texts is then the mean of the models' cosines).
    `tables`: [(int8 vectors, scales, bigram rows or None)]; `projection` (several tables only):
    a matrix the side-by-side vector is multiplied by (to fewer dimensions)."""
    dim = sum(q.shape[1] for q, _, _ in tables) if projection is None else projection.shape[1]
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])
    out = helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", dim])
    init = [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis_2"),
        numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one"),
    ]
    if len(tables) == 1:
        q, scale, rows = tables[0]
        nodes, more = pooled_nodes("", q, scale, rows, vocab, "sentence_embedding")
        init += more
    else:
        nodes, parts, seen = [], [], set()
        share = np.array([1.0 / np.sqrt(len(tables))], dtype=np.float32)
        init += [numpy_helper.from_array(share, "share"), numpy_helper.from_array(np.array([1e-12], dtype=np.float32), "tiny")]
        for k, (q, scale, rows) in enumerate(tables):
            p = f"m{k}_"
            more_nodes, more = pooled_nodes(p, q, scale, rows, vocab, p + "mean")
            nodes += more_nodes
            for t in more:
                if t.name not in seen:
                    seen.add(t.name)
                    init.append(t)
            nodes += [
                helper.make_node("ReduceL2", [p + "mean"], [p + "norm"], axes=[1], keepdims=1),  # axes an attribute until opset 18
                helper.make_node("Max", [p + "norm", "tiny"], [p + "norm_safe"]),
                helper.make_node("Div", [p + "mean", p + "norm_safe"], [p + "unit"]),
                helper.make_node("Mul", [p + "unit", "share"], [p + "part"]),
            ]
            parts.append(p + "part")
        if projection is None:
            nodes.append(helper.make_node("Concat", parts, ["sentence_embedding"], axis=1))
        else:
            init.append(numpy_helper.from_array(projection.astype(np.float32), "projection"))
            nodes += [
                helper.make_node("Concat", parts, ["side_by_side"], axis=1),
                helper.make_node("MatMul", ["side_by_side", "projection"], ["sentence_embedding"]),
            ]
    graph = helper.make_graph(nodes, "nearby_static", [ids, mask], [out], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="nearby")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def fit_projection(tables, vocab, tokenizer_file, pairs_file, dims, sample=20000, seed=13):
    """The `dims` principal directions (uncentred) of the side-by-side vectors of a sample of
    training pairs, queries and code alike, computed from the quantized tables as the graph
    computes them: the projection keeps most of what two models side by side know at the width of
    one (an index's memory and search time grow with it)."""
    from tokenizers import Tokenizer
    from train_static import encode, with_bigrams

    rng = random.Random(seed)
    picked = []
    with open(pairs_file) as f:
        for i, line in enumerate(f):  # reservoir sample: the whole file is read once
            if len(picked) < sample:
                picked.append(line)
            elif (j := rng.randrange(i + 1)) < sample:
                picked[j] = line
    rows = [json.loads(l) for l in picked]
    tok = Tokenizer.from_file(str(tokenizer_file))
    vectors = []
    for texts, length in (([r["query"] for r in rows], 64), ([r["code"] for r in rows], 256)):
        t = encode(tok, texts, length)
        halves = []
        for q, scale, bigram_rows in tables:
            table = q.astype(np.float32) * scale
            tt = with_bigrams(t, bigram_rows, vocab) if bigram_rows is not None else t
            sums = np.add.reduceat(table[tt.ids], tt.starts[:-1], axis=0) if len(tt.ids) else np.zeros((0, table.shape[1]), np.float32)
            halves.append(sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12))
        vectors.append(np.hstack(halves) / np.sqrt(len(tables)))
    x = np.vstack(vectors)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return vt[:dims].T


def write_common(out, model_id, dim, max_tokens, kind_note, tokenizer_dir=HERE / "tokenizer", revision=None, dupe_threshold=None):
    tokenizer_dir = Path(tokenizer_dir)
    for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]:
        shutil.copy(tokenizer_dir / name, out / name)
    # transformers.js reads the window from here; the file itself must not pad or cut (Nearby cuts at maxTokens).
    tok = json.loads((out / "tokenizer.json").read_text())
    tok["padding"] = None
    tok["truncation"] = None
    (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))
    cfg = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
    cfg["model_max_length"] = max_tokens
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    info = {"id": model_id, "dimension": dim, "maxTokens": max_tokens, "pooling": "mean", "normalize": True, "queryPrefix": "", "documentPrefix": "", "dtype": "q8", "architecture": kind_note}
    if revision:
        info["revision"] = revision
    if dupe_threshold:
        info["dupeThreshold"] = dupe_threshold
    (out / "nearby.json").write_text(json.dumps(info, indent=1) + "\n")


def write_checksums(out):
    lines = []
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.name != "SHA256SUMS":
            lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out).as_posix()}")
    (out / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", nargs="+", default=[str(HERE / "work" / "static" / "embeddings.npy")], help="token vectors (.npy); several make an ensemble, each pooled and scaled to unit length on its own")
    ap.add_argument("--bigram-rows", type=int, default=0, help="keep only this many of the most frequent pairs' vectors (0: all)")
    ap.add_argument("--project", type=int, default=0, help="with several --weights: project the side-by-side vector onto this many principal directions of training pairs (0: keep it whole)")
    ap.add_argument("--fit-pairs", default=str(HERE / "work" / "pairs-v3.jsonl"), help="training pairs that --project samples")
    ap.add_argument("--out", default=str(HERE.parent / "models" / "nearby-code-small"))
    ap.add_argument("--id", default="nearby-code-small")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--tokenizer-dir", default=str(HERE / "tokenizer"), help="the vocabulary the weights were trained with")
    ap.add_argument("--revision", type=int, default=None, help="release number of these weights (an index of another is rebuilt)")
    ap.add_argument("--dupe-threshold", type=float, default=None, help="cosine from which two chunks are near-duplicates (chosen from the random-pair distribution: the card)")
    args = ap.parse_args()
    out = Path(args.out)
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    vocab = len(json.loads((Path(args.tokenizer_dir) / "tokenizer.json").read_text())["model"]["vocab"])
    tables, kinds = [], []
    for weights in args.weights:
        e = np.load(weights).astype(np.float32)
        bigrams = Path(weights).with_name("bigram_rows.npy")
        rows = np.load(bigrams) if bigrams.exists() else None
        if rows is not None and args.bigram_rows:
            # Rows are numbered by frequency: the rarest pairs go, and so do their vectors.
            rows = np.where(rows > args.bigram_rows, 0, rows).astype(np.uint16)
            e = e[: vocab + 1 + args.bigram_rows]
        tables.append((*quantize_rows(e), rows))
        kinds.append("token and token-pair" if rows is not None else "token")
    projection = fit_projection(tables, vocab, Path(args.tokenizer_dir) / "tokenizer.json", args.fit_pairs, args.project) if args.project and len(tables) > 1 else None
    onnx.save(build_graph(tables, vocab, projection), out / "onnx" / "model_quantized.onnx")
    dim = sum(q.shape[1] for q, _, _ in tables) if projection is None else args.project
    config = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": dim, "vocab_size": vocab, "max_position_embeddings": 512, "num_hidden_layers": 0, "nearby_architecture": "static-token-mean"}
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    kind = f"static {kinds[0]} embeddings, mean-pooled" if len(kinds) == 1 else "two static models side by side (" + "; ".join(f"{k} embeddings" for k in kinds) + "), each mean-pooled and unit-length" + (f", projected to {dim} dimensions" if projection is not None else "")
    write_common(out, args.id, dim, args.max_tokens, kind, args.tokenizer_dir, args.revision, args.dupe_threshold)
    write_checksums(out)
    print(f"exported {out}: {(out / 'onnx' / 'model_quantized.onnx').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
