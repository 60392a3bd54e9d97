#!/usr/bin/env bash
# One GPU session, run on a lent GPU machine from the project root (see ../shared/gpu/README.md):
#   1. CUDA against CPU checks            -> $OUT/gpu_checks.json
#   2. online pretraining of the shipped foundation network (time-limited)
#                                          -> $OUT/foundation_{config.json,a.safetensors,b.safetensors,record.json}
#      (the weights travel in two halves: a lent machine returns files of at most 16 MiB;
#       `python benchmarks/join_weights.py DIR` joins them losslessly)
#   3. generate throughput and FWI overhead on CUDA -> $OUT/generate_throughput_cuda.json, fwi_overhead_cuda.json
# Settings (environment): TRAIN_S (seconds of training, default 300), WIDTH (32), DEVICE (cuda), GEN_COUNT (2048),
#   LR (1e-3), REUSE (4: optimiser passes over each generated batch), INIT and FIRST_SAMPLE (continue from these
#   weights with fresh models from this index), CHECKS (1: run step 1), EXTRAS (1: run step 3).
set -u
export PYTHONUNBUFFERED=1
TRAIN_S=${TRAIN_S:-300}
WIDTH=${WIDTH:-32}
DEVICE=${DEVICE:-cuda}
GEN_COUNT=${GEN_COUNT:-2048}
LR=${LR:-1e-3}
REUSE=${REUSE:-4}
CHECKS=${CHECKS:-1}
EXTRAS=${EXTRAS:-1}
INIT_ARGS=()
if [ -n "${INIT:-}" ]; then INIT_ARGS=(--init "$INIT" --first-sample "${FIRST_SAMPLE:-0}"); fi
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
if [ -d .gpu ]; then source .gpu/unpack.sh; fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
start=$(date +%s)
if [ "$DEVICE" = cuda ] && [ "$CHECKS" = 1 ]; then
  timeout 120 python3 benchmarks/gpu_checks.py && cp benchmarks/results/gpu_checks.json "$OUT/"
fi
echo "checks done after $(( $(date +%s) - start )) s"
timeout $(( TRAIN_S + 150 )) python3 -m hybridfwi pretrain --online --samples 2000000 --time-limit "$TRAIN_S" --width "$WIDTH" \
  --batch-size 64 --gen-batch "${GEN_BATCH:-256}" --lr "$LR" --reuse "$REUSE" "${INIT_ARGS[@]}" --out /tmp/foundation \
  --device "$DEVICE" --no-progress 2>&1 | tee "$OUT/train.log"
python3 benchmarks/join_weights.py --split /tmp/foundation "$OUT/foundation" || echo "no checkpoint to split"
echo "training done after $(( $(date +%s) - start )) s"
if [ "$EXTRAS" != 1 ]; then ls -la "$OUT"; exit 0; fi
timeout 150 python3 benchmarks/generate_throughput.py --device "$DEVICE" --count "$GEN_COUNT" --repeats 3 --tmp /dev/shm \
  && cp benchmarks/results/generate_throughput_"$DEVICE".json "$OUT/" 2>/dev/null
timeout 90 python3 benchmarks/fwi_overhead.py --device "$DEVICE" && cp benchmarks/results/fwi_overhead_"$DEVICE".json "$OUT/" 2>/dev/null
echo "all done after $(( $(date +%s) - start )) s"
ls -la "$OUT"
