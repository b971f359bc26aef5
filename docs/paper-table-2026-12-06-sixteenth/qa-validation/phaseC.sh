#!/bin/bash
# exploratory, validation only: (B) ptx 30 at 1e-4, oracle; (C) a pool of fresh worlds (49-52, never in the SFT data), oracle vs placebo at the table's 1e-5
export PATH=/work/main/node_modules/.bin:$PATH
cd /work/main
P=/work/runs/confirm2/pipelines
EV="--set stages.1.split=train --set stages.1.n=1 --set stages.1.actionAccuracyTasks=0 --set stages.1.trainEpisodes=0"
FRESH="--set data.generate.n=128 --set data.generate.seeds=[49,50,51,52] --set stages.0.poolOffset=0"
run() {
  local file=$1 name=$2; shift 2
  echo "=== $name $(date +%T)"
  node bin/stepagent.ts run --out /work/runs/ptx --train-threads ${TT:-1} $P/$file --set name=$name --set method=$name $EV "$@" 2>&1 | grep -v ' step \| wave ' | tail -3
}
while pgrep -f phaseA.sh >/dev/null; do sleep 10; done
run qa-stepagent-oracle-seed9.ts oracle-ptx30-lr1e-4 --set stages.0.ppo.learningRate=1e-4 --set stages.0.ptxCoef=30
for s in 9 10; do
  f=qa-stepagent-implicit-lean-seed$s.ts
  run $f fresh-oracle $FRESH --set stages.0.reward=oracle
  run $f fresh-placebo $FRESH --set stages.0.reward=oracle --set stages.0.oracle.shuffle=true
done
