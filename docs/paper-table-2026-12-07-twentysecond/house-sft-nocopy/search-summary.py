import re,sys
for f in sys.argv[1:]:
    tot=[0,0]; srch=[0,0]
    for line in open(f):
        m=re.match(r'^(\w+) after (\w+) (whole|TRUNC): (\d+)/(\d+)',line)
        if not m: continue
        want,prev,_,ok,n=m.groups(); ok=int(ok); n=int(n)
        tot[0]+=ok; tot[1]+=n
        if want=='go' and prev in ('go','open'): srch[0]+=ok; srch[1]+=n
    print(f, f"all {tot[0]}/{tot[1]} = {100*tot[0]/tot[1]:.1f}%", f"searches {srch[0]}/{srch[1]} = {100*srch[0]/srch[1]:.1f}%")
