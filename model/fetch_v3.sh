#!/usr/bin/env bash
# Builds the v3 training data from nothing but the registries this machine reaches (see README,
# "Data v3"). Every step is resumable: rerun the script after an interruption and it skips what is
# already downloaded or mined. Long steps run under nice, one CPU-heavy step at a time.
set -uo pipefail
cd "$(dirname "$0")"
mkdir -p work/logs
[ -f work/v3/.apt-updated ] || { apt-get update -qq >/dev/null 2>&1; mkdir -p work/v3; touch work/v3/.apt-updated; }
nice -n 10 python3 fetch_v3.py py      2>&1 | tee -a work/logs/fetch-py.log | tail -1
nice -n 10 python3 fetch_v3.py deb     2>&1 | tee -a work/logs/fetch-deb.log | tail -1
nice -n 10 python3 fetch_v3.py npm     2>&1 | tee -a work/logs/fetch-npm.log | tail -1
nice -n 10 python3 fetch_v3.py debsrc  2>&1 | tee -a work/logs/fetch-debsrc.log | tail -1
nice -n 10 python3 fetch_v3.py excluded 2>&1 | tail -1
nice -n 10 python3 mine_v3.py mine     2>&1 | tee -a work/logs/mine.log | tail -1
nice -n 10 python3 mine_v3.py build    2>&1 | tee work/logs/build.log | tail -30
nice -n 10 python3 check_decontamination.py --record 2>&1 | tee work/logs/check.log | tail -20
