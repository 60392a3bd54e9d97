"""Markdown tables for the README, read from the committed benchmark results (nothing is typed by hand).

    python benchmarks/readme_tables.py            # prints every table
    python benchmarks/readme_tables.py marmousi   # one suite
    python benchmarks/readme_tables.py --write README.md   # fills README's <!-- results:KEY --> blocks

Reads ``benchmarks/results/benchmark_<suite>/results.json`` (``hybridfwi benchmark run``) and prints,
per family: the cases, each method's median RMSE (or MAE for the OpenFWI suites), the hybrid's
ratio to FWI alone, and each issue target as met or missed with the measured figure.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
# InversionNet's published test MAE (Deng et al., 2022, the OpenFWI paper), as the model card quotes it
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hybridfwi.dl.card import OPENFWI_INVERSIONNET_MAE  # noqa: E402


def load(suite: str) -> dict | None:
    path = os.path.join(RESULTS, f"benchmark_{suite}", "results.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _m(a: dict, method: str, key: str) -> float | None:
    return a["methods"].get(method, {}).get(key, {}).get("median")


def _f(v, fmt="{:.0f}"):
    return "" if v is None else fmt.format(v)


def rmse_table(res: dict) -> str:
    lines = ["| family | cases | 1-D start | DL | hybrid | FWI from 1-D (`fwi_gradient`) | FWI from smoothed truth | hybrid / fwi_gradient |",
             "|---|---|---|---|---|---|---|---|"]
    rows = list(res["families"].items()) + [("**all**", res["overall"])]
    for fam, a in rows:
        ids = [i for i, c in res["cases"].items() if fam == "**all**" or c["family"] == fam]
        starts = [res["cases"][i]["methods"]["fwi_gradient"]["curve"][0].get("rmse_ms") for i in ids
                  if res["cases"][i]["methods"].get("fwi_gradient", {}).get("curve")]
        ratio = a["ratio_hybrid_to_fwi_gradient_rmse"]
        worst = max((res["cases"][i].get("ratio_hybrid_to_fwi_gradient_rmse") or np.nan for i in ids), default=np.nan)
        lines.append(f"| {fam} | {a['cases']} | {_f(float(np.median(starts)) if starts else None)} | {_f(_m(a, 'dl', 'rmse_ms'))} | "
                     f"{_f(_m(a, 'hybrid', 'rmse_ms'))} | {_f(_m(a, 'fwi_gradient', 'rmse_ms'))} | {_f(_m(a, 'fwi_smooth', 'rmse_ms'))} | "
                     f"{_f(ratio['median'], '{:.2f}')} (worst {worst:.2f}) |")
    return "\n".join(lines) + "\n\nModel RMSE in m/s, median over the family's cases.\n"


def cases_table(res: dict) -> str:
    lines = ["| case | 1-D start | DL | start chosen | hybrid | fwi_gradient | fwi_smooth | hybrid / fwi_gradient | hybrid reaches fwi_gradient's final RMSE at iteration |",
             "|---|---|---|---|---|---|---|---|---|"]
    for cid, c in res["cases"].items():
        m = c["methods"]

        def r(k):
            return _f(m.get(k, {}).get("rmse_ms"))
        start = m.get("fwi_gradient", {}).get("curve", [{}])[0].get("rmse_ms")
        tta = c.get("time_to_accuracy", {}).get("hybrid", {})
        it = "never" if tta.get("iterations") is None else f"{tta['iterations']} of {tta.get('of_iterations')}"
        ratio = c.get("ratio_hybrid_to_fwi_gradient_rmse")
        lines.append(f"| {cid} | {_f(start)} | {r('dl')} | {c.get('start') or ''} | {r('hybrid')} | {r('fwi_gradient')} | "
                     f"{r('fwi_smooth')} | {_f(ratio, '{:.2f}')} | {it} |")
    return "\n".join(lines) + "\n"


def openfwi_table(res: dict) -> str:
    lines = ["| family | cases | DL MAE (m/s) | DL MAE (norm.) | InversionNet on OpenFWI (published, norm.) | hybrid MAE (m/s) | hybrid / DL MAE | fwi_gradient MAE (m/s) |",
             "|---|---|---|---|---|---|---|---|"]
    for fam, a in res["families"].items():
        ids = [i for i, c in res["cases"].items() if c["family"] == fam]
        worst = max((res["cases"][i].get("ratio_hybrid_to_dl_mae") or np.nan for i in ids), default=np.nan)
        lines.append(f"| {fam} | {a['cases']} | {_f(_m(a, 'dl', 'mae_ms'))} | {_f(_m(a, 'dl', 'mae_norm'), '{:.4f}')} | "
                     f"{OPENFWI_INVERSIONNET_MAE.get(fam, '')} | {_f(_m(a, 'hybrid', 'mae_ms'))} | "
                     f"{_f(a['ratio_hybrid_to_dl_mae']['median'], '{:.2f}')} (worst {worst:.2f}) | {_f(_m(a, 'fwi_gradient', 'mae_ms'))} |")
    return "\n".join(lines) + "\n\nMAE in m/s and normalised by 1500-4500 m/s (OpenFWI's convention), median over the family's cases.\n"


def targets(suite: str, res: dict) -> list[str]:
    """Issue 7's targets for this suite, met or missed, with the measured figure."""
    out = []
    cases = res["cases"]
    ratios = [c.get("ratio_hybrid_to_fwi_gradient_rmse") for c in cases.values() if c.get("ratio_hybrid_to_fwi_gradient_rmse")]
    tta = [c["time_to_accuracy"].get("hybrid", {}) for c in cases.values()]
    frac = [t["iterations"] / t["of_iterations"] if t.get("iterations") is not None and t.get("of_iterations") else np.inf for t in tta]
    if suite == "marmousi":
        beats = [(i, c["methods"]["dl"]["rmse_ms"], c["methods"]["fwi_gradient"]["curve"][0]["rmse_ms"]) for i, c in cases.items()]
        n_ok = sum(d < r for _, d, r in beats)
        out.append(f"DL RMSE below the 1-D reference's on every case: {'met' if n_ok == len(beats) else 'missed'} ({n_ok} of {len(beats)}; "
                   + ", ".join(f"{i}: {d:.0f} vs {r:.0f}" for i, d, r in beats) + ")")
        out.append(f"hybrid final RMSE <= 0.7 x fwi_gradient's on every case: {'met' if max(ratios) <= 0.7 else 'missed'} "
                   f"(ratios {', '.join(f'{r:.2f}' for r in ratios)})")
    if suite == "ood":
        med = float(np.median(ratios))
        out.append(f"hybrid / fwi_gradient RMSE median <= 0.8: {'met' if med <= 0.8 else 'missed'} ({med:.2f}); no case above 1.0: "
                   f"{'met' if max(ratios) <= 1.0 else 'missed'} (worst {max(ratios):.2f})")
    if suite in ("marmousi", "ood"):
        med = float(np.median(frac))
        out.append(f"hybrid reaches fwi_gradient's final RMSE within 1/3 of its iterations: {'met' if max(frac) <= 1 / 3 else 'missed'} "
                   f"(median fraction {med:.2f}, worst {max(frac):.2f})")
    if suite.startswith("openfwi"):
        worst = {f: max(c.get("ratio_hybrid_to_dl_mae") or np.inf for c in cases.values() if c["family"] == f) for f in res["families"]}
        ok = all(v <= 0.5 for v in worst.values())
        out.append(f"hybrid MAE <= 0.5 x DL-only on every family: {'met' if ok else 'missed'} (worst per family: "
                   + ", ".join(f"{f} {v:.2f}" for f, v in worst.items()) + ")")
    return out


def _provenance(res: dict) -> str:
    """Which machine made each method's records, read from the ``--redo`` history: a record is the
    last run that covered its case and method. The same code gives results that differ in the last
    bits between CPUs, and the hybrid can amplify that (``machine_control_top_stage_*.json``), so a
    suite whose records come from two machines says so."""
    cases = list(res["cases"])
    methods = sorted({k for c in res["cases"].values() for k in c["methods"]})
    made = {(c, m): None for c in cases for m in methods}  # None: the first run, before runs recorded a machine
    for e in res.get("redone", []):
        for c in e.get("cases") or cases:
            for m in e["methods"]:
                if (c, m) in made:
                    made[(c, m)] = e.get("machine")
    by_machine: dict = {}
    for (c, m), where in made.items():
        by_machine.setdefault(where, {}).setdefault(m, []).append(c)
    if len(by_machine) == 1 and None not in by_machine:
        return f"Every method's record of every case is from {next(iter(by_machine))}."
    parts = []
    for where, per in by_machine.items():
        same: dict = {}  # methods whose records come from the same cases
        for m, cs in per.items():
            same.setdefault(tuple(cs), []).append(m)
        what = "; ".join(f"{', '.join(ms)} ({'every case' if len(cs) == len(cases) else ', '.join(cs)})" for cs, ms in same.items())
        parts.append(f"{where or 'runs that did not record their machine'}: {what}")
    return ("Records by machine (the same code can end differently on another CPU, and the hybrid amplifies it): "
            + " | ".join(parts) + ".")


def suite_block(s: str) -> str:
    res = load(s)
    if res is None:
        return f"(no results file for `{s}` yet)\n"
    m = res.get("machine", {})
    head = (f"`benchmarks/results/benchmark_{s}/results.json`: {len(res['cases'])} cases, last run on "
            f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores{', ' + m['gpu'] if m.get('gpu') else ''}.")
    redone = res.get("redone", [])
    if redone:
        last = redone[-1]
        where = f" on {last['machine']}" if last.get("machine") else ""
        head += (f" Rerun with `--redo` ({len(redone)} times, last {last['at'][:16].replace('T', ' ')} UTC{where}: "
                 f"{', '.join(last['methods'])}; {', '.join(last.get('cases') or ['every case'])}). " + _provenance(res))
    head += "\n\n"
    body = openfwi_table(res) if s.startswith("openfwi") else rmse_table(res)
    if s in ("marmousi", "ood"):
        body += "\n" + cases_table(res)
    return head + body + "\n" + "".join(f"- {t}\n" for t in targets(s, res))


def example_block() -> str:
    out = []
    for name, label in (("example", "shipped example"), ("viking", "Viking Graben, 4 shots")):
        path = os.path.join(RESULTS, f"invert_{name}.json")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            r = json.load(fh)
        rep, m = r["report"], r["machine"]
        line = (f"{label} (`benchmarks/results/invert_{name}.json`, {m.get('cpu')}, {m.get('cores')} cores, "
                f"{r['wall_time_s']:.0f} s end to end): data misfit ({rep.get('data_misfit_band')}) 1-D "
                f"{rep['data_misfit_gradient']:.3f}, DL {rep['data_misfit_dl']:.3f}, refined {rep['data_misfit_refined']:.3f}")
        if rep.get("model_rmse_ms"):
            k = rep["model_rmse_ms"]
            line += f"; model RMSE 1-D {k['gradient']:.0f}, DL {k['dl']:.0f}, refined {k['refined']:.0f} m/s"
        if rep.get("water"):
            w = rep["water"]
            line += f"; water {w['velocity_ms']:.0f} m/s, seabed picked at {w['seabed_depth_picked_m']:.0f} m"
        out.append(f"- {line}.")
    path = os.path.join(RESULTS, "compare_viking.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            r = json.load(fh)
        mm, m = r["methods"], r["machine"]
        out.append(f"- Viking, `hybridfwi compare` (`benchmarks/results/compare_viking.json`, {m.get('cpu')}, {m.get('cores')} cores, "
                   f"{r['wall_time_s']:.0f} s): final data misfit (band <= {r['band_hz']:g} Hz) hybrid {mm['hybrid']['data_misfit']:.3f} "
                   f"({mm['hybrid']['wall_time_s']:.0f} s, from the {mm['hybrid'].get('start', 'dl')} start) against FWI from the 1-D "
                   f"reference {mm['fwi_gradient']['data_misfit']:.3f} ({mm['fwi_gradient']['wall_time_s']:.0f} s), ratio "
                   f"{r['hybrid_over_fwi_gradient_misfit']:.2f}, {mm['hybrid']['fwi_iterations']} iterations each.")
    return "\n".join(out) + "\n"


def loses_block() -> str:
    out = []
    for s in ("marmousi", "ood", "openfwi-a", "openfwi-b"):
        res = load(s)
        if res is None:
            continue
        for cid, c in res["cases"].items():
            r = c.get("ratio_hybrid_to_fwi_gradient_rmse")
            if r is not None and r > 1.0:
                mm = c["methods"]
                out.append(f"- `{s}` {cid}: hybrid {mm['hybrid']['rmse_ms']:.0f} m/s against FWI from the 1-D start "
                           f"{mm['fwi_gradient']['rmse_ms']:.0f} m/s (ratio {r:.2f}; start used: {c.get('start') or 'dl'}).")
    return ("\n".join(out) if out else "- no case in the committed suites ends worse than FWI from the 1-D start.") + "\n"


def spread_block() -> str:
    """Per case: the hybrid / fwi_gradient RMSE ratio over noise draws (``benchmarks/spread.py``)."""
    out = []
    for s in ("marmousi", "ood", "openfwi-a", "openfwi-b"):
        path = os.path.join(RESULTS, f"spread_{s}.json")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            r = json.load(fh)
        m = r["machine"]
        out += [f"`benchmarks/results/spread_{s}.json` ({m.get('gpu') or m.get('cpu')}, {m.get('cores')} cores): noise draws "
                f"{', '.join(str(j) for j in sorted(int(k) for k in r['draws']))} (draw 0: the committed `benchmark_{s}` run); "
                f"values listed draw by draw.", ""]
        for p in r["settings"].get("partial_reruns", []):
            out += [f"Draws {', '.join(map(str, p['draws']))} of {', '.join(p['cases'])} were rerun on {p['date']} on "
                    f"{p['machine']} (`spread.py --only`); the other cases' draws are from the first run, on the machine "
                    f"named above.", ""]
        order = sorted(r["draws"], key=int)
        out += _stale(s, r)
        if s.startswith("openfwi"):  # the target there is the hybrid against the DL start, by MAE
            out += _spread_mae_table(r, order) + _moves(r)
            continue
        out += ["| case | hybrid / fwi_gradient, each draw | draws above 1.0 | draws at most 0.7 | DL RMSE (m/s) | hybrid RMSE (m/s) | "
                "fwi_gradient RMSE (m/s) | DL below 1-D start | start chosen |",
                "|---|---|---|---|---|---|---|---|---|"]
        for cid, c in r["summary"]["per_case"].items():
            def each(key, fmt="{:.0f}"):
                return ", ".join(_f(r["draws"][j][cid][key], fmt) for j in order)
            starts = [c["starts"][j] or "dl" for j in order]
            out.append(f"| {cid} | {each('hybrid_to_fwi_gradient_rmse', '{:.2f}')} | {c['draws_above_1']} of {c['draws']} | "
                       f"{c['draws_at_most_0.7']} of {c['draws']} | {each('dl_rmse_ms')} | {each('hybrid_rmse_ms')} | "
                       f"{each('fwi_gradient_rmse_ms')} | {c['draws_dl_below_reference']} of {c['draws']} | {', '.join(starts)} |")
        pd = r["summary"]["per_draw"]
        out += ["", "Per draw, over the suite's cases: median hybrid / fwi_gradient "
                + ", ".join(f"{_f(pd[j]['hybrid_to_fwi_gradient_rmse_median'], '{:.2f}')}" for j in sorted(pd, key=int))
                + "; worst " + ", ".join(f"{_f(pd[j]['hybrid_to_fwi_gradient_rmse_worst'], '{:.2f}')}" for j in sorted(pd, key=int))
                + "; cases with the DL model below the 1-D start "
                + ", ".join(f"{pd[j]['cases_dl_below_reference']} of {pd[j]['cases']}" for j in sorted(pd, key=int)) + ".", ""]
        out += _moves(r)
        for cid, c in r.get("draw0_rerun", {}).items():
            t, k = c["today"], c["committed"]
            out += [f"Draw 0 of {cid} rerun with today's code ({c.get('machine')}): DL {t['dl_rmse_ms']:.0f}, hybrid "
                    f"{t['hybrid_rmse_ms']:.0f} ({t['start'] or 'dl'} start), fwi_gradient {t['fwi_gradient_rmse_ms']:.0f} m/s; committed "
                    f"{k['dl_rmse_ms']:.0f}, {k['hybrid_rmse_ms']:.0f} ({k['start'] or 'dl'}), {k['fwi_gradient_rmse_ms']:.0f}.", ""]
    return "\n".join(out) + "\n" if out else "(no spread results yet)\n"


def _stale(suite: str, r: dict) -> list:
    """A warning naming the cases whose committed benchmark records changed after the spread file
    was made (its draw 0 no longer matches them: its other draws were made with older code)."""
    path = os.path.join(RESULTS, f"benchmark_{suite}", "results.json")
    if not os.path.exists(path) or "0" not in r["draws"]:
        return []
    with open(path, encoding="utf-8") as fh:
        now = json.load(fh)["cases"]
    stale = []
    for cid, row in r["draws"]["0"].items():
        m = now.get(cid, {}).get("methods", {})
        for name in ("dl", "hybrid", "fwi_gradient"):
            old, new = row.get(f"{name}_rmse_ms"), m.get(name, {}).get("rmse_ms")
            if old is not None and (new is None or abs(new - old) > 1e-6 * max(1.0, abs(old))):
                stale.append(cid)
                break
    if not stale:
        return []
    return [f"**Out of date for {', '.join(stale)}:** their committed `benchmark_{suite}` records were remade after this file "
            f"(the draw 0 below is the earlier record, and the other draws were run with the same earlier code); rerun "
            f"`benchmarks/spread.py` for them.", ""]


def _moves(r: dict) -> list:
    """How far each method's RMSE moves between draws (``spread.py``'s ``across_draws``)."""
    ad = r["summary"].get("across_draws")
    if not ad or ad.get("hybrid_rmse_max_over_min_median") is None:
        return []
    return [f"How far a case's RMSE moves between draws (largest over smallest, median over the cases): DL "
            f"{ad['dl_rmse_max_over_min_median']:.2f}, hybrid {ad['hybrid_rmse_max_over_min_median']:.2f}, fwi_gradient "
            f"{ad['fwi_gradient_rmse_max_over_min_median']:.2f}.", ""]


def _spread_mae_table(r: dict, order: list) -> list:
    """The OpenFWI suites' spread: hybrid / DL MAE (the target: at most 0.5) per case and draw."""
    lines = ["| case | hybrid / DL MAE, each draw | draws at most 0.5 | DL MAE (m/s) | hybrid MAE (m/s) | start chosen |",
             "|---|---|---|---|---|---|"]
    for cid, c in r["summary"]["per_case"].items():
        rows = [r["draws"][j][cid] for j in order]
        ok = sum(1 for x in rows if x["hybrid_to_dl_mae"] is not None and x["hybrid_to_dl_mae"] <= 0.5)
        lines.append(f"| {cid} | {', '.join(_f(x['hybrid_to_dl_mae'], '{:.2f}') for x in rows)} | {ok} of {len(rows)} | "
                     f"{', '.join(_f(x['dl_mae_ms']) for x in rows)} | {', '.join(_f(x['hybrid_mae_ms']) for x in rows)} | "
                     f"{', '.join(x['start'] or 'dl' for x in rows)} |")
    pd = r["summary"]["per_draw"]
    return lines + ["", "Per draw, the worst hybrid / DL MAE over the suite's cases: "
                    + ", ".join(_f(pd[j]["hybrid_to_dl_mae_worst"], "{:.2f}") for j in order) + ".", ""]


def scaling_block() -> str:
    path = os.path.join(RESULTS, "scaling_cpu.json")
    if not os.path.exists(path):
        return "(no scaling results yet)\n"
    with open(path, encoding="utf-8") as fh:
        r = json.load(fh)
    return "```\n" + json.dumps(r.get("summary", r), indent=1)[:2000] + "\n```\n"


def blocks() -> dict:
    b = {s: suite_block(s) for s in ("marmousi", "ood", "openfwi-a", "openfwi-b")}
    b |= {"example": example_block(), "loses": loses_block(), "scaling": scaling_block(), "spread": spread_block()}
    return b


def write(readme: str) -> None:
    """Replace each ``<!-- results:KEY -->...<!-- /results:KEY -->`` block of ``readme``."""
    import re

    with open(readme, encoding="utf-8") as fh:
        text = fh.read()
    for key, body in blocks().items():
        pat = re.compile(rf"(<!-- results:{re.escape(key)} -->)(.*?)(<!-- /results:{re.escape(key)} -->)", re.S)
        text = pat.sub(lambda m: m.group(1) + "\n" + body + m.group(3), text)
    with open(readme + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(readme + ".tmp", readme)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write(sys.argv[2])
        return
    suites = sys.argv[1:] or ["marmousi", "ood", "openfwi-a", "openfwi-b"]
    for s in suites:
        print(f"## {s}\n")
        print(suite_block(s))


if __name__ == "__main__":
    main()
