"""Exports the contextual tier (a small BERT from train_encoder.py) in the layout transformers.js
loads offline: models/<id>/config.json, tokenizer files, nearby.json, onnx/model_quantized.onnx,
SHA256SUMS. The graph takes input_ids and attention_mask and returns sentence_embedding, the
attention-masked mean of the last hidden states (normalisation is left to the product, as for the
static tier), so the runtime hands back one row per text. Weights of the matrix multiplications are
int8 (dynamic quantization); the export checks that the int8 graph's vectors stay close to float.

Usage: python model/export_encoder.py --weights model/work/encoder/hf --out models/nearby-code-base
"""
import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer
from transformers import BertModel

from export_static import IR_VERSION, write_checksums, write_common

HERE = Path(__file__).resolve().parent


class Pooled(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=str(HERE / "work" / "encoder" / "hf"))
    ap.add_argument("--out", default=str(HERE.parent / "models" / "nearby-code-base"))
    ap.add_argument("--id", default="nearby-code-base")
    ap.add_argument("--max-tokens", type=int, default=256)
    args = ap.parse_args()

    bert = BertModel.from_pretrained(args.weights, add_pooling_layer=False).eval()
    model = Pooled(bert).eval()
    out = Path(args.out)
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    ids = torch.randint(1000, 2000, (2, 16))
    mask = torch.ones_like(ids)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model.onnx"
        torch.onnx.export(
            model, (ids, mask), str(fp32), input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "sentence_embedding": {0: "batch"}},
            opset_version=17, dynamo=False,
        )
        graph = onnx.load(str(fp32))
        graph.ir_version = IR_VERSION
        onnx.save(graph, str(fp32))
        target = out / "onnx" / "model_quantized.onnx"
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=False)
        quantized = onnx.load(str(target))
        quantized.ir_version = IR_VERSION
        onnx.checker.check_model(quantized)
        onnx.save(quantized, str(target))

    # The int8 graph against float PyTorch on real text: vectors must point the same way.
    tok = Tokenizer.from_file(str(HERE / "tokenizer" / "tokenizer.json"))
    texts = ["def retry_upload(client, path, attempts=5):\n    return client.put(path)", "read the configuration file", "How to install the package"]
    enc = tok.encode_batch(texts)
    width = max(len(e.ids) for e in enc)
    ids = np.zeros((len(texts), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, e in enumerate(enc):
        ids[i, : len(e.ids)] = e.ids
        mask[i, : len(e.ids)] = 1
    session = ort.InferenceSession(str(out / "onnx" / "model_quantized.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    cos = (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    print("int8 vs float cosine:", np.round(cos, 4))
    assert cos.min() > 0.98, f"int8 export drifts from float: {cos}"

    cfg = bert.config
    config = {
        "model_type": "bert", "architectures": ["BertModel"], "hidden_size": cfg.hidden_size, "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads, "intermediate_size": cfg.intermediate_size, "vocab_size": cfg.vocab_size,
        "max_position_embeddings": cfg.max_position_embeddings, "type_vocab_size": cfg.type_vocab_size, "nearby_architecture": "bert-mean-pooled",
    }
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    write_common(out, args.id, cfg.hidden_size, min(args.max_tokens, cfg.max_position_embeddings), f"BERT encoder, {cfg.num_hidden_layers} layers, hidden {cfg.hidden_size}, mean-pooled")
    write_checksums(out)
    print(f"exported {out}: {(out / 'onnx' / 'model_quantized.onnx').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
