//===- AdamasRuntimeVerification.cpp - Run-time checks of adamas ops ------===//
//
// The op verifiers (AdamasOps.cpp) check each size rule of DESIGN.md
// section 2 as soon as the sizes it relates are static. These models check
// the same rules at run time where one of the sizes is dynamic: before the
// op, one `cf.assert` per rule, with a message in the verifiers' words that
// names the op, the operand and the rule. A rule whose sizes are all static
// gets no check (the verifier has decided it).
//
// The checks never divide by a size that may be 0 and never read tensor
// contents, so they are safe on exactly the inputs they reject.
//
//===----------------------------------------------------------------------===//

#include "adamas/Dialect/Adamas/IR/AdamasRuntimeVerification.h"
#include "adamas/Dialect/Adamas/IR/AdamasDialect.h"
#include "adamas/Dialect/Adamas/IR/AdamasOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Interfaces/RuntimeVerifiableOpInterface.h"

#include <limits>

using namespace mlir;
using namespace mlir::adamas;

namespace {
using MessageFn = function_ref<std::string(Operation *, StringRef)>;

/// A ranked tensor operand or result with its ODS name.
struct Operand {
  StringRef name;
  Value value;

  RankedTensorType type() const {
    return cast<RankedTensorType>(value.getType());
  }
  bool isDynamic(int64_t dim) const { return type().isDynamicDim(dim); }
};

/// Builds the checks of one op before it.
class CheckBuilder {
public:
  CheckBuilder(Operation *op, OpBuilder &builder, Location loc,
               MessageFn message)
      : op(op), b(builder), loc(loc), message(message) {}

  /// Size of dimension `dim` of `v` (a constant where it is static).
  Value size(const Operand &v, int64_t dim) {
    if (!v.isDynamic(dim))
      return arith::ConstantIndexOp::create(b, loc, v.type().getDimSize(dim));
    return tensor::DimOp::create(b, loc, v.value, dim);
  }

  Value cmp(arith::CmpIPredicate predicate, Value lhs, Value rhs) {
    return arith::CmpIOp::create(b, loc, predicate, lhs, rhs);
  }

  /// Asserts `cond`; the message reads like the op verifier's diagnostic:
  /// "'adamas.l1_topk' op 'lengths' dimension 0 (B) must equal ...".
  void check(Value cond, const Twine &rule) {
    std::string text =
        ("'" + op->getName().getStringRef() + "' op " + rule).str();
    cf::AssertOp::create(b, loc, cond, message(op, text));
  }

  /// Dimension `dim` (called `dimName`) of `v` equals `expected`, the size
  /// described by `what`; checked when either side is dynamic.
  void checkDimEquals(const Operand &v, int64_t dim, StringRef dimName,
                      const Operand &source, int64_t sourceDim,
                      StringRef what) {
    if (!v.isDynamic(dim) && !source.isDynamic(sourceDim))
      return;
    // One statement each: the IR order must not depend on the compiler's
    // order of evaluating arguments.
    Value actual = size(v, dim);
    Value expected = size(source, sourceDim);
    check(cmp(arith::CmpIPredicate::eq, actual, expected),
          "'" + v.name + "' dimension " + Twine(dim) + " (" + dimName +
              ") must equal " + what);
  }

  /// A static result dimension equals the dynamic operand size it is made
  /// of. (The result does not exist before the op; a dynamic result
  /// dimension is that size by construction.)
  void checkResultDim(const Operand &result, int64_t dim, StringRef dimName,
                      const Operand &source, int64_t sourceDim,
                      StringRef what) {
    if (result.isDynamic(dim))
      return;
    checkDimEquals(result, dim, dimName, source, sourceDim, what);
  }

  /// The heads (dimension 1) of `v`, called `what`, are positive.
  void checkHeadsPositive(const Operand &v, StringRef what) {
    if (!v.isDynamic(1))
      return;
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    check(cmp(arith::CmpIPredicate::sgt, size(v, 1), zero),
          "'" + v.name + "' heads (" + what + ") must be positive");
  }

  /// Hq (heads of `q`) is a multiple of Hkv (heads of `kv`), both positive.
  void checkHeadsDivide(const Operand &q, const Operand &kv) {
    checkHeadsPositive(q, "Hq");
    checkHeadsPositive(kv, "Hkv");
    if (!q.isDynamic(1) && !kv.isDynamic(1))
      return;
    // The assert before has rejected Hkv = 0, but asserts of a run-time
    // verification build may be configured not to abort: divide by
    // max(Hkv, 1) so that the check itself is always defined.
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value divisor = arith::MaxSIOp::create(b, loc, size(kv, 1), one);
    Value heads = size(q, 1);
    Value rem = arith::RemUIOp::create(b, loc, heads, divisor);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    check(cmp(arith::CmpIPredicate::eq, rem, zero),
          "'" + q.name + "' heads (Hq) must be a multiple of '" + kv.name +
              "' heads (Hkv)");
  }

private:
  Operation *op;
  OpBuilder &b;
  Location loc;
  MessageFn message;
};

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

/// hadamard has one operand of the result's type and a static D: it has no
/// size rule to check at run time.
struct HadamardOpModel
    : RuntimeVerifiableOpInterface::ExternalModel<HadamardOpModel, HadamardOp> {
  void generateRuntimeVerification(Operation *, OpBuilder &, Location,
                                   MessageFn) const {}
};

struct BucketizeOpModel
    : RuntimeVerifiableOpInterface::ExternalModel<BucketizeOpModel,
                                                  BucketizeOp> {
  void generateRuntimeVerification(Operation *op, OpBuilder &builder,
                                   Location loc, MessageFn message) const {
    auto bucketize = cast<BucketizeOp>(op);
    CheckBuilder c(op, builder, loc, message);
    Operand input{"input", bucketize.getInput()};
    Operand result{"result", bucketize.getResult()};
    int64_t rank = input.type().getRank();
    for (int64_t i = 0; i + 1 < rank; ++i)
      c.checkResultDim(result, i, "size", input, i,
                       "the same dimension of 'input'");
    if (Value headThresholds = bucketize.getHeadThresholds())
      c.checkDimEquals({"head_thresholds", headThresholds}, 0, "H", input, 1,
                       "the heads of 'input'");
  }
};

struct L1TopKOpModel
    : RuntimeVerifiableOpInterface::ExternalModel<L1TopKOpModel, L1TopKOp> {
  void generateRuntimeVerification(Operation *op, OpBuilder &builder,
                                   Location loc, MessageFn message) const {
    auto topk = cast<L1TopKOp>(op);
    CheckBuilder c(op, builder, loc, message);
    Operand qc{"query_codes", topk.getQueryCodes()};
    Operand kc{"key_codes", topk.getKeyCodes()};
    Operand lengths{"lengths", topk.getLengths()};
    Operand result{"result", topk.getResult()};

    c.checkDimEquals(kc, 0, "B", qc, 0, "B of 'query_codes'");
    c.checkDimEquals(lengths, 0, "B", qc, 0, "B of 'query_codes'");
    c.checkDimEquals(kc, 3, "W", qc, 3, "W of 'query_codes'");
    c.checkHeadsDivide(qc, kc);
    // Positions are emitted as i32.
    if (kc.isDynamic(2)) {
      Value maxN = arith::ConstantIndexOp::create(
          builder, loc, std::numeric_limits<int32_t>::max());
      c.check(c.cmp(arith::CmpIPredicate::sle, c.size(kc, 2), maxN),
              "'key_codes' dimension 2 (N) must be at most 2147483647 "
              "(positions are i32)");
    }

    c.checkResultDim(result, 0, "B", qc, 0, "B of 'query_codes'");
    if (topk.getSharedGroup())
      c.checkResultDim(result, 1, "H'", kc, 1,
                       "Hkv of 'key_codes' (shared_group)");
    else
      c.checkResultDim(result, 1, "H'", qc, 1, "Hq of 'query_codes'");
    c.checkResultDim(result, 2, "M", qc, 2, "M of 'query_codes'");
  }
};

struct SparseAttnOpModel
    : RuntimeVerifiableOpInterface::ExternalModel<SparseAttnOpModel,
                                                  SparseAttnOp> {
  void generateRuntimeVerification(Operation *op, OpBuilder &builder,
                                   Location loc, MessageFn message) const {
    auto attn = cast<SparseAttnOp>(op);
    CheckBuilder c(op, builder, loc, message);
    Operand q{"query", attn.getQuery()};
    Operand k{"keys", attn.getKeys()};
    Operand v{"values", attn.getValues()};
    Operand idx{"indices", attn.getIndices()};
    Operand result{"result", attn.getResult()};

    c.checkDimEquals(k, 0, "B", q, 0, "B of 'query'");
    c.checkDimEquals(v, 0, "B", q, 0, "B of 'query'");
    c.checkDimEquals(idx, 0, "B", q, 0, "B of 'query'");
    c.checkDimEquals(k, 3, "D", q, 3, "D of 'query'");
    c.checkDimEquals(v, 1, "Hkv", k, 1, "Hkv of 'keys'");
    c.checkDimEquals(v, 2, "N", k, 2, "N of 'keys'");
    c.checkHeadsDivide(q, k);
    c.checkDimEquals(idx, 2, "M", q, 2, "M of 'query'");
    if (idx.isDynamic(1) || q.isDynamic(1) || k.isDynamic(1)) {
      Value heads = c.size(idx, 1);
      Value queryHeads = c.size(q, 1);
      Value perQueryHead = c.cmp(arith::CmpIPredicate::eq, heads, queryHeads);
      Value kvHeads = c.size(k, 1);
      Value perKvHead = c.cmp(arith::CmpIPredicate::eq, heads, kvHeads);
      c.check(arith::OrIOp::create(builder, loc, perQueryHead, perKvHead),
              "'indices' heads (H') must equal the heads of 'query' (Hq) or "
              "of 'keys' (Hkv)");
    }

    c.checkResultDim(result, 0, "B", q, 0, "B of 'query'");
    c.checkResultDim(result, 1, "Hq", q, 1, "Hq of 'query'");
    c.checkResultDim(result, 2, "M", q, 2, "M of 'query'");
    c.checkResultDim(result, 3, "Dv", v, 3, "Dv of 'values'");
  }
};

struct CacheWriteOpModel
    : RuntimeVerifiableOpInterface::ExternalModel<CacheWriteOpModel,
                                                  CacheWriteOp> {
  void generateRuntimeVerification(Operation *op, OpBuilder &builder,
                                   Location loc, MessageFn message) const {
    auto write = cast<CacheWriteOp>(op);
    CheckBuilder c(op, builder, loc, message);
    Operand rows{"rows", write.getRows()};
    Operand cache{"cache", write.getCache()};
    Operand lengths{"lengths", write.getLengths()};
    c.checkDimEquals(rows, 0, "B", cache, 0, "B of 'cache'");
    c.checkDimEquals(lengths, 0, "B", cache, 0, "B of 'cache'");
    c.checkDimEquals(rows, 1, "H", cache, 1, "H of 'cache'");
    c.checkDimEquals(rows, 3, "F", cache, 3, "F of 'cache'");
  }
};
} // namespace

void mlir::adamas::registerRuntimeVerifiableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, AdamasDialect *) {
    HadamardOp::attachInterface<HadamardOpModel>(*ctx);
    BucketizeOp::attachInterface<BucketizeOpModel>(*ctx);
    L1TopKOp::attachInterface<L1TopKOpModel>(*ctx);
    SparseAttnOp::attachInterface<SparseAttnOpModel>(*ctx);
    CacheWriteOp::attachInterface<CacheWriteOpModel>(*ctx);
    // The checks are built from these dialects' ops.
    ctx->loadDialect<arith::ArithDialect, cf::ControlFlowDialect,
                     tensor::TensorDialect>();
  });
}
