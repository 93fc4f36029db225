// The PromQL subset pulse evaluates (docs/workers.md lists it), as a syntax tree. Every
// node keeps the byte offset where it starts in the expression, so that an error at start
// or at evaluation can name its position. parser.h builds it, evaluator.h runs it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace pulse::promql {

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct LabelMatcher {
    enum class Op { equal, not_equal, regex, not_regex };  // =, !=, =~, !~
    std::string name;                                      // "__name__" for the metric name
    Op op = Op::equal;
    std::string value;  // unescaped; for regexes the pattern, anchored as Prometheus does
    std::size_t pos = 0;
};

struct NumberLiteral {
    double value = 0;
};

struct StringLiteral {
    std::string value;  // unescaped
};

// `name{matchers}` (instant) or `name{matchers}[range]` (range). The metric name, when
// written, is also in `matchers` as `__name__="name"`, first.
struct VectorSelector {
    std::string name;  // as written, or empty
    std::vector<LabelMatcher> matchers;
    std::int64_t range_ms = 0;  // > 0: a range vector selector
};

struct Call {
    std::string function;  // one of the supported functions (parser.cpp's table)
    std::vector<NodePtr> args;
};

enum class AggregationOp { sum, avg, max, min, count };

struct Aggregation {
    AggregationOp op = AggregationOp::sum;
    bool without = false;               // `without (...)`; else `by (...)` or no grouping
    std::vector<std::string> grouping;  // as written, in order
    NodePtr expr;
};

enum class BinaryOp {
    add,
    sub,
    mul,
    div,
    mod,
    pow,  // + - * / % ^
    eq,
    ne,
    gt,
    lt,
    ge,
    le,  // == != > < >= <=
};

// `lhs op [bool] [on|ignoring (labels)] rhs`. group_left/group_right are not supported: the
// parser rejects them.
struct Binary {
    BinaryOp op = BinaryOp::add;
    bool return_bool = false;   // comparison with `bool`
    bool has_matching = false;  // on(...) or ignoring(...) was written
    bool on = false;            // on(...) rather than ignoring(...)
    std::vector<std::string> matching_labels;
    NodePtr lhs, rhs;
};

struct Unary {
    bool negate = false;  // `-x`; `+x` is kept as negate=false
    NodePtr expr;
};

struct Node {
    std::variant<NumberLiteral, StringLiteral, VectorSelector, Call, Aggregation, Binary, Unary>
        value;
    std::size_t pos = 0;  // byte offset of the node's first character in the expression
};

}  // namespace pulse::promql
