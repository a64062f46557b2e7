#!/usr/bin/env bash
# Downloads the open-source packages whose code and docs become training pairs. Everything comes
# from the registries this machine reaches: the local pip index (wheels hold .py sources), the npm
# registry (tarballs hold JS/TS), Debian (golang-*-dev packages hold Go sources).
set -uo pipefail
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
  networkx igraph pandera great-expectations apscheduler croniter schedule invoke fabric)
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
  crypto-js nodemailer winston pino debug morgan body-parser cors helmet)
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
    golang-etcd-server-dev golang-github-influxdata-influxdb1-client-dev golang-github-nats-io-nats.go-dev)
  (cd work/deb && for p in "${GO[@]}"; do ls | grep -q "^${p}_" || apt-get download "$p" >/dev/null 2>&1 || echo "deb: no $p"; done)
fi
echo "fetch: done"
