// RUN: adamas-opt %s -split-input-file -adamas-host-to-device-buffers="verify-only" -verify-diagnostics

// After the loops became kernels (adamas-gpu-pipeline runs it after
// gpu-kernel-outlining), nothing on the host may touch a buffer.

func.func @unmapped(%in: memref<4xf32>, %out: memref<4xf32>) {
  // expected-error @below {{'linalg.copy' op cannot run on the host of a GPU program: it accesses a buffer, and every buffer is device memory (a loop nest that was not mapped to a GPU kernel?)}}
  linalg.copy ins(%in : memref<4xf32>) outs(%out : memref<4xf32>)
  return
}

// -----

func.func @host_alloc() {
  // expected-error @below {{'memref.alloc' op cannot run on the host of a GPU program: host memory (run adamas-host-to-device-buffers before the loops become kernels)}}
  %a = memref.alloc() : memref<4xf32>
  return
}

// -----

// Views, sizes, GPU ops and calls are fine.

func.func private @step(memref<4xf32>)

func.func @fine(%n: index) {
  %a = gpu.alloc (%n) : memref<?xf32>
  %v = memref.subview %a[0] [4] [1] : memref<?xf32> to memref<4xf32>
  call @step(%v) : (memref<4xf32>) -> ()
  gpu.dealloc %a : memref<?xf32>
  return
}
