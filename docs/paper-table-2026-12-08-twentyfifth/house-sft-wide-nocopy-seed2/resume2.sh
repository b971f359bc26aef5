#!/bin/bash
# resumes the no-head wide house SFT's seed 2 from its last checkpoint (exact on the same backend) and starts its reader
export PATH=/work/main/node_modules/.bin:$PATH
R=$(ls -d /work/runs/widenocopy/house-sft-2400-wide-nocopy__2__* | head -1)
cd /work/wt-exp2 && (nohup node bin/stepagent.ts resume --threads 1 --train-threads 2 $R >> /work/runs/widenocopy/house-sft-2400-wide-nocopy-2.log 2>&1 &)
(nohup /work/runs/widenocopy/reader2.sh 2 > /work/runs/widenocopy/reader2.out 2>&1 &)
