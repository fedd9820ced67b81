#!/usr/bin/env bash
# The paper's evidence at one equal budget: every trainable model of an area × season gets
# the same data, the same patches (same seed: the same batches of days and windows), the same
# optimiser steps and batch size as the shipped diffusion model (18 epochs × 100 steps × 64
# patches of 48², best validation epoch kept); diffusion and transfer share the pair's
# shipped encoder. Usage (KINDS, OUT, DEVICE, PARALLEL overridable):
#   scripts/train_evidence.sh area0-JJA [area1-DJF …]
# On 2 CPU cores one model takes 18–30 min. On a GPU the pairs can train side by side
# (PARALLEL=1: one process per pair; small networks leave a large GPU mostly idle).
# A model already in OUT is skipped; a stopped training resumes from its last epoch.
set -euo pipefail
OUT=${OUT:-assets/weights}
KINDS=${KINDS:-"ablation unet transfer vae"}
EPOCHS=${EPOCHS:-18} STEPS=${STEPS:-100} BATCH=${BATCH:-64} DEVICE=${DEVICE:-auto}
FS=${FS:-finescale}
PARALLEL=${PARALLEL:-0}
ENCODERS=${ENCODERS:-assets/weights}  # where REGION-SEASON-encoder.safetensors is
# a year: train with that season-year held out in time (scripts/heldout_evidence.sh)
HELDOUT_YEAR=${HELDOUT_YEAR:-0}

train_pair() {
  local region=${1%-*} season=${1#*-}
  for kind in $KINDS; do
    if [ -e "$OUT/$region-$season-$kind.safetensors" ]; then
      echo "[$(date -u +%T)] $kind $region $season: trained already ($OUT)"; continue
    fi
    echo "[$(date -u +%T)] $kind $region $season"
    $FS train "$kind" --region "$region" --season "$season" --epochs "$EPOCHS" \
      --steps "$STEPS" --batch "$BATCH" --device "$DEVICE" --seed 0 --half \
      --heldout-year "$HELDOUT_YEAR" \
      --encoder "$ENCODERS/$region-$season-encoder.safetensors" --out "$OUT"
  done
}

# one block, read whole before it runs: an edit of this file cannot reach a running copy
{
  mkdir -p "$OUT"
  pids=()
  for pair in "$@"; do
    if [ "$PARALLEL" = 1 ]; then train_pair "$pair" > "$OUT/train-$pair.log" 2>&1 & pids+=($!)
    else train_pair "$pair"; fi
  done
  for pid in "${pids[@]}"; do wait "$pid"; done  # a failed pair fails the script
  exit
}
