#!/usr/bin/env bash
# The long jobs still owed to the record and the evidence (docs/reconstruct.md,
# docs/evaluation.md), in the order they are wanted, as one job that outlives any sitting:
# each step resumes from what is on disk (a finished step costs little more than a check),
# so after any stop run it again:
#   (setsid nohup nice -n 5 scripts/evidence_queue.sh > ~/finescale-records/job.out 2>&1 &)
# 1. area0 2000-2024 with the year pinned (~1.5 h alone on 2 cores), then its evidence;
# 2. area0 JJA 2006 held out in time: four models trained and scored (~5 h);
# 3. area1 2000-2024 (~2.7 h), the last piece of the long record;
#    then area1 DJF 2006-07 held out in time (~5 h);
# 4. the members curve of the four area1 pairs (docs/data, docs/img);
# 5. the shipped report again (fair fields, held-out groups beside) and docs/evidence.md.
# Steps 4-5 write into the working tree: commit what they change.
# SKIP names steps already made elsewhere (their results committed), e.g. on a fresh machine
#   SKIP="area0-record area0-heldout" scripts/evidence_queue.sh
set -u
cd "$(dirname "$0")/.."
PY=${PY:-python}
SKIP=${SKIP:-}
want() { case " $SKIP " in *" $1 "*) log "$1: skipped (SKIP)"; return 1 ;; esac; }
log() { echo "[$(date -u +%FT%T)] queue: $*" | tee -a "${RECORDS:-$HOME/finescale-records}/runs.log"; }
{
  ! want area0-record || AREAS=area0 KEEPBITS=10 scripts/long_record.sh || { log "area0 stopped"; exit 1; }
  ! want area0-heldout || HELDOUT="area0-JJA:2006" scripts/heldout_evidence.sh || { log "held-out stopped"; exit 1; }
  ! want area1-record || AREAS=area1 KEEPBITS=10 scripts/long_record.sh || { log "area1 stopped"; exit 1; }
  ! want area1-heldout || HELDOUT="area1-DJF:2006" scripts/heldout_evidence.sh || { log "held-out stopped"; exit 1; }
  if [ ! -e docs/data/members-curve.json ]; then
    $PY scripts/members_curve.py --out docs/data/members-curve.json \
      --figure docs/img/members-curve.png --cache "$HOME/.cache/finescale/evidence/fields" \
      || { log "members curve stopped"; exit 1; }
  fi
  scripts/evidence.sh || { log "evidence stopped"; exit 1; }
  log "all done"
  exit
}  # read whole before it runs: an edit of this file cannot reach a running copy
