#!/usr/bin/env python3
"""What Fluent Bit's wasm runtime sees in a built CALI module: imports, exports, and the
param+local cells (4-byte slots) per function that size WAMR's interpreter frames.
Usage: python3 fluent-bit/module-report.py target/cali.wasm"""
import sys
data = open(sys.argv[1], 'rb').read()
assert data[:4] == b'\0asm'
pos = 8
def leb(p):
    r = s = 0
    while True:
        b = data[p]; p += 1
        r |= (b & 0x7f) << s; s += 7
        if b < 0x80: return r, p
cells = {0x7f:1, 0x7d:1, 0x7e:2, 0x7c:2, 0x7b:4, 0x70:1, 0x6f:1}
types = []; func_types = []; imports = []; exports = []; n_imported_funcs = 0
while pos < len(data):
    sid = data[pos]; pos += 1
    size, pos = leb(pos); end = pos + size; p = pos
    if sid == 1:
        n, p = leb(p)
        for _ in range(n):
            p += 1; np_, p = leb(p); params = data[p:p+np_]; p += np_
            nr, p = leb(p); p += nr
            types.append(sum(cells[t] for t in params))
    elif sid == 2:
        n, p = leb(p)
        for _ in range(n):
            l, p = leb(p); mod = data[p:p+l].decode(); p += l
            l, p = leb(p); name = data[p:p+l].decode(); p += l
            kind = data[p]; p += 1
            if kind == 0:
                t, p = leb(p); n_imported_funcs += 1
            elif kind == 1: p += 1; fl, p = leb(p); _, p = leb(p); p = leb(p)[1] if fl & 1 else p
            elif kind == 2: fl, p = leb(p); _, p = leb(p); p = leb(p)[1] if fl & 1 else p
            elif kind == 3: p += 2
            imports.append(f"{mod}.{name}")
    elif sid == 3:
        n, p = leb(p)
        for _ in range(n):
            t, p = leb(p); func_types.append(t)
    elif sid == 7:
        n, p = leb(p)
        for _ in range(n):
            l, p = leb(p); exports.append(data[p:p+l].decode()); p += l; p += 1; _, p = leb(p)
    elif sid == 10:
        n, p = leb(p)
        frames = []
        for i in range(n):
            bsize, p = leb(p); bend = p + bsize
            ng, q = leb(p); local_cells = 0
            for _ in range(ng):
                c, q = leb(q); t = data[q]; q += 1
                local_cells += c * cells[t]
            frames.append(types[func_types[i]] + local_cells)
            p = bend
        frames.sort()
        print(f"functions: {n}, imports: {', '.join(imports)}")
        print(f"exports: {', '.join(exports)}")
        print(f"param+local cells per function: median {frames[n//2]}, p99 {frames[int(n*0.99)]}, max {frames[-1]}")
    pos = end
