#!/bin/bash
# exploratory: StepAgent with ptx on qa, seed 9's warm start, validation (world 4) only
export PATH=/work/main/node_modules/.bin:$PATH
cd /work/main
P=/work/runs/confirm2/pipelines
EV="--set stages.1.split=train --set stages.1.n=1 --set stages.1.actionAccuracyTasks=0 --set stages.1.trainEpisodes=0"
run() { # method-file name lr ptx extra...
  local file=$1 name=$2 lr=$3 ptx=$4; shift 4
  echo "=== $name $(date +%T)"
  node bin/stepagent.ts run --out /work/runs/ptx --train-threads ${TT:-1} $P/$file --set name=$name --set method=$name --set stages.0.ppo.learningRate=$lr --set stages.0.ptxCoef=$ptx $EV "$@" 2>&1 | grep -v ' step \| wave ' | tail -3
}
for lr in 1e-4 3e-4 1e-5; do
  run qa-stepagent-oracle-seed9.ts oracle-ptx1-lr$lr $lr 1
done
