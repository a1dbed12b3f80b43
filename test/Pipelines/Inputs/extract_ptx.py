#!/usr/bin/env python3
"""Prints the PTX that adamas-gpu-pipeline{format=isa} embeds (stdin: its
output): the `assembly` string of every gpu.binary object, unescaped."""

import re
import sys

text = sys.stdin.read()
found = re.findall(r'assembly = "((?:[^"\\]|\\.)*)"', text, re.S)
if not found:
    sys.exit("no gpu.binary with PTX (assembly = ...) in the input")
for escaped in found:
    sys.stdout.write(re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), escaped))
