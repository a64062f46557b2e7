"""Exports the static tier in the layout transformers.js loads offline:
  models/<id>/config.json, tokenizer files, nearby.json, onnx/model_quantized.onnx, SHA256SUMS.
The ONNX graph maps input_ids to last_hidden_state = the tokens' vectors; transformers.js (and
Nearby's embedder) then mean-pool over the attention mask and normalise. Vectors are stored as
int8 with one scale per token (per-row): a single scale for the whole matrix would crush the
small vectors of frequent tokens, whose norms act as their weights in the mean.

Usage: python model/export_static.py --weights model/work/static/embeddings.npy --out models/nearby-code-small
"""
import argparse
import hashlib
import json
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


def bigram_nodes(vocab):
    """input_ids, attention_mask → all_ids, all_mask: each text's tokens followed by the rows of
    its adjacent pairs (train_static.py's hash, then its bucket → row table; row 0 is the zero
    vector of pairs without one), masked where either token is padding."""
    nodes = [
        helper.make_node("Slice", ["input_ids", "zero", "minus_one", "axis_1"], ["left"]),
        helper.make_node("Slice", ["input_ids", "axis_1", "end", "axis_1"], ["right"]),
        helper.make_node("Mul", ["left", "mult_left"], ["left_h"]),
        helper.make_node("Mul", ["right", "mult_right"], ["right_h"]),
        helper.make_node("Add", ["left_h", "right_h"], ["pair_key"]),
        helper.make_node("Mod", ["pair_key", "buckets"], ["bucket"]),
        helper.make_node("Gather", ["bigram_rows", "bucket"], ["pair_row_u16"], axis=0),
        helper.make_node("Cast", ["pair_row_u16"], ["pair_row"], to=TensorProto.INT64),
        helper.make_node("Add", ["pair_row", "vocab"], ["pair_ids"]),
        helper.make_node("Concat", ["input_ids", "pair_ids"], ["all_ids"], axis=1),
        helper.make_node("Slice", ["attention_mask", "zero", "minus_one", "axis_1"], ["mask_left"]),
        helper.make_node("Slice", ["attention_mask", "axis_1", "end", "axis_1"], ["mask_right"]),
        helper.make_node("Mul", ["mask_left", "mask_right"], ["pair_mask"]),
        helper.make_node("Concat", ["attention_mask", "pair_mask"], ["all_mask"], axis=1),
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


def build_graph(q, scale, bigram_rows=None, vocab=None):
    """input_ids, attention_mask → sentence_embedding: the masked mean of the tokens' vectors
    (and, with `bigram_rows`, of their pairs' vectors), computed inside the graph so the runtime
    returns one row per text, not one per token."""
    dim = q.shape[1]
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])
    out = helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", dim])
    nodes, init = [], []
    ids_in, mask_in = "input_ids", "attention_mask"
    if bigram_rows is not None:
        nodes, init = bigram_nodes(vocab)
        init.append(numpy_helper.from_array(bigram_rows.astype(np.uint16), "bigram_rows"))
        ids_in, mask_in = "all_ids", "all_mask"
    nodes += [
        helper.make_node("Gather", ["token_vectors_int8", ids_in], ["gathered"], axis=0),
        helper.make_node("Cast", ["gathered"], ["gathered_f"], to=TensorProto.FLOAT),
        helper.make_node("Gather", ["token_scales", ids_in], ["scales"], axis=0),  # [b, s, 1]
        helper.make_node("Cast", [mask_in], ["mask_f"], to=TensorProto.FLOAT),  # [b, s]
        helper.make_node("Unsqueeze", ["mask_f", "axis_2"], ["mask_3d"]),  # [b, s, 1]
        helper.make_node("Mul", ["scales", "mask_3d"], ["weights"]),  # dequantisation and mask in one
        helper.make_node("Transpose", ["weights"], ["weights_t"], perm=[0, 2, 1]),  # [b, 1, s]
        helper.make_node("MatMul", ["weights_t", "gathered_f"], ["summed_3d"]),  # [b, 1, dim]
        helper.make_node("Squeeze", ["summed_3d", "axis_1"], ["summed"]),  # [b, dim]
        helper.make_node("ReduceSum", ["mask_f", "axis_1"], ["count"], keepdims=1),  # [b, 1]
        helper.make_node("Max", ["count", "one"], ["count_safe"]),
        helper.make_node("Div", ["summed", "count_safe"], ["sentence_embedding"]),
    ]
    init += [
        numpy_helper.from_array(q, "token_vectors_int8"),
        numpy_helper.from_array(scale, "token_scales"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis_2"),
        numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one"),
    ]
    graph = helper.make_graph(nodes, "nearby_static", [ids, mask], [out], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="nearby")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def write_common(out, model_id, dim, max_tokens, kind_note, tokenizer_dir=HERE / "tokenizer", revision=None):
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
    (out / "nearby.json").write_text(json.dumps(info, indent=1) + "\n")


def write_checksums(out):
    lines = []
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.name != "SHA256SUMS":
            lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out).as_posix()}")
    (out / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=str(HERE / "work" / "static" / "embeddings.npy"))
    ap.add_argument("--out", default=str(HERE.parent / "models" / "nearby-code-small"))
    ap.add_argument("--id", default="nearby-code-small")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--tokenizer-dir", default=str(HERE / "tokenizer"), help="the vocabulary the weights were trained with")
    ap.add_argument("--revision", type=int, default=None, help="release number of these weights (an index of another is rebuilt)")
    args = ap.parse_args()
    e = np.load(args.weights).astype(np.float32)
    out = Path(args.out)
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    q, scale = quantize_rows(e)
    bigrams = Path(args.weights).with_name("bigram_rows.npy")
    bigram_rows = np.load(bigrams) if bigrams.exists() else None
    vocab = json.loads((Path(args.tokenizer_dir) / "tokenizer.json").read_text())["model"]["vocab"]
    onnx.save(build_graph(q, scale, bigram_rows, len(vocab)), out / "onnx" / "model_quantized.onnx")
    config = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": int(e.shape[1]), "vocab_size": len(vocab), "max_position_embeddings": 512, "num_hidden_layers": 0, "nearby_architecture": "static-token-mean"}
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    kind = "static token and token-pair embeddings, mean-pooled" if bigram_rows is not None else "static token embeddings, mean-pooled"
    write_common(out, args.id, int(e.shape[1]), args.max_tokens, kind, args.tokenizer_dir, args.revision)
    write_checksums(out)
    print(f"exported {out}: {(out / 'onnx' / 'model_quantized.onnx').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
