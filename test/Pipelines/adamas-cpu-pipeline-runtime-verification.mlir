// RUN: adamas-opt %s -adamas-cpu-pipeline | FileCheck %s --check-prefix=OFF
// RUN: adamas-opt %s -adamas-cpu-pipeline="runtime-verification=0" | FileCheck %s --check-prefix=OFF
// RUN: adamas-opt %s -adamas-cpu-pipeline="runtime-verification=1" | FileCheck %s --check-prefix=OPS
// RUN: adamas-opt %s -adamas-cpu-pipeline="runtime-verification=2" | FileCheck %s --check-prefix=MEM

// adamas-cpu-pipeline{runtime-verification=N}: 0 (the default) inserts no
// check; 1 the checks of the input's ops (here the dynamic-size rules of
// l1_topk), before they are lowered; 2 also the bounds of every load and
// store of the lowered program. A failed check writes its message to stderr
// and aborts (run in test/Integration/CPU/runtime-verification.mlir).

// OFF-NOT: Runtime op verification failed
// OFF-NOT: llvm.call @abort

// OPS-DAG: llvm.mlir.global internal constant @{{.*}}("ERROR: Runtime op verification failed\0A{{.*}}'adamas.l1_topk' op 'lengths' dimension 0 (B) must equal B of 'query_codes'
// OPS-DAG: llvm.mlir.global internal constant @{{.*}}("ERROR: Runtime op verification failed\0A{{.*}}'adamas.l1_topk' op 'key_codes' heads (Hkv) must be positive
// OPS-DAG: llvm.func @write(i32, !llvm.ptr, i64) -> i64
// OPS-NOT: memref.load
// OPS:     llvm.func @topk(
// OPS:       llvm.call @write
// OPS:       llvm.call @abort()

// MEM-DAG: llvm.mlir.global internal constant @{{.*}}("ERROR: Runtime op verification failed\0A{{.*}}'adamas.l1_topk' op 'lengths' dimension 0 (B)
// MEM-DAG: llvm.mlir.global internal constant @{{.*}}("ERROR: Runtime op verification failed\0A{{.*}}memref.load{{.*}}out-of-bounds access
// MEM-DAG: llvm.mlir.global internal constant @{{.*}}("ERROR: Runtime op verification failed\0A{{.*}}memref.store{{.*}}out-of-bounds access
func.func @topk(%q: tensor<?x4x1x2xi32>, %k: tensor<?x?x?x2xi32>, %len: tensor<?xi32>) -> tensor<?x4x1x2xi32> {
  %r = adamas.l1_topk %q, %k, %len {k = 2 : i64}
      : tensor<?x4x1x2xi32>, tensor<?x?x?x2xi32>, tensor<?xi32> -> tensor<?x4x1x2xi32>
  return %r : tensor<?x4x1x2xi32>
}
