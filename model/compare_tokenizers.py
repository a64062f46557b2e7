"""Is the reused all-MiniLM-L6-v2 vocabulary good enough for code, or should Nearby train its own?
Trains a BERT WordPiece vocabulary of the same size on the training pairs (code and descriptions)
and compares the two on the held-out test pairs: tokens per code snippet (what the 256-token
window holds), tokens per query, the share of [UNK], and how often an identifier part is one whole
token.

Usage: python model/compare_tokenizers.py [--out model/tokenizer-comparison.json]
"""
import argparse
import json
import re
from pathlib import Path

from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece
from tokenizers.trainers import WordPieceTrainer

HERE = Path(__file__).resolve().parent


def stats(tok, rows):
    code = [len(e.ids) for e in tok.encode_batch([r["code"] for r in rows])]
    query = [len(e.ids) for e in tok.encode_batch([r["query"] for r in rows])]
    unk = tok.token_to_id("[UNK]")
    ids = [i for e in tok.encode_batch([r["code"] for r in rows]) for i in e.ids]
    parts = [p.lower() for r in rows for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*", r["code"]) for p in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", w)]
    whole = sum(1 for p in parts if tok.token_to_id(p) is not None)
    return {
        "mean_code_tokens": round(sum(code) / len(code), 1),
        "code_over_256_share": round(sum(1 for n in code if n > 256) / len(code), 3),
        "mean_query_tokens": round(sum(query) / len(query), 1),
        "unk_share": round(ids.count(unk) / len(ids), 5),
        "identifier_parts_whole_share": round(whole / len(parts), 3),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=str(HERE / "work" / "pairs.jsonl"))
    ap.add_argument("--test", default=str(HERE.parent / "eval" / "heldout" / "test.jsonl"))
    ap.add_argument("--out", default=str(HERE / "tokenizer-comparison.json"))
    args = ap.parse_args()
    reused = Tokenizer.from_file(str(HERE / "tokenizer" / "tokenizer.json"))
    # Its file pads and truncates to 128 for the original model: count every token instead.
    reused.no_truncation()
    reused.no_padding()
    vocab = reused.get_vocab_size()

    own = Tokenizer(WordPiece(unk_token="[UNK]"))
    own.normalizer = normalizers.BertNormalizer(lowercase=True)
    own.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = WordPieceTrainer(vocab_size=vocab, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])

    def texts():
        for line in open(args.pairs):
            r = json.loads(line)
            yield r["query"]
            yield r["code"]

    own.train_from_iterator(texts(), trainer)
    # The same [CLS] … [SEP] around every text as the reused tokenizer adds.
    own.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", own.token_to_id("[CLS]")), ("[SEP]", own.token_to_id("[SEP]"))])
    test = [json.loads(l) for l in open(args.test)]
    report = {"vocabulary_size": vocab, "test_pairs": len(test), "reused_all_minilm_l6_v2": stats(reused, test), "trained_on_pairs": stats(own, test)}
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
