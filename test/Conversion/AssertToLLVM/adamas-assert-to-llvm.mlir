// RUN: adamas-opt %s -adamas-assert-to-llvm -split-input-file -verify-diagnostics | FileCheck %s --enable-var-scope

// Each cf.assert of a function body becomes a branch to a block that writes
// the message and a newline to stderr (fd 2, unbuffered) and aborts: the
// message of a failed run-time check survives a piped stdout.

//   CHECK-DAG: llvm.mlir.global internal constant @[[$FIRST:adamas_assert_msg[_0-9]*]]("first\0A")
//   CHECK-DAG: llvm.mlir.global internal constant @[[$SECOND:adamas_assert_msg[_0-9]*]]("second \22quoted\22\0A")
//   CHECK-DAG: llvm.func @abort()
//   CHECK-DAG: llvm.func @write(i32, !llvm.ptr, i64) -> i64
// CHECK-LABEL: func.func @two(
//  CHECK-SAME:     %[[A:.*]]: i1, %[[B:.*]]: i1)
//       CHECK:   cf.cond_br %[[A]], ^[[CONT:bb[0-9]+]], ^[[FAIL:bb[0-9]+]]
//       CHECK: ^[[FAIL]]:
//       CHECK:   %[[MSG:.*]] = llvm.mlir.addressof @[[$FIRST]] : !llvm.ptr
//       CHECK:   %[[FD:.*]] = llvm.mlir.constant(2 : i32) : i32
//       CHECK:   %[[LEN:.*]] = llvm.mlir.constant(6 : i64) : i64
//       CHECK:   llvm.call @write(%[[FD]], %[[MSG]], %[[LEN]])
//       CHECK:   llvm.call @abort()
//       CHECK:   llvm.unreachable
//       CHECK: ^[[CONT]]:
//       CHECK:   arith.constant 1 : i32
//       CHECK:   cf.cond_br %[[B]]
//       CHECK:   llvm.mlir.addressof @[[$SECOND]]
//       CHECK:   llvm.mlir.constant(16 : i64) : i64
//       CHECK:   return
func.func @two(%a: i1, %b: i1) -> i32 {
  cf.assert %a, "first"
  %c = arith.constant 1 : i32
  cf.assert %b, "second \"quoted\""
  return %c : i32
}

// -----

// A single-block region cannot be split: that assert is left to upstream's
// lowering (after SCF-to-CF, where the pipeline runs this pass, there is
// none).
// CHECK-LABEL: func.func @in_loop(
//       CHECK:   scf.for
//       CHECK:     cf.assert
func.func @in_loop(%n: index, %a: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    cf.assert %a, "in a loop"
  }
  return
}

// -----

// expected-error @+1 {{'write' is needed as '!llvm.func<i64 (i32, ptr, i64)>' to report failed assertions}}
func.func private @write(i32) -> i32

func.func @taken(%a: i1) {
  cf.assert %a, "message"
  return
}
