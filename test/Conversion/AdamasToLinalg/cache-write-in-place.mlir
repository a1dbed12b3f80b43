// RUN: adamas-opt %s -adamas-lower-to-linalg -canonicalize \
// RUN:   -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   -canonicalize | FileCheck %s --enable-var-scope
//
// The code cache update of a decode step bufferizes in place onto the caller's
// buffer: no allocation, no copy of the cache, the rows are copied straight
// into subviews of the cache argument, which is what the function returns.

// CHECK-LABEL: func.func @append(
//  CHECK-SAME:     %[[ROWS:.*]]: memref<2x8x1x8xi32>, %[[CACHE:.*]]: memref<2x8x?x8xi32>, %{{.*}}: memref<2xi32>) -> memref<2x8x?x8xi32> {
//   CHECK-NOT:   memref.alloc
//       CHECK:   %[[DST:.*]] = memref.subview %[[CACHE]]
//       CHECK:   memref.copy %{{.*}}, %[[DST]]
//   CHECK-NOT:   memref.alloc
//       CHECK:   return %[[CACHE]] :
func.func @append(%rows: tensor<2x8x1x8xi32>, %cache: tensor<2x8x?x8xi32>, %len: tensor<2xi32>) -> tensor<2x8x?x8xi32> {
  %0 = adamas.cache_write %rows into %cache at %len : tensor<2x8x1x8xi32> into tensor<2x8x?x8xi32>, tensor<2xi32>
  return %0 : tensor<2x8x?x8xi32>
}
