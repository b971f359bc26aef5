#!/bin/bash
# the no-head wide house SFT's seed 3 (the recipe and code of seeds 1-2), with its reader (stops it after its last SFT checkpoint)
export PATH=/work/main/node_modules/.bin:$PATH
cd /work/wt-exp2 && (nohup node bin/stepagent.ts run --threads 1 --train-threads 2 --set seed=3 --out /work/runs/widenocopy /work/runs/widenocopy/pipelines/house-sft-2400-wide-nocopy.ts >> /work/runs/widenocopy/house-sft-2400-wide-nocopy-3.log 2>&1 &)
(nohup /work/runs/widenocopy/reader2.sh 3 > /work/runs/widenocopy/reader3.out 2>&1 &)
