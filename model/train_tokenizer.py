"""Trains a WordPiece vocabulary on code and its descriptions (the v3 pairs), in the layout the
shipped tokenizer has: BERT's lower-casing normalizer and pre-tokenizer, [CLS] text [SEP], so
transformers.js and Nearby's own fast tokenizer read it unchanged. Code keeps more identifier
parts whole with it than with all-MiniLM-L6-v2's English vocabulary (compare_tokenizers.py).

Usage: python model/train_tokenizer.py --pairs model/work/pairs-v3.jsonl --size 30522 --out model/work/tokenizer-code
"""
import argparse
import json
from collections import Counter
import random
import shutil
from pathlib import Path

from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece
from tokenizers.trainers import WordPieceTrainer

HERE = Path(__file__).resolve().parent
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", nargs="+", default=[str(HERE / "work" / "pairs-v3.jsonl")])
    ap.add_argument("--size", type=int, default=30522)
    ap.add_argument("--sample", type=int, default=600000, help="pairs read (a random sample of this many)")
    ap.add_argument("--per-language", type=int, default=40000, help="at most about this many pairs of each language, an even sample (0: no cap)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default=str(HERE / "work" / "tokenizer-code"))
    args = ap.parse_args()
    lines = [l for p in args.pairs for l in open(p)]
    if args.per_language:
        # Every language counts alike: Java and Python would otherwise choose most of the pieces.
        counts = Counter(json.loads(l)["language"] for l in lines)
        share = {lang: min(1.0, args.per_language / n) for lang, n in counts.items()}
        rng = random.Random(args.seed)
        lines = [l for l in lines if rng.random() < share[json.loads(l)["language"]]]
    random.Random(args.seed).shuffle(lines)
    rows = [json.loads(l) for l in lines[: args.sample]]

    tok = Tokenizer(WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = WordPieceTrainer(vocab_size=args.size, min_frequency=3, special_tokens=SPECIALS, continuing_subword_prefix="##")
    tok.train_from_iterator((t for r in rows for t in (r["query"], r["code"])), trainer)
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    (out / "vocab.txt").write_text("".join(f"{t}\n" for t, _ in vocab))
    for name in ["tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copy(HERE / "tokenizer" / name, out / name)
    print(f"{len(vocab)} tokens from {len(rows)} pairs -> {out}")


if __name__ == "__main__":
    main()
