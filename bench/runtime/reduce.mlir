// Sum of an i32 vector: each block reduces a grid-stride slice in shared
// memory (a tree of gpu.barrier-separated steps), then thread 0 adds the
// block's sum to the result atomically. Integer arithmetic, so the result
// is exact whatever the order of the atomics.
module attributes {gpu.container_module} {
  gpu.module @reduce_kernels {
    gpu.func @block_sum(%in: memref<?xi32>, %out: memref<1xi32>, %n: index)
        workgroup(%partial: memref<256xi32, #gpu.address_space<workgroup>>)
        kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c8 = arith.constant 8 : index
      %c128 = arith.constant 128 : index
      %zero = arith.constant 0 : i32
      %tid = gpu.thread_id x
      %bid = gpu.block_id x
      %bdim = gpu.block_dim x
      %gdim = gpu.grid_dim x
      %blockStart = arith.muli %bid, %bdim : index
      %start = arith.addi %blockStart, %tid : index
      %stride = arith.muli %gdim, %bdim : index
      %sum = scf.for %i = %start to %n step %stride iter_args(%acc = %zero) -> (i32) {
        %v = memref.load %in[%i] : memref<?xi32>
        %next = arith.addi %acc, %v : i32
        scf.yield %next : i32
      }
      memref.store %sum, %partial[%tid] : memref<256xi32, #gpu.address_space<workgroup>>
      gpu.barrier
      // Halve the active threads 8 times: 128, 64, ..., 1.
      scf.for %k = %c0 to %c8 step %c1 {
        %s = arith.shrui %c128, %k : index
        %active = arith.cmpi ult, %tid, %s : index
        scf.if %active {
          %other = arith.addi %tid, %s : index
          %a = memref.load %partial[%tid] : memref<256xi32, #gpu.address_space<workgroup>>
          %b = memref.load %partial[%other] : memref<256xi32, #gpu.address_space<workgroup>>
          %ab = arith.addi %a, %b : i32
          memref.store %ab, %partial[%tid] : memref<256xi32, #gpu.address_space<workgroup>>
        }
        gpu.barrier
      }
      %first = arith.cmpi eq, %tid, %c0 : index
      scf.if %first {
        %total = memref.load %partial[%c0] : memref<256xi32, #gpu.address_space<workgroup>>
        %old = memref.atomic_rmw addi %total, %out[%c0] : (i32, memref<1xi32>) -> i32
      }
      gpu.return
    }
  }

  // out[0] = sum(in). At most 1024 blocks of 256 threads.
  func.func @block_sum(%in: memref<?xi32>, %out: memref<1xi32>)
      attributes {llvm.emit_c_interface} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c255 = arith.constant 255 : index
    %c256 = arith.constant 256 : index
    %c1024 = arith.constant 1024 : index
    %zero = arith.constant 0 : i32
    %n = memref.dim %in, %c0 : memref<?xi32>
    %t0 = gpu.wait async
    %din, %t1 = gpu.alloc async [%t0] (%n) : memref<?xi32>
    %dout, %t2 = gpu.alloc async [%t1] () : memref<1xi32>
    %t3 = gpu.memcpy async [%t2] %din, %in : memref<?xi32>, memref<?xi32>
    %t4 = gpu.memset async [%t3] %dout, %zero : memref<1xi32>, i32
    %rounded = arith.addi %n, %c255 : index
    %needed = arith.divui %rounded, %c256 : index
    %blocks = arith.minui %needed, %c1024 : index
    %t5 = gpu.launch_func async [%t4] @reduce_kernels::@block_sum
        blocks in (%blocks, %c1, %c1) threads in (%c256, %c1, %c1)
        args(%din : memref<?xi32>, %dout : memref<1xi32>, %n : index)
    %t6 = gpu.memcpy async [%t5] %out, %dout : memref<1xi32>, memref<1xi32>
    %t7 = gpu.dealloc async [%t6] %din : memref<?xi32>
    %t8 = gpu.dealloc async [%t7] %dout : memref<1xi32>
    gpu.wait [%t8]
    return
  }
}
