// One small kernel launched `iters` times from an scf.for loop on one
// stream: x[i] += i each time, so x ends as x0 + iters * i. Every launch
// looks the kernel up in the module the program's constructor loaded once.
module attributes {gpu.container_module} {
  gpu.module @loop_kernels {
    gpu.func @add_index(%x: memref<?xi32>, %n: index) kernel {
      %bid = gpu.block_id x
      %bdim = gpu.block_dim x
      %tid = gpu.thread_id x
      %base = arith.muli %bid, %bdim : index
      %i = arith.addi %base, %tid : index
      %inside = arith.cmpi ult, %i, %n : index
      scf.if %inside {
        %v = memref.load %x[%i] : memref<?xi32>
        %i32 = arith.index_cast %i : index to i32
        %sum = arith.addi %v, %i32 : i32
        memref.store %sum, %x[%i] : memref<?xi32>
      }
      gpu.return
    }
  }

  func.func @add_index_loop(%x: memref<?xi32>, %iters: index)
      attributes {llvm.emit_c_interface} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c255 = arith.constant 255 : index
    %c256 = arith.constant 256 : index
    %n = memref.dim %x, %c0 : memref<?xi32>
    %rounded = arith.addi %n, %c255 : index
    %blocks = arith.divui %rounded, %c256 : index
    %t0 = gpu.wait async
    %dx, %t1 = gpu.alloc async [%t0] (%n) : memref<?xi32>
    %t2 = gpu.memcpy async [%t1] %dx, %x : memref<?xi32>, memref<?xi32>
    // Tokens cannot be loop-carried through the lowering (scf.for with a
    // !gpu.async.token iter_arg is not legalized), so every launch depends on
    // %t2 itself. The lowering maps a token to its stream, so all launches
    // and the copy back below run in order on %t2's one stream.
    scf.for %it = %c0 to %iters step %c1 {
      %tn = gpu.launch_func async [%t2] @loop_kernels::@add_index
          blocks in (%blocks, %c1, %c1) threads in (%c256, %c1, %c1)
          args(%dx : memref<?xi32>, %n : index)
    }
    %t3 = gpu.memcpy async [%t2] %x, %dx : memref<?xi32>, memref<?xi32>
    %t4 = gpu.dealloc async [%t3] %dx : memref<?xi32>
    gpu.wait [%t4]
    return
  }
}
