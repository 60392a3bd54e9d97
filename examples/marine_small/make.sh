#!/usr/bin/env bash
# Regenerates the shipped small marine example: a model of the `marine` family (seed 0, index 1)
# on geometry.json (60 x 160 cells at 15 m, 6 shots, 80 receivers at 15 m depth, 8 Hz Ricker,
# 4 ms, 2 s, free surface), modelled with `hybridfwi synth` and 30 dB of white noise.
set -euo pipefail
cd "$(dirname "$0")"
hybridfwi synth --model marine:1 --geometry geometry.json --out survey.segy --snr 30 --device cpu
