#!/usr/bin/env python3
"""Writes the bytes of a gpu.binary embedded in LLVM IR to a file.

MLIR's LLVM translation embeds each gpu.binary as
  @<module>_binary = internal constant [N x i8] c"..."
This extracts one of them (by module name) so the same cubin or PTX can be
used outside the host object, e.g. by bench/runtime/cache_demo.cpp.

usage: extract_gpu_binary.py INPUT.ll MODULE_NAME OUTPUT
"""
import re
import sys


def decode_llvm_string(text):
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if text[i + 1] == "\\":
                out.append(0x5C)
                i += 2
            else:
                out.append(int(text[i + 1:i + 3], 16))
                i += 3
        else:
            out.append(ord(c))
            i += 1
    return bytes(out)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    source, module, output = sys.argv[1:]
    ir = open(source, encoding="latin-1").read()
    match = re.search(
        r"^@%s_binary = [^\n]*?\[(\d+) x i8\] c\"(.*?)\"(?:, align \d+)?$"
        % re.escape(module), ir, re.M)
    if not match:
        sys.exit("no @%s_binary constant in %s" % (module, source))
    data = decode_llvm_string(match.group(2))
    if len(data) != int(match.group(1)):
        sys.exit("decoded %d bytes, expected %s" % (len(data), match.group(1)))
    with open(output, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
