"""python -m bench [apply] [agent] [cli] [scale] [git] [images] [swarm]: run the benchmarks and print their figures."""

import sys

from bench import agent_bench, apply_bench, cli_bench, git_bench, image_bench, scale_bench, swarm_bench
from reconciler import log

log.configure("warning")

SUITES = {"apply": apply_bench.main, "agent": agent_bench.main, "cli": cli_bench.main, "scale": scale_bench.main,
          "git": git_bench.main, "images": image_bench.main, "swarm": swarm_bench.main}

names = sys.argv[1:] or list(SUITES)
for name in names:
    for line in SUITES[name]():
        print(f"{name}: {line}", flush=True)
