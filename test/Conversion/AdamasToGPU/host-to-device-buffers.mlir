// RUN: adamas-opt %s -split-input-file -adamas-host-to-device-buffers -verify-diagnostics | FileCheck %s --enable-var-scope

// Host buffers of a model function become device buffers: allocations
// (freed at the end, in reverse order), whole-buffer copies (gpu.memcpy),
// strided copies (linalg.copy, a kernel to be), constants (a device copy).

// CHECK-LABEL: func.func @buffers(
//  CHECK-SAME:     %[[IN:[^:]+]]: memref<4x8xf32>, %[[OUT:[^:]+]]: memref<4x8xf32>)
//       CHECK:   %[[A:.+]] = gpu.alloc () : memref<4x8xf32>
//       CHECK:   gpu.memcpy %[[A]], %[[IN]] : memref<4x8xf32>, memref<4x8xf32>
//       CHECK:   %[[G:.+]] = memref.get_global @table : memref<4xf32>
//       CHECK:   %[[GD:.+]] = gpu.alloc () : memref<4xf32>
//       CHECK:   gpu.memcpy %[[GD]], %[[G]] : memref<4xf32>, memref<4xf32>
//       CHECK:   %[[S:.+]] = memref.subview %[[A]][0, 0] [4, 4] [1, 1]
//       CHECK:   %[[T:.+]] = memref.subview %[[OUT]][0, 4] [4, 4] [1, 1]
//       CHECK:   linalg.copy ins(%[[S]] : {{.+}}) outs(%[[T]] : {{.+}})
//       CHECK:   linalg.generic {{.+}} ins(%[[GD]] : memref<4xf32>)
//       CHECK:   gpu.dealloc %[[GD]] : memref<4xf32>
//       CHECK:   gpu.dealloc %[[A]] : memref<4x8xf32>
//  CHECK-NEXT:   return
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @buffers(%in: memref<4x8xf32>, %out: memref<4x8xf32>) {
  %a = memref.alloc() : memref<4x8xf32>
  memref.copy %in, %a : memref<4x8xf32> to memref<4x8xf32>
  %g = memref.get_global @table : memref<4xf32>
  %s = memref.subview %a[0, 0] [4, 4] [1, 1] : memref<4x8xf32> to memref<4x4xf32, strided<[8, 1]>>
  %t = memref.subview %out[0, 4] [4, 4] [1, 1] : memref<4x8xf32> to memref<4x4xf32, strided<[8, 1], offset: 4>>
  memref.copy %s, %t : memref<4x4xf32, strided<[8, 1]>> to memref<4x4xf32, strided<[8, 1], offset: 4>>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%g : memref<4xf32>) outs(%out : memref<4x8xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// A buffer read on the host: it is device memory.

func.func @host_load(%in: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @below {{'memref.load' op cannot run on the host of a GPU program: it accesses a buffer, and every buffer is device memory (a loop nest that was not mapped to a GPU kernel?)}}
  %x = memref.load %in[%c0] : memref<4xf32>
  return %x : f32
}

// -----

// A returned buffer: results are output arguments.

func.func @returns(%n: index) -> memref<?xf32> {
  %a = memref.alloc(%n) : memref<?xf32>
  // expected-error @below {{'func.return' op cannot return a buffer from a GPU host function: results are output arguments (buffer-results-to-out-params)}}
  return %a : memref<?xf32>
}
