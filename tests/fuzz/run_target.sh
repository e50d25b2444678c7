#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time on a copy of its seed corpus and prints its
# figures (executions, speed, coverage). Usage: run_target.sh <binary> <seed dir> <seconds>
set -euo pipefail
binary=$1
seeds=$2
seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
if [ -d "$seeds" ]; then cp -r "$seeds/." "$work/corpus/"; fi
cd "$work"
"$binary" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 corpus 2> log.txt || { tail -50 log.txt; exit 1; }
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|cov: ' log.txt | tail -4
