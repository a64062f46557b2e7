#!/usr/bin/env bash
# Downloads the open-source packages whose code and docs become training pairs. Everything comes
# from the registries this machine reaches: the local pip index (wheels hold .py sources), the npm
# registry (tarballs hold JS/TS), Debian (golang-*-dev packages hold Go sources).
set -uo pipefail
# The pip index here is local; retrying the unreachable default index costs seconds per package.
export PIP_RETRIES=${PIP_RETRIES:-0}
cd "$(dirname "$0")"
mkdir -p work/py work/npm work/deb

# Python: large, well-documented, permissively licensed (BSD/MIT/Apache/PSF) packages.
PY=(django sympy scipy pandas numpy astropy sphinx networkx requests flask sqlalchemy matplotlib
  scikit-learn twisted hypothesis pytest werkzeug jinja2 click attrs pydantic fastapi starlette httpx
  aiohttp tornado boto3 botocore pillow docutils pygments babel alembic celery kombu dask xarray
  statsmodels seaborn bokeh plotly numba sqlparse pyparsing lxml networkit rich typer tqdm
  pyarrow polars h5py pytz dateutil arrow pendulum marshmallow wtforms paramiko cryptography
  pymongo redis psycopg peewee sqlmodel ruamel-yaml tomlkit toolz cytoolz more-itertools boltons
  simplejson ujson msgpack shapely pyproj geopandas fiona nltk spacy gensim scrapy tensorboard
  keras transformers datasets accelerate optuna lightgbm pytorch-lightning torchmetrics mypy pylint
  astroid black isort flake8 pycodestyle pyflakes jedi parso ipython prompt-toolkit traitlets
  tox virtualenv setuptools pip packaging pluggy coverage freezegun responses faker factory-boy
  sentence-transformers huggingface-hub tokenizers openai anthropic langchain-core pyyaml gitpython
  networkx igraph pandera great-expectations apscheduler croniter schedule invoke fabric
  # added for the 300k-pair build (issue 9): more libraries with long docstring traditions
  scikit-image pywavelets imageio trimesh pyglet biopython music21 librosa pint uncertainties
  mpmath numexpr tables openpyxl xlsxwriter python-docx reportlab pypdf pdfminer-six beautifulsoup4
  html5lib bleach markdown mistune nbformat nbconvert jupyter-server notebook pyramid bottle falcon
  sanic quart dash streamlit panel param holoviews altair pymysql asyncpg elasticsearch kafka-python
  pika dnspython netaddr pexpect psutil sh plumbum fsspec s3fs zarr numcodecs netcdf4 cftime cartopy
  metpy rasterio folium geopy diffusers peft timm torchvision einops mlflow prefect luigi dagster
  kedro djangorestframework wagtail django-extensions urllib3 charset-normalizer oauthlib authlib
  pyjwt itsdangerous passlib pynacl pyopenssl asn1crypto tenacity backoff cachetools diskcache
  joblib cloudpickle dill regex parse inflect textblob stanza sacremoses mido pyomo cvxpy pulp deap
  simpy pymoo imbalanced-learn pydata-sphinx-theme myst-parser sphinx-autodoc-typehints
  cython pythran pybind11 numpydoc xarray-einstats arviz pymc pytensor emcee corner lmfit
  jax flax optax chex orbax-checkpoint dm-haiku tensorflow-probability gymnasium pettingzoo
  skorch sktime pmdarima prophet tsfresh featuretools category-encoders shap lime eli5
  bokeh-sampledata vispy pyqtgraph napari magicgui qtpy)
for p in "${PY[@]}"; do
  ls work/py | grep -qi "^${p//-/_}-" && continue
  pip download --no-deps --only-binary :all: -d work/py "$p" >/dev/null 2>&1 \
    || pip download --no-deps -d work/py "$p" >/dev/null 2>&1 \
    || echo "py: no $p"
done

# JavaScript / TypeScript packages with JSDoc.
NPM=(lodash typescript webpack eslint rxjs three moment express koa axios d3-array d3-scale
  d3-shape chart.js prettier rollup vite vue react-dom preact immer redux mobx luxon date-fns
  dayjs underscore ramda async bluebird commander yargs chalk inquirer ws socket.io mongoose
  sequelize knex pg mysql2 ioredis jsdom cheerio marked markdown-it highlight.js ajv joi zod
  uuid semver minimatch glob fs-extra graceful-fs handlebars ejs pug less sass postcss
  @babel/core @babel/parser @babel/traverse acorn esprima terser uglify-js jquery backbone
  ember-source angular @angular/core pixi.js phaser leaflet openlayers mapbox-gl fabric
  konva matter-js tone howler quill codemirror monaco-editor pdfjs-dist sharp jimp
  node-fetch got superagent request-promise formidable multer passport jsonwebtoken bcryptjs
  crypto-js nodemailer winston pino debug morgan body-parser cors helmet
  # added for the 300k-pair build (issue 9)
  @tensorflow/tfjs-core @tensorflow/tfjs-layers mathjs numeric ml-matrix simple-statistics
  d3-geo d3-hierarchy d3-force d3-selection d3-transition d3-zoom d3-color d3-interpolate
  vega vega-lite plotly.js echarts cytoscape vis-network sigma graphology
  @codemirror/state @codemirror/view prosemirror-model prosemirror-state prosemirror-view
  @tiptap/core slate lexical draft-js
  @angular/common @angular/router @angular/forms
  @vue/runtime-core @vue/reactivity @vue/compiler-core svelte solid-js lit @lit/reactive-element
  next nuxt @nestjs/core @nestjs/common fastify hapi @hapi/hapi restify polka
  typeorm @mikro-orm/core objection bookshelf prisma @prisma/client drizzle-orm
  jest mocha chai sinon jasmine-core vitest @playwright/test puppeteer cypress
  yup superstruct io-ts fp-ts effect rxjs-compat immutable mori
  xlsx papaparse csv-parse pdf-lib jszip pako fflate
  node-forge tweetnacl elliptic bn.js big.js decimal.js bignumber.js
  esbuild @swc/core @rollup/pluginutils @babel/generator @babel/types recast jscodeshift
  @typescript-eslint/typescript-estree eslint-plugin-react stylelint csstree css-tree
  yaml js-yaml toml @iarna/toml ini dotenv convict nconf
  p-limit p-queue async-retry bottleneck eventemitter3 mitt
  localforage idb dexie lowdb nedb pouchdb-core
  socket.io-client engine.io ws simple-peer peerjs
  babylonjs @babylonjs/core cannon-es ammo.js
  openseadragon cesium @turf/turf proj4 topojson-client)
for p in "${NPM[@]}"; do
  safe=${p//\//-}; safe=${safe//@/}
  ls work/npm | grep -q "^${safe}-[0-9]" && continue
  (cd work/npm && npm pack "$p" >/dev/null 2>&1) || echo "npm: no $p"
done

# Go sources from Debian.
if command -v apt-get >/dev/null; then
  [ -f work/deb/.updated ] || { apt-get update -qq >/dev/null 2>&1 && touch work/deb/.updated; }
  GO=(golang-github-spf13-cobra-dev golang-github-gorilla-mux-dev golang-github-sirupsen-logrus-dev
    golang-github-stretchr-testify-dev golang-golang-x-net-dev golang-golang-x-text-dev
    golang-golang-x-tools-dev golang-golang-x-crypto-dev golang-golang-x-sys-dev
    golang-github-prometheus-client-golang-dev golang-google-grpc-dev golang-github-golang-protobuf-1-5-dev
    golang-github-google-go-cmp-dev golang-github-pkg-errors-dev golang-github-spf13-viper-dev
    golang-github-gin-gonic-gin-dev golang-github-go-sql-driver-mysql-dev golang-github-lib-pq-dev
    golang-github-mattn-go-sqlite3-dev golang-github-hashicorp-go-multierror-dev
    golang-github-hashicorp-golang-lru-dev golang-github-klauspost-compress-dev
    golang-github-miekg-dns-dev golang-github-gogo-protobuf-dev golang-gopkg-yaml.v3-dev
    golang-github-burntsushi-toml-dev golang-github-fsnotify-fsnotify-dev golang-github-urfave-cli-dev
    golang-github-google-uuid-dev golang-github-gorilla-websocket-dev golang-github-json-iterator-go-dev
    golang-github-valyala-fasthttp-dev golang-github-labstack-echo-dev golang-github-go-chi-chi-dev
    golang-github-docker-docker-dev golang-github-containerd-containerd-dev golang-k8s-client-go-dev
    golang-k8s-apimachinery-dev golang-github-hashicorp-consul-api-dev golang-github-minio-minio-go-v7-dev
    golang-github-aws-aws-sdk-go-dev golang-github-cockroachdb-errors-dev golang-github-dgraph-io-badger-dev
    golang-etcd-server-dev golang-github-influxdata-influxdb1-client-dev golang-github-nats-io-nats.go-dev
    # added for the 300k-pair build (issue 9); generated cloud SDKs left out on purpose
    golang-github-hashicorp-hcl-v2-dev golang-github-hashicorp-raft-dev golang-github-hashicorp-memberlist-dev
    golang-github-hashicorp-serf-dev golang-github-hashicorp-go-plugin-dev golang-github-prometheus-common-dev
    golang-github-prometheus-procfs-dev golang-github-go-kit-kit-dev golang-go.uber-zap-dev golang-github-rs-zerolog-dev
    golang-github-spf13-pflag-dev golang-github-spf13-afero-dev golang-github-spf13-cast-dev
    golang-github-mitchellh-mapstructure-dev golang-github-jmoiron-sqlx-dev golang-github-jackc-pgx-v4-dev
    golang-github-go-playground-validator-v10-dev golang-github-olekukonko-tablewriter-dev
    golang-github-charmbracelet-bubbletea-dev golang-github-charmbracelet-lipgloss-dev golang-github-gdamore-tcell.v2-dev
    golang-github-rivo-tview-dev golang-github-alecthomas-chroma-dev golang-github-yuin-goldmark-dev
    golang-github-gomarkdown-markdown-dev golang-github-tidwall-gjson-dev golang-github-tidwall-buntdb-dev
    golang-github-boltdb-bolt-dev golang-github-syndtr-goleveldb-dev golang-github-dgraph-io-ristretto-dev
    golang-github-allegro-bigcache-dev golang-github-patrickmn-go-cache-dev golang-github-google-btree-dev
    golang-github-emirpasic-gods-dev golang-github-deckarep-golang-set-dev golang-github-bits-and-blooms-bitset-dev
    golang-github-roaringbitmap-roaring-dev golang-github-go-git-go-git-dev golang-github-google-go-github-dev
    golang-github-xanzy-go-gitlab-dev golang-github-cli-go-gh-dev golang-github-containers-image-dev
    golang-github-containers-storage-dev golang-github-opencontainers-runc-dev golang-github-vishvananda-netlink-dev
    golang-github-google-gopacket-dev golang-github-caddyserver-certmagic-dev golang-github-gorilla-sessions-dev
    golang-github-gorilla-handlers-dev golang-github-julienschmidt-httprouter-dev golang-github-go-resty-resty-dev
    golang-golang-x-sync-dev golang-golang-x-exp-dev golang-golang-x-oauth2-dev golang-golang-x-mod-dev
    golang-golang-x-term-dev golang-golang-x-time-dev golang-golang-x-image-dev golang-github-montanaflynn-stats-dev
    golang-github-shopspring-decimal-dev golang-github-minio-sha256-simd-dev golang-github-cespare-xxhash-dev
    golang-github-pierrec-lz4-dev golang-github-golang-snappy-dev golang-github-ulikunitz-xz-dev
    golang-github-bmatcuk-doublestar-dev golang-github-gobwas-glob-dev golang-github-masterminds-sprig-dev
    golang-github-antonmedv-expr-dev golang-github-hashicorp-go-getter-dev golang-github-hashicorp-go-retryablehttp-dev
    golang-github-evanw-esbuild-dev golang-github-traefik-yaegi-dev golang-github-cilium-ebpf-dev
    golang-github-go-logr-logr-dev golang-github-go-openapi-spec-dev golang-github-getkin-kin-openapi-dev
    golang-github-graph-gophers-graphql-go-dev golang-github-vektah-gqlparser-dev golang-github-segmentio-kafka-go-dev
    golang-github-shopify-sarama-dev golang-github-rabbitmq-amqp091-go-dev golang-github-eclipse-paho.mqtt.golang-dev
    golang-github-nats-io-go-nats-dev golang-github-nats-io-nats-server-dev golang-github-coreos-go-systemd-dev
    golang-github-fatih-color-dev golang-github-schollz-progressbar-dev golang-github-cheggaaa-pb.v3-dev
    golang-github-alecthomas-kong-dev golang-github-jessevdk-go-flags-dev)
  (cd work/deb && for p in "${GO[@]}"; do ls | grep -q "^${p}_" || apt-get download "$p" >/dev/null 2>&1 || echo "deb: no $p"; done)

  # Rust crate sources from Debian: librust-<crate>-dev ships the crate under /usr/share/cargo/registry.
  RUST=(serde serde-json tokio regex rand clap hyper futures-util itertools syn chrono time url bytes anyhow
    thiserror log env-logger rayon rayon-core crossbeam-channel crossbeam-utils crossbeam-epoch crossbeam-deque
    parking-lot nom num-traits num-bigint num-integer num-rational num-complex indexmap hashbrown smallvec memchr
    aho-corasick regex-syntax regex-automata bstr unicode-segmentation unicode-normalization unicode-width toml
    toml-edit reqwest http h2 tower tracing tracing-subscriber tracing-core image png flate2 zip tar walkdir
    ignore globset git2 libc nix rustix mio socket2 tokio-util async-std petgraph rustls ring sha2 digest base64
    hex uuid semver proc-macro2 quote pest tera csv rusqlite gimli object goblin rustyline crossterm termcolor
    indicatif console dialoguer similar textwrap encoding-rs bincode rmp-serde prost num-cpus humantime bitflags
    once-cell either strum derive-more darling heck fancy-regex lru dashmap arc-swap slab bumpalo typed-arena
    memmap2 tempfile notify sysinfo ahash rustc-hash crc32fast adler miniz-oxide zstd xz2 bzip2 quick-xml xml-rs
    roxmltree pulldown-cmark html5ever selectors cssparser mime httparse cookie openssl hmac sha1 md-5 blake3
    futures futures-core futures-channel async-trait pin-project serde-yaml ron tokio-stream http-body
    trust-dns-proto cargo-metadata glob unicase phf itoa ryu lexical-core fnv siphasher rand-core rand-chacha
    getrandom rust-decimal ordered-float half approx float-cmp chrono-tz tree-sitter cc pkg-config bindgen cmake
    libloading wasm-bindgen js-sys indoc pretty-assertions insta proptest quickcheck criterion serde-derive
    zerocopy bytemuck byteorder arrayvec tinyvec generic-array typenum pem rustls-pemfile strsim termion
    ansi-term colored nu-ansi-term yansi lalrpop combine syntect gif jpeg-decoder tiff tiny-skia ttf-parser
    euclid kurbo geo-types async-channel async-executor async-io async-lock async-process async-task
    bat cargo cargo-util csv-core fst grep-searcher grep-regex grep-printer grep-matcher hyper-rustls
    lyon-geom lyon-path plotters pyo3 rav1e rust-ini sequoia-openpgp serde-bytes serde-cbor serde-urlencoded
    serde-with tokio-postgres tokio-rustls tracing-futures tracing-log winit zbus alacritty-terminal)
  (cd work/deb && for c in "${RUST[@]}"; do p="librust-${c}-dev"; ls | grep -q "^${p}_" || apt-get download "$p" >/dev/null 2>&1 || echo "deb: no $p"; done)
fi
echo "fetch: done"
