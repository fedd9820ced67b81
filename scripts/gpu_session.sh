#!/usr/bin/env bash
# The GPU session behind the CUDA figures in README.md, as one prepared run (device time is
# scarce): CUDA generation check, the 8 diffusion models retrained on the GPU in parallel,
# their evaluation (with the shipped U-Net and bilinear on the same days), then the
# benchmark in whatever time is left. Every setting can be overridden from the environment;
# a CPU dry run: DEVICE=cpu PAIRS=area1-JJA TRAIN_MIN=0.05 EPOCHS=1 STEPS=2 BATCH=4 \
#   MEMBERS=1 DAYS=1 ROLLOUT=2 BENCH_ARGS="--quick --regions area1" scripts/gpu_session.sh
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-session}
W=${WORK:-/tmp/fs-work}
DEVICE=${DEVICE:-cuda}
PAIRS=${PAIRS:-"area0-DJF area0-MAM area0-JJA area0-SON area1-DJF area1-MAM area1-JJA area1-SON"}
DEADLINE=${DEADLINE:-570}  # seconds of this script's wall clock the last stage may use
LOGS=$OUT/logs
mkdir -p "$OUT" "$LOGS" "$W/new"
log() { echo "[$(date -u +%T) +${SECONDS}s] $*" | tee -a "$OUT/run.log"; }
source scripts/gpu_env.sh

if [ -z "${SKIP_GEN:-}" ]; then
log "CUDA sampling check: 8 members x 3 days, shipped area1 JJA"
timeout 120 $FS generate --checkpoint assets/weights/area1-JJA-diffusion.safetensors \
  --start 2006-07-01 --end 2006-07-03 --members 8 --device "$DEVICE" --out "$W/gen.nc" \
  > "$LOGS/generate.log" 2>&1; log "generate rc=$?"
fi

for p in $PAIRS; do cp assets/weights/$p-encoder.* assets/weights/$p-unet.* "$W/new/"; done
if [ -n "${WEIGHTS_TAR:-}" ]; then  # models trained by an earlier run of this script
  tar -xf "$WEIGHTS_TAR" -C "$W/new"
else
log "train the diffusion models in parallel: ${TRAIN_MIN:-2.5} min each"
for p in $PAIRS; do
  r=${p%-*}; s=${p#*-}
  OMP_NUM_THREADS=2 timeout $((${TRAIN_LIMIT:-240})) $FS train diffusion --region "$r" \
    --season "$s" --device "$DEVICE" --epochs "${EPOCHS:-200}" --steps "${STEPS:-100}" \
    --batch "${BATCH:-64}" --max-minutes "${TRAIN_MIN:-2.5}" \
    --encoder "assets/weights/$p-encoder.safetensors" --out "$W/new" --half \
    > "$LOGS/train-$p.log" 2>&1 &
done
wait; log "train done: $(ls "$W"/new/*-diffusion.safetensors 2>/dev/null | wc -l) models"
(cd "$W/new" && tar -cf "$OUT/weights.tar" ./*-diffusion.*) || log "no weights"
fi

EVAL=(--members "${MEMBERS:-8}" --days "${DAYS:-8}" --rollout "${ROLLOUT:-10}" --workers 8
      --device "$DEVICE" ${WHOLE_MAP:+--no-windows})  # WHOLE_MAP=1: denoiser on the whole map
log "evaluate the new diffusion models${EVAL_OLD:+ and, beside them, the shipped ones}"
timeout "${EVAL_LIMIT:-200}" $FS evaluate --checkpoints "$W/new" "${EVAL[@]}" \
  --out "$W/report-new" > "$LOGS/eval-new.log" 2>&1 &
if [ -n "${EVAL_OLD:-}" ]; then
  timeout "${EVAL_LIMIT:-200}" $FS evaluate "${EVAL[@]}" --out "$W/report-old" \
    > "$LOGS/eval-old.log" 2>&1 &
fi
wait; log "evaluate done"
for k in new old; do
  [ -d "$W/report-$k" ] && tar -czf "$OUT/report-$k.tar.gz" -C "$W" "report-$k"
done

left=$((DEADLINE - SECONDS))
log "bench with ${left}s left"
if [ -z "${SKIP_BENCH:-}" ] && [ "$left" -gt 20 ]; then
  timeout "$left" $FS bench ${BENCH_ARGS:-} --device "$DEVICE" --out "$OUT/bench.json" \
    > "$LOGS/bench.log" 2>&1; log "bench rc=$?"
fi
tar -czf "$OUT/logs.tar.gz" -C "$OUT" logs && rm -rf "$LOGS"
log end
