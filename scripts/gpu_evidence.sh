#!/usr/bin/env bash
# The paper's evidence on a lent GPU, as one prepared run (device time is scarce): every
# model scripts/evidence.sh still lacks, trained side by side on the GPU (JOBS processes,
# one CPU thread each for its batches), then the evaluation and docs page if the time
# allows. Whatever finished comes back in $OUT/evidence.tar (weights, half-done trainings'
# resume files, report, docs page): unpack it at the repository root and rerun to go on.
# A CPU dry run: DEVICE=cpu JOBS=2 PAIRS=area1-JJA EPOCHS=1 STEPS=2 BATCH=4 MEMBERS=1 DAYS=1 \
#   ROLLOUT=3 DATA=/tmp/fsdata WEIGHTS=/tmp/ev-w REPORT=/tmp/ev-r DOC=/tmp/ev.md \
#   scripts/gpu_evidence.sh
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-evidence}
W=${WORK:-/tmp/fs-work}
LOGS=$OUT/logs
LIMIT=${LIMIT:-500}  # seconds the whole run may take
mkdir -p "$OUT" "$LOGS" "$W"
log() { echo "[$(date -u +%T) +${SECONDS}s] $*" | tee -a "$OUT/run.log"; }
source scripts/gpu_env.sh

export DEVICE=${DEVICE:-cuda} JOBS=${JOBS:-16} THREADS=${THREADS:-1} FS PY=python3
source scripts/evidence_paths.sh  # the same folders as evidence.sh chooses
export WEIGHTS REPORT DOC
export CACHE=${CACHE:-$W/cache}
log "evidence: train what is missing ($JOBS at once on $DEVICE)"
timeout "$LIMIT" scripts/evidence.sh > "$LOGS/evidence.log" 2>&1; log "evidence rc=$?"
cp -r "$CACHE/logs" "$LOGS/train" 2>/dev/null
log "$(ls "$WEIGHTS"/*.safetensors 2>/dev/null | wc -l) weight files"
tar -cf "$OUT/evidence.tar" "$WEIGHTS" $( [ -d "$REPORT" ] && echo "$REPORT" ) \
  $( [ -f "$DOC" ] && echo "$DOC" )
tar -czf "$OUT/logs.tar.gz" -C "$OUT" logs && rm -rf "$LOGS"
log end
