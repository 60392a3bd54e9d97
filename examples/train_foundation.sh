#!/usr/bin/env bash
# Trains the shipped foundation model from data this project generates, on a CPU:
#
#   bash examples/train_foundation.sh [DATA_DIR] [EPOCHS]
#
# 1. pretraining data: the ten OpenFWI-style families, 2 x 300 samples each (seeds 1 and 3), openfwi geometry
#    (marine, salt, gas and gradient are held out as out-of-distribution families);
# 2. pretraining of the `compact` network (AdamW, cosine schedule, 10% validation split, seed 0);
# 3. held-out test data: all fourteen families, 30 samples each, seed 2;
# 4. evaluation per family, written beside the weights.
# Every step resumes if interrupted: run the same command again.
set -euo pipefail
DATA=${1:-data/foundation}
EPOCHS=${2:-25}
OUT=hybridfwi/dl/weights/foundation
IN=(flatvel-a flatvel-b curvevel-a curvevel-b flatfault-a flatfault-b curvefault-a curvefault-b style-a style-b)
OOD=(marine salt gas gradient)
fam_args() { for f in "$@"; do printf -- '--family %s ' "$f"; done; }
hybridfwi generate $(fam_args "${IN[@]}") --count 300 --seed 1 --out "$DATA/pretrain"
hybridfwi generate $(fam_args "${IN[@]}") --count 300 --seed 3 --out "$DATA/pretrain2"
if [ ! -f "$OUT/model.safetensors" ] || [ -f "$OUT/train_state.pt" ]; then  # not trained yet, or interrupted
  resume=""; [ -f "$OUT/train_state.pt" ] && resume="--resume"
  hybridfwi pretrain --data "$DATA/pretrain" --data "$DATA/pretrain2" --arch compact --epochs "$EPOCHS" --batch-size 16 --lr 1e-3 --seed 0 --out "$OUT" $resume
  rm -f "$OUT/train_state.pt"  # the resumable state is not shipped
fi
hybridfwi generate $(fam_args "${IN[@]}" "${OOD[@]}") --count 30 --seed 2 --out "$DATA/test"
hybridfwi evaluate --data "$DATA/test" --out "$OUT/evaluation.json"
python -m hybridfwi.dl.card "$OUT"
