#!/bin/bash
# The preregistered wide runs (docs/paper-table.md, nineteenth session), one at a time at two threads, resume-aware:
# start it again each session (`nohup bash /work/runs/queue/queue.sh >> /work/runs/queue/queue.log 2>&1 &`); a finished
# run (eval/summary.json) is skipped, a started one resumed from its last checkpoint. Stop: pkill -f queue.sh, then the run.
export PATH=/work/main/node_modules/.bin:$PATH
cd /work/wt-exp3 || exit 1
# wait for any stepagent run already going (one at a time)
while pgrep -f "bin/stepagent.ts (run|resume)" > /dev/null; do sleep 30; done
Q=/work/runs/queue
SFT=/work/runs/wide2/pipelines/house-sft-2400-wide.ts
dirof() { ls -d "$1"/"$2"__"$3"__* 2>/dev/null | head -1; } # out name seed
job() { # out name seed pipeline
  local out=$1 name=$2 seed=$3 pipeline=$4 dir
  mkdir -p "$out"
  dir=$(dirof "$out" "$name" "$seed")
  if [ -n "$dir" ] && [ -f "$dir/eval/summary.json" ]; then echo "$(date +%T) done $dir"; return 0; fi
  if [ -n "$dir" ]; then echo "$(date +%T) resume $dir"; node bin/stepagent.ts resume "$dir" >> "$out/$name-$seed.log" 2>&1
  else echo "$(date +%T) run $name seed $seed"; node bin/stepagent.ts run --set seed="$seed" --out "$out" "$pipeline" >> "$out/$name-$seed.log" 2>&1; fi
  local rc=$?
  dir=$(dirof "$out" "$name" "$seed")
  if [ $rc -ne 0 ] || [ ! -f "$dir/eval/summary.json" ]; then echo "$(date +%T) stopped: $name seed $seed (exit $rc)"; exit 1; fi
  echo "$(date +%T) finished $dir"
}
# the house table (preregistered, twentieth session) from every wide SFT that is done; paper-table skips complete runs
table() {
  local warm=(--warm house:1=$(dirof /work/runs/wide house-sft-2400-wide 1)) s d seeds=1
  for s in 2 3; do d=$(dirof /work/runs/wide2 house-sft-2400-wide $s); [ -n "$d" ] && [ -f "$d/eval/summary.json" ] && { warm+=(--warm house:$s=$d); seeds=$seeds,$s; }; done
  echo "$(date +%T) table seeds $seeds"
  (cd /work/wt-exp4 && node pipelines/paper-table.ts --out /work/runs/htable --envs house --methods sft,sft-more,outcome-ppo,step-dpo,stepagent-implicit,stepagent-inverse,stepagent-oracle,stepagent-placebo --seeds $seeds "${warm[@]}" >> /work/runs/htable/queue-table.log 2>&1) || { echo "$(date +%T) table stopped"; exit 1; }
}
# 1. the wide house SFT, seeds 2 and 3 (seed 1: /work/runs/wide), each followed by its table runs
job /work/runs/wide2 house-sft-2400-wide 2 $SFT
table
job /work/runs/wide2 house-sft-2400-wide 3 $SFT
table
# the copy-head probe (preregistered, nineteenth session; small without the copy head), resumed in its own worktree
nocopy=/work/runs/nocopy/house-sft-2400-nocopy__1__20261207T061432Z
if [ ! -f $nocopy/eval/summary.json ]; then
  echo "$(date +%T) resume $nocopy"
  (cd /work/wt-exp2 && node bin/stepagent.ts resume $nocopy >> /work/runs/nocopy/resume.log 2>&1) || { echo "$(date +%T) stopped: nocopy"; exit 1; }
fi
# 2. houseDagger's design (dagger and its control) from each seed's SFT checkpoint (unit-0024: the last SFT unit)
for s in 1 2 3; do
  [ $s = 1 ] && warm=$(dirof /work/runs/wide house-sft-2400-wide 1) || warm=$(dirof /work/runs/wide2 house-sft-2400-wide $s)
  for v in dagger control; do
    [ $v = dagger ] && name=house-dagger-wide method=dagger-wide || { name=house-dagger-wide-control; method=sft-more-dagger-wide; }
    p=$Q/pipelines/$name-seed$s.ts
    [ -f "$p" ] || cat > "$p" <<PIPE
import { houseDagger, wideSft } from "/work/wt-exp3/pipelines/experiment.ts"
export default { ...houseDagger("$v", "$warm/checkpoints/unit-0024", $s, wideSft("house")), name: "$name", method: "$method" }
PIPE
    job $Q/daggerwide $name $s "$p"
  done
done
# 3. shop's exploring-expert SFT at dModel 192, seed 1
job $Q/shopwide shop-explore-sft-2400-wide 1 $Q/pipelines/shop-explore-sft-wide.ts
echo "$(date +%T) queue empty"
