#!/usr/bin/env bash
# The long record 2000-2024 of both areas with the defaults (docs/reconstruct.md), as a job
# that outlives any one sitting: run it again after any stop and it goes on from what is on
# disk (each `reconstruct` resumes its store). Every start, stop and finish is appended to
# $RECORDS/runs.log with wall time, member-days and peak RSS (/usr/bin/time), so the docs
# can say how often it was interrupted and resumed. Then each store's evidence
# (`evaluate --record`) and its size.
# Usage: scripts/long_record.sh    (RECORDS, AREAS, MEMBERS, KIND, START, END, KEEPBITS, FS
# overridable; KEEPBITS=10 keeps 10 mantissa bits: ~0.47x the size, <= 0.0002 log10 error)
set -u
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-$HOME/finescale-records}
AREAS=${AREAS:-"area0 area1"}
MEMBERS=${MEMBERS:-2}
START=${START:-2000-01-01}
END=${END:-2024-12-31}
FS=${FS:-finescale}
KEEPBITS=${KEEPBITS:-}  # unset: lossless for a new store, an existing store's own on resume
# the students, named: a season without one stops the job (one line) instead of falling
# back to the 12-call teachers, which would cost ~10x the time
KIND=${KIND:-distilled}
mkdir -p "$RECORDS"
export TQDM_MININTERVAL=${TQDM_MININTERVAL:-30}  # a progress line every 30 s in the log
log() { echo "[$(date -u +%FT%T)] $*" | tee -a "$RECORDS/runs.log"; }

{  # read whole before it runs: an edit of this file cannot reach a running copy
for area in $AREAS; do
  store="$RECORDS/$area.zarr"
  log "$area start (store $store)"
  /usr/bin/time -f "%e s wall, %M KiB peak RSS" -o "$RECORDS/.time" \
    $FS reconstruct --region "$area" --start-date "$START" --end-date "$END" \
    --members "$MEMBERS" --kind "$KIND" ${KEEPBITS:+--keepbits "$KEEPBITS"} \
    --out "$store" 2>>"$RECORDS/$area.progress"
  rc=$?
  log "$area end rc=$rc: $(tail -n 1 "$RECORDS/.time")"
  [ $rc -eq 0 ] || exit $rc
  log "$area size: $(du -sh "$store" | cut -f1)"
  # the evidence again only where a slab was written since (delete it to force a rerun)
  if [ "$RECORDS/$area-evidence/record.json" -nt "$store/.finescale-slabs" ]; then
    log "$area evidence: up to date ($RECORDS/$area-evidence)"
  else
    $FS evaluate --record "$store" --out "$RECORDS/$area-evidence" 2>/dev/null \
      | tee -a "$RECORDS/runs.log"
  fi
done
exit
}
