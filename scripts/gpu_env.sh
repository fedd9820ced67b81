# Sourced by the device scripts (gpu_session.sh, gpu_evidence.sh): the checkout made
# runnable on the lent machine, which has torch but no package registry. Expects OUT, W,
# LOGS and a `log` function; sets FS (the CLI) and FINESCALE_DATA (prepared if missing).
if [ -d .whl ] && ! python3 -c "import h5netcdf, scoringrules" 2>/dev/null; then
  # packages the GPU image lacks, carried as wheels
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
# the checkout as the `finescale` package without installing it (no registry there): a
# folder `finescale` of links to the top-level folders, as the package-dir mapping does
PKG=$(mktemp -d)
mkdir -p "$PKG/finescale"
for d in app model data assets; do ln -s "$PWD/$d" "$PKG/finescale/$d"; done
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PKG
FS="python3 -m finescale.app.cli"
python3 -c "import torch, numpy, xarray, pandas; print('torch', torch.__version__, 'cuda',
torch.cuda.is_available() and torch.cuda.get_device_name(0), 'numpy', numpy.__version__,
'xarray', xarray.__version__, 'pandas', pandas.__version__)" 2>&1 | tee -a "$OUT/run.log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
  >> "$OUT/run.log" 2>&1

export FINESCALE_DATA=${DATA:-$W/data}
if [ ! -f "$FINESCALE_DATA/manifest.json" ]; then
  log "prepare the embedded default"
  $FS data prepare --out "$FINESCALE_DATA" > "$LOGS/prepare.log" 2>&1; log "prepare rc=$?"
fi

