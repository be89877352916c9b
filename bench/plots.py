#!/usr/bin/env python3
"""plots.py - the benchmark figures as PNG images, from the benchmarks' output.

  throughput-ratio.png       pmdeflate's encode and decode speed over the raw
                             zlib floor's, per workload and window, from the
                             medians bench/run.sh writes
                             (target/bench/run.WBITS-MEMLEVEL-LEVEL-TAKEOVER.tsv)
  memory-per-connection.png  RSS per server connection per setting: pmdeflate
                             with and without compaction, websockets and ws,
                             from bench/scale.sh (target/bench/scale.raw)
  instructions-ratio.png     pmdeflate's instructions over the floor's, per
                             workload and setting, from the counts
                             bench/callgrind-all.sh writes
                             (target/bench/callgrind.WBITS-MEMLEVEL-LEVEL-TAKEOVER.tsv)

Run it with the interpreter that has matplotlib (.venv/bin/python, from
bench/requirements.txt).

Usage: plots.py [BENCH_DIR=target/bench] [OUT_DIR=docs/img]
PMD_PLOT_NOTE="..." adds a line under the throughput plot's title (say,
how loaded the machine was).
"""
import csv
import glob
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

WORKLOADS = ["chat", "ticks", "doc", "blob", "large"]
SETTINGS = [
    ("nct", "no_context_takeover\nwindow 15, memLevel 8"),
    ("w15", "context takeover\nwindow 15, memLevel 8"),
    ("w12", "context takeover\nwindow 12, memLevel 5"),
]


def throughput(bench, out):
    runs = []
    for path in glob.glob(os.path.join(bench, "run.*.tsv")):
        wbits, mem, level, takeover = os.path.basename(path)[4:-4].split("-")
        if level != "6" or takeover != "1":
            continue  # the plot is of level 6 with context takeover, as its title says
        with open(path) as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        runs.append((int(wbits), f"window {wbits}, memLevel {mem}", rows))
    if not runs:
        print(f"plots.py: no {bench}/run.*.tsv (bench/run.sh writes them): no throughput plot")
        return False
    runs.sort()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    width = 0.8 / len(runs)
    top = 1.3
    for ax, direction in zip(axes, ["encode", "decode"]):
        for k, (_, label, rows) in enumerate(runs):
            ratio = {}
            for r in rows:
                if r["direction"] == direction:
                    ratio[r["workload"]] = float(r["pmd"]) / float(r["zlib"])
            xs = [i + (k - (len(runs) - 1) / 2) * width for i in range(len(WORKLOADS))]
            ys = [ratio.get(w, 0) for w in WORKLOADS]
            top = max([top] + [y * 1.12 for y in ys])
            bars = ax.bar(xs, ys, width, label=label)
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.axhline(0.97, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xticks(range(len(WORKLOADS)), WORKLOADS)
        ax.set_title(f"{direction}: pmdeflate / raw zlib floor")
    for ax in axes:
        ax.set_ylim(0, top)
    axes[0].set_ylabel("speed ratio (1 = the floor; dashed: 0.97)")
    axes[1].legend(loc="upper left", fontsize=8)
    title = "bench/run.sh: level 6, context takeover, medians (above 1: faster than the floor)"
    note = os.environ.get("PMD_PLOT_NOTE")
    fig.suptitle(title + ("\n" + note if note else ""))
    fig.tight_layout()
    path = os.path.join(out, "throughput-ratio.png")
    fig.savefig(path, dpi=110)
    print(f"plots.py: wrote {path}")
    return True


def memory(bench, out):
    lines = []
    raw = os.path.join(bench, "scale.raw")
    if not os.path.exists(raw):
        print(f"plots.py: no {raw} (bench/scale.sh writes it): no memory plot")
        return False
    with open(raw) as f:
        for line in f:
            lines.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    peer_n = max(int(d["n"]) for d in lines if d["prog"] != "pmd")
    series = [
        ("pmdeflate", "pmd", "0", "#1f77b4"),
        ("pmdeflate, compacted", "pmd", "1", "#2ca02c"),
        ("websockets 17.4", "websockets", "0", "#ff7f0e"),
        ("ws 8.23", "ws", "0", "#d62728"),
    ]
    fig, ax = plt.subplots(figsize=(10, 4.6))
    width = 0.8 / len(series)
    for k, (label, prog, compact, color) in enumerate(series):
        ys = []
        for s, _ in SETTINGS:
            vals = [
                float(d["rss_round1_per_conn_B"])
                for d in lines
                if d["prog"] == prog
                and d["setting"] == s
                and d["compact"] == compact
                and int(d["n"]) == peer_n
            ]
            ys.append(statistics.median(vals) if vals else 0)
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(SETTINGS))]
        bars = ax.bar(xs, [max(y, 1) for y in ys], width, label=label, color=color)
        labels = [f"{y / 1000:.1f} KB" if y >= 10000 else f"{y:.0f} B" for y in ys]
        ax.bar_label(bars, labels=labels, fontsize=7, padding=1)
    ax.set_yscale("log")
    ax.set_ylim(50, 2e6)
    ax.set_xticks(range(len(SETTINGS)), [label for _, label in SETTINGS])
    ax.set_ylabel("RSS per connection, bytes (log scale)")
    ax.set_title(
        f"{peer_n:,} server connections in one process, after one small message each way"
    )
    ax.legend(fontsize=8, loc="upper left", ncol=4)
    fig.tight_layout()
    path = os.path.join(out, "memory-per-connection.png")
    fig.savefig(path, dpi=110)
    print(f"plots.py: wrote {path}")
    return True


def instructions(bench, out):
    runs = []
    for path in glob.glob(os.path.join(bench, "callgrind.*.tsv")):
        wbits, mem, level, takeover = os.path.basename(path)[10:-4].split("-")
        with open(path) as f:
            ratio = {r["workload"]: int(r["pmd"]) / int(r["zlib"]) for r in csv.DictReader(f, delimiter="\t")}
        mode = "takeover" if takeover == "1" else "no_context_takeover"
        runs.append(((takeover == "0", int(wbits)), f"window {wbits}, memLevel {mem}, {mode}, level {level}", ratio))
    if not runs:
        print(f"plots.py: no {bench}/callgrind.*.tsv (bench/callgrind-all.sh writes them): no instructions plot")
        return False
    runs.sort()
    fig, ax = plt.subplots(figsize=(10, 4.2))
    width = 0.8 / len(runs)
    for k, (_, label, ratio) in enumerate(runs):
        xs = [i + (k - (len(runs) - 1) / 2) * width for i in range(len(WORKLOADS))]
        bars = ax.bar(xs, [ratio.get(w, 0) for w in WORKLOADS], width, label=label)
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylim(0.95, 1.05)
    ax.set_xticks(range(len(WORKLOADS)), WORKLOADS)
    ax.set_ylabel("instructions, pmdeflate / floor (below 1: fewer)")
    ax.set_title("bench/callgrind-all.sh: one pass (encode, decode, check), callgrind counts")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, "instructions-ratio.png")
    fig.savefig(path, dpi=110)
    print(f"plots.py: wrote {path}")
    return True


def main():
    bench = sys.argv[1] if len(sys.argv) > 1 else "target/bench"
    out = sys.argv[2] if len(sys.argv) > 2 else "docs/img"
    os.makedirs(out, exist_ok=True)
    drew = throughput(bench, out)
    drew = memory(bench, out) or drew
    drew = instructions(bench, out) or drew
    if not drew:
        sys.exit("plots.py: nothing to plot")


if __name__ == "__main__":
    main()
