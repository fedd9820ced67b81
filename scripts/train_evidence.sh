#!/usr/bin/env bash
# The paper's evidence at one equal budget: every trainable model of an area × season gets
# the same data, the same patches (same seed: the same batches of days and windows), the same
# optimiser steps and batch size as the shipped diffusion model (18 epochs × 100 steps × 64
# patches of 48², best validation epoch kept); diffusion and transfer share the pair's
# shipped encoder. Usage (one line per pair; KINDS and OUT overridable):
#   scripts/train_evidence.sh area0-JJA [area1-DJF …]
# On 2 CPU cores one pair (ablation, U-Net, transfer, VAE) takes about 1.5 h.
set -euo pipefail
OUT=${OUT:-assets/weights}
KINDS=${KINDS:-"ablation unet transfer vae"}
EPOCHS=${EPOCHS:-18} STEPS=${STEPS:-100} BATCH=${BATCH:-64} DEVICE=${DEVICE:-auto}
FS=${FS:-finescale}
for pair in "$@"; do
  region=${pair%-*} season=${pair#*-}
  for kind in $KINDS; do
    echo "[$(date -u +%T)] $kind $region $season"
    $FS train "$kind" --region "$region" --season "$season" --epochs "$EPOCHS" \
      --steps "$STEPS" --batch "$BATCH" --device "$DEVICE" --seed 0 --half \
      --encoder "assets/weights/$region-$season-encoder.safetensors" --out "$OUT"
  done
done
