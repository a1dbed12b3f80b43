#!/usr/bin/python3
"""A stand-in for adamas-opt that misbehaves as FAKE_MODE says, in the stage
FAKE_STAGE (a flag such as -adamas-lower-to-linalg; "" = a plain parse). In
every other run it prints its input, like a parse that succeeds."""
import os
import signal
import sys
import time

path = sys.argv[1]
flags = sys.argv[2:]
text = open(path).read()
mode = os.environ.get("FAKE_MODE", "ok")
stage = os.environ.get("FAKE_STAGE", "-adamas-lower-to-linalg")
here = stage in flags if stage else flags == ["-split-input-file"]
if mode != "ok" and here:
    if mode == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "ubsan":
        sys.stderr.write("Foo.cpp:1:2: runtime error: signed integer overflow\n")
        sys.exit(87)
    if mode == "asan":
        sys.stderr.write("==1==ERROR: AddressSanitizer: heap-buffer-overflow\n")
        sys.exit(86)
    if mode == "hang":
        time.sleep(60)
    if mode == "garbage":
        print("func.func @broken(")
        sys.exit(0)
if text.startswith("func.func @broken("):
    sys.stderr.write("error: expected ')'\n")
    sys.exit(1)
sys.stdout.write(text)
