// libFuzzer target for the PromQL parser of the config's signals (sidecar/lib/promql/
// parser.cpp) (tests/fuzz/run.sh runs it).
//
// There is no printer to round-trip through, so the checks are on the tree and the error:
// an error's position is within the expression and describe() names a line and column in
// it; a parsed tree has no null child, every node and label matcher starts within the
// expression, a selector's written name is its first matcher (__name__=name), and parsing
// the same text again gives the same tree shape.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "promql/parser.h"

namespace {

using namespace pulse::promql;

[[noreturn]] void broken(const char *what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

// The tree's shape and contents, written out, and the checks on each node on the way.
void walk(const NodePtr &n, std::size_t size, std::string &out) {
    if (!n) broken("a null node");
    if (n->pos > size) broken("a node starts beyond the expression");
    out += '(' + std::to_string(n->pos) + ':' + std::to_string(n->value.index());
    if (const auto *v = std::get_if<VectorSelector>(&n->value)) {
        if (!v->name.empty() && (v->matchers.empty() || v->matchers[0].name != "__name__" ||
                                 v->matchers[0].value != v->name))
            broken("a selector's name is not its first matcher");
        if (v->range_ms < 0) broken("a negative range");
        for (const LabelMatcher &m : v->matchers) {
            if (m.pos > size) broken("a matcher starts beyond the expression");
            out += m.name + '\x01' + std::to_string(static_cast<int>(m.op)) + m.value + '\x02';
        }
        out += std::to_string(v->range_ms);
    } else if (const auto *c = std::get_if<Call>(&n->value)) {
        out += c->function;
        for (const NodePtr &a : c->args) walk(a, size, out);
    } else if (const auto *a = std::get_if<Aggregation>(&n->value)) {
        out += std::to_string(static_cast<int>(a->op)) + (a->without ? "w" : "b");
        for (const std::string &g : a->grouping) out += g + '\x01';
        walk(a->expr, size, out);
    } else if (const auto *b = std::get_if<Binary>(&n->value)) {
        out += std::to_string(static_cast<int>(b->op)) + (b->return_bool ? "b" : "") +
               (b->has_matching ? (b->on ? "on" : "ig") : "");
        for (const std::string &l : b->matching_labels) out += l + '\x01';
        walk(b->lhs, size, out);
        walk(b->rhs, size, out);
    } else if (const auto *u = std::get_if<Unary>(&n->value)) {
        out += u->negate ? "-" : "+";
        walk(u->expr, size, out);
    } else if (const auto *s = std::get_if<StringLiteral>(&n->value)) {
        out += s->value;
    } else if (const auto *x = std::get_if<NumberLiteral>(&n->value)) {
        out += std::to_string(x->value);
    }
    out += ')';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view expr(reinterpret_cast<const char *>(data), size);
    const ParseResult r = parse(expr);
    if (const auto *e = std::get_if<ParseError>(&r)) {
        if (e->pos > size) broken("an error beyond the expression");
        if (e->message.empty()) broken("an error without a message");
        const std::string d = e->describe(expr);
        if (d.empty() || d[0] < '1' || d[0] > '9' || d.find(": ") == std::string::npos)
            broken("describe() does not start with line:column");
        return 0;
    }
    std::string first, second;
    walk(std::get<NodePtr>(r), size, first);
    const ParseResult again = parse(expr);
    if (!std::holds_alternative<NodePtr>(again)) broken("the same text fails the second time");
    walk(std::get<NodePtr>(again), size, second);
    if (first != second) broken("the same text parses to another tree");
    return 0;
}
