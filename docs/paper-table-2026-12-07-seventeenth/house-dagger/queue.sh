#!/bin/bash
# runs the remaining (variant, seed) runs, two stepagent runs at a time in all (the seed-1 pair counts)
export PATH=/work/main/node_modules/.bin:$PATH
cd /work/wt-exp
running() { pgrep -f "stepagent.ts run --threads 1 --out /work/runs/dagger" | wc -l; }
for job in dagger-seed2 control-seed2 dagger-seed3 control-seed3; do
  while [ "$(running)" -ge 2 ]; do sleep 15; done
  v=${job%-seed*}; s=${job#*-seed}
  echo "$(date +%T) start $job"
  nohup node bin/stepagent.ts run --threads 1 --out /work/runs/dagger /work/runs/dagger/pipelines/house-$v-seed$s.ts > /work/runs/dagger/$job.log 2>&1 &
  sleep 30
done
wait
