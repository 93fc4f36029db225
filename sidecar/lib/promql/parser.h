// Parses the PromQL subset pulse evaluates into ast.h's tree. Anything outside the subset
// (an unknown or unsupported function, a subquery, `offset`, `@`, group_left/right, topk,
// ...) is an error that names its position and says what is supported instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "ast.h"

namespace pulse::promql {

struct ParseError {
    std::size_t pos = 0;  // byte offset of the offending token
    std::string message;  // "unknown function \"foo\"", ...

    // "1:12: unknown function \"foo\"" (line:column, 1-based, as Prometheus prints).
    std::string describe(std::string_view expression) const;
};

using ParseResult = std::variant<NodePtr, ParseError>;

ParseResult parse(std::string_view expression);

}  // namespace pulse::promql
