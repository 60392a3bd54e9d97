#!/usr/bin/env bash
# Trains the shipped foundation model and writes its card. Needs a GPU for the training step (about
# 5 minutes on one H100; on a CPU the same command runs, far more slowly: lower --time-limit/--samples):
#
#   bash examples/train_foundation.sh [OUT] [SECONDS]
#
# 1. online pretraining of the `compact` network (width 32): every batch a fresh set of seeded models
#    of the ten OpenFWI-style families and the two basin families (pretrain seed range), modelled in
#    OpenFWI's geometry with a free surface or an absorbing top, augmented; validation on a fixed set
#    from the validation seed range; marine, salt, gas and gradient held out as out-of-distribution;
# 2. held-out test data: every family (pretraining and held out), 30 samples each, validation seed 10000;
# 3. evaluation per family, written beside the weights, and the model card.
# On the lent GPU the training ran through benchmarks/gpu_session.sh (weights returned in two halves,
# joined with benchmarks/join_weights.py); steps 2-3 ran on the CPU.
set -euo pipefail
OUT=${1:-hybridfwi/dl/weights/foundation}
SECONDS_LIMIT=${2:-300}
DATA=${DATA:-data/foundation}
if [ ! -f "$OUT/model.safetensors" ]; then
  hybridfwi pretrain --online --samples 2000000 --time-limit "$SECONDS_LIMIT" --width 32 --batch-size 64 --gen-batch 256 \
    --lr 1e-3 --out "$OUT" --device auto
  rm -f "$OUT/train_state.pt"  # the resumable state is not shipped
fi
FAMS=(flatvel-a flatvel-b curvevel-a curvevel-b flatfault-a flatfault-b curvefault-a curvefault-b style-a style-b
      basin-land basin-marine marine salt gas gradient)
fam_args() { for f in "$@"; do printf -- '--family %s ' "$f"; done; }
hybridfwi generate $(fam_args "${FAMS[@]}") --count 30 --seed 10000 --out "$DATA/test"
hybridfwi evaluate --model "$OUT" --data "$DATA/test" --out "$OUT/evaluation.json"
python -m hybridfwi.dl.card "$OUT"
