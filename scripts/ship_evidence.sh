#!/usr/bin/env bash
# The evidence becomes what finescale ships, once scripts/evidence.sh has trained every
# model of every pair (docs/evaluation.md, "The paper's evidence"):
#   1. the five trained models of each pair go from FROM into TO, replacing the shipped
#      diffusion and U-Net weights (refused while any model is missing: a partial ship
#      would mix two budgets in one report);
#   2. each distilled student whose teacher changed is distilled again from its new teacher
#      (the old one stays until the new one is written), or taken from FROM where
#      `--ahead` distilled it there from the same teacher already;
#   3. the shipped report (REPORT) and docs/evidence.md come from one evidence.sh run over
#      TO — the evaluation cache (CACHE) makes the already-scored models' fields free;
#   4. the evidence's own folders (FROM and its report, OLD_REPORT) are removed: their
#      content now lives in TO and REPORT, and evidence.sh then works on those.
# Usage: scripts/ship_evidence.sh   (FROM, TO, REPORT, OLD_REPORT, DOC, CACHE, PAIRS,
# STUDENTS, DEVICE, JOBS, FS, PY overridable)
#        scripts/ship_evidence.sh --ahead   # only step 2, into FROM, for the teachers FROM
#                                           # has: the students need not wait for the rest
set -euo pipefail
cd "$(dirname "$0")/.."
EVIDENCE_WORK=${EVIDENCE_WORK:-$HOME/.cache/finescale/evidence}
FROM=${FROM:-$EVIDENCE_WORK/weights}
TO=${TO:-assets/weights}
export REPORT=${REPORT:-assets/report}
OLD_REPORT=${OLD_REPORT:-$EVIDENCE_WORK/report}
export CACHE=${CACHE:-$HOME/.cache/finescale/evidence}
PAIRS=${PAIRS:-"area0-DJF area0-MAM area0-JJA area0-SON area1-DJF area1-MAM area1-JJA area1-SON"}
KINDS="diffusion vae unet ablation transfer"
STUDENTS=${STUDENTS:-"area0-DJF area0-MAM area0-JJA area0-SON area1-DJF area1-MAM area1-JJA area1-SON"}
DEVICE=${DEVICE:-auto}
FS=${FS:-finescale}
PY=${PY:-python}
export FS PY DEVICE PAIRS

# one block, read whole before it runs: an edit of this file cannot reach a running copy
{
  records() {  # does student manifest $1 name the weights $2 as its teacher?
    [ -e "$1" ] && $PY - "$1" "$2" <<'EOF'
import hashlib, json, sys
recorded = json.load(open(sys.argv[1]))["teacher"]["weights_sha256"]
sys.exit(recorded != hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest())
EOF
  }
  distil() {  # pair, teacher, out folder: the shipped students' settings
    # (docs/distillation.md), without a wall-clock budget; resumes from its last epoch
    $FS train distilled --region "${1%-*}" --season "${1#*-}" --teacher "$2" \
      --epochs 30 --steps 40 --batch 32 --half --seed 0 --device "$DEVICE" --out "$3"
  }
  ship() {  # file name: FROM → TO, whole or not at all
    cp "$FROM/$1" "$TO/.$1.tmp" && mv "$TO/.$1.tmp" "$TO/$1"
  }

  if [ "${1:-}" = --ahead ]; then
    for pair in $STUDENTS; do
      teacher="$FROM/$pair-diffusion.safetensors"
      if [ ! -e "$teacher" ]; then echo "[$(date -u +%T)] $pair: no teacher in $FROM yet"
      elif records "$FROM/$pair-distilled.json" "$teacher"; then
        echo "[$(date -u +%T)] $pair student: distilled from this teacher already"
      else echo "[$(date -u +%T)] $pair student: distilling from $teacher"
        distil "$pair" "$teacher" "$FROM"; fi
    done
    exit
  fi

  missing=()
  for pair in $PAIRS; do for kind in $KINDS; do
    [ -e "$FROM/$pair-$kind.safetensors" ] || missing+=("$pair-$kind")
  done; done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "not trained yet in $FROM: ${missing[*]} (scripts/evidence.sh trains them)" >&2
    exit 2
  fi

  for pair in $PAIRS; do for kind in $KINDS; do
    ship "$pair-$kind.json"; ship "$pair-$kind.safetensors"
  done; done
  echo "[$(date -u +%T)] shipped the models of $PAIRS into $TO"

  for pair in $STUDENTS; do
    teacher="$TO/$pair-diffusion.safetensors" student="$TO/$pair-distilled"
    if records "$FROM/$pair-distilled.json" "$teacher"; then
      ship "$pair-distilled.safetensors"; ship "$pair-distilled.json"
      echo "[$(date -u +%T)] $pair student: distilled ahead from this teacher"; continue; fi
    if records "$student.json" "$teacher"; then
      echo "[$(date -u +%T)] $pair student: its teacher is unchanged"; continue; fi
    tmp=$(mktemp -d "$TO/.distil-XXXXXX")
    echo "[$(date -u +%T)] $pair student: distilling from $teacher"
    distil "$pair" "$teacher" "$tmp"
    mv "$tmp/$pair-distilled.safetensors" "$student.safetensors"
    mv "$tmp/$pair-distilled.json" "$student.json"
    rm -rf "$tmp"
  done

  WEIGHTS="$TO" KINDS="$KINDS distilled" STAGES="evaluate page" scripts/evidence.sh
  rm -rf "$FROM" "$OLD_REPORT"
  echo "[$(date -u +%T)] shipped: weights in $TO, report in $REPORT ($FROM, $OLD_REPORT removed)"
  exit
}
