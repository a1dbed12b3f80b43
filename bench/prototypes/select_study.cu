// PROTOTYPE, NOT PRODUCT. A CUDA C++ study of the l1_topk "select" kernel
// (DESIGN.md 4.2) to learn what the generated kernel can reach on an H100
// before it is written in MLIR; adamas ships no hand-written CUDA. See
// bench/prototypes/README.md for the questions, the method and the results.
//
// Fixed shape of the study: D = 128, b = 2 (W = 8 code words per key: four
// groups of a low-bit-plane word then a high-bit-plane word), M = 1.
//
// Two launches (version 3 of bench/prototypes/README.md):
//  - distanceKernel, one CTA per chunk of one (batch, KV head)'s code cache:
//    16-byte streaming loads, the exact L1 distance to each of the G query
//    heads (two popcounts per 32 dims, see l1Group), u16 distances out,
//    a shared-memory histogram added to the head's global histogram, and the
//    chunk's cumulative histogram;
//  - compactKernel, one CTA per (chunk, output head): threshold bin and ties
//    to skip from the global histogram, what earlier chunks emit from two
//    entries of each one's cumulative histogram, then an ordered compaction
//    of its chunk (ties toward the larger position); the last CTA of a head
//    zeroes its histogram for the next call.
//
// Checked against an independent CPU reference (unpacked codes, |a - c| per
// dimension, sort by (distance, -position)) on fresh random inputs with the
// output poisoned, twice (the second call on the scratch the first left);
// timed with CUDA events over a CUDA graph that rotates through enough input
// sets to defeat the 50 MB L2, beside a read-only kernel over the same bytes.
//
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90,code=sm_90 \
//        bench/prototypes/select_study.cu -o .carry/proto/select_study
//   (device) .carry/proto/select_study

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#define CHECK(call)                                                            \
  do {                                                                         \
    cudaError_t e_ = (call);                                                   \
    if (e_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,       \
                   #call, cudaGetErrorString(e_));                             \
      std::exit(2);                                                            \
    }                                                                          \
  } while (0)

constexpr int W = 8;            // words per key: D = 128, b = 2
constexpr int BINS = 3 * 128 + 1;
constexpr int THREADS = 256;
constexpr uint16_t FORCED = 0xFFFF; // sink / recent: selected regardless

struct Problem {
  int B, Hkv, G, N, k, sink, recent;
  bool shared;  // shared_group: one selection per KV head (min over G)
  int chunk;    // keys per CTA
  bool histograms = true; // false: skip the shared atomics (timing only)
  __host__ __device__ int Hout() const { return shared ? Hkv : Hkv * G; }
};

// |a - c| summed over 32 dims of 2-bit codes held as bit planes (lo, hi):
// the low bit of |a - c| is a0 ^ c0, and |a - c| >= 2 exactly when the high
// bits differ, except for the pairs (1, 2) and (2, 1), which are the ones
// where additionally a0 ^ c0 and a0 ^ a1 both hold. So
//   |a - c| = popc(a0 ^ c0) + 2 popc((a1 ^ c1) & ~((a0 ^ c0) & (a0 ^ a1))).
// qx = q0 ^ q1 is precomputed per query word pair.
__device__ __forceinline__ int l1Group(uint32_t q0, uint32_t q1, uint32_t qx,
                                       uint32_t c0, uint32_t c1) {
  uint32_t x0 = q0 ^ c0;
  uint32_t d1 = (q1 ^ c1) & ~(x0 & qx);
  return __popc(x0) + 2 * __popc(d1);
}

struct QueryWords {
  uint32_t lo[4], hi[4], x[4];
};

__device__ __forceinline__ int l1Distance(const QueryWords &q, uint4 a, uint4 b) {
  return l1Group(q.lo[0], q.hi[0], q.x[0], a.x, a.y) +
         l1Group(q.lo[1], q.hi[1], q.x[1], a.z, a.w) +
         l1Group(q.lo[2], q.hi[2], q.x[2], b.x, b.y) +
         l1Group(q.lo[3], q.hi[3], q.x[3], b.z, b.w);
}

__device__ __forceinline__ bool isForced(int p, int L, int sink, int recent) {
  return p < sink || p >= L - recent;
}

// Exclusive block-wide scan of one int per thread; returns the total.
__device__ int blockScan(int value, int *out, int *scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int inclusive = value;
  for (int o = 1; o < 32; o <<= 1) {
    int n = __shfl_up_sync(0xffffffffu, inclusive, o);
    if (lane >= o) inclusive += n;
  }
  if (lane == 31) scratch[warp] = inclusive;
  __syncthreads();
  if (warp == 0) {
    int v = lane < THREADS / 32 ? scratch[lane] : 0;
    int inc = v;
    for (int o = 1; o < 32; o <<= 1) {
      int n = __shfl_up_sync(0xffffffffu, inc, o);
      if (lane >= o) inc += n;
    }
    if (lane < THREADS / 32) scratch[lane] = inc - v;
    if (lane == THREADS / 32 - 1) scratch[32] = inc;
  }
  __syncthreads();
  *out = scratch[warp] + inclusive - value;
  int total = scratch[32];
  __syncthreads();
  return total;
}

// Kernel 1 (distances): every CTA streams one chunk of one (batch, KV head)'s
// code cache, writes u16 distances (FORCED for sink/recent positions) and its
// chunk's histogram of the others, per output head: chunkHist[b][h][chunk][BINS].
template <int G, bool SHARED>
__global__ void __launch_bounds__(THREADS)
distanceKernel(const uint4 *__restrict__ keyCodes,      // [B][Hkv][N][W]
               const uint32_t *__restrict__ queryCodes, // [B][Hkv*G][W]
               const int32_t *__restrict__ lengths,
               uint16_t *__restrict__ dist,        // [B][Hout][N]
               unsigned *__restrict__ hist,        // [B][Hout][BINS]
               unsigned *__restrict__ chunkCum,    // [B][Hout][chunks][BINS]
               Problem P) {
  constexpr int nh = SHARED ? 1 : G;
  __shared__ unsigned shist[nh * BINS];
  __shared__ int scratch[48];
  int bh = blockIdx.y; // b * Hkv + hkv
  int b = bh / P.Hkv, hkv = bh % P.Hkv;
  int L = min(max(lengths[b], 0), P.N);

  QueryWords q[G];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    const uint32_t *qc = queryCodes + (size_t(b) * P.Hkv * G + hkv * G + g) * W;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      q[g].lo[j] = qc[2 * j];
      q[g].hi[j] = qc[2 * j + 1];
      q[g].x[j] = q[g].lo[j] ^ q[g].hi[j];
    }
  }
  for (int i = threadIdx.x; i < nh * BINS; i += THREADS) shist[i] = 0;
  __syncthreads();

  int begin = blockIdx.x * P.chunk, end = min(L, begin + P.chunk);
  const uint4 *codes = keyCodes + size_t(bh) * P.N * 2;
  size_t outHead0 = size_t(b) * P.Hout() + (SHARED ? hkv : hkv * G);
  // Rows with L <= k select everything: nothing to count (and the
  // compaction, which zeroes histograms, skips them).
  bool count = P.histograms && L > P.k;
  constexpr int UNROLL = 4;
  for (int base = begin + threadIdx.x; base < end; base += THREADS * UNROLL) {
    uint4 a[UNROLL], c[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      int p = base + u * THREADS;
      if (p < end) {
        a[u] = __ldcs(&codes[2 * size_t(p)]); // Streamed once: evict first.
        c[u] = __ldcs(&codes[2 * size_t(p) + 1]);
      }
    }
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      int p = base + u * THREADS;
      if (p >= end) break;
      bool forced = isForced(p, L, P.sink, P.recent);
      int best = 1 << 30;
#pragma unroll
      for (int g = 0; g < G; ++g) {
        int d = l1Distance(q[g], a[u], c[u]);
        if (SHARED) {
          best = min(best, d);
        } else {
          dist[(outHead0 + g) * P.N + p] = forced ? FORCED : uint16_t(d);
          if (!forced && count) atomicAdd(&shist[g * BINS + d], 1u);
        }
      }
      if (SHARED) {
        dist[outHead0 * P.N + p] = forced ? FORCED : uint16_t(best);
        if (!forced && count) atomicAdd(&shist[best], 1u);
      }
    }
  }
  __syncthreads();
  // Into the head's global histogram (zeroed by the compaction after use).
  for (int i = threadIdx.x; i < nh * BINS; i += THREADS)
    if (shist[i]) atomicAdd(&hist[outHead0 * BINS + i], shist[i]);
  // And this chunk's cumulative histogram (#d <= bin), so the compaction of a
  // later chunk learns what this one emits from two numbers.
  int chunks = gridDim.x;
  for (int h = 0; h < nh; ++h) {
    __syncthreads();
    int bin0 = 2 * threadIdx.x;
    unsigned c0 = bin0 < BINS ? shist[h * BINS + bin0] : 0;
    unsigned c1 = bin0 + 1 < BINS ? shist[h * BINS + bin0 + 1] : 0;
    int before;
    blockScan(int(c0 + c1), &before, scratch);
    unsigned *cum = chunkCum + ((outHead0 + h) * chunks + blockIdx.x) * BINS;
    if (bin0 < BINS) cum[bin0] = before + c0;
    if (bin0 + 1 < BINS) cum[bin0 + 1] = before + c0 + c1;
  }
}

// Kernel 2 (compaction): one CTA per (chunk, output head). The threshold bin
// T and the ties at T to skip (the smallest positions) come from the head's
// histogram; what the earlier chunks emit from two entries of each one's
// cumulative histogram; then the CTA compacts its own chunk in order. The
// last CTA of a head (ticket) zeroes the head's histogram for the next call.
__global__ void __launch_bounds__(THREADS)
compactKernel(const int32_t *__restrict__ lengths,
              const uint16_t *__restrict__ dist,      // [B][Hout][N]
              unsigned *__restrict__ hist,            // [B][Hout][BINS]
              const unsigned *__restrict__ chunkCum,  // [B][Hout][chunks][BINS]
              unsigned *__restrict__ ticket,          // [B][Hout]
              int32_t *__restrict__ indices,          // [B][Hout][k]
              Problem P) {
  __shared__ int scratch[48];
  int head = blockIdx.y; // b * Hout + h
  int b = head / P.Hout();
  int L = min(max(lengths[b], 0), P.N);
  int k = P.k, chunks = gridDim.x, c = blockIdx.x;
  int32_t *out = indices + size_t(head) * k;
  if (L <= k) {
    if (c == 0)
      for (int i = threadIdx.x; i < k; i += THREADS) out[i] = i < L ? i : -1;
    return; // (nothing was counted)
  }
  unsigned *h = hist + size_t(head) * BINS;
  int sinkN = min(P.sink, L), recentN = min(P.recent, L - sinkN);
  int slots = k - sinkN - recentN;
  int bin0 = 2 * threadIdx.x;
  int c0 = bin0 < BINS ? int(h[bin0]) : 0, c1 = bin0 + 1 < BINS ? int(h[bin0 + 1]) : 0;
  int run;
  blockScan(c0 + c1, &run, scratch);
  if (threadIdx.x == 0) { scratch[40] = -1; scratch[41] = 0; }
  __syncthreads();
  if (slots > 0) {
    if (bin0 < BINS && run < slots && run + c0 >= slots) {
      scratch[40] = bin0;
      scratch[41] = c0 - (slots - run);
    } else if (bin0 + 1 < BINS && run + c0 < slots && run + c0 + c1 >= slots) {
      scratch[40] = bin0 + 1;
      scratch[41] = c1 - (slots - run - c0);
    }
  }
  __syncthreads();
  int T = scratch[40], skipTies = scratch[41];
  // Earlier chunks: #d < T = cum[T-1], #d == T = cum[T] - cum[T-1].
  int less = 0, tiesBefore = 0;
  if (T >= 0)
    for (int cc = threadIdx.x; cc < c; cc += THREADS) {
      const unsigned *cum = chunkCum + (size_t(head) * chunks + cc) * BINS;
      unsigned below = T > 0 ? cum[T - 1] : 0;
      less += below;
      tiesBefore += cum[T] - below;
    }
  int ignored;
  less = blockScan(less, &ignored, scratch);
  tiesBefore = blockScan(tiesBefore, &ignored, scratch);
  int begin = min(L, c * P.chunk), end = min(L, begin + P.chunk);
  int forcedBefore = min(begin, sinkN) + max(0, begin - (L - recentN));
  int chunkBase = less + max(0, tiesBefore - skipTies) + forcedBefore;
  // Within the chunk: thread t owns `per` consecutive positions.
  int span = end - begin;
  int per = (span + THREADS - 1) / THREADS;
  int lo = begin + min(span, threadIdx.x * per);
  int hi = begin + min(span, (threadIdx.x + 1) * per);
  const uint16_t *d = dist + size_t(head) * P.N;
  int sel = 0, ties = 0;
  for (int p = lo; p < hi; ++p) {
    uint16_t v = d[p];
    if (v == FORCED || int(v) < T) ++sel;
    else if (int(v) == T) ++ties;
  }
  int selBefore, tieRank;
  blockScan(sel, &selBefore, scratch);
  blockScan(ties, &tieRank, scratch);
  int t = tiesBefore + tieRank;
  int o = chunkBase + selBefore + max(0, t - skipTies) - max(0, tiesBefore - skipTies);
  for (int p = lo; p < hi; ++p) {
    uint16_t v = d[p];
    if (v == FORCED || int(v) < T) out[o++] = p;
    else if (int(v) == T) {
      if (t >= skipTies) out[o++] = p;
      ++t;
    }
  }
  // The head's last CTA leaves the histogram zero for the next call.
  __syncthreads();
  __shared__ bool last;
  if (threadIdx.x == 0) last = atomicAdd(&ticket[head], 1u) == unsigned(chunks - 1);
  __syncthreads();
  if (last) {
    for (int i = threadIdx.x; i < BINS; i += THREADS) h[i] = 0;
    if (threadIdx.x == 0) ticket[head] = 0;
  }
}

// Read-only streaming of the same bytes: the practical ceiling.
__global__ void readKernel(const uint4 *__restrict__ p, size_t n, unsigned *sink) {
  uint32_t acc = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    uint4 v = p[i];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x12345678u) *sink = acc;
}

// ---------------------------------------------------------------------------
// Independent CPU reference: unpack codes, sum |a - c| per dimension, sort.

static int codeOf(const uint32_t *words, int dim) {
  int g = dim / 32, i = dim % 32;
  return ((words[2 * g] >> i) & 1) | (((words[2 * g + 1] >> i) & 1) << 1);
}

static void reference(const Problem &P, const std::vector<uint32_t> &keys,
                      const std::vector<uint32_t> &queries,
                      const std::vector<int32_t> &lengths,
                      std::vector<int32_t> &out) {
  out.assign(size_t(P.B) * P.Hout() * P.k, -1);
  auto work = [&](int bh) {
    int b = bh / P.Hkv, hkv = bh % P.Hkv;
    int L = std::min(std::max(lengths[b], 0), P.N);
    std::vector<int> d(size_t(P.G) * L);
    for (int g = 0; g < P.G; ++g) {
      const uint32_t *q = &queries[(size_t(b) * P.Hkv * P.G + hkv * P.G + g) * W];
      int qc[128];
      for (int x = 0; x < 128; ++x) qc[x] = codeOf(q, x);
      for (int p = 0; p < L; ++p) {
        const uint32_t *kw = &keys[((size_t(bh) * P.N) + p) * W];
        int s = 0;
        for (int x = 0; x < 128; ++x) s += std::abs(qc[x] - codeOf(kw, x));
        d[size_t(g) * L + p] = s;
      }
    }
    int nh = P.shared ? 1 : P.G;
    for (int h = 0; h < nh; ++h) {
      std::vector<int> dd(L);
      for (int p = 0; p < L; ++p) {
        if (P.shared) {
          int m = 1 << 30;
          for (int g = 0; g < P.G; ++g) m = std::min(m, d[size_t(g) * L + p]);
          dd[p] = m;
        } else {
          dd[p] = d[size_t(h) * L + p];
        }
      }
      std::vector<int> chosen;
      if (L <= P.k) {
        for (int p = 0; p < L; ++p) chosen.push_back(p);
      } else {
        int sinkN = std::min(P.sink, L), recentN = std::min(P.recent, L - sinkN);
        std::vector<int> rest;
        for (int p = 0; p < L; ++p) {
          if (p < sinkN || p >= L - recentN) chosen.push_back(p);
          else rest.push_back(p);
        }
        int slots = P.k - sinkN - recentN;
        std::sort(rest.begin(), rest.end(), [&](int x, int y) {
          return dd[x] != dd[y] ? dd[x] < dd[y] : x > y;
        });
        for (int i = 0; i < slots; ++i) chosen.push_back(rest[i]);
        std::sort(chosen.begin(), chosen.end());
      }
      size_t head = size_t(b) * P.Hout() + (P.shared ? hkv : hkv * P.G + h);
      for (size_t i = 0; i < chosen.size(); ++i) out[head * P.k + i] = chosen[i];
    }
  };
  int n = P.B * P.Hkv;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int bh = t; bh < n; bh += threads) work(bh);
    });
  for (auto &t : pool) t.join();
}

// ---------------------------------------------------------------------------

struct Buffers {
  uint4 *keys;
  uint32_t *queries;
  int32_t *lengths;
  uint16_t *dist;
  unsigned *hist, *chunkCum, *ticket;
  int32_t *indices;
};

static void randomCodes(std::mt19937_64 &rng, uint32_t *words, size_t keys,
                        double skew) {
  // Codes drawn per dimension with probabilities (0.2, 0.3, 0.3, 0.2),
  // shifted toward 0 or 3 by `skew` so distances spread out and tie.
  std::uniform_real_distribution<double> u(0, 1);
  for (size_t key = 0; key < keys; ++key) {
    double s = skew * (u(rng) - 0.5);
    for (int g = 0; g < 4; ++g) {
      uint32_t lo = 0, hi = 0;
      for (int i = 0; i < 32; ++i) {
        double r = u(rng) + s;
        int c = r < 0.2 ? 0 : r < 0.5 ? 1 : r < 0.8 ? 2 : 3;
        lo |= uint32_t(c & 1) << i;
        hi |= uint32_t(c >> 1) << i;
      }
      words[key * W + 2 * g] = lo;
      words[key * W + 2 * g + 1] = hi;
    }
  }
}

static int chooseChunk(const Problem &P, int sms) {
  // Enough CTAs to fill the chip several times; chunk a multiple of the
  // threads' unrolled stride.
  long total = long(P.B) * P.Hkv;
  long want = 4L * sms;
  long chunks = std::max(1L, (want + total - 1) / total);
  long chunk = (P.N + chunks - 1) / chunks;
  long stride = THREADS * 4;
  chunk = std::max(stride, (chunk + stride - 1) / stride * stride);
  return int(chunk);
}

static bool runCase(const char *name, Problem P, int sms, uint64_t seed,
                    std::vector<int32_t> lengthsHost, FILE *table) {
  P.chunk = chooseChunk(P, sms);
  int chunks = (P.N + P.chunk - 1) / P.chunk;
  size_t keyWords = size_t(P.B) * P.Hkv * P.N * W;
  size_t queryWords = size_t(P.B) * P.Hkv * P.G * W;
  size_t codeBytes = keyWords * 4;
  // Enough input sets that one round is >= 200 MB (4x the L2).
  int sets = int(std::min<size_t>(64, std::max<size_t>(1, (200u << 20) / codeBytes + 1)));

  std::mt19937_64 rng(seed);
  std::vector<uint32_t> keys(keyWords), queries(queryWords);
  randomCodes(rng, keys.data(), keyWords / W, 0.6);
  randomCodes(rng, queries.data(), queryWords / W, 0.6);

  std::vector<Buffers> buf(sets);
  size_t outCount = size_t(P.B) * P.Hout() * P.k;
  for (int s = 0; s < sets; ++s) {
    Buffers &x = buf[s];
    CHECK(cudaMalloc(&x.keys, codeBytes));
    CHECK(cudaMalloc(&x.queries, queryWords * 4));
    CHECK(cudaMalloc(&x.lengths, P.B * 4));
    CHECK(cudaMalloc(&x.dist, size_t(P.B) * P.Hout() * P.N * 2));
    CHECK(cudaMalloc(&x.hist, size_t(P.B) * P.Hout() * BINS * 4));
    CHECK(cudaMemset(x.hist, 0, size_t(P.B) * P.Hout() * BINS * 4));
    CHECK(cudaMalloc(&x.chunkCum, size_t(P.B) * P.Hout() * chunks * BINS * 4));
    CHECK(cudaMalloc(&x.ticket, size_t(P.B) * P.Hout() * 4));
    CHECK(cudaMemset(x.ticket, 0, size_t(P.B) * P.Hout() * 4));
    CHECK(cudaMalloc(&x.indices, outCount * 4));
    CHECK(cudaMemcpy(x.keys, keys.data(), codeBytes, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(x.queries, queries.data(), queryWords * 4, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(x.lengths, lengthsHost.data(), P.B * 4, cudaMemcpyHostToDevice));
  }
  dim3 grid(chunks, P.B * P.Hkv), grid2(chunks, P.B * P.Hout());
  // which: 1 distances only, 2 both, 0 distances without histogram atomics.
  auto launch = [&](Buffers &x, cudaStream_t st, int which = 2) {
    Problem Q = P;
    Q.histograms = which != 0;
#define ADAMAS_LAUNCH(g, shared)                                               \
  distanceKernel<g, shared><<<grid, THREADS, 0, st>>>(                         \
      x.keys, x.queries, x.lengths, x.dist, x.hist, x.chunkCum, Q)
    switch (P.G * 2 + P.shared) {
    case 2: ADAMAS_LAUNCH(1, false); break;
    case 3: ADAMAS_LAUNCH(1, true); break;
    case 6: ADAMAS_LAUNCH(3, false); break;
    case 7: ADAMAS_LAUNCH(3, true); break;
    case 8: ADAMAS_LAUNCH(4, false); break;
    case 9: ADAMAS_LAUNCH(4, true); break;
    default: std::fprintf(stderr, "no instance for G=%d\n", P.G); std::exit(2);
    }
#undef ADAMAS_LAUNCH
    if (which == 2)
      compactKernel<<<grid2, THREADS, 0, st>>>(x.lengths, x.dist, x.hist,
                                               x.chunkCum, x.ticket, x.indices, P);
  };

  // Correctness: poisoned output, two calls (the second on stale scratch).
  std::vector<int32_t> expected, got(outCount);
  reference(P, keys, queries, lengthsHost, expected);
  bool ok = true;
  for (int call = 0; call < 2; ++call) {
    CHECK(cudaMemset(buf[0].indices, 0x7f, outCount * 4));
    launch(buf[0], 0);
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    CHECK(cudaMemcpy(got.data(), buf[0].indices, outCount * 4, cudaMemcpyDeviceToHost));
    size_t wrong = 0, first = 0;
    for (size_t i = 0; i < outCount; ++i)
      if (got[i] != expected[i] && wrong++ == 0) first = i;
    if (wrong) {
      ok = false;
      std::printf("%s call %d: %zu of %zu indices wrong; first at %zu: got %d want %d\n",
                  name, call, wrong, outCount, first, got[first], expected[first]);
    }
  }

  // Timing: a graph of `sets` launches, each on its own inputs.
  cudaStream_t st;
  CHECK(cudaStreamCreate(&st));
  cudaGraph_t graph, graph1, graph0;
  cudaGraphExec_t exec, exec1, exec0;
  auto capture = [&](int which, cudaGraph_t *g, cudaGraphExec_t *e) {
    CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
    for (int s = 0; s < sets; ++s) launch(buf[s], st, which);
    CHECK(cudaStreamEndCapture(st, g));
    CHECK(cudaGraphInstantiate(e, *g, 0));
  };
  capture(2, &graph, &exec);
  capture(1, &graph1, &exec1);
  capture(0, &graph0, &exec0);
  // Read-only ceiling over the same bytes, rotated the same way.
  cudaGraph_t rgraph;
  cudaGraphExec_t rexec;
  unsigned *sinkBuf;
  CHECK(cudaMalloc(&sinkBuf, 4));
  CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
  for (int s = 0; s < sets; ++s)
    readKernel<<<sms * 8, 512, 0, st>>>(buf[s].keys, codeBytes / 16, sinkBuf);
  CHECK(cudaStreamEndCapture(st, &rgraph));
  CHECK(cudaGraphInstantiate(&rexec, rgraph, 0));

  auto timeGraph = [&](cudaGraphExec_t e) {
    cudaEvent_t a, b;
    CHECK(cudaEventCreate(&a));
    CHECK(cudaEventCreate(&b));
    for (int i = 0; i < 3; ++i) CHECK(cudaGraphLaunch(e, st));
    std::vector<float> ms;
    for (int i = 0; i < 30; ++i) {
      CHECK(cudaEventRecord(a, st));
      CHECK(cudaGraphLaunch(e, st));
      CHECK(cudaEventRecord(b, st));
      CHECK(cudaEventSynchronize(b));
      float t;
      CHECK(cudaEventElapsedTime(&t, a, b));
      ms.push_back(t * 1000.0f / sets);
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  };
  float selectUs = timeGraph(exec);
  float distUs = timeGraph(exec1);
  float noAtomicsUs = timeGraph(exec0);
  float readUs = timeGraph(rexec);
  CHECK(cudaGetLastError());
  // Bytes that must move: the codes once (distances stay mostly in L2).
  double floorUs = codeBytes / 2.95e12 * 1e6;
  std::fprintf(table,
               "| %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f%% | %.2f | %s |\n",
               name, chunks * P.B * P.Hkv, sets, codeBytes / 1048576.0, selectUs,
               distUs, noAtomicsUs, readUs, 100.0 * readUs / distUs, floorUs,
               ok ? "PASS" : "FAIL");
  for (Buffers &x : buf) {
    cudaFree(x.keys); cudaFree(x.queries); cudaFree(x.lengths); cudaFree(x.dist);
    cudaFree(x.hist); cudaFree(x.chunkCum); cudaFree(x.ticket); cudaFree(x.indices);
  }
  cudaFree(sinkBuf);
  cudaGraphExecDestroy(exec); cudaGraphDestroy(graph);
  cudaGraphExecDestroy(exec1); cudaGraphDestroy(graph1);
  cudaGraphExecDestroy(exec0); cudaGraphDestroy(graph0);
  cudaGraphExecDestroy(rexec); cudaGraphDestroy(rgraph);
  cudaStreamDestroy(st);
  return ok;
}

int main() {
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  int sms = prop.multiProcessorCount;
  std::printf("device: %s, %d SMs, L2 %d MB\n", prop.name, sms, prop.l2CacheSize >> 20);
  FILE *table = tmpfile();
  std::fprintf(table, "| case | CTAs | sets | code MB | both kernels us | distances us | "
                      "distances w/o atomics us | read-only us | read / distances | "
                      "floor us @2.95TB/s | check |\n"
                      "|---|---|---|---|---|---|---|---|---|---|---|\n");
  bool ok = true;
  uint64_t seed = 0x5eed;
  // Small cases first: ties, L <= k, lengths < N, sink/recent, shared.
  ok &= runCase("small 2x2x3 N=3000 k=64 ragged", {2, 2, 3, 3000, 64, 4, 16, false, 0},
                sms, seed++, {2999, 50}, table);
  ok &= runCase("small shared 2x2x3 N=3000 k=64", {2, 2, 3, 3000, 64, 0, 1, true, 0},
                sms, seed++, {3000, 1000}, table);
  // DESIGN.md 8 cases (k = 256, sink 4, recent 16).
  ok &= runCase("B1 32/32 N=32K", {1, 32, 1, 32768, 256, 4, 16, false, 0}, sms, seed++,
                {32768}, table);
  ok &= runCase("B1 32/32 N=128K", {1, 32, 1, 131072, 256, 4, 16, false, 0}, sms,
                seed++, {131072}, table);
  ok &= runCase("B1 32/8 N=32K per-head", {1, 8, 4, 32768, 256, 4, 16, false, 0}, sms,
                seed++, {32768}, table);
  ok &= runCase("B1 32/8 N=32K shared", {1, 8, 4, 32768, 256, 4, 16, true, 0}, sms,
                seed++, {32768}, table);
  ok &= runCase("B16 32/8 N=32K per-head", {16, 8, 4, 32768, 256, 4, 16, false, 0}, sms,
                seed++, std::vector<int32_t>(16, 32768), table);
  ok &= runCase("B16 32/8 N=32K shared", {16, 8, 4, 32768, 256, 4, 16, true, 0}, sms,
                seed++, std::vector<int32_t>(16, 32768), table);
  std::rewind(table);
  char line[512];
  std::printf("\n");
  while (std::fgets(line, sizeof line, table)) std::fputs(line, stdout);
  std::printf("\n%s\n", ok ? "ALL CHECKS PASSED" : "SOME CHECKS FAILED");
  return ok ? 0 : 1;
}
