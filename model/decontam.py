"""What the v3 training data must never contain, and the shared tests for it (used by fetch_v3.py,
mine_v3.py and check_decontamination.py):

a. projects reserved for evaluation (../shared/eval/RESERVED.md), by package name, upstream
   repository and vendored copies inside other packages;
b. functions of the public benchmarks in ../shared/eval (exact normalised code or MinHash
   near-duplicates), read in place;
c. Nearby's own real-repository evaluation projects (eval/realrepo/projects.json);
d. packages and code of the committed held-out sets (eval/heldout/{dev,test}.jsonl).
"""
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED_EVAL = ROOT.parent / "shared" / "eval"
OWN_EVAL_DIR = ROOT / "eval" / "heldout"
REALREPO = ROOT / "eval" / "realrepo" / "projects.json"

# RESERVED.md: project -> upstream repository (owner/name).
RESERVED = {
    "express": "expressjs/express", "koa": "koajs/koa", "fastify": "fastify/fastify", "axios": "axios/axios",
    "got": "sindresorhus/got", "ky": "sindresorhus/ky", "node-fetch": "node-fetch/node-fetch",
    "superagent": "ladjs/superagent", "commander": "tj/commander.js", "yargs": "yargs/yargs",
    "marked": "markedjs/marked", "chalk": "chalk/chalk",
    "flask": "pallets/flask", "werkzeug": "pallets/werkzeug", "requests": "psf/requests", "httpx": "encode/httpx",
    "click": "pallets/click", "typer": "fastapi/typer", "rich": "textualize/rich", "attrs": "python-attrs/attrs",
    "cobra": "spf13/cobra", "urfave-cli": "urfave/cli", "gin": "gin-gonic/gin", "viper": "spf13/viper",
}
# Former homes of the same repositories (GitHub redirects).
RESERVED_REPO_ALIASES = {"bitinn/node-fetch", "visionmedia/superagent", "tiangolo/typer", "willmcgugan/rich",
                         "kennethreitz/requests", "requests/requests", "mitsuhiko/flask", "mitsuhiko/werkzeug",
                         "mitsuhiko/click", "hynek/attrs", "bcoe/yargs", "chjj/marked", "codegangsta/cli"}


def realrepo_projects():
    """(names, repos) of eval/realrepo/projects.json."""
    names, repos = set(), set()
    if REALREPO.exists():
        for p in json.loads(REALREPO.read_text())["projects"]:
            names.update(filter(None, [p.get("name"), p.get("npm"), p.get("pypi")]))
            repos.add(p["upstream"].lower())
            if p.get("go"):
                repos.add(p["go"].split("github.com/")[-1].lower())
    return names, repos


REALREPO_NAMES, REALREPO_REPOS = realrepo_projects()
RESERVED_REPOS = {r.lower() for r in RESERVED.values()} | {r.lower() for r in RESERVED_REPO_ALIASES}
ALL_BLOCKED_REPOS = RESERVED_REPOS | REALREPO_REPOS


def project_key(name):
    """The project behind a package name in any of the four registries: `python-falcon`,
    `node-chart.js`, `golang-github-minio-minio-go-v7-dev`, `@scope/x`, `librust-foo-dev`,
    `ruby-foo`, `php-foo`, `libfoo-java` all reduce to their upstream's name."""
    n = name.lower().strip()
    n = re.sub(r"^@[^/]+/", "", n) if n.startswith("@types/") else n.replace("@", "").replace("/", "-")
    n = re.sub(r"^(python3?|pypy|node|ruby|php|librust|golang)-", "", n)
    n = re.sub(r"-(dev|java|doc|perl)$", "", n)
    n = re.sub(r"^(github|gitlab|golang|gopkg|google|k8s|go\.uber)-", "", n)
    n = re.sub(r"-v\d+$|\.v\d+$", "", n)
    n = n.replace("_", "-")
    return n


def _reserved_keys():
    keys = set()
    for name, repo in RESERVED.items():
        keys.add(name)
        owner, proj = repo.split("/")
        keys.add(f"{owner}-{proj}".lower())
    keys |= {"commander.js", "tj-commander.js", "gin-gonic-gin", "urfave-cli", "spf13-cobra", "spf13-viper", "attr"}
    return keys


def _realrepo_keys():
    keys = {n.lower() for n in REALREPO_NAMES} | {project_key(n) for n in REALREPO_NAMES}
    for r in REALREPO_REPOS:
        owner, proj = r.split("/")
        keys |= {proj.lower(), f"{owner}-{proj}".lower(), project_key(proj)}
    # Debian's names for them (python-kafka is kafka-python; node-chart.js; golang-github-minio-minio-go)
    keys |= {"chart.js", "chartjs", "mqtt.js", "kafka", "minio-minio-go", "pelletier-go-toml"}
    return keys


RESERVED_KEYS = _reserved_keys()
REALREPO_KEYS = _realrepo_keys()
BLOCKED_KEYS = RESERVED_KEYS | REALREPO_KEYS


def blocked_package(name, repo=None):
    """Why a package is out ("reserved" or "realrepo"), or None."""
    key = project_key(name)
    for k in (key, name.lower()):
        if k in RESERVED_KEYS:
            return "reserved"
        if k in REALREPO_KEYS:
            return "realrepo"
    r = normalise_repo(repo)
    if r and r in RESERVED_REPOS:
        return "reserved"
    if r and r in REALREPO_REPOS:
        return "realrepo"
    return None


def normalise_repo(url):
    """owner/name of a GitHub/GitLab URL (git+https://github.com/a/b.git -> a/b), else None."""
    if not url:
        return None
    m = re.search(r"(?:github\.com|gitlab\.com|bitbucket\.org)[/:]([\w.-]+)/([\w.-]+?)(?:\.git)?(?:[/#?].*)?$", str(url).strip())
    if m:
        return f"{m.group(1)}/{m.group(2)}".lower()
    m = re.fullmatch(r"(?:github:)?([\w.-]+)/([\w.-]+)", str(url).strip())
    return f"{m.group(1)}/{m.group(2)}".lower() if m else None


# Vendored copies: a path component naming a reserved or realrepo project (or its import name),
# e.g. node_modules/express/, vendor/github.com/gin-gonic/gin/, pip/_vendor/requests/.
VENDOR_COMPONENTS = {
    "express", "koa", "fastify", "axios", "got", "ky", "node-fetch", "superagent", "commander", "yargs",
    "marked", "chalk", "flask", "werkzeug", "requests", "httpx", "click", "typer", "rich", "attr", "attrs",
    "cobra", "viper", "chart.js", "chartjs", "mqtt", "mqtt.js", "falcon", "kafka", "kafka-python", "minio-go", "go-toml",
} | {n.lower() for n in REALREPO_NAMES if len(n) > 3}
# Go import paths and other owner/name pairs (the owner alone is not reserved: spf13/pflag is fine).
VENDOR_PAIRS = {"spf13/cobra", "spf13/viper", "urfave/cli", "gin-gonic/gin"} | REALREPO_REPOS


def vendored_reserved(path):
    """The reserved component of a file path inside a package, or None."""
    parts = re.split(r"[/\\]", path.lower())[:-1]
    for i, part in enumerate(parts):
        if part in VENDOR_COMPONENTS:
            return part
        bare = re.sub(r"[.@]v\d+$", "", part)
        if i > 0 and parts[i - 1] + "/" + bare in VENDOR_PAIRS:
            return parts[i - 1] + "/" + part
    return None


# ---------------------------------------------------------------- code identity

def normalise_code(code):
    """Comment- and whitespace-insensitive form (as mine.py), used for exact de-duplication and
    decontamination."""
    code = re.sub(r"(#|//)[^\n]*", "", code)
    code = re.sub(r"/\*.*?\*/", "", code, flags=re.S)
    code = re.sub(r'""".*?"""|\'\'\'.*?\'\'\'', "", code, flags=re.S)
    return re.sub(r"\s+", "", code).lower()


TOKEN = re.compile(r"\w+|[^\w\s]")
NUM_PERM = 64
BANDS, ROWS = 8, 8  # LSH threshold about (1/8)^(1/8) = 0.77; candidates are then checked at 0.8
_rng = np.random.RandomState(20261206)
_A = (_rng.randint(1, 2**62, size=NUM_PERM, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1))
_B = _rng.randint(0, 2**62, size=NUM_PERM, dtype=np.int64).astype(np.uint64)
_MUL = np.uint64(0x9E3779B97F4A7C15)


def ensure_hash_seed():
    """minhash() hashes tokens with Python's hash(), which is salted per process unless
    PYTHONHASHSEED is set: re-run the current command with it fixed so signatures are reproducible."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)


def minhash(code):
    """64 MinHash values over the code's token 5-grams (comments are code too here: they are part
    of what a reader sees; whitespace is not). At most the first 600 tokens count."""
    toks = TOKEN.findall(code, 0, 4000)[:600] or [""]
    h = np.fromiter(map(hash, toks), dtype=np.int64, count=len(toks)).view(np.uint64)
    if len(h) >= 5:
        sh = h[:-4] * _MUL + h[1:-3]
        sh = sh * _MUL + h[2:-2]
        sh = sh * _MUL + h[3:-1]
        sh = sh * _MUL + h[4:]
    else:
        sh = h[:1].copy()
        for k in range(1, len(h)):
            sh = sh * _MUL + h[k:k + 1]
    sig = ((_A[:, None] * sh[None, :] + _B[:, None]) >> np.uint64(32)).min(axis=1)
    return sig.astype(np.uint32)


_BAND_W = np.array([pow(0x100000001B3, k, 2**64) for k in range(ROWS)], dtype=np.uint64)


class LSH:
    """Near-duplicate index: add() signatures, query() the first stored id whose signature agrees
    on >= threshold of its values (estimated Jaccard of token 5-grams)."""

    def __init__(self, threshold=0.8):
        self.threshold = threshold
        self.tables = [dict() for _ in range(BANDS)]
        self.sigs = []
        self.labels = []

    @staticmethod
    def _keys(sig):
        return (sig.reshape(BANDS, ROWS).astype(np.uint64) * _BAND_W).sum(axis=1).tolist()

    def query(self, sig, keys=None):
        seen = set()
        for table, key in zip(self.tables, keys or self._keys(sig)):
            hit = table.get(key)
            if hit is None:
                continue
            for idx in (hit if isinstance(hit, list) else (hit,)):
                if idx in seen:
                    continue
                seen.add(idx)
                if np.count_nonzero(self.sigs[idx] == sig) >= self.threshold * NUM_PERM:
                    return idx
        return None

    def add(self, sig, label=None, keys=None):
        idx = len(self.sigs)
        self.sigs.append(sig)
        self.labels.append(label)
        for table, key in zip(self.tables, keys or self._keys(sig)):
            hit = table.get(key)
            if hit is None:
                table[key] = idx
            elif isinstance(hit, list):
                if len(hit) < 8:
                    hit.append(idx)
            else:
                table[key] = [hit, idx]
        return idx


# ---------------------------------------------------------------- benchmark and own-eval code

BENCHMARK_FILES = [
    ("cosqa", "codebase.jsonl", "code"), ("cosqa", "dev.jsonl", "code"), ("cosqa", "test.jsonl", "code"),
    ("csn_ruby_codexglue", "test.jsonl", "code"), ("csn_ruby_codexglue", "dev.jsonl", "code"),
    ("poj104", "test.jsonl", "code"), ("poj104", "dev.jsonl", "code"),
    ("bigclonebench", "functions.jsonl", "func"),
]


def benchmark_functions():
    """(benchmark name, code) of every function in the public benchmarks, read in place."""
    out = []
    for bench, fname, key in BENCHMARK_FILES:
        f = SHARED_EVAL / bench / fname
        if not f.exists():
            continue
        with f.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    code = json.loads(line).get(key)
                except json.JSONDecodeError:
                    continue
                if isinstance(code, str) and code.strip():
                    out.append((bench, code))
    return out


def own_eval_sets():
    """Normalised code and packages of the committed held-out sets (eval/heldout/*.jsonl)."""
    prints, packages = set(), set()
    for f in sorted(OWN_EVAL_DIR.glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            row = json.loads(line)
            prints.add(normalise_code(row["code"]))
            packages.add(row["pkg"])
    return prints, packages


def benchmark_index():
    """(exact normalised-code -> benchmark, LSH of benchmark signatures)."""
    exact, lsh = {}, LSH()
    for bench, code in benchmark_functions():
        norm = normalise_code(code)
        if len(norm) < 20:
            continue
        exact.setdefault(norm, bench)
        lsh.add(minhash(code), bench)
    return exact, lsh
