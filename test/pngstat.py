#!/usr/bin/env python3
# test/pngstat.py FILE [ROWS]: print "WIDTH HEIGHT COLOURS INK LUMA" for an
# 8-bit RGB or RGBA PNG (what headless Chromium writes): the number of
# distinct colours, the fraction of pixels that differ from the top-left
# one (the page background) and the mean luma, 0-255, of the first ROWS
# rows (all by default).  Standard library only, so bats needs no image
# package.
import struct
import sys
import zlib


def rows(path, limit):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        sys.exit('pngstat: %s: not a PNG file' % path)
    pos, idat = 8, []
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            w, h, depth, ctype, _, _, lace = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat.append(body)
        pos += 12 + n
    if depth != 8 or ctype not in (2, 6) or lace != 0:
        sys.exit('pngstat: %s: not 8-bit RGB(A), non-interlaced' % path)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b''.join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    out = []
    for y in range(min(h, limit)):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ft == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ft == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif ft == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ft == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        out.append(bytes(line))
        prev = line
    return w, h, bpp, out


def main():
    path = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 30
    w, h, bpp, lines = rows(path, limit)
    colours, ink, luma, n = set(), 0, 0, 0
    bg = lines[0][:3]
    for line in lines:
        for x in range(0, w * bpp, bpp):
            px = line[x:x + 3]
            colours.add(px)
            if px != bg:
                ink += 1
            luma += 2 * px[0] + 5 * px[1] + px[2]
            n += 1
    print(w, h, len(colours), '%.4f' % (ink / n), int(luma / (8 * n)))


main()
