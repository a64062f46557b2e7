"""Mines (description -> code) and (heading -> section) training pairs from real open-source
packages downloaded by fetch_sources.sh, offline.

Python: docstring -> function/class source with the docstring removed (ast).
JavaScript/TypeScript: JSDoc description -> the function/class/method after it.
Go: the `//` doc comment -> the func after it.
Rust: the `///` doc comment -> the fn/struct/enum/trait/impl after it (Debian librust-*-dev crates).
Markdown: heading path -> section text.

Writes work/pairs.jsonl (train), work/heldout.jsonl (whole packages never trained on, for
evaluation) and data-manifest-v2.json (package, version, licence, language, pair count).
Usage: python model/mine.py [--heldout-fraction 0.05] [--seed 13]
"""
import argparse
import ast
import hashlib
import io
import json
import re
import subprocess
import tarfile
import tempfile
import textwrap
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
EVAL_DIR = HERE.parent.parent / "shared" / "eval"
OWN_EVAL_DIR = HERE.parent / "eval" / "heldout"
MAX_CODE_CHARS = 2400
BAD_LICENCES = re.compile(r"\b(A?GPL|LGPL|GNU (Affero |Lesser )?General Public)", re.I)
PERMISSIVE = re.compile(r"\b(MIT|Expat|BSD|Apache|ISC|PSF|Python|Zlib|MPL|Unlicense|CC0|0BSD|BlueOak)", re.I)
# Generated SDKs (thousands of near-identical API stubs) would drown everything else.


def copyleft_only(licence):
    return bool(BAD_LICENCES.search(licence or "")) and not (re.search(r"\bor\b", licence, re.I) and PERMISSIVE.search(licence))


def normalise_code(code):
    """Comment- and whitespace-insensitive form, used for de-duplication and decontamination."""
    code = re.sub(r"(#|//)[^\n]*", "", code)
    code = re.sub(r"/\*.*?\*/", "", code, flags=re.S)
    code = re.sub(r'""".*?"""|\'\'\'.*?\'\'\'', "", code, flags=re.S)
    return re.sub(r"\s+", "", code).lower()


def first_paragraph(doc):
    """The summary of a docstring: up to the first blank line or parameter section, one line."""
    lines = []
    for line in doc.strip().splitlines():
        s = line.strip().lstrip("*").strip()
        if not s or s.startswith(("@", ":param", ":return", "Args:", "Returns:", "Parameters", "Example", ">>>", "..")):
            if lines:
                break
            continue
        lines.append(s)
    text = " ".join(lines)
    text = re.sub(r"\{@\w+\s+([^}]*)\}", r"\1", text)  # {@link Foo} -> Foo
    text = re.sub(r"`+", "", text)
    return text[:300].strip()


def good_query(q):
    words = re.findall(r"[A-Za-z]{2,}", q)
    return len(words) >= 3 and not q.lower().startswith(("todo", "fixme", "deprecated", "copyright", "license", "internal", "private"))


# ---------------------------------------------------------------- Python

def python_pairs(source):
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    lines = source.splitlines()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        doc = ast.get_docstring(node, clean=True)
        if not doc or not node.body or node.name.startswith("__") and node.name != "__init__":
            continue
        query = first_paragraph(doc)
        if not good_query(query):
            continue
        start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
        end = node.end_lineno
        doc_node = node.body[0]
        body = lines[start:doc_node.lineno - 1] + lines[doc_node.end_lineno:end]
        code = "\n".join(body).strip("\n")
        if len(code.splitlines()) < 2:
            continue
        yield query, code[:MAX_CODE_CHARS], node.name


def wheel_sources(path):
    """(relative path, text) of .py/.md files in a wheel or sdist, plus its metadata text."""
    meta = ""
    files = []
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith(".dist-info/METADATA"):
                    meta = z.read(name).decode("utf-8", "replace")
                elif name.endswith((".py", ".md")) and "/tests/" not in name:
                    files.append((name, z.read(name).decode("utf-8", "replace")))
    else:
        with tarfile.open(path) as t:
            for m in t.getmembers():
                if m.isfile() and (m.name.endswith("/PKG-INFO") and m.name.count("/") == 1):
                    meta = t.extractfile(m).read().decode("utf-8", "replace")
                elif m.isfile() and m.name.endswith((".py", ".md")) and "/tests/" not in m.name and m.size < 1_000_000:
                    files.append((m.name, t.extractfile(m).read().decode("utf-8", "replace")))
    return meta, files


def python_licence(meta):
    m = re.search(r"^License-Expression:\s*(.+)$", meta, re.M) or re.search(r"^License:\s*(.+)$", meta, re.M)
    if m and len(m.group(1)) < 80:
        return m.group(1).strip()
    c = re.findall(r"^Classifier: License :: (?:OSI Approved :: )?(.+)$", meta, re.M)
    return c[0].strip() if c else "unknown"


# ---------------------------------------------------------------- JavaScript / TypeScript

RUST_RAW = re.compile(r'r(#*)"')
RUST_CHAR = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]{1,6}\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'")
JSDOC = re.compile(r"/\*\*((?:(?!\*/).)*?)\*/[ \t]*\n([ \t]*)((?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\s*\*?\s*[\w$]+|class\s+[\w$]+|(?:const|let|var)\s+[\w$]+\s*=|(?:static\s+|async\s+|get\s+|set\s+|public\s+|private\s+|protected\s+)*[\w$]+\s*\([^)\n]*\)\s*(?::\s*[^{\n]+)?\{|[\w$.]+\s*=\s*function))", re.S)


def brace_block(text, start, rust=False):
    """The text from `start` to the brace that closes the first `{` after it (strings skipped).
    With rust=True, comments, raw strings and char literals are skipped too, and a lone `'` is a
    lifetime (`'a`), not the start of a string."""
    i = text.find("{", start)
    if i < 0 or i - start > 400:
        return None
    depth, quote = 0, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif rust and text.startswith("//", i):
            nl = text.find("\n", i)
            i = len(text) if nl < 0 else nl
            continue
        elif rust and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        elif rust and ch == "r" and RUST_RAW.match(text, i) and not (text[i - 1].isalnum() or text[i - 1] == "_"):
            m = RUST_RAW.match(text, i)
            end = text.find('"' + m.group(1), m.end())
            i = len(text) if end < 0 else end + 1 + len(m.group(1))
            continue
        elif rust and ch == "'":
            m = RUST_CHAR.match(text, i)
            i = m.end() if m else i + 1  # a char literal is skipped whole; a lifetime is just a name
            continue
        elif ch in ("\"" if rust else "'\"`"):
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
        i += 1
        if i - start > MAX_CODE_CHARS * 2:
            return text[start:i]
    return None


def js_pairs(source):
    for m in JSDOC.finditer(source):
        query = first_paragraph(m.group(1))
        if not good_query(query):
            continue
        code = brace_block(source, m.start(3))
        if not code or code.count("\n") < 1:
            continue
        name = re.findall(r"[\w$]+", m.group(3).replace("function", " ").replace("class", " "))
        yield query, m.group(2) + code[:MAX_CODE_CHARS], name[-1] if name else ""


def npm_sources(path):
    meta, files = {}, []
    with tarfile.open(path) as t:
        for m in t.getmembers():
            if not m.isfile() or m.size > 800_000:
                continue
            if m.name == "package/package.json":
                meta = json.loads(t.extractfile(m).read().decode("utf-8", "replace"))
            elif m.name.endswith((".js", ".mjs", ".ts", ".md")) and not m.name.endswith((".min.js", ".d.ts")) and "/dist/" not in m.name and "/test" not in m.name:
                files.append((m.name, t.extractfile(m).read().decode("utf-8", "replace")))
    return meta, files


# ---------------------------------------------------------------- Go

GO_FUNC = re.compile(r"((?:^//[^\n]*\n)+)(func\s[^\n]*\{)", re.M)


def go_pairs(source):
    for m in GO_FUNC.finditer(source):
        doc = " ".join(l.lstrip("/").strip() for l in m.group(1).splitlines())
        query = first_paragraph(doc)
        if not good_query(query) or query.startswith(("Deprecated", "+build", "go:")):
            continue
        code = brace_block(source, m.start(2))
        if not code or code.count("\n") < 2:
            continue
        name = re.match(r"func\s+(?:\([^)]*\)\s*)?([\w]+)", m.group(2))
        yield query, code[:MAX_CODE_CHARS], name.group(1) if name else ""


# ---------------------------------------------------------------- Rust

# The item after a `///` comment and its attributes: a fn (free, method or trait default), struct,
# enum, trait or impl. Matched on one line: a single regex over doc, attributes and head together
# backtracked exponentially on some files (cargo's fingerprint.rs held the miner for minutes).
RUST_HEAD = re.compile(
    r"[ \t]*(?:pub(?:\([^)\n]*\))?\s+)?(?:default\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\"[^\"]*\"\s+)?"
    r"(fn|struct|enum|trait|impl|union)\b"
)


def rust_items(source):
    """(doc lines, attribute text, offset of the item's first line, head line, kind) per documented item."""
    lines = source.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("///"):
            i += 1
            continue
        doc_start = i
        while i < len(lines) and lines[i].lstrip().startswith("///"):
            i += 1
        doc = "\n".join(lines[doc_start:i])
        attr_start = i
        # Attributes (`#[inline]`, `#[derive(...)]`), a multi-line one until its brackets close.
        while i < len(lines) and lines[i].lstrip().startswith("#["):
            depth = 0
            while i < len(lines):
                depth += lines[i].count("[") - lines[i].count("]")
                i += 1
                if depth <= 0:
                    break
        if i >= len(lines):
            break
        m = RUST_HEAD.match(lines[i])
        if m:
            attrs = "".join(line + "\n" for line in lines[attr_start:i])
            yield doc, attrs, starts[i], lines[i], m.group(1)


def rust_doc_text(lines):
    """The `///` comment as plain text: markers off, intra-doc links reduced to their words."""
    text = "\n".join(re.sub(r"^\s*///\s?", "", l) for l in lines.splitlines())
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # [text](url)
    text = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", text)  # [text][ref]
    text = re.sub(r"\[`?([^\]`]+)`?\]", r"\1", text)  # [`Name`]
    return text


def rust_pairs(source):
    for doc, attrs, start, head, kind in rust_items(source):
        query = first_paragraph(rust_doc_text(doc))
        if not good_query(query) or query.startswith(("Deprecated", "Safety")):
            continue
        # A declaration that ends before any body (`fn f(&self);`, `struct S(u8);`) has no code.
        brace, semi = source.find("{", start), source.find(";", start)
        if brace < 0 or 0 <= semi < brace:
            continue
        code = brace_block(source, start, rust=True)
        if not code or code.count("\n") < 2:
            continue
        indent = re.match(r"[ \t]*", head).group(0)
        code = textwrap.dedent(attrs + code if not indent else "\n".join(
            l[len(indent):] if l.startswith(indent) else l for l in (attrs + code).splitlines()))
        if kind == "impl":
            name = re.sub(r"\s+", " ", head.strip().rstrip("{").strip())[:80]
        else:
            found = re.search(kind + r"\s+([A-Za-z_][\w]*)", head)
            name = found.group(1) if found else ""
        yield query, code.strip("\n")[:MAX_CODE_CHARS], name


# Inside a crate, tests, benchmarks and examples are not library code.
RUST_NON_LIBRARY = re.compile(r"^usr/share/cargo/registry/[^/]+/(tests|benches|examples|fuzz)/")


def deb_sources(path):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", str(path), tmp], check=True)
        root = Path(tmp)
        copyright_files = list(root.glob("usr/share/doc/*/copyright"))
        licence = "unknown"
        if copyright_files:
            text = copyright_files[0].read_text("utf-8", "replace")
            # The `Files: *` stanza is upstream's licence; others cover Debian's packaging.
            upstream = re.search(r"^Files:\s*\*\s*$.*?^License:\s*(.+)$", text, re.M | re.S)
            licence = upstream.group(1).strip() if upstream else "unknown"
        files = [(str(p.relative_to(root)), p.read_text("utf-8", "replace")) for p in root.rglob("*")
                 if p.is_file() and p.suffix in (".go", ".rs", ".md") and not p.name.endswith("_test.go") and p.stat().st_size < 800_000
                 and not RUST_NON_LIBRARY.search(str(p.relative_to(root)))]
    return licence, files


# ---------------------------------------------------------------- Markdown

def markdown_pairs(text):
    sections, path, fence = [], [], False
    current = None
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        m = None if fence else re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        if m:
            if current:
                sections.append(current)
            level = len(m.group(1))
            path = [p for p in path if p[0] < level] + [(level, m.group(2).strip())]
            current = [" > ".join(p[1] for p in path), [line]]
        elif current:
            current[1].append(line)
    if current:
        sections.append(current)
    for heading, body in sections:
        content = "\n".join(body).strip()
        if len(re.findall(r"\w+", content)) >= 25 and len(re.findall(r"[A-Za-z]{2,}", heading)) >= 2:
            yield heading, content[:MAX_CODE_CHARS], heading


# ---------------------------------------------------------------- driver

def collect():
    """Yields (language, package, version, licence, query, code, name) from everything downloaded."""
    for path in sorted((WORK / "py").glob("*")):
        if path.suffix not in (".whl", ".gz"):
            continue
        meta, files = wheel_sources(path)
        name = re.search(r"^Name:\s*(.+)$", meta, re.M)
        version = re.search(r"^Version:\s*(.+)$", meta, re.M)
        pkg = name.group(1).strip() if name else path.name.split("-")[0]
        ver = version.group(1).strip() if version else "?"
        lic = python_licence(meta)
        for fname, text in files:
            pairs = markdown_pairs(text) if fname.endswith(".md") else python_pairs(text)
            lang = "markdown" if fname.endswith(".md") else "python"
            for q, c, n in pairs:
                yield lang, pkg, ver, lic, q, c, n
    for path in sorted((WORK / "npm").glob("*.tgz")):
        meta, files = npm_sources(path)
        pkg, ver = meta.get("name", path.stem), meta.get("version", "?")
        lic = meta.get("license") if isinstance(meta.get("license"), str) else "unknown"
        for fname, text in files:
            lang = "markdown" if fname.endswith(".md") else "typescript" if fname.endswith(".ts") else "javascript"
            pairs = markdown_pairs(text) if lang == "markdown" else js_pairs(text)
            for q, c, n in pairs:
                yield lang, pkg, ver, lic, q, c, n
    for path in sorted((WORK / "deb").glob("*.deb")):
        pkg, ver = path.name.split("_")[0], path.name.split("_")[1]
        lic, files = deb_sources(path)
        for fname, text in files:
            lang = "markdown" if fname.endswith(".md") else "rust" if fname.endswith(".rs") else "go"
            pairs = markdown_pairs(text) if lang == "markdown" else rust_pairs(text) if lang == "rust" else go_pairs(text)
            for q, c, n in pairs:
                yield lang, pkg, ver, lic, q, c, n


def own_eval_sets():
    """Normalised code and packages of the project's committed held-out sets (eval/heldout): they
    stay out of training even when a rebuild with more packages meets a copy of their code first
    elsewhere (de-duplication keeps the first copy it sees)."""
    prints, packages = set(), set()
    for f in OWN_EVAL_DIR.glob("*.jsonl"):
        for line in f.open(encoding="utf-8"):
            row = json.loads(line)
            prints.add(normalise_code(row["code"]))
            packages.add(row["pkg"])
    return prints, packages


def eval_fingerprints():
    """Normalised code of every eval corpus entry, so no evaluated function is trained on."""
    prints = set()
    if not EVAL_DIR.exists():
        return prints, False
    for f in EVAL_DIR.rglob("*.jsonl"):
        for line in f.open(encoding="utf-8", errors="replace"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            for key, value in row.items():
                if isinstance(value, str) and ("code" in key.lower() or "func" in key.lower()) and len(value) > 40:
                    prints.add(normalise_code(value))
    return prints, True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--heldout-fraction", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--max-per-package", type=int, default=25000, help="keeps one huge package from dominating the data")
    args = ap.parse_args()
    contaminated, eval_present = eval_fingerprints()
    own_eval, own_eval_packages = own_eval_sets()
    seen_code = set()
    stats = defaultdict(lambda: {"pairs": 0})
    removed_eval = removed_own_eval = removed_dup = skipped_licence = capped = 0
    per_package = Counter()
    train = (WORK / "pairs.jsonl").open("w")
    heldout = (WORK / "heldout.jsonl").open("w")
    for lang, pkg, ver, lic, query, code, name in collect():
        if copyleft_only(lic):
            skipped_licence += 1
            continue
        if per_package[pkg] >= args.max_per_package:
            capped += 1
            continue
        per_package[pkg] += 1
        norm = normalise_code(code)
        if norm in contaminated:
            removed_eval += 1
            continue
        if norm in seen_code:
            removed_dup += 1
            continue
        seen_code.add(norm)
        bucket = int(hashlib.sha256(f"{args.seed}:{pkg}".encode()).hexdigest(), 16) % 10_000
        out = heldout if bucket < args.heldout_fraction * 10_000 or pkg in own_eval_packages else train
        if out is train and norm in own_eval:
            removed_own_eval += 1
            continue
        out.write(json.dumps({"lang": lang, "pkg": pkg, "query": query, "code": code, "name": name}) + "\n")
        key = (pkg, ver, lic, lang, out is heldout)
        stats[key]["pairs"] += 1
    train.close()
    heldout.close()
    manifest = {
        "eval_folder_present": eval_present,
        "removed_as_eval_contamination": removed_eval,
        "removed_as_heldout_eval_code": removed_own_eval,
        "removed_duplicates": removed_dup,
        "skipped_copyleft_pairs": skipped_licence,
        "dropped_over_package_cap": capped,
        "max_pairs_per_package": args.max_per_package,
        "packages": [
            {"package": p, "version": v, "licence": l, "language": lang, "split": "heldout" if h else "train", "pairs": s["pairs"]}
            for (p, v, l, lang, h), s in sorted(stats.items())
        ],
    }
    totals = Counter()
    for (_, _, _, lang, h), s in stats.items():
        totals[("heldout" if h else "train", lang)] += s["pairs"]
    manifest["totals"] = {f"{split}/{lang}": n for (split, lang), n in sorted(totals.items())}
    (HERE / "data-manifest-v2.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps(manifest["totals"], indent=1))
    print(f"eval folder present: {eval_present}; removed as contamination: {removed_eval}; as held-out eval code: {removed_own_eval}; duplicates: {removed_dup}; copyleft skipped: {skipped_licence}; over package cap: {capped}")


if __name__ == "__main__":
    main()
