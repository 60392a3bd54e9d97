"""Shared by the benchmarks: machine description and resumable result records."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def machine() -> dict:
    """CPU, cores, GPU and library versions of this machine."""
    import deepwave
    import numpy
    import torch

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "deepwave": deepwave.__version__,
        "numpy": numpy.__version__,
    }


class Record:
    """Repeats saved as they finish (``.NAME.partial.json``), so a killed benchmark resumes."""

    def __init__(self, name: str, settings: dict):
        os.makedirs(RESULTS, exist_ok=True)
        self.name = name
        self.settings = settings
        self.partial = os.path.join(RESULTS, f".{name}.partial.json")
        self.repeats: list[dict] = []
        if os.path.exists(self.partial):
            with open(self.partial, encoding="utf-8") as fh:
                old = json.load(fh)
            if old.get("settings") == settings:
                self.repeats = old["repeats"]
                print(f"resuming {name}: {len(self.repeats)} repeat(s) already measured")

    def add(self, repeat: dict) -> None:
        self.repeats.append(repeat)
        tmp = self.partial + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"settings": self.settings, "repeats": self.repeats}, fh)
        os.replace(tmp, self.partial)

    def finish(self, summary: dict) -> str:
        path = os.path.join(RESULTS, f"{self.name}.json")
        record = {"benchmark": self.name, "machine": machine(), "settings": self.settings, "summary": summary, "repeats": self.repeats}
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
        if os.path.exists(self.partial):
            os.remove(self.partial)
        return path


def median(values) -> float:
    return float(statistics.median(values))
