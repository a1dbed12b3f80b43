//===- EncodeKernel.cpp - hadamard + bucketize + pack, warp per row -------===//
//
// DESIGN.md section 4, stage 1. A warp holds one row of D values, lane l the
// dims l + 32 j (j < D / 32), so that:
//
//   * the Walsh-Hadamard butterflies of stride h < 32 pair lane l with lane
//     l ^ h (one `gpu.shuffle xor` per value) and those of stride >= 32 pair
//     registers j and j ^ (h / 32) of the same lane (the stages commute, so
//     their order does not matter);
//   * after rounding to the element type (the op's single rounding) and
//     bucketizing, bit p of the codes of dims 32 g .. 32 g + 31 is exactly a
//     warp ballot over register g: word g * b + p = ballot(bit p of code g).
//
// Lane w then stores word w, so a row's W words go out in one coalesced
// store. All jobs of a step (the query and the new keys, typically) share one
// launch: job j owns a contiguous range of CTAs in x.
//
//===----------------------------------------------------------------------===//

#include "EncodeRow.h"
#include "Kernels.h"
#include "adamas/Dialect/Adamas/Utils/CodeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::adamas;

/// The Walsh-Hadamard butterflies of the warp's row (unnormalized).
static void butterflies(KernelBuilder &kb, SmallVector<Value> &v) {
  ImplicitLocOpBuilder &b = kb.builder();
  int64_t perLane = v.size();
  Value lane = kb.laneId();
  // Strides 1 .. 16: across lanes. The lower element of a pair gets x + y,
  // the upper one x - y, where x is the lower's value.
  for (int64_t h = 1; h < 32; h *= 2) {
    Value lower = arith::CmpIOp::create(
        b, arith::CmpIPredicate::eq, arith::AndIOp::create(b, lane, kb.i32(h)),
        kb.i32(0));
    for (Value &x : v) {
      Value partner = kb.shuffleXor(x, h);
      Value sum = arith::AddFOp::create(b, x, partner);
      Value difference = arith::SubFOp::create(b, partner, x);
      x = kb.select(lower, sum, difference);
    }
  }
  // Strides 32 .. D/2: within a lane.
  for (int64_t h = 1; h < perLane; h *= 2)
    for (int64_t j = 0; j < perLane; ++j)
      if ((j & h) == 0) {
        Value x = v[j], y = v[j + h];
        v[j] = arith::AddFOp::create(b, x, y);
        v[j + h] = arith::SubFOp::create(b, x, y);
      }
}

/// The flat offset of dim l + 32 j of row `row` for lane l.
static Value laneDim(KernelBuilder &kb, Value row, int64_t dims, int64_t j) {
  Value lane = kb.toIdx(kb.laneId());
  return kb.add(kb.mul(row, kb.idx(dims)), kb.add(lane, kb.idx(32 * j)));
}

SmallVector<Value> mlir::adamas::loadWarpRow(KernelBuilder &kb, Value input,
                                             Value row, int64_t dims) {
  SmallVector<Value> v;
  for (int64_t j = 0; j < dims / 32; ++j)
    v.push_back(
        extendToF32(kb.builder(), kb.load(input, laneDim(kb, row, dims, j))));
  return v;
}

SmallVector<Value> mlir::adamas::transformWarpRow(KernelBuilder &kb,
                                                  const EncodeProblem &problem,
                                                  Type elementType,
                                                  SmallVector<Value> v) {
  ImplicitLocOpBuilder &b = kb.builder();
  if (problem.hadamard) {
    butterflies(kb, v);
    Value norm = kb.f32(hadamardNorm(problem.dims));
    for (Value &x : v)
      x = arith::MulFOp::create(b, x, norm);
  }
  // The hadamard result is rounded once to the element type; bucketize then
  // compares that value (extended to f32) with the thresholds.
  SmallVector<Value> rounded;
  for (Value x : v)
    rounded.push_back(roundFromF32(b, x, elementType));
  return rounded;
}

SmallVector<Value> mlir::adamas::codeWordsOfWarpRow(KernelBuilder &kb,
                                                    int64_t bits,
                                                    ArrayRef<Value> rounded,
                                                    ArrayRef<Value> thresholds) {
  ImplicitLocOpBuilder &b = kb.builder();
  SmallVector<Value> words;
  for (Value x : rounded) {
    Value code = buildCode(b, extendToF32(b, x), thresholds);
    for (int64_t p = 0; p < bits; ++p) {
      Value bit = buildCodeBit(b, code, p);
      Value set =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ne, bit, kb.i32(0));
      words.push_back(kb.ballot(set));
    }
  }
  return words;
}

SmallVector<Value> mlir::adamas::rowThresholds(KernelBuilder &kb,
                                               const EncodeJob &job,
                                               Value headThresholds, Value row,
                                               Value rowsPerHead, Value heads) {
  SmallVector<Value> values;
  if (!job.headThresholds) {
    for (float t : job.thresholds)
      values.push_back(kb.f32(t));
    return values;
  }
  Value head = kb.remu(kb.divu(row, rowsPerHead), heads);
  int64_t count = numThresholds(job.problem.bits);
  Value first = kb.mul(head, kb.idx(count));
  for (int64_t i = 0; i < count; ++i)
    values.push_back(kb.load(headThresholds, kb.add(first, kb.idx(i))));
  return values;
}

Value mlir::adamas::laneWord(KernelBuilder &kb, ArrayRef<Value> words) {
  ImplicitLocOpBuilder &b = kb.builder();
  Value lane = kb.laneId();
  Value word = words[0];
  for (size_t w = 1; w < words.size(); ++w) {
    Value mine =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, kb.i32(w));
    word = kb.select(mine, words[w], word);
  }
  return word;
}

namespace {
/// The kernel arguments of one job, in order, with their host values.
struct JobArgs {
  unsigned input, headThresholds = 0, output, lengths = 0, rows, heads = 0,
                  innerRows = 0, capacity = 0;
};

/// Collects kernel argument types and the matching host values.
struct ArgList {
  SmallVector<Type> types;
  SmallVector<Value> values;

  unsigned add(Value value) {
    types.push_back(value.getType());
    values.push_back(value);
    return types.size() - 1;
  }
};

class EncodeRowBuilder {
public:
  EncodeRowBuilder(KernelBuilder &kb, const EncodeJob &job, const JobArgs &args)
      : kb(kb), b(kb.builder()), job(job), args(args), dims(job.problem.dims),
        perLane(job.config.valuesPerLane) {}

  void build(Value row);

private:
  SmallVector<Value> thresholdsOf(Value row);
  void storeWords(ArrayRef<Value> words, Value row);

  KernelBuilder &kb;
  ImplicitLocOpBuilder &b;
  const EncodeJob &job;
  const JobArgs &args;
  int64_t dims, perLane;
};
} // namespace

SmallVector<Value> EncodeRowBuilder::thresholdsOf(Value row) {
  if (!job.headThresholds)
    return rowThresholds(kb, job, Value(), row, Value(), Value());
  return rowThresholds(kb, job, kb.arg(args.headThresholds), row,
                       kb.arg(args.innerRows), kb.arg(args.heads));
}

void EncodeRowBuilder::storeWords(ArrayRef<Value> words, Value row) {
  // Lane w stores word w; every lane holds every (uniform) ballot result.
  Value lane = kb.laneId();
  Value word = laneWord(kb, words);
  Value laneIndex = kb.toIdx(lane);
  int64_t numWords = words.size();
  Value stores = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, lane,
                                       kb.i32(numWords));
  if (job.destination == EncodeJob::Destination::Codes) {
    kb.ifThen(stores, [&] {
      Value offset = kb.add(kb.mul(row, kb.idx(numWords)), laneIndex);
      kb.store(word, kb.arg(args.output), offset);
    });
    return;
  }
  // Cache: row r of <B x H x M x D> is (b, h, m); its position is
  // lengths[b] - M + m, written only when it lies in [0, N).
  Value heads = kb.arg(args.heads), newRows = kb.arg(args.innerRows);
  Value capacity = kb.arg(args.capacity);
  Value batch = kb.divu(row, kb.mul(heads, newRows));
  Value head = kb.remu(kb.divu(row, newRows), heads);
  Value m = kb.remu(row, newRows);
  Value length = kb.toIdx(kb.load(kb.arg(args.lengths), batch));
  Value pos = kb.add(kb.sub(length, newRows), m);
  Value inCache = arith::AndIOp::create(
      b, kb.cmp(arith::CmpIPredicate::sge, pos, kb.idx(0)),
      kb.cmp(arith::CmpIPredicate::slt, pos, capacity));
  kb.ifThen(arith::AndIOp::create(b, stores, inCache), [&] {
    Value cacheRow =
        kb.add(kb.mul(kb.add(kb.mul(batch, heads), head), capacity), pos);
    Value offset = kb.add(kb.mul(cacheRow, kb.idx(numWords)), laneIndex);
    kb.store(word, kb.arg(args.output), offset);
  });
}

void EncodeRowBuilder::build(Value row) {
  SmallVector<Value> rounded = transformWarpRow(
      kb, job.problem, job.elementType,
      loadWarpRow(kb, kb.arg(args.input), row, dims));
  if (job.destination == EncodeJob::Destination::Values) {
    for (int64_t j = 0; j < perLane; ++j)
      kb.store(rounded[j], kb.arg(args.output), laneDim(kb, row, dims, j));
    return;
  }
  storeWords(codeWordsOfWarpRow(kb, job.problem.bits, rounded,
                                thresholdsOf(row)),
             row);
}

void mlir::adamas::emitEncode(HostBuilder &host, StringRef name,
                              ArrayRef<EncodeJob> jobs,
                              GridDependency dependency) {
  ImplicitLocOpBuilder &hb = host.builder();
  ArgList list;
  SmallVector<JobArgs> jobArgs;
  for (const EncodeJob &job : jobs) {
    JobArgs a;
    a.input = list.add(host.flatten(job.input));
    if (job.headThresholds)
      a.headThresholds = list.add(host.flatten(job.headThresholds));
    a.output = list.add(host.flatten(job.output));
    if (job.destination == EncodeJob::Destination::Cache)
      a.lengths = list.add(host.flatten(job.lengths));
    a.rows = list.add(host.leadingRows(job.input));
    auto inputType = cast<MemRefType>(job.input.getType());
    bool needsHeads =
        job.headThresholds || job.destination == EncodeJob::Destination::Cache;
    if (needsHeads) {
      int64_t rank = inputType.getRank();
      a.heads = list.add(host.dim(job.input, 1));
      a.innerRows = list.add(host.dim(job.input, rank - 2));
    }
    if (job.destination == EncodeJob::Destination::Cache)
      a.capacity = list.add(host.dim(job.output, 2));
    jobArgs.push_back(a);
  }

  int64_t warps = jobs.front().config.warpsPerBlock;
  OpBuilder mb = host.moduleBuilder();
  KernelBuilder kb(mb, host.kernelModule(), name, list.types, 32 * warps,
                   hb.getLoc(), dependency);
  {
    Value blockIndex = kb.blockId(gpu::Dimension::x);
    Value row0 = kb.mul(blockIndex, kb.idx(warps));
    Value warp = kb.warpId();
    Value begin = kb.idx(0);
    for (auto [job, a] : llvm::zip_equal(jobs, jobArgs)) {
      Value rows = kb.arg(a.rows);
      Value blocks = kb.ceilDiv(rows, kb.idx(warps));
      Value end = kb.add(begin, blocks);
      Value inJob = arith::AndIOp::create(
          kb.builder(), kb.cmp(arith::CmpIPredicate::uge, blockIndex, begin),
          kb.cmp(arith::CmpIPredicate::ult, blockIndex, end));
      Value jobBegin = begin;
      kb.ifThen(inJob, [&] {
        Value row = kb.add(kb.sub(row0, kb.mul(jobBegin, kb.idx(warps))), warp);
        kb.ifThen(kb.cmp(arith::CmpIPredicate::ult, row, rows),
                  [&] { EncodeRowBuilder(kb, job, a).build(row); });
      });
      begin = end;
    }
  }
  gpu::GPUFuncOp kernel = kb.finish();
  kernel->setAttr("adamas.config", jobs.front().config.toAttr(hb.getContext()));

  // Grid: the CTAs of every job, side by side.
  Value total = indexConst(hb, 0);
  for (auto [job, a] : llvm::zip_equal(jobs, jobArgs)) {
    Value blocks = arith::CeilDivSIOp::create(hb, list.values[a.rows],
                                              indexConst(hb, warps));
    total = arith::AddIOp::create(hb, total, blocks);
  }
  Value one = indexConst(hb, 1);
  host.launch(kernel, total, one, one, 32 * warps, list.values);
}
