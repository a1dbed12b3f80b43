"""A read-only pass over a buffer, in Triton: the yardstick for the select
kernel (DESIGN 8: select >= 90% of a read-only kernel over the same code
bytes). A benchmark baseline, not product.

Each program streams whole blocks of int32 (16-byte vector loads: contiguous,
16-byte aligned (Triton specializes 16-byte aligned pointers), no mask when
the size is a multiple of the block) in a
grid-stride loop, sums them into registers, and writes one int32 per program,
so nothing is optimized away. The grid is a few programs per SM (fills the
chip; more in flight than one wave of one-block programs would keep).

    reader = ReadOnly()                        # compiles on first call
    reader(codes)                              # one pass over codes
"""

import triton
import triton.language as tl


@triton.jit
def _read_only(src, out, n_blocks, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    nprog = tl.num_programs(0)
    offs = tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], dtype=tl.int32)
    for blk in range(pid, n_blocks, nprog):
        acc += tl.load(src + blk * BLOCK + offs)
    tl.store(out + pid, tl.sum(acc, axis=0))


@triton.jit
def _read_only_masked(src, out, n, n_blocks, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    nprog = tl.num_programs(0)
    offs = tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], dtype=tl.int32)
    for blk in range(pid, n_blocks, nprog):
        idx = blk * BLOCK + offs
        acc += tl.load(src + idx, mask=idx < n, other=0)
    tl.store(out + pid, tl.sum(acc, axis=0))


# (elements per block iteration, programs per SM, warps): tried in this order,
# the fastest kept by the caller (bench.py times each the same way).
CONFIGS = ((4096, 4, 8), (8192, 2, 8), (2048, 8, 4))


class ReadOnly:
    def __init__(self, device_index=0, block=4096, per_sm=4, warps=8):
        import torch
        self.block, self.warps = block, warps
        sms = torch.cuda.get_device_properties(device_index).multi_processor_count
        self.max_programs = sms * per_sm
        self.out = torch.zeros(self.max_programs, dtype=torch.int32, device="cuda")

    def __call__(self, x):
        flat = x.reshape(-1)
        n = flat.numel()
        if flat.element_size() != 4 or n >= 2**31:
            raise ValueError("ReadOnly reads int32 buffers of < 2^31 elements")
        n_blocks = triton.cdiv(n, self.block)
        grid = (max(1, min(self.max_programs, n_blocks)),)
        if n % self.block == 0 and flat.data_ptr() % 16 == 0:
            _read_only[grid](flat, self.out, n_blocks, BLOCK=self.block, num_warps=self.warps)
        else:
            _read_only_masked[grid](flat, self.out, n, n_blocks, BLOCK=self.block,
                                    num_warps=self.warps)

    def label(self):
        return f"triton BLOCK={self.block} x{self.max_programs} programs, {self.warps} warps"
