#!/usr/bin/env bash
# The evidence held out in time (docs/evaluation.md, "Held out in time"): for each PAIR:YEAR,
# that whole season-year and its pre-season buffer are kept out of training and validation;
# the encoder and diffusion, ablation, U-Net and transfer are trained on the rest at the
# paper evidence's equal budget (scripts/train_evidence.sh), then all are scored on every
# held-out day, with one strict roll-out through the whole held-out season.
#   scripts/heldout_evidence.sh                         # area0 JJA 2006, area1 DJF 2006-07
#   HELDOUT="area0-JJA:2006" STAGES=train scripts/heldout_evidence.sh
# Resumable like scripts/evidence.sh: a model already in ROOT/weights is kept, a stopped
# training continues from its last epoch, the evaluation reuses its cached fields — in
# scripts/evidence.sh's cache, so that its report (which scores these models beside the
# shipped ones, each held-out season-year its own group) does not generate them again.
# On 2 CPU cores one pair costs ~2.5 h of training and ~1 h of scoring.
set -euo pipefail
cd "$(dirname "$0")/.."
HELDOUT=${HELDOUT:-"area0-JJA:2006 area1-DJF:2006"}
ROOT=${ROOT:-$HOME/finescale-heldout}
CACHE=${CACHE:-$HOME/.cache/finescale/evidence}
KINDS=${KINDS:-"diffusion unet ablation transfer"}
STAGES=${STAGES:-"train evaluate"}
MEMBERS=${MEMBERS:-4} ROLLOUT=${ROLLOUT:-30}  # held out: through the whole season anyway
FS=${FS:-finescale}
JOBS=${JOBS:-1}  # >1 (a GPU): a pair's models trained side by side
W="$ROOT/weights"
# finished models are kept in the repository too (committed), so that a fresh machine
# starts from them: seeded into W here, copied back after each pair's training
KEEP=${KEEP:-docs/runs/heldout/weights}
mkdir -p "$W" "$KEEP"
cp -n "$KEEP"/*.safetensors "$KEEP"/*.json "$W"/ 2>/dev/null || true
log() { echo "[$(date -u +%FT%T)] $*" | tee -a "$ROOT/runs.log"; }
# a finished model into KEEP (commit it: a session's machine may not come back)
keep() {
  for f in "$W/$1"-*.safetensors "$W/$1"-*.json; do
    [ -e "$f" ] || continue
    cmp -s "$f" "$KEEP/${f##*/}" || { cp "$f" "$KEEP/.${f##*/}.tmp" && mv "$KEEP/.${f##*/}.tmp" "$KEEP/${f##*/}"; }
  done
}

# one block, read whole before it runs: an edit of this file cannot reach a running copy
{
# One pair at a time, trained then scored, so that the first pair's held-out evidence exists
# hours before the last pair's training ends; each pair its own report (ROOT/report-PAIR).
for item in $HELDOUT; do
  pair=${item%:*} year=${item#*:} region=${pair%-*} season=${pair#*-}
  for stage in $STAGES; do
    case $stage in
    train)
      if [ ! -e "$W/$pair-encoder.safetensors" ]; then
        log "train encoder $pair (held out: $season $year)"
        $FS train encoder --region "$region" --season "$season" --heldout-year "$year" \
          --seed 0 --half --out "$W"
      fi
      keep "$pair"
      log "train $KINDS $pair (held out: $season $year)"
      if [ "$JOBS" -gt 1 ]; then  # a GPU: the kinds side by side, one process each
        for kind in $KINDS; do
          OUT="$W" ENCODERS="$W" HELDOUT_YEAR="$year" KINDS="$kind" \
            scripts/train_evidence.sh "$pair" > "$ROOT/train-$pair-$kind.log" 2>&1 &
        done
        wait
        keep "$pair"
      else  # one kind at a time, each kept as soon as it is trained
        for kind in $KINDS; do
          OUT="$W" ENCODERS="$W" HELDOUT_YEAR="$year" KINDS="$kind" \
            scripts/train_evidence.sh "$pair"
          keep "$pair"
        done
      fi
      ;;
    evaluate)
      ckpts=()
      for kind in $KINDS; do
        [ ! -e "$W/$pair-$kind.safetensors" ] || ckpts+=("$W/$pair-$kind.safetensors")
      done
      report="$ROOT/report-$pair"
      log "evaluate ${#ckpts[@]} models → $report"
      $FS evaluate --checkpoints "${ckpts[@]}" --members "$MEMBERS" --days 0 \
        --rollout "$ROLLOUT" --steps 12 --precision bf16 --interp bilinear,bicubic \
        --cache "$CACHE/fields" --out "$report" --overwrite
      log "evaluated → $report"
      ;;
    *) echo "unknown stage $stage (train, evaluate)" >&2; exit 2 ;;
    esac
  done
done
exit
}
