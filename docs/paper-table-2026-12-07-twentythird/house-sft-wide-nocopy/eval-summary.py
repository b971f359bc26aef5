import json, glob, random, sys
files = sorted(glob.glob(sys.argv[1] + '/test-*.json'), key=lambda f: int(f.split('-')[-1].split('.')[0]))
k = n = 0
for f in files:
    try: d = json.load(open(f))
    except Exception: continue
    k += round(d['successRate'] * d['episodes']); n += d['episodes']
    print(f, d['episodes'], d['successRate'], d.get('avgSteps'))
xs = [1] * k + [0] * (n - k)
rng = random.Random(0)
bs = sorted(sum(rng.choice(xs) for _ in xs) / n for _ in range(10000)) if n else []
print(f"test {k}/{n} = {100 * k / max(n, 1):.1f}% [{100 * bs[249]:.1f}, {100 * bs[9749]:.1f}] (bootstrap over episodes, 10,000)" if n else "no chunks")
