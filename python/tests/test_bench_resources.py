"""bench/steps/resources.py: the occupancy arithmetic and the parsing of the
compiler's reports, against hand-derived numbers (the script itself needs
adamas-opt and ptxas; it runs where the kernels are compiled)."""

from conftest import load_bench_script


def load():
    return load_bench_script("resources")


def test_ctas_per_sm_by_registers_shared_and_threads():
    r = load()
    # 48 registers x 32 lanes = 1536 per warp (a multiple of 256), 8 warps:
    # 12288 per CTA, 65536 / 12288 = 5.3 -> 5.
    assert r.ctas_per_sm(256, 48, 1540) == (5, "registers")
    # 114 registers: 3648 per warp, rounded up to 3840; 8 warps: 30720 -> 2.
    assert r.ctas_per_sm(256, 114, 6160) == (2, "registers")
    # 32 registers, 128 threads: 4096 per CTA -> 16; shared (0 + 1 KB) -> 228;
    # threads 2048 / 128 = 16: registers and threads tie at 16.
    assert r.ctas_per_sm(128, 32, 0)[0] == 16
    # 40 KB of shared memory: 228 KB / 41 KB = 5.56 -> 5, below registers' 16.
    assert r.ctas_per_sm(128, 32, 40 * 1024) == (5, "shared")


def test_parse_ptxas_and_block_sizes():
    r = load()
    ptx = (".visible .entry k_hist(\n\t.param .u64 a\n)\n.maxntid 256, 1, 1\n{\n}\n"
           ".visible .entry k_merge(\n\t.param .u64 a\n)\n.maxntid 128, 1, 1\n{\n}\n")
    assert r.block_sizes(ptx) == {"k_hist": 256, "k_merge": 128}
    out = ("ptxas info    : 0 bytes gmem\n"
           "ptxas info    : Compiling entry function 'k_hist' for 'sm_90'\n"
           "ptxas info    : Function properties for k_hist\n"
           "    16 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads\n"
           "ptxas info    : Used 48 registers, used 1 barriers, 1540 bytes smem\n"
           "ptxas info    : Compiling entry function 'k_merge' for 'sm_90'\n"
           "ptxas info    : Function properties for k_merge\n"
           "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
           "ptxas info    : Used 32 registers, used 0 barriers\n")
    assert r.parse_ptxas(out, r.block_sizes(ptx)) == [
        ("k_hist", 256, 48, 8, 12, 1540), ("k_merge", 128, 32, 0, 0, 0)]
