"""A read-only gather of K and V rows at given indices, in Triton: the
yardstick for the attention kernels (what reading the selected rows costs
when the rows are scattered, as sparse attention's are). A benchmark
baseline, not product.

Each program takes one selection row's block of BLOCK slots: it loads their
indices, then the whole K and V rows of D elements at those positions (one
2-D load each, rows of 2 x D bytes), sums them in f32 and writes one float,
so nothing is optimized away. Indices are per selection row; `group` query
rows share a KV row (per-head GQA: G; MHA and shared_group: 1).

    gather = Gather()
    gather(keys, values, indices, group)    # keys/values [R, N, D], indices [rows, k]
"""

import triton
import triton.language as tl


@triton.jit
def _gather_rows(keys, values, indices, out, slots, n, group,
                 BLOCK: tl.constexpr, D: tl.constexpr):
    row = tl.program_id(0)
    part = tl.program_id(1)
    kv_row = (row // group).to(tl.int64)
    s = part * BLOCK + tl.arange(0, BLOCK)
    idx = tl.load(indices + row.to(tl.int64) * slots + s).to(tl.int64)
    offs = (kv_row * n + idx)[:, None] * D + tl.arange(0, D)[None, :]
    k = tl.load(keys + offs).to(tl.float32)
    v = tl.load(values + offs).to(tl.float32)
    tl.store(out + row * tl.num_programs(1) + part, tl.sum(k + v))


class Gather:
    """gather(keys, values, indices, group): one read of every indexed K and
    V row. keys, values: [R, N, D] (contiguous); indices: [rows, k] int32 in
    [0, N), k a multiple of `block`; query row r reads KV row r // group."""

    def __init__(self, block=32, num_warps=4):
        self.block, self.num_warps = block, num_warps
        self._out = None

    def __call__(self, keys, values, indices, group):
        import torch
        rows, slots = indices.shape
        assert slots % self.block == 0, "k must be a multiple of the block"
        parts = slots // self.block
        if self._out is None or self._out.numel() < rows * parts:
            self._out = torch.empty(rows * parts, device=keys.device, dtype=torch.float32)
        _gather_rows[(rows, parts)](keys, values, indices, self._out, slots, keys.shape[1],
                                    group, BLOCK=self.block, D=keys.shape[2],
                                    num_warps=self.num_warps)
        return self._out

    @staticmethod
    def bytes(indices, dims, element_size=2):
        """Bytes one call reads from K and V (every index a distinct row)."""
        return indices.numel() * dims * element_size * 2
