// Prototype (not product): how fast are the binary tensor-core products
// (mma.sync ... .b1.and.popc) on this GPU, next to the popcount pipe the
// histogram pass of the select uses now?  bench/NOTES.md "Floors for the next
// round" proposes the thermometer form of the 2-bit L1 distance as a b1
// matrix product; it only pays if the b1 rate is well above 16 popcounts
// (512 bit-ops) per clock per SM.
//
//   nvcc -O3 -arch=sm_90a -o b1_mma_rate b1_mma_rate.cu && ./b1_mma_rate
//
// Each warp runs CHAINS independent accumulator chains of ITERS instructions
// (operands in registers, no memory traffic); the grid fills every SM.
// Prints, per instruction kind, bit-operations (or popcounts) per clock per
// SM from the kernel's own clock64() span and the device's SM count.
#include <cstdio>
#include <cstdint>
#include <cuda_runtime.h>

constexpr int ITERS = 4096;
constexpr int CHAINS = 8;

__device__ __forceinline__ void mma_k256(int (&d)[4], const uint32_t (&a)[4],
                                         const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ void mma_k128(int (&d)[4], const uint32_t (&a)[2],
                                         uint32_t b) {
  asm volatile(
      "mma.sync.aligned.m16n8k128.row.col.s32.b1.b1.s32.and.popc "
      "{%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(b));
}

__device__ __forceinline__ void mma_s8(int (&d)[4], const uint32_t (&a)[4],
                                       const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <int KIND>
__global__ void rate(uint32_t seed, int *sink, unsigned long long *cycles) {
  uint32_t a[4], b[2];
  for (int i = 0; i < 4; ++i)
    a[i] = seed * (threadIdx.x + 1 + i) ^ (0x9e3779b9u * i);
  for (int i = 0; i < 2; ++i)
    b[i] = seed * (threadIdx.x + 7 + i) ^ (0x85ebca6bu * i);
  int d[CHAINS][4] = {};
  uint32_t p[CHAINS];
  for (int c = 0; c < CHAINS; ++c)
    p[c] = a[c % 4] ^ c;
  __syncthreads();
  unsigned long long start = clock64();
  for (int it = 0; it < ITERS; ++it) {
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) {
      if (KIND == 0)
        mma_k256(d[c], a, b);
      else if (KIND == 1)
        mma_k128(d[c], *reinterpret_cast<const uint32_t(*)[2]>(a), b[0]);
      else if (KIND == 2)
        mma_s8(d[c], a, b);
      else // popc: 4 independent popcounts per chain and iteration
#pragma unroll
        for (int j = 0; j < 4; ++j)
          d[c][j] += __popc(p[c] ^ (d[c][j] + j));
    }
  }
  __syncthreads();
  unsigned long long stop = clock64();
  int s = 0;
  for (int c = 0; c < CHAINS; ++c)
    s += d[c][0] + d[c][1] + d[c][2] + d[c][3];
  if (s == 0x7fffffff)
    sink[0] = s;
  if (threadIdx.x == 0)
    atomicMax(cycles, stop - start);
}

template <int KIND>
void run(const char *name, double opsPerInstrPerWarp, int sms) {
  int *sink;
  unsigned long long *cycles;
  cudaMalloc(&sink, 4);
  cudaMalloc(&cycles, 8);
  const int blocks = sms * 4, threads = 256;
  rate<KIND><<<blocks, threads>>>(1u, sink, cycles); // warm-up
  cudaMemset(cycles, 0, 8);
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  cudaEventRecord(e0);
  rate<KIND><<<blocks, threads>>>(3u, sink, cycles);
  cudaEventRecord(e1);
  cudaError_t err = cudaEventSynchronize(e1);
  float ms = 0;
  cudaEventElapsedTime(&ms, e0, e1);
  unsigned long long cyc = 0;
  cudaMemcpy(&cyc, cycles, 8, cudaMemcpyDeviceToHost);
  double warps = double(blocks) * threads / 32;
  double ops = warps * ITERS * CHAINS * opsPerInstrPerWarp;
  // Blocks per SM run concurrently (4 x 256 threads fit), so one SM's
  // work took `cyc` cycles.
  double perClockPerSm = ops / sms / double(cyc);
  printf("%-44s %s  %8.3f ms  %10.0f per clock per SM  (%.1f T/s)\n", name,
         err == cudaSuccess ? "ok " : cudaGetErrorString(err), ms,
         perClockPerSm, ops / (ms * 1e-3) / 1e12);
  cudaFree(sink);
  cudaFree(cycles);
}

int main() {
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  cudaDeviceProp prop;
  cudaGetDeviceProperties(&prop, 0);
  printf("%s, %d SMs\n", prop.name, sms);
  run<0>("mma m16n8k256 b1 and.popc (bit-ops)", 16.0 * 8 * 256, sms);
  run<1>("mma m16n8k128 b1 and.popc (bit-ops)", 16.0 * 8 * 128, sms);
  run<2>("mma m16n8k32 s8 (MACs)", 16.0 * 8 * 32, sms);
  run<3>("popc, 32 lanes (popcounts)", 32.0 * 4, sms);
  run<3>("popc as bit-ops (x32)", 32.0 * 4 * 32, sms);
  return 0;
}
