"""Downloads the sources of the v3 training data into model/work/v3/dl/{py,npm,deb,debsrc}.

Resumable: every package leaves a marker (work/v3/dl/<source>/.done/<name> or .fail/<name>), so a
rerun skips what it has already fetched or found missing. Reserved and evaluation projects
(decontam.py) are never downloaded.

  python3 model/fetch_v3.py py       # every project of the local pip index (wheels)
  python3 model/fetch_v3.py npm      # the most downloaded npm packages (packages/npm.tsv), npm pack
  python3 model/fetch_v3.py deb      # Debian golang-*-dev, librust-*-dev, ruby-*, php-* (apt-get download)
  python3 model/fetch_v3.py debsrc   # Debian upstream tarballs: Java, C/C++ libraries, Python/JS/Go/Rust/Ruby trees with docs
"""
import argparse
import hashlib
import json
import lzma
import os
import re
import subprocess
import sys
import tarfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from decontam import blocked_package
from mine_v3 import copyleft_only

HERE = Path(__file__).resolve().parent
DL = HERE / "work" / "v3" / "dl"
NPM_LIST = Path("/work/.library/env/packages/npm.tsv")
PIP_INDEXES = [Path("/opt/pypi/simple"), Path("/opt/pypi-more/simple")]
DEBIAN = "http://deb.debian.org/debian"

# Not library source: binary toolchains, CUDA runtimes, type stubs, data-only packages.
PY_SKIP = re.compile(r"^(nvidia-|cuda-|types-|.*-stubs$|.*-data$|torch$|tensorboard-data-server$|clang-tidy$|"
                     r"cmeel-|sudachidict|opencv-|triton$|index\.html$|.*-bin$|ale-py$)")
NPM_SKIP = re.compile(r"^(@types/|@esbuild/|@img/|@rollup/rollup-|@swc/core-|@next/swc|@unrs/|@napi-rs/|"
                      r"@parcel/watcher-|@sentry/cli-|lightningcss-|@biomejs/cli|@oxc-|turbo-|.*-(linux|darwin|win32|freebsd|android)-)")


def mark(kind, name, ok):
    d = DL / kind / (".done" if ok else ".fail")
    d.mkdir(parents=True, exist_ok=True)
    (d / safe(name)).write_text("")


def seen(kind, name):
    return (DL / kind / ".done" / safe(name)).exists() or (DL / kind / ".fail" / safe(name)).exists()


def safe(name):
    return name.replace("/", "__").replace("@", "")


def run_pool(kind, names, fn, workers):
    todo = [n for n in names if not seen(kind, n)]
    print(f"{kind}: {len(names)} listed, {len(todo)} to fetch", flush=True)
    done = 0
    with ThreadPoolExecutor(workers) as ex:
        for name, ok in zip(todo, ex.map(fn, todo)):
            mark(kind, name, ok)
            done += 1
            if done % 100 == 0:
                print(f"{kind}: {done}/{len(todo)}", flush=True)


# ---------------------------------------------------------------- pip

def fetch_py():
    names = sorted({p.name for idx in PIP_INDEXES if idx.exists() for p in idx.iterdir() if p.is_dir()})
    names = [n for n in names if not PY_SKIP.match(n) and not blocked_package(n)]
    out = DL / "py"

    def one(name):
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                            "-d", str(out), name], capture_output=True, env={**os.environ, "PIP_RETRIES": "0"})
        return r.returncode == 0

    run_pool("py", names, one, 2)


# ---------------------------------------------------------------- npm

def fetch_npm(top):
    rows = []
    with NPM_LIST.open(encoding="utf-8", errors="replace") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or not parts[2].isdigit():
                continue
            rows.append((int(parts[2]), parts[0]))
    rows.sort(reverse=True)
    names = [n for _, n in rows if not NPM_SKIP.match(n) and not blocked_package(n)][:top]
    out = DL / "npm"
    todo = [n for n in names if not seen("npm", n)]
    print(f"npm: {len(names)} listed, {len(todo)} to fetch", flush=True)
    # One npm process packs a batch (node's start-up is most of the CPU a single pack costs); a
    # batch with a missing name fails whole and is retried name by name.
    for i in range(0, len(todo), 20):
        batch = todo[i:i + 20]
        r = subprocess.run(["npm", "pack", "--json", "--silent", *batch], cwd=out, capture_output=True, text=True, timeout=900)
        ok = set()
        if r.returncode == 0:
            try:
                ok = {x["name"] for x in json.loads(r.stdout)}
            except (json.JSONDecodeError, KeyError, TypeError):
                ok = set()
        for name in batch:
            if name in ok:
                mark("npm", name, True)
            else:
                r1 = subprocess.run(["npm", "pack", "--silent", name], cwd=out, capture_output=True, timeout=300)
                mark("npm", name, r1.returncode == 0)
        print(f"npm: {min(i + 20, len(todo))}/{len(todo)}", flush=True)


# ---------------------------------------------------------------- Debian binary packages

DEB_PATTERNS = [re.compile(p) for p in (r"^golang-.*-dev$", r"^librust-.*-dev$", r"^ruby-[a-z0-9].*$", r"^php-[a-z].*$")]
DEB_SKIP = re.compile(r"(-doc|-dbg|-dbgsym|-tests?|-examples?)$|^ruby-.*-dev$|^php-(all-dev|common|dev|cli|fpm|cgi)$|^php-.*-(all|ext)")


def fetch_deb():
    names = subprocess.run(["apt-cache", "pkgnames"], capture_output=True, text=True).stdout.split()
    names = sorted(n for n in names if any(p.match(n) for p in DEB_PATTERNS) and not DEB_SKIP.search(n)
                   and not blocked_package(n))
    out = DL / "deb"
    todo = [n for n in names if not seen("deb", n)]
    print(f"deb: {len(names)} listed, {len(todo)} to fetch", flush=True)
    for i in range(0, len(todo), 40):
        batch = todo[i:i + 40]
        r = subprocess.run(["apt-get", "download", *batch], cwd=out, capture_output=True)
        if r.returncode == 0:
            for n in batch:
                mark("deb", n, True)
        else:
            for n in batch:
                ok = subprocess.run(["apt-get", "download", n], cwd=out, capture_output=True).returncode == 0
                mark("deb", n, ok)
        print(f"deb: {min(i + 40, len(todo))}/{len(todo)}", flush=True)


# ---------------------------------------------------------------- Debian upstream tarballs

def sources_index():
    path = HERE / "work" / "v3" / "Sources.xz"
    if not path.exists():
        urllib.request.urlretrieve(f"{DEBIAN}/dists/bookworm/main/source/Sources.xz", path)
    text = lzma.open(path, "rt", encoding="utf-8", errors="replace").read()
    for stanza in text.split("\n\n"):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            files = []
            for l in fields.get("Checksums-Sha256", "").splitlines():
                p = l.split()
                if len(p) == 3:
                    files.append((p[2], int(p[1]), p[0]))
            fields["files"] = files
            yield fields


def debsrc_selection():
    """Source packages chosen by what they build: Java libraries (lib*-java), C/C++ libraries
    (lib*-dev), and Python, JavaScript, Go, Rust, Ruby and PHP libraries whose upstream trees hold
    their docs (Markdown, reStructuredText). Small and medium tarballs only (<= 25 MB)."""
    groups = {"java": [], "c": [], "python": [], "node": [], "go": [], "ruby": [], "php": [], "rust": []}
    for s in sources_index():
        name = s["Package"]
        binaries = [b.strip() for b in s.get("Binary", "").split(",")]
        orig = [f for f in s["files"] if ".orig.tar." in f[0] and "orig-" not in f[0]]
        deb = [f for f in s["files"] if f[0].endswith(".debian.tar.xz")]
        if not orig or not deb or orig[0][1] > 25_000_000 or blocked_package(name):
            continue
        if re.search(r"(^|-)(doc|data|fonts?|l10n|i18n|tests?)$", name) or re.search(r"api-services|(^|-)sdk(-|$)|^haskell-", name):
            continue
        entry = (name, s["Version"], s["Directory"], orig[0], deb[0])
        if any(re.match(r"lib.*-java$", b) for b in binaries):
            groups["java"].append(entry)
        elif name.startswith("python-"):
            groups["python"].append(entry)
        elif name.startswith("node-"):
            groups["node"].append(entry)
        elif name.startswith("golang-"):
            groups["go"].append(entry)
        elif name.startswith("rust-"):
            groups["rust"].append(entry)
        elif name.startswith("ruby-"):
            groups["ruby"].append(entry)
        elif name.startswith("php-"):
            groups["php"].append(entry)
        elif any(re.match(r"lib[a-z0-9].*-dev$", b) for b in binaries) and not re.search(
                r"(perl|python|ruby|php|haskell|libghc|ocaml|golang|rust|node|r-cran|lua|tcl|guile)", " ".join(binaries)):
            groups["c"].append(entry)
    return groups


def debsrc_licence(debian_tar):
    from mine_v3 import debian_copyright
    with tarfile.open(debian_tar) as t:
        for m in t.getmembers():
            if m.name.endswith("debian/copyright") and m.isfile():
                return debian_copyright(t.extractfile(m).read().decode("utf-8", "replace"))[0]
    return "unknown"


def fetch_debsrc(limits):
    groups = debsrc_selection()
    chosen = []
    for group, entries in groups.items():
        # A stable spread over the alphabet, not the first names of it.
        entries.sort(key=lambda e: hashlib.sha256(e[0].encode()).hexdigest())
        chosen += [(group, e) for e in entries[:limits.get(group, 0)]]
    out = DL / "debsrc"
    listing = out / "selection.tsv"
    with listing.open("w") as f:
        for group, (name, ver, d, orig, deb) in chosen:
            f.write(f"{name}\t{ver}\t{group}\t{d}/{orig[0]}\t{d}/{deb[0]}\n")

    def one(item):
        group, (name, ver, d, orig, deb) = item
        target = out / name
        target.mkdir(exist_ok=True)
        try:
            # The packaging first (some are missing on the mirror: then the upstream LICENSE decides
            # when mining); a copyleft-only upstream (debian/copyright) is not downloaded.
            dest = target / deb[0]
            if not (dest.exists() and dest.stat().st_size == deb[1]):
                try:
                    urllib.request.urlretrieve(f"{DEBIAN}/{d}/{deb[0]}", dest)
                    if hashlib.sha256(dest.read_bytes()).hexdigest() != deb[2]:
                        dest.unlink()
                except Exception:
                    dest.unlink(missing_ok=True)
            if dest.exists():
                licence = debsrc_licence(dest)
                if copyleft_only(licence):
                    (target / "skipped").write_text("copyleft-only: " + licence + "\n")
                    return False
            fname, size, sha = orig
            dest = target / fname
            if not (dest.exists() and dest.stat().st_size == size):
                urllib.request.urlretrieve(f"{DEBIAN}/{d}/{fname}", dest)
                if hashlib.sha256(dest.read_bytes()).hexdigest() != sha:
                    dest.unlink()
                    return False
            (target / "group").write_text(group + "\n" + ver + "\n")
            return True
        except Exception:
            return False

    todo = [c for c in chosen if not seen("debsrc", c[1][0])]
    print(f"debsrc: {len(chosen)} chosen, {len(todo)} to fetch", flush=True)
    done = 0
    with ThreadPoolExecutor(4) as ex:
        for item, ok in zip(todo, ex.map(one, todo)):
            mark("debsrc", item[1][0], ok)
            done += 1
            if done % 50 == 0:
                print(f"debsrc: {done}/{len(todo)}", flush=True)


def list_excluded():
    """Names each source would have offered that decontam.py keeps out (reserved and evaluation
    projects), written to work/v3/excluded-at-fetch.json for the manifest."""
    out = {}
    names = sorted({p.name for idx in PIP_INDEXES if idx.exists() for p in idx.iterdir() if p.is_dir()})
    out["pip"] = {n: blocked_package(n) for n in names if blocked_package(n)}
    npm = []
    with NPM_LIST.open(encoding="utf-8", errors="replace") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and parts[2].isdigit():
                npm.append((int(parts[2]), parts[0]))
    npm.sort(reverse=True)
    out["npm"] = {n: blocked_package(n) for _, n in npm[:5000] if blocked_package(n)}
    debs = subprocess.run(["apt-cache", "pkgnames"], capture_output=True, text=True).stdout.split()
    out["deb"] = {n: blocked_package(n) for n in sorted(debs) if any(p.match(n) for p in DEB_PATTERNS) and blocked_package(n)}
    out["debsrc"] = {s["Package"]: blocked_package(s["Package"]) for s in sources_index() if blocked_package(s["Package"])}
    path = HERE / "work" / "v3" / "excluded-at-fetch.json"
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print({k: len(v) for k, v in out.items()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["py", "npm", "deb", "debsrc", "excluded"])
    ap.add_argument("--npm-top", type=int, default=2500)
    ap.add_argument("--java", type=int, default=1200)
    ap.add_argument("--c", type=int, default=2000)
    ap.add_argument("--python", type=int, default=500)
    ap.add_argument("--node", type=int, default=1500)
    ap.add_argument("--go", type=int, default=100)
    ap.add_argument("--ruby", type=int, default=300)
    ap.add_argument("--php", type=int, default=200)
    ap.add_argument("--rust", type=int, default=50)
    args = ap.parse_args()
    for k in ("py", "npm", "deb", "debsrc"):
        (DL / k).mkdir(parents=True, exist_ok=True)
    if args.what == "py":
        fetch_py()
    elif args.what == "npm":
        fetch_npm(args.npm_top)
    elif args.what == "deb":
        fetch_deb()
    elif args.what == "excluded":
        list_excluded()
    else:
        fetch_debsrc({k: getattr(args, k) for k in ("java", "c", "python", "node", "go", "ruby", "php", "rust")})


if __name__ == "__main__":
    main()
