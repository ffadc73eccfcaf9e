"""The benchmark's report as Markdown: the throughput table, the targets, the start-up."""

from __future__ import annotations

import startup

ORDER = ("chainrule", "chainrule-numpy", "chainrule@", "jax", "pytorch", "lean-numpy",
         "book-numpy", "scikit-learn")


def peer_order(peers) -> list[str]:
    """The table's order: chainrule's rows first, then the peers to beat."""
    return sorted(peers, key=lambda p: next(i for i, prefix in enumerate(ORDER)
                                            if p.startswith(prefix)))


def rate(report: dict, workload: str, peer: str) -> float | None:
    entry = report["workloads"].get(workload, {}).get("peers", {}).get(peer)
    return None if entry is None else entry["samples_per_second"]


def ratio(report: dict, workload: str, peer: str) -> float | None:
    """chainrule's samples/s over ``peer``'s in ``workload`` (None when either is missing)."""
    ours, theirs = rate(report, workload, "chainrule"), rate(report, workload, peer)
    return None if ours is None or theirs is None else ours / theirs


def header(report: dict) -> str:
    versions = ", ".join(f"{name} {report[key]}" for key, name in (
        ("numpy", "NumPy"), ("numba", "numba"), ("jax", "JAX"), ("torch", "PyTorch"),
        ("sklearn", "scikit-learn")) if report.get(key))
    return (f"Measured {report['date']} on {report['machine']}; {versions}. chainrule's "
            f"active kernel path: **{report['kernels']}**. float32 GEMM ceiling (1024³, best "
            f"of 5 before each workload, highest): {report['gemm_gflops']:.1f} GFLOP/s. "
            f"Load average before the run: {report.get('load', '?')}.")


def throughput(report: dict) -> str:
    first = next(iter(report["workloads"].values()))["peers"]
    lines = ["| workload | peer | samples/s | chainrule ÷ peer | GFLOP/s | % of GEMM | "
             "training MiB | final loss |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, result in report["workloads"].items():
        for peer in peer_order(first):
            r = result["peers"][peer]
            memory = r.get("peak_mib")
            shown = "—" if peer == "chainrule" else f"{ratio(report, name, peer):.2f}×"
            lines.append(
                f"| {name} {result['description']} | {peer} | {r['samples_per_second']:,.0f} | "
                f"{shown} | {r['gflops']:.1f} | "
                f"{100 * r['gflops'] / report['gemm_gflops']:.0f} % | "
                f"{'—' if memory is None else f'{memory:.1f}'} | {r['final_loss']:.4f} |")
    return "\n".join(lines) + "\n"


def targets(report: dict) -> list[tuple[str, float | None, float, str]]:
    """Issue 15's targets: (what, measured, needed, unit) for every one this run can judge."""
    rows = []
    if "W4" in report["workloads"]:
        gflops = report["workloads"]["W4"]["peers"]["chainrule"]["gflops"]
        rows.append(("W4 share of the GEMM ceiling", 100 * gflops / report["gemm_gflops"], 85,
                     "%"))
        rows.append(("W4 ÷ PyTorch", ratio(report, "W4", "pytorch"), 1.15, "×"))
        rows.append(("W4 ÷ JAX", ratio(report, "W4", "jax"), 1.05, "×"))
    if "W2" in report["workloads"]:
        rows.append(("W2 ÷ JAX", ratio(report, "W2", "jax"), 1.0, "×"))
    for name in ("W1", "W3"):
        if name in report["workloads"]:
            rows.append((f"{name} ÷ JAX", ratio(report, name, "jax"), 0.8, "×"))
            rows.append((f"{name} ÷ lean NumPy loop", ratio(report, name, "lean-numpy"), 2.0,
                         "×"))
    for name, result in report["workloads"].items():
        base = next((p for p in result["peers"] if p.startswith("chainrule@")), None)
        if base is not None:
            forced = rate(report, name, "chainrule-numpy") / rate(report, name, base)
            rows.append((f"{name} NumPy path forced ÷ {base}", forced, 1.0, "×"))
    return [row for row in rows if row[1] is not None]


def target_lines(report: dict) -> str:
    lines = ["| target | measured | needed | verdict |", "|---|---:|---:|---|"]
    for what, measured, needed, unit in targets(report):
        short = 100 * (1 - measured / needed)
        verdict = "holds" if measured >= needed else f"misses by {short:.0f} %"
        shown = f"{measured:.0f} %" if unit == "%" else f"{measured:.2f}×"
        lines.append(f"| {what} | {shown} | {needed:g}{' %' if unit == '%' else '×'} | "
                     f"{verdict} |")
    return "\n".join(lines) + "\n"


def markdown(report: dict) -> str:
    parts = [header(report), "", throughput(report), "Targets (issue 15) in this run:", "",
             target_lines(report)]
    if report.get("startup"):
        parts += ["Time to first step (a fresh process, from its first line to the end of its "
                  "first training step; medians of 3):", "", startup.markdown(report["startup"])]
    return "\n".join(parts)
