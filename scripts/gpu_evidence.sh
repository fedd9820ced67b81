#!/usr/bin/env bash
# The paper's evidence on a lent GPU, as one prepared run (device time is scarce): the
# held-out models still missing (docs/runs/heldout/weights) trained side by side, then every
# model scripts/evidence.sh still lacks (JOBS processes, one CPU thread each for its
# batches), the evaluation with the held-out groups, the docs page and blocks, and the
# members curve if the time allows. Whatever finished comes back in $OUT/evidence.tar
# (weights, report, docs): unpack it at the repository root and rerun to go on; generated
# fields stay on the lent machine in .gpu-cache (ignored) for the next call.
# A CPU dry run: DEVICE=cpu JOBS=2 PAIRS=area1-JJA EPOCHS=1 STEPS=2 BATCH=4 MEMBERS=1 DAYS=1 \
#   ROLLOUT=3 DATA=/tmp/fsdata WEIGHTS=/tmp/ev-w REPORT=/tmp/ev-r DOC=/tmp/ev.md \
#   HELDOUT_WEIGHTS=/tmp/ev-h CACHE=/tmp/ev-c \
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
# kept where the lent machine keeps ignored files between calls: a second call goes on
export CACHE=${CACHE:-.gpu-cache}
# the models held out in time, from the repository's copy; the missing ones trained here
export HELDOUT_WEIGHTS=${HELDOUT_WEIGHTS:-docs/runs/heldout/weights}
log "held out in time: train what is missing (kinds side by side on $DEVICE)"
ROOT="$CACHE/heldout" KEEP="$HELDOUT_WEIGHTS" STAGES=train JOBS=4 CACHE="$CACHE" \
  timeout "$LIMIT" scripts/heldout_evidence.sh > "$LOGS/heldout.log" 2>&1
log "held-out rc=$?: $(ls "$HELDOUT_WEIGHTS"/*.safetensors 2>/dev/null | wc -l) models"
log "evidence: train what is missing ($JOBS at once on $DEVICE), score, page"
timeout $((LIMIT - SECONDS)) scripts/evidence.sh > "$LOGS/evidence.log" 2>&1
log "evidence rc=$?"
if [ "$DEVICE" != cpu ] && [ $((LIMIT - SECONDS)) -gt 60 ] \
    && [ ! -e docs/data/members-curve.json ]; then  # on a CPU it is the queue's
  log "members curve"
  timeout $((LIMIT - SECONDS)) $PY scripts/members_curve.py --device "$DEVICE" \
    --cache "$CACHE/fields" --out docs/data/members-curve.json \
    --figure docs/img/members-curve.png > "$LOGS/members.log" 2>&1; log "members rc=$?"
fi
cp -r "$CACHE/logs" "$LOGS/train" 2>/dev/null
log "$(ls "$WEIGHTS"/*.safetensors 2>/dev/null | wc -l) weight files"
tar -cf "$OUT/evidence.tar" "$WEIGHTS" "$HELDOUT_WEIGHTS" \
  $( [ -d "$REPORT" ] && echo "$REPORT" ) $( [ -f "$DOC" ] && echo "$DOC" ) \
  README.md docs/evaluation.md $(ls docs/data/members-curve.json docs/img/members-curve.png \
  2>/dev/null)
tar -czf "$OUT/logs.tar.gz" -C "$OUT" logs && rm -rf "$LOGS"
log end
