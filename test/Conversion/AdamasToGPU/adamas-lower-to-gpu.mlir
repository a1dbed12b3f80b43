// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0 tensor-core-distances=false" -split-input-file | FileCheck %s --enable-var-scope
// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0 tensor-core-distances=false l2-cache-hints=false" -split-input-file | FileCheck %s --check-prefix=NOHINTS
// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0 tensor-core-distances=false select-encodes-queries=false" -split-input-file | FileCheck %s --check-prefix=ENCFIRST
// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0 tensor-core-distances=false attend-long-form-tensor-core-dots=false" -split-input-file | FileCheck %s --check-prefix=NODOTS
// RUN: adamas-opt %s -adamas-lower-to-gpu="max-cluster-size=0 tensor-core-distances=false attend-softmax-in-quads=false" -split-input-file | FileCheck %s --check-prefix=BCAST

// Without thread block clusters (max-cluster-size=0, as on sm_80) l1_topk is
// three kernels and sparse_attn two; adamas-lower-to-gpu-cluster.mlir has
// the cluster forms. The histogram pass here takes its distances from
// per-thread popcounts; adamas-lower-to-gpu-tensor-core.mlir has the
// tensor-core form (the default where a CTA ranks several queries).

// A whole decode step (GQA 4/2, D 128, 2 bits): tensor arguments become
// memrefs, the output an extra trailing argument, the code cache is updated in
// place; the host chains its launches on one stream with nothing between
// them: all scratch is carved (memref.view, 256-byte aligned offsets) out of
// one gpu.alloc made before the first launch and freed after the last, before
// the final (non-blocking for a borrowed stream) wait. For sm_90 the kernel
// module declares adamas_grid_dependency_wait and every kernel starts with
// griddepcontrol wait + launch_dependents (programmatic dependent launch),
// but the last one. The histogram pass encodes the queries itself
// (select-encodes-queries, the default), and the new keys' codes (recent = 8
// >= M = 1: no selection ranks them) are written by an encode kernel after
// the attention, which lets the next kernel launch first thing and waits
// on the kernels before it last: it runs beside them, off the critical path.
// select-encodes-queries=false (prefix ENCFIRST) keeps one encode kernel of
// both jobs first.

// CHECK-LABEL: func.func @step(
//  CHECK-SAME:   %[[Q:[a-z0-9]+]]: memref<1x4x1x128xf16>, %[[NK:[a-z0-9]+]]: memref<1x2x1x128xf16>,
//  CHECK-SAME:   %[[K:[a-z0-9]+]]: memref<1x2x?x128xf16>, %[[V:[a-z0-9]+]]: memref<1x2x?x128xf16>,
//  CHECK-SAME:   %[[CACHE:[a-z0-9]+]]: memref<1x2x?x8xi32>, %[[LEN:[a-z0-9]+]]: memref<1xi32>,
//  CHECK-SAME:   %[[OUT:[a-z0-9]+]]: memref<1x4x1x128xf16>) attributes {llvm.emit_c_interface} {
//   CHECK-NOT:   memref.alloc
//       CHECK:   %[[T0:.*]] = gpu.wait async
//       CHECK:   %[[SCRATCH:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]] (%{{.*}}) : memref<?xi8>
//       CHECK:   memref.view %[[SCRATCH]][%c0{{.*}}][] : memref<?xi8> to memref<1x4x1x64xi32>
//       CHECK:   memref.view %[[SCRATCH]]{{.*}} : memref<?xi8> to memref<?xi16>
//       CHECK:   memref.view %[[SCRATCH]]{{.*}} : memref<?xi8> to memref<?xi32>
//       CHECK:   memref.view %[[SCRATCH]]{{.*}} : memref<?xi8> to memref<?xi32>
//       CHECK:   memref.view %[[SCRATCH]]{{.*}} : memref<?xi8> to memref<?xf32>
//   CHECK-NOT:   gpu.alloc
// The compaction discards the distance lines it has read only where the
// step's codes (B x Hkv x N x 32 bytes) and distances (rows x the padded N x
// 2 bytes) together outgrow an L2 of 50 MB; the flag is the select kernels'
// second last argument.
//       CHECK:   %[[CODEBYTES:.*]] = arith.muli %{{.*}}, %c32{{[_0-9]*}} : index
//       CHECK:   %[[DISTBYTES:.*]] = arith.muli %{{.*}}, %c2{{[_0-9]*}} : index
//       CHECK:   %[[STEPBYTES:.*]] = arith.addi %[[CODEBYTES]], %[[DISTBYTES]] : index
//       CHECK:   %[[OUTGROWS:.*]] = arith.cmpi ugt, %[[STEPBYTES]], %c52428800 : index
//       CHECK:   %[[DISCARD:.*]] = arith.select %[[OUTGROWS]], %c1{{[_0-9]*}}, %c0{{[_0-9]*}} : index
//   CHECK-NOT:   gpu.launch_func
// The compaction with runs of 16, or of 32 where a chunk (ceil(N / chunks)
// rounded up to 32) is longer than one pass of 256 x 16 positions: both are
// built, the one not chosen gets an empty grid (y = 0). Nothing but this
// sparse_attn reads the indices, so the select's launches are left to the
// attention (attend-compacts-selection): the threshold and compaction
// kernels run (right after the histogram pass) only where the host takes
// sparse_attn's long form, whose CTAs read the indices, or where a chunk is
// longer than one pass of the attention CTA's 128 threads x 32 positions;
// otherwise the short forms' CTAs plan and compact their own slots, told
// so by their last argument, and the histogram pass lets them launch only
// as its CTAs finish where it has more than one CTA per SM (its last
// argument).
//       CHECK:   %[[CHUNKLEN:.*]] = arith.muli %{{.*}}, %c32{{[_0-9]*}} : index
//       CHECK:   %[[LONG:.*]] = arith.cmpi ugt, %[[CHUNKLEN]], %c4096
//       CHECK:   %[[SHORTY:.*]] = arith.select %[[LONG]], %c0{{.*}}, %[[CHUNKS:.*]] : index
//       CHECK:   %[[LONGY:.*]] = arith.select %[[LONG]], %[[CHUNKS]], %c0{{.*}} : index
// sparse_attn (k = 64) in 2 splits of 8 slots per warp, or in the long
// form's 1 split of 16 per warp where that grid (rows x 1 CTAs) reaches
// 6 x 132: all four kernels launched, the pair not chosen with empty grids.
//       CHECK:   %[[OUT_FLAT:.*]] = memref.collapse_shape %[[OUT]]
//       CHECK:   %[[ROWS:.*]] = arith.muli %{{.*}}, %c4{{[_0-9]*}} : index
//       CHECK:   %[[MERGE:.*]] = arith.ceildivsi
//       CHECK:   %[[LONGCTAS:.*]] = arith.muli %[[ROWS]], %c1{{[_0-9]*}} : index
//       CHECK:   %[[LONGA:.*]] = arith.cmpi uge, %[[LONGCTAS]], %c792
//       CHECK:   %[[SHORTA:.*]] = arith.xori %[[LONGA]], %true
//       CHECK:   %[[ONEPASS:.*]] = arith.cmpi ule, %[[CHUNKLEN]], %c4096{{[_0-9]*}} : index
//       CHECK:   %[[COMPACTS:.*]] = arith.andi %[[ONEPASS]], %[[SHORTA]] : i1
//       CHECK:   %[[SPREAD:.*]] = arith.cmpi ule, %{{.*}}, %c132 : index
//       CHECK:   %[[EARLY:.*]] = arith.ori %[[SPREAD]], %{{.*}} : i1
//       CHECK:   %[[RELEASE:.*]] = arith.select %[[EARLY]], %c1{{[_0-9]*}}, %c0{{[_0-9]*}} : index
//       CHECK:   %[[FLAG:.*]] = arith.select %[[COMPACTS]], %c1{{[_0-9]*}}, %c0{{[_0-9]*}} : index
//       CHECK:   %[[TROWS:.*]] = arith.select %[[COMPACTS]], %c0{{[_0-9]*}}, %{{.*}} : index
//       CHECK:   %[[SY:.*]] = arith.select %[[COMPACTS]], %c0{{[_0-9]*}}, %[[SHORTY]] : index
//       CHECK:   %[[LY:.*]] = arith.select %[[COMPACTS]], %c0{{[_0-9]*}}, %[[LONGY]] : index
//   CHECK-NOT:   @step_encode
//       CHECK:   %[[L1:.*]] = gpu.launch_func async [%[[T1]]] @step_kernels::@step_select0_hist
//  CHECK-SAME:     args(%{{.*}} : memref<512xf16>, 
//  CHECK-SAME:     %[[DISCARD]] : index, %[[RELEASE]] : index)
//       CHECK:   %[[L2:.*]] = gpu.launch_func async [%[[L1]]] @step_kernels::@step_select0_threshold blocks in (%[[TROWS]], %c1{{.*}}, %c1{{.*}})
//       CHECK:   %[[L3:.*]] = gpu.launch_func async [%[[L2]]] @step_kernels::@step_select0_compact blocks in (%{{.*}}, %[[SY]], %c1{{.*}})
//       CHECK:   %[[L4:.*]] = gpu.launch_func async [%[[L3]]] @step_kernels::@step_select0_compact_long blocks in (%{{.*}}, %[[LY]], %c1{{.*}})
//       CHECK:   %[[SHORTG:.*]] = arith.select %[[LONGA]], %c0{{[_0-9]*}}, %[[ROWS]] : index
//       CHECK:   %[[SHORTM:.*]] = arith.select %[[LONGA]], %c0{{[_0-9]*}}, %[[MERGE]] : index
//       CHECK:   gpu.launch_func async [%[[L4]]] @step_kernels::@step_attend0_partial blocks in (%c2{{[_0-9]*}}, %[[SHORTG]], %c1{{[_0-9]*}})
//  CHECK-SAME:     args(%{{[a-z_0-9]+}} : memref<512xf16>,
//  CHECK-SAME:     %[[DISCARD]] : index, %[[RELEASE]] : index, %{{[a-z_0-9]+}} : memref<512xf16>,
//  CHECK-SAME:     %[[FLAG]] : index)
//       CHECK:   gpu.launch_func async {{.*}} @step_kernels::@step_attend0_merge blocks in (%[[SHORTM]], %c1{{[_0-9]*}}, %c1{{[_0-9]*}})
//  CHECK-SAME:     %[[OUT_FLAT]] : memref<512xf16>
//       CHECK:   %[[LONGG:.*]] = arith.select %[[LONGA]], %[[ROWS]], %c0{{[_0-9]*}} : index
//       CHECK:   %[[LONGM:.*]] = arith.select %[[LONGA]], %[[MERGE]], %c0{{[_0-9]*}} : index
//       CHECK:   gpu.launch_func async {{.*}} @step_kernels::@step_attend0_partial_long blocks in (%c1{{[_0-9]*}}, %[[LONGG]], %c1{{[_0-9]*}})
//       CHECK:   gpu.launch_func async {{.*}} @step_kernels::@step_attend0_merge_long blocks in (%[[LONGM]], %c1{{[_0-9]*}}, %c1{{[_0-9]*}})
//  CHECK-SAME:     %[[OUT_FLAT]] : memref<512xf16>
//       CHECK:   gpu.launch_func async {{.*}} @step_kernels::@step_encode
//  CHECK-SAME:     args(%{{.*}} : memref<256xf16>, %{{.*}} : memref<?xi32>, %{{.*}} : memref<1xi32>
//   CHECK-NOT:   gpu.alloc
//       CHECK:   %[[FREED:.*]] = gpu.dealloc async [%{{.*}}] %[[SCRATCH]] : memref<?xi8>
//  CHECK-NEXT:   gpu.wait [%[[FREED]]]
//  CHECK-NEXT:   return{{$}}
//       CHECK: gpu.module @step_kernels
//  CHECK-NEXT:   llvm.mlir.global external constant @adamas_grid_dependency_wait(1 : i32) {addr_space = 1 : i32
// Select, kernel 1: both query heads of a KV head share the pass over the
// codes (rows_per_cta 2); 16-byte loads, evict-first in L2 (ld.global.cs:
// the codes are read once, the distances should stay for the compaction);
// one shared histogram per row. Without l2-cache-hints, plain vector loads.
// First each of the CTA's 2 queries is encoded by a warp (the loop over
// them starts at the warp's id): 4 f16 values per lane, 5 shuffle stages of
// the FWHT, 8 ballots, the words into shared memory (2 x 8), read back into
// registers after the barrier.
//       CHECK:   gpu.func @step_select0_hist(
//  CHECK-SAME:     workgroup(%{{.*}} : memref<770xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[QCODES:.*]] : memref<16xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
//  CHECK-SAME:     adamas.config = {async_key_stages = {{[0-9]+}} : i64, bins = 385 : i64, {{.*}}encodes_queries = 1 : i64, {{.*}}keys_per_thread = 2 : i64, l2_cache_hints = 1 : i64, load_words = 4 : i64,{{.*}} row_groups = 1 : i64, rows_per_cta = 2 : i64
//       CHECK:     scf.for %{{.*}} = %{{.*}} to %c2{{.*}} step %c8
//  CHECK-COUNT-4:    memref.load %arg0[{{.*}}] : memref<512xf16>
// CHECK-COUNT-20:    gpu.shuffle  xor
//  CHECK-COUNT-8:    nvvm.vote.sync  ballot
//       CHECK:       memref.store {{.*}}, %[[QCODES]][{{.*}}] : memref<16xi32, #gpu.address_space<workgroup>>
//       CHECK:     gpu.barrier
// CHECK-COUNT-16:  memref.load %[[QCODES]][{{.*}}] : memref<16xi32, #gpu.address_space<workgroup>>
// CHECK-COUNT-4:   nvvm.inline_ptx "ld.global.cs.v4.u32 {$0, $1, $2, $3}, [$4];" ro(%{{.*}} : !llvm.ptr<1>) -> i32, i32, i32, i32
//   CHECK-NOT:     vector.load {{.*}} : memref<?xi32>
//     NOHINTS:   gpu.func @step_select0_hist(
//  NOHINTS-SAME:     l2_cache_hints = 0 : i64
// NOHINTS-COUNT-4:   vector.load {{.*}} {alignment = 16 : i64} : memref<?xi32>, vector<4xi32>
//   NOHINTS-NOT:   nvvm.inline_ptx
//     NOHINTS:   gpu.func @step_select0_compact(
//   NOHINTS-NOT:   arith.remui {{.*}}, %arg10
//   NOHINTS-NOT:   nvvm.inline_ptx
//     NOHINTS:   gpu.return
// The histograms are written as running counts: each of the CTA's 2 rows
// summed in place by one warp (13 bins per lane, 5 shuffles to scan the
// lanes' totals), a barrier, then the copy out.
//       CHECK:     math.ctpop
//       CHECK:     memref.atomic_rmw addi {{.*}} : (i32, memref<770xi32, #gpu.address_space<workgroup>>) -> i32
//       CHECK:     gpu.barrier
// CHECK-COUNT-10:  gpu.shuffle  up
//       CHECK:     gpu.barrier
//       CHECK:     scf.for
//       CHECK:       memref.store {{.*}}, %arg4[{{.*}}] : memref<?xi32>
//   CHECK-NOT:     memref.alloc
//       CHECK:     gpu.return
// Select, kernel 2 (SelectCommon::planRow): each thread's probe, one bin of
// every chunk slot (32) of the cumulative histograms, loaded before the
// row's length; the probes below `take` counted by ballots and one
// barrier; then every warp's lane c loads chunk c's running counts at the
// probe's 2 candidate bins and the one below them (the second and last
// round of loads), sums the 3 over the lanes (reduce-scatter, then the
// gather), and scans the positions below T and the ties at T over the
// chunks; warp 0 writes the plan.
//       CHECK:   gpu.func @step_select0_threshold(
// CHECK-COUNT-32:  memref.load %arg4[{{.*}}] : memref<?xi32>
//       CHECK:     memref.load %arg2[{{.*}}] : memref<1xi32>
//       CHECK:     nvvm.vote.sync  ballot
//       CHECK:     gpu.barrier
//  CHECK-COUNT-3:  memref.load %arg4[{{.*}}] : memref<?xi32>
//   CHECK-NOT:     memref.load %arg4
//       CHECK:     gpu.shuffle  xor {{.*}}, %c16_i32
//       CHECK:     gpu.shuffle  xor {{.*}}, %c1_i32
// CHECK-COUNT-10:  gpu.shuffle  up
//   CHECK-NOT:     gpu.barrier
//       CHECK:     memref.store {{.*}}, %arg6[{{.*}}] : memref<?xi32>
//       CHECK:     gpu.return
// Select, kernel 3: the ordered compaction from the plan: each thread's run
// of 16 distances in one 32-byte load (two 16-byte ones in PTX), one block
// scan per pass of its counts below T and at T packed into one i32 (the
// ties' ranks and the output slots both follow from it). After the scan's
// barriers a thread whose run starts a 128-byte line that threads
// t + 1 .. t + 3 complete inside the chunk (t < 256 - 3) discards the line
// from L2 (its distances are dead: no write-back) where the host's flag
// (%arg11) says the step outgrows L2. Asked for a full SM of
// CTAs, ptxas keeps it in 32 registers.
// With l2-cache-hints its CTAs take (row, chunk) chunk-fastest from the last
// row back (the rows whose distances the histogram pass wrote last, most
// likely still in L2, first): order = x + rows * y, chunk = order % chunks,
// row = rows - 1 - order / chunks.
//       CHECK:   gpu.func @step_select0_compact(
//  CHECK-SAME:     nvvm.minctasm = 8 : i32
//       CHECK:     %[[BX:.*]] = gpu.block_id  x
//       CHECK:     %[[BY:.*]] = gpu.block_id  y
//       CHECK:     %[[ROWS:.*]] = arith.muli %[[BATCHES:arg7]], %c4
//       CHECK:     %[[YROWS:.*]] = arith.muli %[[ROWS]], %[[BY]]
//       CHECK:     %[[ORDER:.*]] = arith.addi %[[BX]], %[[YROWS]]
//       CHECK:     arith.remui %[[ORDER]], %[[CHUNKS:arg10]]
//       CHECK:     %[[BACK:.*]] = arith.divui %[[ORDER]], %[[CHUNKS]]
//       CHECK:     %[[LAST:.*]] = arith.subi %[[ROWS]], %c1
//       CHECK:     arith.subi %[[LAST]], %[[BACK]]
//       CHECK:     scf.for
//       CHECK:       vector.load {{.*}} {alignment = 32 : i64} : memref<?xi16>, vector<16xi16>
//       CHECK:       arith.shli {{.*}}, %c16_i32
//  CHECK-NEXT:       arith.ori
// CHECK-COUNT-5:     gpu.shuffle  up
//       CHECK:       gpu.barrier
//       CHECK:       gpu.barrier
//       CHECK:       arith.remui {{.*}}, %c128
//       CHECK:       arith.cmpi ult, %{{.*}}, %c253
//       CHECK:       arith.cmpi ne, %arg11, %c0
//       CHECK:       scf.if
//       CHECK:         nvvm.inline_ptx "discard.global.L2 [$0], 128;" ro(%{{.*}} : !llvm.ptr<1>)
//       CHECK:       arith.shrui {{.*}}, %c16_i32
//   CHECK-NOT:       gpu.shuffle
//   CHECK-NOT:       gpu.barrier
//       CHECK:       scf.yield
//       CHECK:     gpu.return
// The long-run kernel: 32 distances per thread in one 64-byte load (four
// 16-byte ones in PTX), 32-bit masks; 6 CTAs per SM keep it unspilled; a
// line of distances is two threads' runs (t < 256 - 1).
//       CHECK:   gpu.func @step_select0_compact_long(
//  CHECK-SAME:     nvvm.minctasm = 6 : i32
//       CHECK:     scf.for
//       CHECK:       vector.load {{.*}} {alignment = 64 : i64} : memref<?xi16>, vector<32xi16>
//       CHECK:       arith.cmpi ult, %{{.*}}, %c255
//       CHECK:         nvvm.inline_ptx "discard.global.L2 [$0], 128;"
//       CHECK:     gpu.return
// sparse_attn's partial kernel takes the select kernels' arguments first
// (attend-compacts-selection), its own, then the flag.
//       CHECK:   gpu.func @step_attend0_partial(%arg0: memref<512xf16>,
//  CHECK-SAME:     %arg21: index) workgroup({{.*}}, %[[SLOTS:.*]] : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
//  CHECK-SAME:     adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 0 : i64, cluster_merge = 0 : i64, cluster_merge_max_ctas = 0 : i64, compacts_selection = 1 : i64, dims_per_lane = 4 : i64, heads_per_cta = 1 : i64, long_form_cluster_max_ctas = 0 : i64, long_form_min_ctas = 792 : i64, long_form_tensor_core_dots = 0 : i64, long_splits = 1 : i64, min_ctas_per_sm = 0 : i64, prefetch_next_group = 0 : i64, slots_in_flight = 4 : i64, slots_per_split = 32 : i64, slots_per_warp = 8 : i64, softmax_in_quads = 0 : i64, splits = 2 : i64
//       CHECK:     vector.load {{.*}} {alignment = 8 : i64} : memref<512xf16>, vector<4xf16>
// The CTA's 32 slots, where the flag is set: the row's plan from the
// cumulative chunk histograms (SelectCommon::planRow; no threshold kernel
// ran): each thread's probe (one bin of each of the 32 chunk slots) first,
// kept ahead of the row's length by an empty asm; the probes below `take`
// by a ballot and a barrier; each warp's 5 loads of its lane's chunk at
// T's ceil(385 / 128) = 4 candidate bins and the one below, their sums
// over the lanes, the two scans over the chunks (10 shuffles up). Then
// the sink and recent slots directly; the chunks whose output slots meet
// the free ones by two ballots over the chunks' first slots, then one
// ordered compaction over those chunks (runs of 32 distances, a block scan
// per pass, no L2 discards: other CTAs read the same chunks) into shared
// memory, and a barrier. Otherwise each lane's index from the indices.
//       CHECK:     %[[COMPACTS:.*]] = arith.cmpi ne, %arg21, %c0{{.*}} : index
//       CHECK:     scf.if %[[COMPACTS]] {
// CHECK-COUNT-32:    memref.load %arg4[{{.*}}] : memref<?xi32>
//       CHECK:       llvm.inline_asm has_side_effects "", "~{memory}"
//       CHECK:       memref.load %arg2[{{.*}}] : memref<1xi32>
//       CHECK:       nvvm.vote.sync  ballot
//       CHECK:       gpu.barrier
//  CHECK-COUNT-5:    memref.load %arg4[{{.*}}] : memref<?xi32>
//   CHECK-NOT:       memref.load %arg4
// CHECK-COUNT-10:    gpu.shuffle  up
//       CHECK:       memref.store {{.*}}, %[[SLOTS]][{{.*}}]
//  CHECK-COUNT-2:    nvvm.vote.sync  ballot
//  CHECK-COUNT-2:    gpu.shuffle  idx
//       CHECK:       scf.for {{.*}} step %c4096
//       CHECK:         vector.load %arg3[{{.*}}] {alignment = 64 : i64} : memref<?xi16>, vector<32xi16>
//  CHECK-COUNT-5:      gpu.shuffle  up
//       CHECK:         scf.while
//       CHECK:           memref.store {{.*}}, %[[SLOTS]][{{.*}}]
//   CHECK-NOT:       nvvm.inline_ptx
//       CHECK:       gpu.barrier
//       CHECK:     memref.load %[[SLOTS]]
//       CHECK:     memref.load %arg16[{{.*}}] : memref<256xi32>
// Per group of 4 slots in flight (8 slots per warp: two groups), each
// slot's index from its lane, then the 4 dots summed over the warp together
// (KernelBuilder::warpSumEach): reduce-scattered over lane bits 16 and 8
// (2 + 1 shuffles), the one left per lane summed over bits 4, 2, 1, the sums
// gathered back over bits 8 and 16 (1 + 2): 9 shuffles, where a warp sum
// per slot took 20.
// CHECK-COUNT-4:     gpu.shuffle  idx
//   CHECK-NOT:       gpu.shuffle  idx
// CHECK-COUNT-2:     gpu.shuffle  xor {{.*}}, %c16_i32
//       CHECK:       gpu.shuffle  xor {{.*}}, %c8_i32
//       CHECK:       gpu.shuffle  xor {{.*}}, %c4_i32
//       CHECK:       gpu.shuffle  xor {{.*}}, %c2_i32
//       CHECK:       gpu.shuffle  xor {{.*}}, %c1_i32
//       CHECK:       gpu.shuffle  xor {{.*}}, %c8_i32
// CHECK-COUNT-2:     gpu.shuffle  xor {{.*}}, %c16_i32
//   CHECK-NOT:       gpu.shuffle  xor
//       CHECK:       llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
// CHECK-COUNT-4:     gpu.shuffle  idx
// CHECK-COUNT-9:     gpu.shuffle  xor
//   CHECK-NOT:       gpu.shuffle
//       CHECK:   gpu.func @step_attend0_merge(
// The long form: 16 slots per warp in 4 groups of 4, software-pipelined:
// group 0's K and V rows loaded before a loop over groups 1..3 whose
// iteration loads its group (after each slot's index shuffle) and then
// computes on the group before it, carried as raw vectors (f16 until used);
// an empty asm clobbering memory after each group's loads keeps LLVM from
// moving them into the next iteration. The last group after the loop. Its
// registers must allow 8 CTAs per SM.
//       CHECK:   gpu.func @step_attend0_partial_long(
//  CHECK-SAME:     adamas.config = {{{.*}}long_form_min_ctas = 0 : i64, long_form_tensor_core_dots = 0 : i64, long_splits = 0 : i64, min_ctas_per_sm = 8 : i64, prefetch_next_group = 1 : i64, slots_in_flight = 4 : i64, slots_per_split = 64 : i64, slots_per_warp = 16 : i64, softmax_in_quads = 0 : i64, splits = 1 : i64
//  CHECK-SAME:     nvvm.minctasm = 8 : i32
//       CHECK:     vector.load {{.*}} : memref<512xf16>, vector<4xf16>
// CHECK-COUNT-4:   gpu.shuffle  idx
//  CHECK-NEXT:     arith.index_cast
//       CHECK:     vector.load {{.*}} : memref<?xf16>, vector<4xf16>
//       CHECK:     vector.load {{.*}} : memref<?xf16>, vector<4xf16>
//  CHECK-NEXT:     llvm.inline_asm has_side_effects "", "~{memory}"
//   CHECK-NOT:     llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
//       CHECK:     scf.for %{{.*}} = %c1{{.*}} to %c4{{.*}} step %c1{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, i1, i1, i1, i1, vector<4xf16>, vector<4xf16>, vector<4xf16>, vector<4xf16>, vector<4xf16>, vector<4xf16>, vector<4xf16>, vector<4xf16>)
//   CHECK-NOT:       llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
// CHECK-COUNT-8:     vector.load {{.*}} : memref<?xf16>, vector<4xf16>
//  CHECK-NEXT:       llvm.inline_asm has_side_effects "", "~{memory}"
// CHECK-COUNT-5:     llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
//       CHECK:       scf.yield
// CHECK-COUNT-5:   llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"
//       CHECK:     gpu.barrier
//       CHECK:   gpu.func @step_attend0_merge_long(
// Encode, last: the new keys' rows; the warp FWHT is 5 shuffle stages of 4
// values per lane, the 8 code words of a row 8 ballots. It lets the next
// kernel launch first thing and waits on the ones before it last thing.
//       CHECK:   gpu.func @step_encode(
//  CHECK-SAME:     adamas.config = {values_per_lane = 4 : i64, warps_per_block = 4 : i64, words = 8 : i64}
//  CHECK-NEXT:     nvvm.griddepcontrol  launch_dependents
//   CHECK-NOT:     nvvm.griddepcontrol
// CHECK-COUNT-20:   gpu.shuffle  xor
//  CHECK-COUNT-8:   nvvm.vote.sync  ballot
//   CHECK-NOT:     gpu.shuffle
//   CHECK-NOT:     memref.alloc
//       CHECK:     nvvm.griddepcontrol  wait
//  CHECK-NEXT:     gpu.return
// With select-encodes-queries=false: one encode kernel of both jobs first,
// and the histogram pass reads the query codes.
//  ENCFIRST-LABEL: func.func @step(
//        ENCFIRST:   gpu.launch_func async {{.*}} @step_kernels::@step_encode
//        ENCFIRST:   gpu.launch_func async {{.*}} @step_kernels::@step_select0_hist
//   ENCFIRST-SAME:     args(%{{.*}} : memref<32xi32>,
//        ENCFIRST:   gpu.launch_func async {{.*}} @step_kernels::@step_attend0_merge_long
//    ENCFIRST-NOT:   gpu.launch_func
//        ENCFIRST:   gpu.func @step_encode(
//   ENCFIRST-NEXT:     nvvm.griddepcontrol  wait
//   ENCFIRST-NEXT:     nvvm.griddepcontrol  launch_dependents
// ENCFIRST-COUNT-20:   gpu.shuffle  xor
//  ENCFIRST-COUNT-8:   nvvm.vote.sync  ballot
// ENCFIRST-COUNT-20:   gpu.shuffle  xor
//  ENCFIRST-COUNT-8:   nvvm.vote.sync  ballot
//        ENCFIRST:   gpu.func @step_select0_hist(
//   ENCFIRST-SAME:     encodes_queries = 0 : i64
//    ENCFIRST-NOT:     gpu.shuffle  xor
//    ENCFIRST-NOT:     nvvm.vote.sync
//        ENCFIRST:     math.ctpop
//        ENCFIRST:     gpu.return
func.func @step(%q: tensor<1x4x1x128xf16>, %newk: tensor<1x2x1x128xf16>, %keys: tensor<1x2x?x128xf16>,
                %values: tensor<1x2x?x128xf16>, %codes: tensor<1x2x?x8xi32>, %len: tensor<1xi32>)
    -> (tensor<1x4x1x128xf16>, tensor<1x2x?x8xi32>) {
  %hq = adamas.hadamard %q : tensor<1x4x1x128xf16>
  %qc = adamas.bucketize %hq [-10.0, 0.0, 10.0] : tensor<1x4x1x128xf16> -> tensor<1x4x1x8xi32>
  %hk = adamas.hadamard %newk : tensor<1x2x1x128xf16>
  %kc = adamas.bucketize %hk [-10.0, 0.0, 10.0] : tensor<1x2x1x128xf16> -> tensor<1x2x1x8xi32>
  %cache = adamas.cache_write %kc into %codes at %len : tensor<1x2x1x8xi32> into tensor<1x2x?x8xi32>, tensor<1xi32>
  %idx = adamas.l1_topk %qc, %cache, %len {k = 64 : i64, sink = 4 : i64, recent = 8 : i64}
      : tensor<1x4x1x8xi32>, tensor<1x2x?x8xi32>, tensor<1xi32> -> tensor<1x4x1x64xi32>
  %o = adamas.sparse_attn %q, %keys, %values, %idx
      : tensor<1x4x1x128xf16>, tensor<1x2x?x128xf16>, tensor<1x2x?x128xf16>, tensor<1x4x1x64xi32> -> tensor<1x4x1x128xf16>
  return %o, %cache : tensor<1x4x1x128xf16>, tensor<1x2x?x8xi32>
}

// -----

// The configuration follows the shapes. GQA 32/8 with 16 query rows: 64
// selection rows per KV head, 8 of them per CTA (their query code words stay
// in registers), 8 row groups. With shared_group the 4 heads of a group rank
// one row together and the attend kernel serves them from one K/V load.

// With >= 32 selection rows per batch row a row has at most 16 chunks. The
// threshold kernel's plan (SelectCommon::planRow) reads the chunks'
// cumulative histograms in two rounds: each thread's probe (one bin of each
// of the 16 chunk slots, in flight with the row's length), then, after the
// ballot over the probes and a barrier, lane c's chunk at the probe's
// ceil(385 / 256) = 2 candidate bins and the bin below them; nothing else.
// CHECK-LABEL: func.func @select_gqa_m16(
//       CHECK: gpu.func @select_gqa_m16_select0_hist(
//  CHECK-SAME:   adamas.config = {{{.*}}max_chunks = 16 : i64,{{.*}}query_heads_per_row = 1 : i64, releases_late = 1 : i64, ring_pass_max_ctas = 0 : i64, row_groups = 8 : i64, rows_per_cta = 8 : i64
//       CHECK: gpu.func @select_gqa_m16_select0_threshold(
// CHECK-COUNT-16:  memref.load %arg4[{{.*}}] : memref<?xi32>
//       CHECK:   memref.load %arg2[{{.*}}] : memref<?xi32>
//       CHECK:   nvvm.vote.sync  ballot
//       CHECK:   gpu.barrier
// CHECK-COUNT-3:   memref.load %arg4[{{.*}}] : memref<?xi32>
//   CHECK-NOT:   memref.load %arg4
//       CHECK:   gpu.return
func.func @select_gqa_m16(%qc: tensor<?x32x16x8xi32>, %kc: tensor<?x8x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x32x16x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64} : tensor<?x32x16x8xi32>, tensor<?x8x?x8xi32>, tensor<?xi32> -> tensor<?x32x16x256xi32>
  return %idx : tensor<?x32x16x256xi32>
}

// -----

// CHECK-LABEL: func.func @select_shared(
//       CHECK: gpu.func @select_shared_select0_hist(
//  CHECK-SAME:   adamas.config = {{{.*}}max_chunks = 32 : i64,{{.*}}query_heads_per_row = 4 : i64, releases_late = 1 : i64, ring_pass_max_ctas = 0 : i64, row_groups = 1 : i64, rows_per_cta = 1 : i64
func.func @select_shared(%qc: tensor<?x32x1x8xi32>, %kc: tensor<?x8x?x8xi32>, %len: tensor<?xi32>) -> tensor<?x8x1x256xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 256 : i64, shared_group = true} : tensor<?x32x1x8xi32>, tensor<?x8x?x8xi32>, tensor<?xi32> -> tensor<?x8x1x256xi32>
  return %idx : tensor<?x8x1x256xi32>
}

// -----

// D = 256 with 3 bits: 1793 bins, so two rows' histograms per CTA; the 24
// code words of a key come in six 16-byte loads.
// CHECK-LABEL: func.func @select_d256_b3(
//       CHECK: gpu.func @select_d256_b3_select0_hist(
//  CHECK-SAME:   workgroup(%{{.*}} : memref<3586xi32, #gpu.address_space<workgroup>>
//  CHECK-SAME:   adamas.config = {async_key_stages = {{[0-9]+}} : i64, bins = 1793 : i64, {{.*}}load_words = 4 : i64,{{.*}}row_groups = 2 : i64, rows_per_cta = 2 : i64
// CHECK-COUNT-12: nvvm.inline_ptx "ld.global.cs.v4.u32
func.func @select_d256_b3(%qc: tensor<1x4x1x24xi32>, %kc: tensor<1x1x?x24xi32>, %len: tensor<1xi32>) -> tensor<1x4x1x64xi32> {
  %idx = adamas.l1_topk %qc, %kc, %len {k = 64 : i64, bits = 3 : i64} : tensor<1x4x1x24xi32>, tensor<1x1x?x24xi32>, tensor<1xi32> -> tensor<1x4x1x64xi32>
  return %idx : tensor<1x4x1x64xi32>
}

// -----

// CHECK-LABEL: func.func @attend_shared(
//       CHECK: gpu.func @attend_shared_attend0_partial(
//  CHECK-SAME:   adamas.config = {async_cluster_compaction = 0 : i64, async_cluster_merge = 0 : i64, cluster_merge = 0 : i64, cluster_merge_max_ctas = 0 : i64, compacts_selection = 0 : i64, dims_per_lane = 4 : i64, heads_per_cta = 4 : i64, long_form_cluster_max_ctas = 0 : i64, long_form_min_ctas = 396 : i64, long_form_tensor_core_dots = 1 : i64, long_splits = 16 : i64, min_ctas_per_sm = 0 : i64, prefetch_next_group = 0 : i64, slots_in_flight = 4 : i64, slots_per_split = 32 : i64, slots_per_warp = 8 : i64, softmax_in_quads = 1 : i64, splits = 32 : i64, tensor_core_dots = 1 : i64, value_dims_per_lane = 2 : i64
// With 4 heads per CTA in bf16 a warp's 8 slots are one group whose scores
// are tensor-core products: lane l's query piece (head l / 4, D / 4 = 32
// dims), the 8 slots' V rows and indices, lane l's key piece (slot l / 4),
// D / 16 = 8 k-steps of m16n8k16; no warp sums.
//       CHECK:   vector.load {{.*}} {alignment = 16 : i64} : memref<?xbf16>, vector<32xbf16>
// CHECK-COUNT-8:   gpu.shuffle  idx
//       CHECK:   gpu.shuffle  idx
//       CHECK:   vector.load {{.*}} {alignment = 16 : i64} : memref<?xbf16>, vector<32xbf16>
// CHECK-COUNT-8:   nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
//   CHECK-NOT:   nvvm.mma.sync
// The softmax where the products leave the scores (attend-softmax-in-
// quads): the indices of the lane's 2 slots, its head's maximum over the
// quad, 3 exponentials (its 2 weights, its sum's rescale); per head that
// maximum (from lane 4 g) and the accumulators' rescale, then its 8 weights
// to every lane; after the last group the quad's sums, one per head.
// CHECK-COUNT-2:   gpu.shuffle  idx
// CHECK-COUNT-2:   gpu.shuffle  xor
// CHECK-COUNT-3:   nvvm.ex2.approx.f32
//       CHECK:   gpu.shuffle  idx
//       CHECK:   nvvm.ex2.approx.f32
// CHECK-COUNT-8:   gpu.shuffle  idx
//       CHECK:   gpu.shuffle  idx
//       CHECK:   nvvm.ex2.approx.f32
// CHECK-COUNT-8:   gpu.shuffle  idx
//       CHECK:   gpu.shuffle  idx
//       CHECK:   nvvm.ex2.approx.f32
// CHECK-COUNT-8:   gpu.shuffle  idx
//       CHECK:   gpu.shuffle  idx
//       CHECK:   nvvm.ex2.approx.f32
// CHECK-COUNT-8:   gpu.shuffle  idx
//   CHECK-NOT:   nvvm.ex2.approx.f32
// CHECK-COUNT-2:   gpu.shuffle  xor
// CHECK-COUNT-4:   gpu.shuffle  idx
//   CHECK-NOT:   gpu.shuffle
// Without (attend-softmax-in-quads=false) the 4 x 8 scores are broadcast
// and every lane takes all 32 exponentials.
//  BCAST-LABEL: gpu.func @attend_shared_attend0_partial(
//  BCAST-SAME:     softmax_in_quads = 0 : i64
//       BCAST:   nvvm.mma.sync
// BCAST-COUNT-32:  gpu.shuffle  idx
// BCAST-COUNT-32:  nvvm.ex2.approx.f32
//   BCAST-NOT:   gpu.shuffle
//       BCAST: gpu.func @attend_shared_attend0_merge(
//       CHECK: gpu.func @attend_shared_attend0_merge(
// Its long form keeps the tensor-core scores (attend-long-form-tensor-core-
// dots): 16 splits of 64 slots, 16 per warp in two groups of 8 (16
// mma.sync), taken from 3 CTAs per SM (3 x 132 = 396) where the short
// splits' grid outgrows a wave of 6; ptxas's registers. Each group is
// loaded (8 V rows, the lane's key piece) where it is computed on.
//       CHECK: gpu.func @attend_shared_attend0_partial_long(
//  CHECK-SAME:   min_ctas_per_sm = 0 : i64, prefetch_next_group = 0 : i64, slots_in_flight = 4 : i64, slots_per_split = 64 : i64, slots_per_warp = 16 : i64, softmax_in_quads = 1 : i64, splits = 16 : i64, tensor_core_dots = 1 : i64
//       CHECK:   vector.load {{.*}} : memref<?xbf16>, vector<32xbf16>
// CHECK-COUNT-8:   vector.load {{.*}} : memref<?xbf16>, vector<2xbf16>
//       CHECK:   vector.load {{.*}} : memref<?xbf16>, vector<32xbf16>
// CHECK-COUNT-8:   nvvm.mma.sync
// CHECK-COUNT-8:   vector.load {{.*}} : memref<?xbf16>, vector<2xbf16>
//       CHECK:   vector.load {{.*}} : memref<?xbf16>, vector<32xbf16>
// CHECK-COUNT-8:   nvvm.mma.sync
//   CHECK-NOT:   nvvm.mma.sync
//       CHECK:   gpu.return
// Without them: 8 splits of 128 slots, 32 per warp (8 groups: the loop
// runs 7), the registers for 4 CTAs per SM (4 heads' accumulators).
//       NODOTS: gpu.func @attend_shared_attend0_partial(
//  NODOTS-SAME:   long_form_min_ctas = 792 : i64, long_form_tensor_core_dots = 0 : i64, long_splits = 8 : i64
//       NODOTS: gpu.func @attend_shared_attend0_partial_long(
//  NODOTS-SAME:   min_ctas_per_sm = 4 : i64, prefetch_next_group = 1 : i64, slots_in_flight = 4 : i64, slots_per_split = 128 : i64, slots_per_warp = 32 : i64, softmax_in_quads = 0 : i64, splits = 8 : i64, tensor_core_dots = 0 : i64
//       NODOTS:   scf.for %{{.*}} = %c1{{.*}} to %c8{{.*}} step %c1
func.func @attend_shared(%q: tensor<?x32x1x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x64xbf16>, %i: tensor<?x8x1x1024xi32>) -> tensor<?x32x1x64xbf16> {
  %o = adamas.sparse_attn %q, %k, %v, %i : tensor<?x32x1x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x1x1024xi32> -> tensor<?x32x1x64xbf16>
  return %o : tensor<?x32x1x64xbf16>
}

// -----

// A hadamard whose result is returned gets its own encode job (no codes), and
// a bucketize with per-head thresholds reads them from an argument.

// CHECK-LABEL: func.func @encode_only(
//  CHECK-SAME:   %{{.*}}: memref<?x8x1x64xbf16>, %{{.*}}: memref<8x3xf32>, %{{.*}}: memref<?x8x1x64xbf16>, %{{.*}}: memref<?x8x1x4xi32>)
//       CHECK:   gpu.launch_func async {{.*}} @encode_only_kernels::@encode_only_encode
//   CHECK-NOT:   gpu.launch_func
//       CHECK: gpu.func @encode_only_encode(
//  CHECK-SAME:   adamas.config = {values_per_lane = 2 : i64, warps_per_block = 4 : i64, words = 0 : i64}
func.func @encode_only(%x: tensor<?x8x1x64xbf16>, %t: tensor<8x3xf32>) -> (tensor<?x8x1x64xbf16>, tensor<?x8x1x4xi32>) {
  %h = adamas.hadamard %x : tensor<?x8x1x64xbf16>
  %c = adamas.bucketize %h [-1.0, 0.0, 1.0] per_head %t : tensor<?x8x1x64xbf16>, tensor<8x3xf32> -> tensor<?x8x1x4xi32>
  return %h, %c : tensor<?x8x1x64xbf16>, tensor<?x8x1x4xi32>
}
