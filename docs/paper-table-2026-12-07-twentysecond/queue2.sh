#!/bin/bash
# The preregistered runs still to do (queue.sh's order from the house SFT's seed 3 on), one at a time, resume-aware:
# `nohup bash /work/runs/queue/queue2.sh >> /work/runs/queue/queue.log 2>&1 &` each session. The table's seeds keep
# their pinned code (SFT seed 3: /work/wt-exp3 as seeds 1-2; the table: /work/wt-exp4); the copy-head probe continues
# in /work/wt-exp2; the experiments that start after the twenty-first session (DAgger-wide, shop's wide SFT) run the
# code of fc2f5fa (/work/wt-exp5: rollouts with the state cache, ~2x cheaper evaluation). Never edit this file while it runs.
export PATH=/work/main/node_modules/.bin:$PATH
while pgrep -f "bin/stepagent.ts (run|resume)" > /dev/null; do sleep 30; done
Q=/work/runs/queue
dirof() { ls -d "$1"/"$2"__"$3"__* 2>/dev/null | head -1; } # out name seed
job() { # tree out name seed pipeline
  local tree=$1 out=$2 name=$3 seed=$4 pipeline=$5 dir
  mkdir -p "$out"
  dir=$(dirof "$out" "$name" "$seed")
  if [ -n "$dir" ] && [ -f "$dir/eval/summary.json" ]; then echo "$(date +%T) done $dir"; return 0; fi
  if [ -n "$dir" ]; then echo "$(date +%T) resume $dir"; (cd "$tree" && node bin/stepagent.ts resume "$dir") >> "$out/$name-$seed.log" 2>&1
  else echo "$(date +%T) run $name seed $seed"; (cd "$tree" && node bin/stepagent.ts run --set seed="$seed" --out "$out" "$pipeline") >> "$out/$name-$seed.log" 2>&1; fi
  local rc=$?
  dir=$(dirof "$out" "$name" "$seed")
  if [ $rc -ne 0 ] || [ ! -f "$dir/eval/summary.json" ]; then echo "$(date +%T) stopped: $name seed $seed (exit $rc)"; exit 1; fi
  echo "$(date +%T) finished $dir"
}
table() {
  local warm=(--warm house:1=$(dirof /work/runs/wide house-sft-2400-wide 1)) s d seeds=1
  for s in 2 3; do d=$(dirof /work/runs/wide2 house-sft-2400-wide $s); [ -n "$d" ] && [ -f "$d/eval/summary.json" ] && { warm+=(--warm house:$s=$d); seeds=$seeds,$s; }; done
  echo "$(date +%T) table seeds $seeds"
  (cd /work/wt-exp4 && node pipelines/paper-table.ts --out /work/runs/htable --envs house --methods sft,sft-more,outcome-ppo,step-dpo,stepagent-implicit,stepagent-inverse,stepagent-oracle,stepagent-placebo --seeds $seeds "${warm[@]}" >> /work/runs/htable/queue-table.log 2>&1) || { echo "$(date +%T) table stopped"; exit 1; }
}
# 0. the wide house SFT without the copy head (preregistered, twenty-second session; da5f0a9 as the wide run's seed 1).
# Its reading decides what comes next: if house's warm start moves to it, stop here and rewrite this queue
job /work/wt-exp2 /work/runs/widenocopy house-sft-2400-wide-nocopy 1 /work/runs/widenocopy/pipelines/house-sft-2400-wide-nocopy.ts
echo "$(date +%T) read the wide model without the copy head before going on (docs/paper-table.md, twenty-second session)"
exit 0
# 1. the house table: seeds 1-2 complete (again: skipped when done), the wide SFT's seed 3, then its table runs
table
job /work/wt-exp3 /work/runs/wide2 house-sft-2400-wide 3 /work/runs/wide2/pipelines/house-sft-2400-wide.ts
table
# 2. the copy-head probe, in its own worktree
nocopy=/work/runs/nocopy/house-sft-2400-nocopy__1__20261207T061432Z
if [ ! -f $nocopy/eval/summary.json ]; then
  echo "$(date +%T) resume $nocopy"
  (cd /work/wt-exp2 && node bin/stepagent.ts resume $nocopy >> /work/runs/nocopy/resume.log 2>&1) || { echo "$(date +%T) stopped: nocopy"; exit 1; }
fi
# 3. shop's exploring-expert SFT at dModel 192, seed 1 (fc2f5fa)
p=$Q/pipelines5/shop-explore-sft-wide.ts
[ -f "$p" ] || cat > "$p" <<PIPE
import { define } from "/work/wt-exp5/src/pipeline/Pipeline.ts"
import { wide, wideSft } from "/work/wt-exp5/pipelines/experiment.ts"
// pipelines/shop-explore-sft-wide.ts (twentieth session) on fc2f5fa's code
const base = wideSft("shop")
export default define({ ...base, name: "shop-explore-sft-2400-wide", method: "sft-explore-2400-wide", env: { name: "shop", expert: "explore" }, model: { ...wide, overrides: { ...wide.overrides, contextLength: 1024 } } })
PIPE
job /work/wt-exp5 $Q/shopwide shop-explore-sft-2400-wide 1 "$p"
# 4. houseDagger's design (dagger and its control) from each seed's wide SFT checkpoint (fc2f5fa)
for s in 1 2 3; do
  [ $s = 1 ] && warm=$(dirof /work/runs/wide house-sft-2400-wide 1) || warm=$(dirof /work/runs/wide2 house-sft-2400-wide $s)
  for v in dagger control; do
    [ $v = dagger ] && name=house-dagger-wide method=dagger-wide || { name=house-dagger-wide-control; method=sft-more-dagger-wide; }
    p=$Q/pipelines5/$name-seed$s.ts
    [ -f "$p" ] || cat > "$p" <<PIPE
import { houseDagger, wideSft } from "/work/wt-exp5/pipelines/experiment.ts"
export default { ...houseDagger("$v", "$warm/checkpoints/unit-0024", $s, wideSft("house")), name: "$name", method: "$method" }
PIPE
    job /work/wt-exp5 $Q/daggerwide $name $s "$p"
  done
done
echo "$(date +%T) queue empty"
