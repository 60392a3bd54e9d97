#!/usr/bin/env bash
# hybridfwi on a SLURM cluster, across nodes: one torchrun per node (srun), torchrun starts one
# process per GPU (or per core on CPU nodes) and the processes of all nodes meet at the first node
# (c10d rendezvous). The command line is the one you would run on a workstation; under torchrun the
# work is split by rank and only rank 0 writes.
#
#   sbatch examples/slurm_fwi.sh fwi SURVEY.segy OUT [more `hybridfwi fwi` options]
#   sbatch examples/slurm_fwi.sh benchmark SUITE OUT [more `hybridfwi benchmark run` options]
#
#   fwi:        the shots are split across all processes (use no more processes than shots); misfit
#               and gradient are summed over them every evaluation, so every process holds the same
#               model; results match a single-process run to float precision.
#   benchmark:  the suite's cases are spread over the processes, each case run whole by one process
#               (on its CPU cores: `benchmark run` computes on the CPU, so ask for CPU processes).
#
# OUT (and the survey/suite) must be on a file system every node sees. A run interrupted by the time
# limit continues with the same command (fwi: add --resume), on any number of nodes or processes.
#
#SBATCH --job-name=hybridfwi
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=32
#SBATCH --time=02:00:00
#SBATCH --output=%x-%j.out
set -euo pipefail

MODE=${1:?usage: sbatch examples/slurm_fwi.sh fwi|benchmark INPUT OUT [options]}
INPUT=${2:?missing the survey file (fwi) or suite folder (benchmark)}
OUT=${3:?missing the output folder}
shift 3

HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
PORT=${PORT:-29500}
GPUS=${SLURM_GPUS_ON_NODE:-0}
CORES=${SLURM_CPUS_PER_TASK:-$(nproc)}
if [ "$MODE" = fwi ] && [ "$GPUS" -gt 0 ]; then
  NPROC=$GPUS            # one process per GPU; each uses the GPU of its local rank (NCCL)
  THREADS=$(( CORES / GPUS > 0 ? CORES / GPUS : 1 ))
else
  NPROC=${NPROC:-$CORES} # CPU processes (Gloo), one thread each: processes beat OpenMP threads here
  THREADS=1
fi
export OMP_NUM_THREADS=$THREADS

case "$MODE" in
  fwi)       CMD=(fwi "$INPUT" --out "$OUT" "$@") ;;
  benchmark) CMD=(benchmark run --suite "$INPUT" --out "$OUT" --no-progress "$@") ;;
  *) echo "MODE must be fwi or benchmark, not $MODE" >&2; exit 2 ;;
esac

echo "hybridfwi ${CMD[*]}: $SLURM_NNODES node(s) x $NPROC process(es), $THREADS thread(s) each; rendezvous at $HEAD:$PORT"
# --local-ranks-filter 0: only local rank 0 of each node prints (every rank prints the same lines)
srun --kill-on-bad-exit=1 torchrun \
  --nnodes "$SLURM_NNODES" --nproc-per-node "$NPROC" \
  --rdzv-id "$SLURM_JOB_ID" --rdzv-backend c10d --rdzv-endpoint "$HEAD:$PORT" \
  --local-ranks-filter 0 \
  --no-python hybridfwi "${CMD[@]}"
