"""Split a checkpoint's weights into safetensors parts of at most ~8 MiB (a lent GPU machine returns
files of at most 16 MiB), or join them back into ``model.safetensors``, bit for bit. Tensors larger
than a part are cut along their first axis.

    python benchmarks/join_weights.py --split CKPT_DIR PREFIX   # PREFIX_w0..N.safetensors, PREFIX_config.json, PREFIX_record.json
    python benchmarks/join_weights.py --join PREFIX CKPT_DIR
"""

from __future__ import annotations

import glob
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file

LIMIT = 2_000_000  # elements per part (8 MB of float32)


def split(ckpt: str, prefix: str) -> None:
    state = load_file(os.path.join(ckpt, "model.safetensors"))
    parts: list[dict] = [{}]
    size = 0
    for k in sorted(state):
        v = state[k]
        pieces = [(k, v)] if v.numel() <= LIMIT else [(f"{k}.__part{i}", c) for i, c in
                                                         enumerate(torch.chunk(v, -(-v.numel() // LIMIT), dim=0))]
        for name, t in pieces:
            if size + t.numel() > LIMIT and parts[-1]:
                parts.append({})
                size = 0
            parts[-1][name] = t.contiguous()
            size += t.numel()
    for i, p in enumerate(parts):
        save_file(p, f"{prefix}_w{i}.safetensors")
    shutil.copy(os.path.join(ckpt, "config.json"), prefix + "_config.json")
    if os.path.exists(os.path.join(ckpt, "training_record.json")):
        shutil.copy(os.path.join(ckpt, "training_record.json"), prefix + "_record.json")


def join(prefix: str, ckpt: str) -> None:
    flat: dict = {}
    for path in sorted(glob.glob(prefix + "_w*.safetensors")):
        flat.update(load_file(path))
    state: dict = {}
    for k in sorted(flat):
        if ".__part" in k:
            base, i = k.rsplit(".__part", 1)
            state.setdefault(base, {})[int(i)] = flat[k]
        else:
            state[k] = flat[k]
    state = {k: (torch.cat([v[i] for i in sorted(v)]) if isinstance(v, dict) else v) for k, v in state.items()}
    os.makedirs(ckpt, exist_ok=True)
    save_file(state, os.path.join(ckpt, "model.safetensors"))
    shutil.copy(prefix + "_config.json", os.path.join(ckpt, "config.json"))
    if os.path.exists(prefix + "_record.json"):
        shutil.copy(prefix + "_record.json", os.path.join(ckpt, "training_record.json"))


if __name__ == "__main__":
    mode, a, b = sys.argv[1:4]
    split(a, b) if mode == "--split" else join(a, b)
