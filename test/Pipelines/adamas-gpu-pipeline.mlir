// RUN: adamas-opt %s -adamas-gpu-pipeline="chip=sm_90 format=isa" > %t.mlir
// RUN: FileCheck %s --check-prefix=HOST < %t.mlir
// RUN: %python %S/Inputs/extract_ptx.py < %t.mlir > %t.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: FileCheck %s --check-prefix=NOLOCAL < %t.ptx
//
// The decode step at D = 128, 2 bits through the whole GPU pipeline, with the
// kernels as PTX (no CUDA toolkit needed: the kernels call no libdevice
// function). The encode and select kernels must be what DESIGN.md 4 asks for:
// 128-bit loads of the codes, popcounts, warp shuffles and ballots, and no
// local memory anywhere.

// The host function: its stream (the runtime's current stream), one scratch
// block from the runtime's pool, six launches back to back (lowered to
// mgpuLaunchKernel when translated to LLVM IR), the scratch freed, the stream
// released.
// HOST-LABEL: llvm.func @adamas_decode_step(
// HOST: llvm.call @mgpuStreamCreate
// HOST: llvm.call @mgpuMemAlloc
// HOST-NOT: llvm.call @mgpuMemAlloc
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_encode
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_select0_hist
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_select0_threshold
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_select0_compact
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_attend0_partial
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @adamas_decode_step_kernels::@adamas_decode_step_attend0_merge
// HOST: llvm.call @mgpuMemFree
// HOST-NOT: llvm.call @mgpuMemFree
// HOST: llvm.call @mgpuStreamSynchronize
// HOST: llvm.call @mgpuStreamDestroy
// HOST-LABEL: llvm.func @_mlir_ciface_adamas_decode_step(
// HOST: gpu.binary @adamas_decode_step_kernels

// Programmatic dependent launch: the module tells the runtime (a global it
// looks up) that every kernel waits on the kernel before it first thing.
// PTX: .target sm_90
// PTX: .visible .global .align 4 .u32 adamas_grid_dependency_wait = 1;
// PTX-LABEL: .entry adamas_decode_step_encode(
// PTX: griddepcontrol.wait;
// PTX-NEXT: griddepcontrol.launch_dependents;
// PTX: shfl.sync.bfly.b32
// PTX: vote.sync.ballot.b32
// PTX-LABEL: .entry adamas_decode_step_select0_hist(
// PTX: griddepcontrol.wait;
// PTX: ld.global.v4.b32
// PTX: popc.b32
// PTX: atom.shared.add.u32
// PTX-LABEL: .entry adamas_decode_step_select0_threshold(
// PTX: griddepcontrol.wait;
// PTX: shfl.sync.up.b32
// PTX: shfl.sync.bfly.b32
// PTX-LABEL: .entry adamas_decode_step_select0_compact(
// PTX: griddepcontrol.wait;
// PTX: ld.global.v4.b32
// PTX: shfl.sync.up.b32
// PTX-LABEL: .entry adamas_decode_step_attend0_partial(
// PTX: griddepcontrol.wait;
// PTX: ex2.approx.f32
// PTX-LABEL: .entry adamas_decode_step_attend0_merge(
// PTX: griddepcontrol.wait;

// NOLOCAL-NOT: ld.local
// NOLOCAL-NOT: st.local
// NOLOCAL-NOT: call.uni

func.func @adamas_decode_step(%query: tensor<?x32x1x128xf16>, %new_keys: tensor<?x8x1x128xf16>,
                              %keys: tensor<?x8x?x128xf16>, %values: tensor<?x8x?x128xf16>,
                              %code_cache: tensor<?x8x?x8xi32>, %lengths: tensor<?xi32>)
    -> (tensor<?x32x1x128xf16>, tensor<?x8x?x8xi32>) {
  %hq = adamas.hadamard %query : tensor<?x32x1x128xf16>
  %qc = adamas.bucketize %hq [-10.0, 0.0, 10.0] : tensor<?x32x1x128xf16> -> tensor<?x32x1x8xi32>
  %hk = adamas.hadamard %new_keys : tensor<?x8x1x128xf16>
  %kc = adamas.bucketize %hk [-10.0, 0.0, 10.0] : tensor<?x8x1x128xf16> -> tensor<?x8x1x8xi32>
  %cache = adamas.cache_write %kc into %code_cache at %lengths : tensor<?x8x1x8xi32> into tensor<?x8x?x8xi32>, tensor<?xi32>
  %idx = adamas.l1_topk %qc, %cache, %lengths {k = 256 : i64, sink = 4 : i64, recent = 16 : i64}
      : tensor<?x32x1x8xi32>, tensor<?x8x?x8xi32>, tensor<?xi32> -> tensor<?x32x1x256xi32>
  %o = adamas.sparse_attn %query, %keys, %values, %idx
      : tensor<?x32x1x128xf16>, tensor<?x8x?x128xf16>, tensor<?x8x?x128xf16>, tensor<?x32x1x256xi32> -> tensor<?x32x1x128xf16>
  return %o, %cache : tensor<?x32x1x128xf16>, tensor<?x8x?x8xi32>
}
