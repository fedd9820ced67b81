#!/usr/bin/env bash
# The paper's evidence by one command: every trainable model of every area × season at one
# equal budget (scripts/train_evidence.sh), scored once into one report, and the docs page
# of its tables (docs/evidence.md) printed from that report, with the README's and
# docs/evaluation.md's generated blocks that quote it.
#   scripts/evidence.sh                          # all eight pairs
#   PAIRS="area1-DJF area0-JJA" scripts/evidence.sh
# Every step resumes: a model already in WEIGHTS is not trained again, a stopped training
# continues from its last epoch, and the evaluation reuses the fields it generated (CACHE).
# The models held out in time (scripts/heldout_evidence.sh, in HELDOUT_WEIGHTS) are scored
# in the same report, each pair's held-out season-year its own group.
# Overridable: WEIGHTS, HELDOUT_WEIGHTS, REPORT, DOC, CACHE, PAIRS, KINDS, JOBS (trainings and evaluation
# workers at once, one process each), THREADS (each training's; default cores / JOBS),
# STAGES ("train evaluate page"), DEVICE, FS, PY; MEMBERS, DAYS, ROLLOUT (4, 0 = all, 30)
# only for dry runs: the evidence is scored with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/evidence_paths.sh  # WEIGHTS, REPORT, DOC
CACHE=${CACHE:-$HOME/.cache/finescale/evidence}
HELDOUT_WEIGHTS=${HELDOUT_WEIGHTS:-$HOME/finescale-heldout/weights}
PAIRS=${PAIRS:-"area0-DJF area0-MAM area0-JJA area0-SON area1-DJF area1-MAM area1-JJA area1-SON"}
KINDS=${KINDS:-"diffusion vae unet ablation transfer"}  # longest first: the cores stay busy
JOBS=${JOBS:-$(nproc)}
STAGES=${STAGES:-"train evaluate page"}
DEVICE=${DEVICE:-auto}
FS=${FS:-finescale}
PY=${PY:-python}
MEMBERS=${MEMBERS:-4} DAYS=${DAYS:-0} ROLLOUT=${ROLLOUT:-30}
export DEVICE FS OUT="$WEIGHTS"
mkdir -p "$WEIGHTS" "$CACHE/logs"
threads=${THREADS:-$(( $(nproc) / JOBS ))}; [ "$threads" -ge 1 ] || threads=1

for stage in $STAGES; do
  case $stage in
  train)
    tasks=()
    # pair by pair: a pair's models are done early and can be scored while the next trains
    for pair in $PAIRS; do for kind in $KINDS; do
      [ -e "$WEIGHTS/$pair-$kind.safetensors" ] || tasks+=("$kind" "$pair")
    done; done
    echo "[$(date -u +%T)] train: $(( ${#tasks[@]} / 2 )) models to train, $JOBS at once"
    # one process per model: the logs say where each one is
    [ ${#tasks[@]} -eq 0 ] || printf '%s %s\n' "${tasks[@]}" | \
      OMP_NUM_THREADS=$threads xargs -P "$JOBS" -L 1 sh -c \
        'KINDS=$0 scripts/train_evidence.sh "$1" > "'"$CACHE"'/logs/$1-$0.log" 2>&1 \
         && echo "[$(date -u +%T)] trained $1 $0" || { echo "failed: $1 $0 (log: '"$CACHE"'/logs/$1-$0.log)"; exit 255; }'
    ;;
  evaluate)
    ckpts=()
    for pair in $PAIRS; do for kind in $KINDS; do
      for dir in "$WEIGHTS" "$HELDOUT_WEIGHTS"; do
        [ ! -e "$dir/$pair-$kind.safetensors" ] || ckpts+=("$dir/$pair-$kind.safetensors")
      done
    done; done
    echo "[$(date -u +%T)] evaluate: ${#ckpts[@]} models → $REPORT"
    $FS evaluate --checkpoints "${ckpts[@]}" --members "$MEMBERS" --days "$DAYS" \
      --rollout "$ROLLOUT" --steps 12 \
      --precision bf16 --interp bilinear,bicubic --workers "$JOBS" --device "$DEVICE" \
      --cache "$CACHE/fields" --out "$REPORT" --overwrite
    ;;
  page)
    $PY scripts/report_table.py "$REPORT" --page > "$DOC.tmp" && mv "$DOC.tmp" "$DOC"
    echo "[$(date -u +%T)] wrote $DOC"
    # the docs' sentences and table that quote the report (generated blocks)
    $PY scripts/report_table.py --fill README.md docs/evaluation.md
    ;;
  *) echo "unknown stage $stage (train, evaluate, page)" >&2; exit 2 ;;
  esac
done; exit  # read whole with the loop: an edit of this file cannot reach a running copy
