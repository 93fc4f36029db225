// The PromQL parser (sidecar/lib/promql/parser.h): tree shapes, positions, and error
// messages. Where Prometheus 2.42 rejects an input, the expected message is Prometheus' own
// (as `promtool check rules` 2.42.0 prints it, without its "parse error: "), prefixed by
// line:column as ParseError::describe prints it, except for two deliberate differences:
// "unknown function \"foo\"" (Prometheus: "unknown function with name \"foo\"") and a stray
// ')' reported at the ')' (Prometheus: one column after it). Inputs valid in Prometheus but
// outside pulse's subset get pulse's "not supported" messages.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <variant>

#include "promql/parser.h"

namespace pulse::promql {
namespace {

std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

std::string op_text(LabelMatcher::Op op) {
    switch (op) {
        case LabelMatcher::Op::equal:
            return "=";
        case LabelMatcher::Op::not_equal:
            return "!=";
        case LabelMatcher::Op::regex:
            return "=~";
        case LabelMatcher::Op::not_regex:
            return "!~";
    }
    return "?";
}

std::string op_text(BinaryOp op) {
    switch (op) {
        case BinaryOp::add:
            return "+";
        case BinaryOp::sub:
            return "-";
        case BinaryOp::mul:
            return "*";
        case BinaryOp::div:
            return "/";
        case BinaryOp::mod:
            return "%";
        case BinaryOp::pow:
            return "^";
        case BinaryOp::eq:
            return "==";
        case BinaryOp::ne:
            return "!=";
        case BinaryOp::gt:
            return ">";
        case BinaryOp::lt:
            return "<";
        case BinaryOp::ge:
            return ">=";
        case BinaryOp::le:
            return "<=";
    }
    return "?";
}

std::string op_text(AggregationOp op) {
    switch (op) {
        case AggregationOp::sum:
            return "sum";
        case AggregationOp::avg:
            return "avg";
        case AggregationOp::max:
            return "max";
        case AggregationOp::min:
            return "min";
        case AggregationOp::count:
            return "count";
    }
    return "?";
}

std::string join(const std::vector<std::string> &v) {
    std::string out;
    for (const auto &s : v) out += (out.empty() ? "" : ",") + s;
    return out;
}

// The tree as a compact string: every node, every field.
std::string shape(const Node &n) {
    if (const auto *v = std::get_if<NumberLiteral>(&n.value)) return number(v->value);
    if (const auto *v = std::get_if<StringLiteral>(&n.value)) return "\"" + v->value + "\"";
    if (const auto *v = std::get_if<VectorSelector>(&n.value)) {
        std::string out = v->name + "{";
        for (std::size_t i = 0; i < v->matchers.size(); ++i) {
            const auto &m = v->matchers[i];
            out += (i ? "," : "") + m.name + op_text(m.op) + "\"" + m.value + "\"";
        }
        out += "}";
        if (v->range_ms != 0) out += "[" + std::to_string(v->range_ms) + "ms]";
        return out;
    }
    if (const auto *v = std::get_if<Call>(&n.value)) {
        std::string out = v->function + "(";
        for (std::size_t i = 0; i < v->args.size(); ++i)
            out += (i ? ", " : "") + shape(*v->args[i]);
        return out + ")";
    }
    if (const auto *v = std::get_if<Aggregation>(&n.value)) {
        std::string out = op_text(v->op);
        if (v->without || !v->grouping.empty())
            out += std::string(v->without ? " without" : " by") + " (" + join(v->grouping) + ") ";
        return out + "(" + shape(*v->expr) + ")";
    }
    if (const auto *v = std::get_if<Binary>(&n.value)) {
        std::string out = "(" + shape(*v->lhs) + " " + op_text(v->op);
        if (v->return_bool) out += " bool";
        if (v->has_matching)
            out += std::string(v->on ? " on" : " ignoring") + "(" + join(v->matching_labels) + ")";
        return out + " " + shape(*v->rhs) + ")";
    }
    const auto &u = std::get<Unary>(n.value);
    return std::string("(") + (u.negate ? "-" : "+") + shape(*u.expr) + ")";
}

// Every node's position, in pre-order; matchers as name@pos.
std::string positions(const Node &n) {
    std::string out = std::to_string(n.pos);
    if (const auto *v = std::get_if<VectorSelector>(&n.value)) {
        out += "{";
        for (std::size_t i = 0; i < v->matchers.size(); ++i)
            out += (i ? " " : "") + v->matchers[i].name + "@" + std::to_string(v->matchers[i].pos);
        out += "}";
    } else if (const auto *v = std::get_if<Call>(&n.value)) {
        for (const auto &a : v->args) out += " " + positions(*a);
    } else if (const auto *v = std::get_if<Aggregation>(&n.value)) {
        out += " " + positions(*v->expr);
    } else if (const auto *v = std::get_if<Binary>(&n.value)) {
        out += " " + positions(*v->lhs) + " " + positions(*v->rhs);
    } else if (const auto *v = std::get_if<Unary>(&n.value)) {
        out += " " + positions(*v->expr);
    }
    return "(" + out + ")";
}

// The shape, or "error: " and the described error.
std::string parsed(std::string_view expr) {
    const ParseResult r = parse(expr);
    if (const auto *e = std::get_if<ParseError>(&r)) return "error: " + e->describe(expr);
    return shape(*std::get<NodePtr>(r));
}

// The described error, or "parsed: " and the shape.
std::string error(std::string_view expr) {
    const ParseResult r = parse(expr);
    if (const auto *e = std::get_if<ParseError>(&r)) return e->describe(expr);
    return "parsed: " + shape(*std::get<NodePtr>(r));
}

std::string pos_of(std::string_view expr) {
    const ParseResult r = parse(expr);
    if (const auto *e = std::get_if<ParseError>(&r)) return "error: " + e->describe(expr);
    return positions(*std::get<NodePtr>(r));
}

double value_of(std::string_view expr) {
    const ParseResult r = parse(expr);
    if (!std::holds_alternative<NodePtr>(r)) {
        ADD_FAILURE() << expr << ": " << std::get<ParseError>(r).describe(expr);
        return -12345;
    }
    const auto *n = std::get_if<NumberLiteral>(&std::get<NodePtr>(r)->value);
    if (n == nullptr) {
        ADD_FAILURE() << expr << " is not a number literal";
        return -12345;
    }
    return n->value;
}

const std::string kSupportedFunctions =
    "rate, irate, increase, delta, avg_over_time, max_over_time, min_over_time, "
    "last_over_time, histogram_quantile, label_replace, clamp_min, clamp_max, scalar, vector";
const std::string kSupportedOperators = "+, -, *, /, %, ^, ==, !=, >, <, >=, <=";

// ---- literals -----------------------------------------------------------------------------

TEST(PromqlParseNumbers, DecimalHexOctalAndSpecialValues) {
    EXPECT_EQ(value_of("1"), 1);
    EXPECT_EQ(value_of("1.5"), 1.5);
    EXPECT_EQ(value_of(".5"), 0.5);
    EXPECT_EQ(value_of("5."), 5);
    EXPECT_EQ(value_of("1e3"), 1000);
    EXPECT_EQ(value_of("1E-3"), 0.001);
    EXPECT_EQ(value_of("2.5e+2"), 250);
    EXPECT_EQ(value_of("0x1f"), 31);
    EXPECT_EQ(value_of("0X1F"), 31);
    EXPECT_EQ(value_of("0x1e5"), 0x1e5);  // e is a hex digit, not an exponent
    // strconv.ParseInt(s, 0, 64): a leading 0 means octal, as in Prometheus.
    EXPECT_EQ(value_of("017"), 15);
    EXPECT_EQ(value_of("08"), 8);  // not octal: falls back to ParseFloat
    EXPECT_EQ(value_of("00"), 0);
    EXPECT_EQ(value_of("9223372036854775807"), 9223372036854775807.0);
    EXPECT_EQ(value_of("9223372036854775808"), 9223372036854775808.0);  // beyond int64
    EXPECT_EQ(value_of("1e-400"), 0);                                   // underflow: no error
    EXPECT_EQ(value_of("4e-320"), 4e-320);                              // subnormal
    EXPECT_EQ(value_of("Inf"), INFINITY);
    EXPECT_EQ(value_of("inf"), INFINITY);
    EXPECT_EQ(value_of("INF"), INFINITY);
    EXPECT_EQ(value_of("+Inf"), INFINITY);
    EXPECT_EQ(value_of("-Inf"), -INFINITY);
    EXPECT_TRUE(std::isnan(value_of("NaN")));
    EXPECT_TRUE(std::isnan(value_of("nan")));
    EXPECT_EQ(value_of("  42  # the answer"), 42);
}

TEST(PromqlParseNumbers, Errors) {
    EXPECT_EQ(error("1e"),
              "1:1: error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax");
    EXPECT_EQ(error("1 + 1e+"),
              "1:5: error parsing number: strconv.ParseFloat: parsing \"1e+\": invalid syntax");
    EXPECT_EQ(error("0x"),
              "1:1: error parsing number: strconv.ParseFloat: parsing \"0x\": invalid syntax");
    EXPECT_EQ(error("0x1.8"),
              "1:1: error parsing number: strconv.ParseFloat: parsing \"0x1.8\": invalid syntax");
    EXPECT_EQ(error("0xfffffffffffffffff"),
              "1:1: error parsing number: strconv.ParseFloat: parsing \"0xfffffffffffffffff\": "
              "invalid syntax");
    const std::string huge(320, '9');
    EXPECT_EQ(error(huge), "1:1: error parsing number: strconv.ParseFloat: parsing \"" + huge +
                               "\": value out of range");
    EXPECT_EQ(error("1e400"),
              "1:1: error parsing number: strconv.ParseFloat: parsing \"1e400\": value out of "
              "range");
    EXPECT_EQ(error("0deadbeef"), "1:1: bad number or duration syntax: \"0de\"");
    EXPECT_EQ(error("1_000"), "1:1: bad number or duration syntax: \"1\"");
    EXPECT_EQ(error("."), "1:1: unexpected character: '.'");
    EXPECT_EQ(error("2.5."), "1:4: unexpected character: '.'");
    EXPECT_EQ(error("100..4"), "1:5: unexpected number \".4\"");
    EXPECT_EQ(error("1 2"), "1:3: unexpected number \"2\"");
    EXPECT_EQ(error("12345678901 12345678901"), "1:13: unexpected number \"1234567890\"...");
}

TEST(PromqlParseStrings, QuotesAndEscapes) {
    EXPECT_EQ(parsed(R"("abc")"), "\"abc\"");
    EXPECT_EQ(parsed(R"('abc')"), "\"abc\"");
    EXPECT_EQ(parsed("`abc`"), "\"abc\"");
    EXPECT_EQ(parsed(R"("a\"b")"), "\"a\"b\"");
    EXPECT_EQ(parsed(R"('it\'s')"), "\"it's\"");
    EXPECT_EQ(parsed(R"('say "hi"')"), "\"say \"hi\"\"");
    EXPECT_EQ(parsed(R"("\a\b\f\n\r\t\v\\")"), "\"\a\b\f\n\r\t\v\\\"");
    EXPECT_EQ(parsed(R"("\x41\101\u00e9\U0001F600")"), "\"AA\xc3\xa9\xf0\x9f\x98\x80\"");
    EXPECT_EQ(parsed(R"("\xff")"), "\"\xff\"");       // \x is a byte, as in Go
    EXPECT_EQ(parsed("`a\\nb\"'`"), "\"a\\nb\"'\"");  // no escapes in backticks
    EXPECT_EQ(parsed("`multi\nline`"), "\"multi\nline\"");
    EXPECT_EQ(parsed("\"h\xc3\xa9\""), "\"h\xc3\xa9\"");
}

TEST(PromqlParseStrings, Errors) {
    EXPECT_EQ(error(R"("abc)"), "1:1: unterminated quoted string");
    EXPECT_EQ(error("'abc"), "1:1: unterminated quoted string");
    EXPECT_EQ(error("\"a\nb\""), "1:1: unterminated quoted string");
    EXPECT_EQ(error("1 + `abc"), "1:5: unterminated raw string");
    EXPECT_EQ(error("`\\``"), "1:4: unterminated raw string");
    EXPECT_EQ(error(R"("\)"), "1:1: escape sequence not terminated");
    EXPECT_EQ(error(R"("\c")"), "1:1: unknown escape sequence U+0063 'c'");
    EXPECT_EQ(error(R"('\"')"), "1:1: unknown escape sequence U+0022 '\"'");
    EXPECT_EQ(error(R"("\'")"), "1:1: unknown escape sequence U+0027 '''");
    EXPECT_EQ(error(R"("\x.")"), "1:1: illegal character U+002E '.' in escape sequence");
    EXPECT_EQ(error(R"("\x4g")"), "1:1: illegal character U+0067 'g' in escape sequence");
    EXPECT_EQ(error(R"("\08")"), "1:1: illegal character U+0038 '8' in escape sequence");
    EXPECT_EQ(error(R"("\777")"), "1:1: escape sequence is an invalid Unicode code point");
    EXPECT_EQ(error(R"("\uD800")"), "1:1: escape sequence is an invalid Unicode code point");
    EXPECT_EQ(error(R"("\U00110000")"), "1:1: escape sequence is an invalid Unicode code point");
    EXPECT_EQ(error("some_metric{a=\"\xff\"}"), "1:15: invalid UTF-8 rune");
    EXPECT_EQ(error("label_replace(a, `b`, `c\xff`, `d`, `.*`)"), "1:23: invalid UTF-8 rune");
    EXPECT_EQ(error("foo \"a long string value\""), "1:5: unexpected string \"\\\"a long st\"...");
    EXPECT_EQ(error("foo 'x'"), "1:5: unexpected string \"'x'\"");
}

// ---- selectors --------------------------------------------------------------------------

TEST(PromqlParseSelectors, InstantSelectors) {
    EXPECT_EQ(parsed("foo"), "foo{__name__=\"foo\"}");
    EXPECT_EQ(parsed(R"(foo{a="b", c!="d", e=~"f.*", g!~"h"})"),
              R"(foo{__name__="foo",a="b",c!="d",e=~"f.*",g!~"h"})");
    EXPECT_EQ(parsed(R"(foo{a="b",})"), R"(foo{__name__="foo",a="b"})");  // trailing comma
    EXPECT_EQ(parsed("foo{}"), "foo{__name__=\"foo\"}");
    EXPECT_EQ(parsed("foo {} "), "foo{__name__=\"foo\"}");
    EXPECT_EQ(parsed(R"({__name__="foo"})"), R"({__name__="foo"})");
    EXPECT_EQ(parsed(R"({__name__=~"foo|bar", job="x"})"), R"({__name__=~"foo|bar",job="x"})");
    EXPECT_EQ(parsed(R"({a!=""})"), R"({a!=""})");
    EXPECT_EQ(parsed(R"({a=~".+"})"), R"({a=~".+"})");
    EXPECT_EQ(parsed(R"({a!~".*"})"), R"({a!~".*"})");
    EXPECT_EQ(parsed(R"({a="", b="x"})"), R"({a="",b="x"})");
    EXPECT_EQ(parsed(R"(foo{a=""})"), R"(foo{__name__="foo",a=""})");
    // Metric names with colons, starting with one, and keywords as metric names.
    EXPECT_EQ(parsed("job:rate5m:sum"), "job:rate5m:sum{__name__=\"job:rate5m:sum\"}");
    EXPECT_EQ(parsed(":foo"), ":foo{__name__=\":foo\"}");
    EXPECT_EQ(parsed("by"), "by{__name__=\"by\"}");
    EXPECT_EQ(parsed("sum"), "sum{__name__=\"sum\"}");
    EXPECT_EQ(parsed("SUM"), "SUM{__name__=\"SUM\"}");
    EXPECT_EQ(parsed("topk"), "topk{__name__=\"topk\"}");
    EXPECT_EQ(parsed("offset"), "offset{__name__=\"offset\"}");
    EXPECT_EQ(parsed("and"), "and{__name__=\"and\"}");
    EXPECT_EQ(parsed("start + end"), "(start{__name__=\"start\"} + end{__name__=\"end\"})");
    EXPECT_EQ(parsed(R"(sum{job="x"})"), R"(sum{__name__="sum",job="x"})");
    // Keywords are plain label names inside braces.
    EXPECT_EQ(parsed(R"(foo{by="1", on="2", nan="3", offset="4"})"),
              R"(foo{__name__="foo",by="1",on="2",nan="3",offset="4"})");
    EXPECT_EQ(parsed("foo{a='b', c=`d\\`}"), R"(foo{__name__="foo",a="b",c="d\"})");
    EXPECT_EQ(parsed("foo{a=\"b\", # comment\n c=\"d\"}"), R"(foo{__name__="foo",a="b",c="d"})");
}

TEST(PromqlParseSelectors, RangeSelectors) {
    EXPECT_EQ(parsed("foo[5m]"), "foo{__name__=\"foo\"}[300000ms]");
    EXPECT_EQ(parsed(R"(foo{a="b"}[1h30m])"), R"(foo{__name__="foo",a="b"}[5400000ms])");
    EXPECT_EQ(parsed(R"({a="b"}[500ms])"), R"({a="b"}[500ms])");
    EXPECT_EQ(parsed("foo[30s]"), "foo{__name__=\"foo\"}[30000ms]");
    EXPECT_EQ(parsed("foo[2d]"), "foo{__name__=\"foo\"}[172800000ms]");
    EXPECT_EQ(parsed("foo[1w]"), "foo{__name__=\"foo\"}[604800000ms]");
    EXPECT_EQ(parsed("foo[1y]"), "foo{__name__=\"foo\"}[31536000000ms]");
    EXPECT_EQ(parsed("foo[1y2w3d4h5m6s7ms]"), "foo{__name__=\"foo\"}[33019506007ms]");
    EXPECT_EQ(parsed("foo[ 5m ]"), "foo{__name__=\"foo\"}[300000ms]");
    EXPECT_EQ(parsed("foo [5m]"), "foo{__name__=\"foo\"}[300000ms]");
    EXPECT_EQ(parsed("foo[1h0m]"), "foo{__name__=\"foo\"}[3600000ms]");
    EXPECT_EQ(parsed("foo[292y]"), "foo{__name__=\"foo\"}[9208512000000ms]");
}

TEST(PromqlParseSelectors, Errors) {
    const std::string empty = "vector selector must contain at least one non-empty matcher";
    EXPECT_EQ(error("{}"), "1:1: " + empty);
    EXPECT_EQ(error(R"({x=""})"), "1:1: " + empty);
    EXPECT_EQ(error(R"({x=~".*"})"), "1:1: " + empty);
    EXPECT_EQ(error(R"({x!~".+"})"), "1:1: " + empty);
    EXPECT_EQ(error(R"({x!="a"})"), "1:1: " + empty);
    EXPECT_EQ(error(R"({x=~"a|"})"), "1:1: " + empty);
    EXPECT_EQ(error(R"(1 + {x!="a"}[5m])"), "1:5: " + empty);
    EXPECT_EQ(error(R"(foo{__name__="bar"})"),
              "1:1: metric name must not be set twice: \"foo\" or \"bar\"");
    EXPECT_EQ(error(R"(foo{__name__=~"bar"})"),
              "1:1: metric name must not be set twice: \"foo\" or \"bar\"");
    EXPECT_EQ(error("some_metric{a=b}"),
              "1:15: unexpected identifier \"b\" in label matching, expected string");
    EXPECT_EQ(error("foo{__name__= =}"),
              "1:15: unexpected \"=\" in label matching, expected string");
    EXPECT_EQ(error("foo{__name__ == \"bar\"}"),
              "1:15: unexpected \"=\" in label matching, expected string");
    EXPECT_EQ(error("foo{gibberish}"),
              "1:14: unexpected \"}\" in label matching, expected label matching operator");
    EXPECT_EQ(error("foo{a}"),
              "1:6: unexpected \"}\" in label matching, expected label matching operator");
    EXPECT_EQ(error("foo{,}"),
              "1:5: unexpected \",\" in label matching, expected identifier or \"}\"");
    EXPECT_EQ(error(R"(foo{a="b",,})"),
              "1:11: unexpected \",\" in label matching, expected identifier or \"}\"");
    EXPECT_EQ(error(R"(foo{__name__="bar" lol})"),
              "1:20: unexpected identifier \"lol\" in label matching, expected \",\" or \"}\"");
    EXPECT_EQ(error(R"(foo{a="b" =~ "c"})"),
              "1:11: unexpected <op:=~> in label matching, expected \",\" or \"}\"");
    EXPECT_EQ(error(R"(foo{a:b="b"})"), "1:6: unexpected character inside braces: ':'");
    EXPECT_EQ(error(R"(foo{a*"b"})"), "1:6: unexpected character inside braces: '*'");
    EXPECT_EQ(error(R"(foo{a>="b"})"), "1:6: unexpected character inside braces: '>'");
    EXPECT_EQ(error("foo{1}"), "1:5: unexpected character inside braces: '1'");
    EXPECT_EQ(error("foo{a!b}"), "1:6: unexpected character after '!' inside braces: 'b'");
    EXPECT_EQ(error("foo{{"), "1:5: unexpected left brace '{'");
    EXPECT_EQ(error("{"), "1:2: unexpected end of input inside braces");
    EXPECT_EQ(error("some{"), "1:6: unexpected end of input inside braces");
    EXPECT_EQ(error("}"), "1:1: unexpected character: '}'");
    EXPECT_EQ(error("some}"), "1:5: unexpected character: '}'");
    EXPECT_EQ(error("foo{a=\"b\"}{c=\"d\"}"), "1:11: unexpected \"{\"");
}

TEST(PromqlParseSelectors, RangeErrors) {
    EXPECT_EQ(error("foo[5mm]"), "1:5: bad duration syntax: \"5mm\"");
    EXPECT_EQ(error("foo[5m1]"), "1:5: bad duration syntax: \"5m1\"");
    EXPECT_EQ(error("foo[1y2y]"), "1:5: bad duration syntax: \"1y2\"");
    EXPECT_EQ(error("foo[5y1hs]"), "1:5: not a valid duration string: \"5y1hs\"");
    EXPECT_EQ(error("foo[5m1h]"), "1:5: not a valid duration string: \"5m1h\"");
    EXPECT_EQ(error("foo[5m1m]"), "1:5: not a valid duration string: \"5m1m\"");
    EXPECT_EQ(error("foo[1.5h]"), "1:5: not a valid duration string: \"1.5h\"");
    EXPECT_EQ(error("foo[0x5m]"), "1:5: not a valid duration string: \"0x5m\"");
    EXPECT_EQ(error("foo[0m]"), "1:5: duration must be greater than 0");
    EXPECT_EQ(error("foo[0s0ms]"), "1:5: duration must be greater than 0");
    EXPECT_EQ(error("foo[293y]"), "1:5: duration out of range");
    EXPECT_EQ(error("foo[292y52w]"), "1:5: duration out of range");
    EXPECT_EQ(error("foo[99999999999999999999999ms]"), "1:5: duration out of range");
    EXPECT_EQ(error("foo[]"), "1:5: missing unit character in duration");
    EXPECT_EQ(error("foo[1]"), "1:5: missing unit character in duration");
    EXPECT_EQ(error("foo["), "1:5: missing unit character in duration");
    EXPECT_EQ(error("foo[5m"), "1:7: unclosed left bracket");
    EXPECT_EQ(error("foo[5m]]"), "1:8: unexpected right bracket ']'");
    EXPECT_EQ(error("foo[5m[1m]]"), "1:7: unexpected left bracket '['");
    EXPECT_EQ(error("foo[5m 1m]"),
              "1:8: unexpected duration \"1m\" in subquery or range, expected \":\" or \"]\"");
    EXPECT_EQ(error("(foo + bar)[5m]"), "1:12: ranges only allowed for vector selectors");
    EXPECT_EQ(error("(foo)[5m]"), "1:6: ranges only allowed for vector selectors");
    EXPECT_EQ(error("foo[5m][5m]"), "1:8: ranges only allowed for vector selectors");
    EXPECT_EQ(error("rate(food[1m])[1h]"), "1:15: ranges only allowed for vector selectors");
    EXPECT_EQ(error("1[5m]"), "1:2: ranges only allowed for vector selectors");
    EXPECT_EQ(error("5m"), "1:1: unexpected duration \"5m\"");
    EXPECT_EQ(error("foo + 5m"), "1:7: unexpected duration \"5m\"");
}

// ---- regular expressions -----------------------------------------------------------------

// A regex matcher on `pattern` (in backticks, so as written), and its error.
std::string regex_error(const std::string &pattern) {
    return error("foo{a=~`" + pattern + "`}");
}

TEST(PromqlParseRegex, PrometheusErrors) {
    // Go's regexp errors, as Prometheus reports them: first for ^(?:pattern)$, then for the
    // pattern alone.
    const std::string e = "1:5: error parsing regexp: ";
    EXPECT_EQ(error(R"(foo{job="x", a=~"(abc"})"),
              "1:14: error parsing regexp: missing closing ): `^(?:(abc)$`");
    EXPECT_EQ(regex_error("[a-"), e + "invalid character class range: `a-)`");
    EXPECT_EQ(regex_error("[a"), e + "missing closing ]: `[a)$`");
    EXPECT_EQ(regex_error("a)|(b"), e + "unexpected ): `a)|(b`");
    EXPECT_EQ(regex_error("(a))"), e + "unexpected ): `^(?:(a)))$`");
    EXPECT_EQ(regex_error("x\\"), e + "missing closing ): `^(?:x\\)$`");
    EXPECT_EQ(regex_error("a**"), e + "invalid nested repetition operator: `**`");
    EXPECT_EQ(regex_error("a+*"), e + "invalid nested repetition operator: `+*`");
    EXPECT_EQ(regex_error("a*??"), e + "invalid nested repetition operator: `*??`");
    EXPECT_EQ(regex_error("x{2}{3}"), e + "invalid nested repetition operator: `{2}{3}`");
    EXPECT_EQ(regex_error("x{2}??"), e + "invalid nested repetition operator: `{2}??`");
    EXPECT_EQ(regex_error("x{1001}"), e + "invalid repeat count: `{1001}`");
    EXPECT_EQ(regex_error("x{1000,1001}"), e + "invalid repeat count: `{1000,1001}`");
    EXPECT_EQ(regex_error("x{3,2}"), e + "invalid repeat count: `{3,2}`");
    // Nested counted repetitions: at most 1000 copies in all.
    EXPECT_EQ(regex_error("(a{1000}){100}"), e + "invalid repeat count: `{100}`");
    EXPECT_EQ(regex_error("((a{10}){10}){11}?"), e + "invalid repeat count: `{11}?`");
    EXPECT_EQ(parsed("foo{a=~`((a{10})*){10}(b{0}){1000}`}"),
              "foo{__name__=\"foo\",a=~\"((a{10})*){10}(b{0}){1000}\"}");
    EXPECT_EQ(regex_error("*a"), e + "missing argument to repetition operator: `*`");
    EXPECT_EQ(regex_error("a|+?"), e + "missing argument to repetition operator: `+?`");
    EXPECT_EQ(regex_error("(?i)*"), e + "missing argument to repetition operator: `*`");
    EXPECT_EQ(regex_error("(a)\\1"), e + "invalid escape sequence: `\\1`");
    EXPECT_EQ(regex_error("\\C"), e + "invalid escape sequence: `\\C`");
    EXPECT_EQ(regex_error("\\q"), e + "invalid escape sequence: `\\q`");
    EXPECT_EQ(regex_error("\\xZ1"), e + "invalid escape sequence: `\\xZ1`");
    EXPECT_EQ(regex_error("\\x{}"), e + "invalid escape sequence: `\\x{}`");
    EXPECT_EQ(regex_error("[\\b]"), e + "invalid escape sequence: `\\b`");
    EXPECT_EQ(regex_error("[\\z]"), e + "invalid escape sequence: `\\z`");
    EXPECT_EQ(regex_error("x(?=y)"), e + "invalid or unsupported Perl syntax: `(?=`");
    EXPECT_EQ(regex_error("(?<n>x)"), e + "invalid or unsupported Perl syntax: `(?<`");
    EXPECT_EQ(regex_error("(?i-)x"), e + "invalid or unsupported Perl syntax: `(?i-)`");
    EXPECT_EQ(regex_error("(?P<n!>x)"), e + "invalid named capture: `(?P<n!>`");
    EXPECT_EQ(regex_error("[[:foo:]]"), e + "invalid character class range: `[:foo:]`");
    EXPECT_EQ(regex_error("[z-a]"), e + "invalid character class range: `z-a`");
    EXPECT_EQ(regex_error("\\pX"), e + "invalid character class range: `\\pX`");
    EXPECT_EQ(regex_error("[\\p"), e + "invalid character class range: `\\p)`");
    EXPECT_EQ(error("foo{a=~\"\\xff\"}"), e + "invalid UTF-8: `\xff)$`");
}

TEST(PromqlParseRegex, Re2SyntaxIsAccepted) {
    // RE2 syntax, as Go's regexp has it: accepted as written (the evaluator runs RE2).
    for (const char *p : {"(?i)abc",
                          "(?s).",
                          "(?i:a)b",
                          "(?-i:a)",
                          "(?P<name>x)",
                          "(?P<n>a)|(?P<n>b)",
                          "\\Afoo\\z",
                          "\\x{41}\\x41",
                          "\\Qa.b\\E",
                          "a{,3}",
                          "x{a}",
                          "x{2",
                          "[]a]",
                          "[^]a]",
                          "\\_\\.\\-",
                          "[[:alpha:]][[:digit:]]",
                          "a|",
                          "(?:a|b)+?",
                          "x{0}y{2,}",
                          "[\\d\\-\\]a-z]",
                          "\\d\\D\\s\\S\\w\\W\\bx\\B",
                          "\\a\\f\\t\\n\\r\\v",
                          "é+",
                          "(?)x",
                          "a*(?i)b",
                          "(?m)^a$",
                          "(?U)a+",
                          "(?i-s:a.)",
                          "\\pL+\\PN",
                          "[\\p{Greek}a]\\p{^Latin}",
                          "\\012\\0",
                          "[[:word:]][[:^alpha:]][[:ascii:]]",
                          "[^\\x00-\\x{10FFFF}]",
                          "\\pL{1000}"}) {
        EXPECT_EQ(parsed("foo{a=~`" + std::string(p) + "`}"),
                  "foo{__name__=\"foo\",a=~\"" + std::string(p) + "\"}");
    }
    EXPECT_EQ(parsed(R"(foo{a!~"x"})"), R"(foo{__name__="foo",a!~"x"})");
    // No limit of pulse's own on length, size or nesting below Go's.
    for (const std::string &p : {std::string(100000, 'a'), "(" + std::string(60, 'a') + "){1000}",
                                 std::string(998, '(') + "a" + std::string(998, ')'),
                                 std::string(499, '(') + "a*" + std::string(499, ')')}) {
        EXPECT_EQ(regex_error(p), "parsed: foo{__name__=\"foo\",a=~\"" + p + "\"}") << p.size();
    }
}

TEST(PromqlParseRegex, NestingDepthIsGos) {
    // Go refuses a parse tree more than 1000 high, naming the anchored pattern: ^(?:...)$
    // and 999 groups make 1001 (a capture and a repetition are a level each).
    auto nests = [](const std::string &p) {
        return "1:5: error parsing regexp: expression nests too deeply: `^(?:" + p + ")$`";
    };
    const std::string groups = std::string(999, '(') + "a" + std::string(999, ')');
    EXPECT_EQ(regex_error(groups), nests(groups));
    std::string stars;
    for (int i = 0; i < 500; ++i) stars += "(a*";
    stars += std::string(500, ')');
    EXPECT_EQ(regex_error(stars), nests(stars));
    // Non-capturing groups add no level in Go's tree; pulse's checker still stops at 1000
    // groups deep (Go would accept this one).
    const std::string redundant = "(?:" + std::string(999, '(') + "a" + std::string(1000, ')');
    EXPECT_EQ(regex_error(redundant).substr(0, 56),
              "1:5: error parsing regexp: expression nests too deeply: ");
    // An error Go finds first is reported first.
    EXPECT_EQ(regex_error("[" + groups),
              "1:5: error parsing regexp: missing closing ]: `[" + groups + ")$`");
}

TEST(PromqlParseRegex, WhatRe2RefusesIsNotSupported) {
    // Go accepts this (5000 instructions); RE2, whose \pL is hundreds of byte ranges, goes
    // over the memory budget the evaluator gives one pattern.
    const std::string big = "(?:\\pL\\pL\\pL\\pL\\pL){1000}";
    const std::string quoted = "(?:\\\\pL\\\\pL\\\\pL\\\\pL\\\\pL){1000}";  // as Go's %q
    EXPECT_EQ(regex_error(big), "1:5: regular expression \"" + quoted +
                                    "\" is not supported by pulse: RE2 refuses it (pattern too "
                                    "large - compile failed)");
    EXPECT_EQ(error("label_replace(x, \"dst\", \"\", \"src\", `" + big + "`)"),
              "1:36: regular expression \"" + quoted +
                  "\" in label_replace() is not supported by pulse: RE2 refuses it (pattern too "
                  "large - compile failed)");
    // Go's errors come first: Prometheus refuses these too.
    EXPECT_EQ(regex_error(big + "("),
              "1:5: error parsing regexp: missing closing ): `^(?:" + big + "()$`");
}

TEST(PromqlParseRegex, MatchesEmptyString) {
    // The non-empty matcher rule follows RE2's semantics (anchored) for "".
    const std::string empty = "1:1: vector selector must contain at least one non-empty matcher";
    for (const char *p : {"(?i)", "x*", "\\B", "^$", "(?:)", "a{0}", "a{0,2}", "\\Q\\E", "a|",
                          "(a|b)?", "\\A\\z", "(?i:x)*"}) {
        EXPECT_EQ(error("{a=~`" + std::string(p) + "`}"), empty) << p;
    }
    for (const char *p : {"x+", "\\b", "a{1,}", "\\Qab\\E*", ".", "[^a]", "\\d*x", "(a|b)"}) {
        EXPECT_EQ(error("{a=~`" + std::string(p) + "`}"), "parsed: {a=~\"" + std::string(p) + "\"}")
            << p;
    }
    EXPECT_EQ(error("{a!~`a{1,}`}"), empty);  // does not match "", so !~ does
    EXPECT_EQ(error("{a!~`x*`}"), "parsed: {a!~\"x*\"}");
}

// ---- functions ----------------------------------------------------------------------------

TEST(PromqlParseFunctions, SupportedFunctions) {
    for (const char *f : {"rate", "irate", "increase", "delta", "avg_over_time", "max_over_time",
                          "min_over_time", "last_over_time"}) {
        EXPECT_EQ(parsed(std::string(f) + "(foo[5m])"),
                  std::string(f) + "(foo{__name__=\"foo\"}[300000ms])");
    }
    EXPECT_EQ(parsed("histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))"),
              "histogram_quantile(0.9, sum by (le) (rate(x_bucket{__name__=\"x_bucket\"}"
              "[300000ms])))");
    EXPECT_EQ(parsed(R"e(label_replace(up, "dst", "$1", "src", "(.*)"))e"),
              R"e(label_replace(up{__name__="up"}, "dst", "$1", "src", "(.*)"))e");
    EXPECT_EQ(parsed(R"(label_replace(up, ("dst"), '$1', `src`, ""))"),
              R"(label_replace(up{__name__="up"}, "dst", "$1", "src", ""))");
    EXPECT_EQ(parsed("clamp_min(foo, 0)"), "clamp_min(foo{__name__=\"foo\"}, 0)");
    EXPECT_EQ(parsed("clamp_max(foo, -1 * 2)"), "clamp_max(foo{__name__=\"foo\"}, (-1 * 2))");
    EXPECT_EQ(parsed("scalar(foo)"), "scalar(foo{__name__=\"foo\"})");
    EXPECT_EQ(parsed("vector(1)"), "vector(1)");
    EXPECT_EQ(parsed("vector(scalar(foo))"), "vector(scalar(foo{__name__=\"foo\"}))");
    EXPECT_EQ(parsed("histogram_quantile(scalar(q), b)"),
              "histogram_quantile(scalar(q{__name__=\"q\"}), b{__name__=\"b\"})");
    EXPECT_EQ(parsed("rate (foo[5m])"), "rate(foo{__name__=\"foo\"}[300000ms])");
    EXPECT_EQ(parsed("rate((foo[5m]))"), "rate(foo{__name__=\"foo\"}[300000ms])");
    // A function name is only a function before '('.
    EXPECT_EQ(parsed("rate"), "rate{__name__=\"rate\"}");
}

TEST(PromqlParseFunctions, TypeAndArityErrors) {
    EXPECT_EQ(error("rate(foo)"),
              "1:6: expected type range vector in call to function \"rate\", got instant vector");
    EXPECT_EQ(error("rate((foo))"),
              "1:6: expected type range vector in call to function \"rate\", got instant vector");
    EXPECT_EQ(error("rate(1)"),
              "1:6: expected type range vector in call to function \"rate\", got scalar");
    EXPECT_EQ(error("delta(\"x\")"),
              "1:7: expected type range vector in call to function \"delta\", got string");
    EXPECT_EQ(error("rate(avg)"),
              "1:6: expected type range vector in call to function \"rate\", got instant vector");
    EXPECT_EQ(error("rate(foo[5m], foo[5m])"),
              "1:1: expected 1 argument(s) in call to \"rate\", got 2");
    EXPECT_EQ(error("1 + rate()"), "1:5: expected 1 argument(s) in call to \"rate\", got 0");
    EXPECT_EQ(error("histogram_quantile(x, y)"),
              "1:20: expected type scalar in call to function \"histogram_quantile\", got "
              "instant vector");
    EXPECT_EQ(error("histogram_quantile(0.5, y[5m])"),
              "1:25: expected type instant vector in call to function \"histogram_quantile\", "
              "got range vector");
    EXPECT_EQ(error("histogram_quantile(0.5)"),
              "1:1: expected 2 argument(s) in call to \"histogram_quantile\", got 1");
    EXPECT_EQ(error("clamp_min(1, 1)"),
              "1:11: expected type instant vector in call to function \"clamp_min\", got scalar");
    EXPECT_EQ(error("clamp_max(x, x)"),
              "1:14: expected type scalar in call to function \"clamp_max\", got instant vector");
    EXPECT_EQ(error("vector(x)"),
              "1:8: expected type scalar in call to function \"vector\", got instant vector");
    EXPECT_EQ(error("scalar(1)"),
              "1:8: expected type instant vector in call to function \"scalar\", got scalar");
    EXPECT_EQ(error(R"(label_replace(x, 1, "", "src", ".*"))"),
              "1:18: expected type string in call to function \"label_replace\", got scalar");
    EXPECT_EQ(error(R"(label_replace(x, "dst", "", "src"))"),
              "1:1: expected 5 argument(s) in call to \"label_replace\", got 4");
    // The arity comes before the arguments' own errors, as in Prometheus' checkAST.
    EXPECT_EQ(error("rate({}, 1)"), "1:1: expected 1 argument(s) in call to \"rate\", got 2");
    EXPECT_EQ(error("rate({}[5m])"),
              "1:6: vector selector must contain at least one non-empty matcher");
}

TEST(PromqlParseFunctions, LabelReplaceArguments) {
    EXPECT_EQ(error(R"(label_replace(x, "a-b", "", "src", ".*"))"),
              "1:18: invalid destination label name in label_replace(): a-b");
    EXPECT_EQ(error(R"(label_replace(x, "", "", "src", ".*"))"),
              "1:18: invalid destination label name in label_replace(): ");
    EXPECT_EQ(error(R"(label_replace(x, "dst", "", "src", "(.*"))"),
              "1:36: invalid regular expression in label_replace(): (.*");
    EXPECT_EQ(error(R"e(label_replace(x, "dst", "", "src", ("x(?!y)")))e"),
              "1:36: invalid regular expression in label_replace(): x(?!y)");
    // Only the anchored form is compiled, as in Prometheus.
    EXPECT_EQ(parsed(R"e(label_replace(x, "dst", "", "src", "a)|(b"))e"),
              R"e(label_replace(x{__name__="x"}, "dst", "", "src", "a)|(b"))e");
    EXPECT_EQ(parsed(R"(label_replace(x, "dst", "", "src", "\\pL"))"),
              R"(label_replace(x{__name__="x"}, "dst", "", "src", "\pL"))");
    // The regular expression is checked before the destination, as in Prometheus.
    EXPECT_EQ(error(R"(label_replace(x, "1", "", "src", "("))"),
              "1:34: invalid regular expression in label_replace(): (");
}

TEST(PromqlParseFunctions, UnknownAndUnsupported) {
    EXPECT_EQ(error("foo()"), "1:1: unknown function \"foo\"");
    EXPECT_EQ(error("non_existent_function_far_bar(x)"),
              "1:1: unknown function \"non_existent_function_far_bar\"");
    EXPECT_EQ(error("a>b()"), "1:3: unknown function \"b\"");
    EXPECT_EQ(error("RATE(x[5m])"), "1:1: unknown function \"RATE\"");
    EXPECT_EQ(error("abs(x)"), "1:1: function \"abs\" is not supported by pulse (supported: " +
                                   kSupportedFunctions + ")");
    EXPECT_EQ(error("1 + sum_over_time(x[5m])"),
              "1:5: function \"sum_over_time\" is not supported by pulse (supported: " +
                  kSupportedFunctions + ")");
    for (const char *f : {"label_join", "time", "holt_winters", "histogram_fraction", "year",
                          "quantile_over_time", "absent", "sort_desc", "clamp"}) {
        EXPECT_EQ(error(std::string(f) + "()"),
                  "1:1: function \"" + std::string(f) +
                      "\" is not supported by pulse (supported: " + kSupportedFunctions + ")");
    }
    // Syntax errors inside the call come first, as in Prometheus.
    EXPECT_EQ(error("foo(1 +)"), "1:8: unexpected \")\"");
}

TEST(PromqlParseFunctions, SyntaxErrors) {
    EXPECT_EQ(error("rate(x[5m],)"), "1:11: trailing commas not allowed in function call args");
    EXPECT_EQ(error("rate(,x[5m])"), "1:6: unexpected \",\"");
    // A comma that no argument follows is a trailing comma, as in Prometheus.
    EXPECT_EQ(error("rate(x, @)"), "1:7: trailing commas not allowed in function call args");
    EXPECT_EQ(error("vector(1, , 2)"), "1:9: trailing commas not allowed in function call args");
    EXPECT_EQ(error("vector(1, ])"), "1:11: unexpected right bracket ']'");
    EXPECT_EQ(error("vector(1, +)"), "1:12: unexpected \")\"");
    EXPECT_EQ(error("rate(x[5m] x)"), "1:12: unexpected identifier \"x\"");
    EXPECT_EQ(error("rate(x[5m]"), "1:11: unclosed left parenthesis");
    EXPECT_EQ(error("rate(x[5m]))"), "1:12: unexpected right parenthesis ')'");
    EXPECT_EQ(error("a:b(x)"), "1:4: unexpected \"(\"");
    EXPECT_EQ(error("start()"), "1:6: unexpected \"(\"");
    EXPECT_EQ(error("end()"), "1:4: unexpected \"(\"");
}

// ---- aggregations -------------------------------------------------------------------------

TEST(PromqlParseAggregations, Forms) {
    EXPECT_EQ(parsed("sum(x)"), "sum(x{__name__=\"x\"})");
    EXPECT_EQ(parsed("sum by (job) (x)"), "sum by (job) (x{__name__=\"x\"})");
    EXPECT_EQ(parsed("sum(x) by (job)"), "sum by (job) (x{__name__=\"x\"})");
    EXPECT_EQ(parsed("avg without (a, b,) (x)"), "avg without (a,b) (x{__name__=\"x\"})");
    EXPECT_EQ(parsed("avg(x) without (a)"), "avg without (a) (x{__name__=\"x\"})");
    EXPECT_EQ(parsed("max without () (x)"), "max without () (x{__name__=\"x\"})");
    EXPECT_EQ(parsed("max by () (x)"), "max(x{__name__=\"x\"})");
    EXPECT_EQ(parsed("min(x)"), "min(x{__name__=\"x\"})");
    EXPECT_EQ(parsed("count(x)"), "count(x{__name__=\"x\"})");
    EXPECT_EQ(parsed("SUM BY (job) (x)"), "sum by (job) (x{__name__=\"x\"})");
    EXPECT_EQ(parsed("Count(x)"), "count(x{__name__=\"x\"})");
    // Keywords are label names in grouping lists (as written).
    EXPECT_EQ(parsed("sum by (by, on, sum, offset, bool, group_left, start, BY) (x)"),
              "sum by (by,on,sum,offset,bool,group_left,start,BY) (x{__name__=\"x\"})");
    EXPECT_EQ(parsed("sum(rate(x[5m])) by (job) / 2"),
              "(sum by (job) (rate(x{__name__=\"x\"}[300000ms])) / 2)");
    EXPECT_EQ(parsed("sum(sum(x))"), "sum(sum(x{__name__=\"x\"}))");
    EXPECT_EQ(parsed("sum(-x)"), "sum((-x{__name__=\"x\"}))");
    EXPECT_EQ(parsed("sum(x + 1)"), "sum((x{__name__=\"x\"} + 1))");
}

TEST(PromqlParseAggregations, Errors) {
    const std::string unsupported =
        "\" is not supported by pulse (supported: sum, avg, max, min, count)";
    EXPECT_EQ(error("topk(5, x)"), "1:1: aggregation \"topk" + unsupported);
    EXPECT_EQ(error("1 + bottomk by (a) (5, x)"), "1:5: aggregation \"bottomk" + unsupported);
    EXPECT_EQ(error("quantile(0.9, x)"), "1:1: aggregation \"quantile" + unsupported);
    EXPECT_EQ(error("count_values(\"v\", x)"), "1:1: aggregation \"count_values" + unsupported);
    EXPECT_EQ(error("stddev(x)"), "1:1: aggregation \"stddev" + unsupported);
    EXPECT_EQ(error("STDVAR(x)"), "1:1: aggregation \"stdvar" + unsupported);
    EXPECT_EQ(error("group(x)"), "1:1: aggregation \"group" + unsupported);
    EXPECT_EQ(error("topk(some_metric,)"),
              "1:17: trailing commas not allowed in function call args");
    EXPECT_EQ(error("sum(x, y)"),
              "1:1: wrong number of arguments for aggregate expression provided, expected 1, got "
              "2");
    EXPECT_EQ(error("sum () by (test)"), "1:1: no arguments for aggregate expression provided");
    EXPECT_EQ(error("sum(1)"),
              "1:5: expected type instant vector in aggregation expression, got scalar");
    EXPECT_EQ(error("sum((x[5m]))"),
              "1:5: expected type instant vector in aggregation expression, got range vector");
    EXPECT_EQ(error("sum(\"x\")"),
              "1:5: expected type instant vector in aggregation expression, got string");
    EXPECT_EQ(error("sum(x) without (test) by (test)"), "1:23: unexpected <by>");
    EXPECT_EQ(error("sum without (test) (x) by (test)"), "1:24: unexpected <by>");
    EXPECT_EQ(error("sum without(==)(x)"),
              "1:13: unexpected <op:==> in grouping opts, expected label");
    EXPECT_EQ(error("sum without(,)(x)"),
              "1:13: unexpected \",\" in grouping opts, expected label");
    EXPECT_EQ(error("sum without(foo,,)(x)"),
              "1:17: unexpected \",\" in grouping opts, expected label");
    EXPECT_EQ(error("sum by (a:b) (x)"),
              "1:9: unexpected metric identifier \"a:b\" in grouping opts, expected label");
    EXPECT_EQ(error("sum by (nan) (x)"),
              "1:9: unexpected number \"nan\" in grouping opts, expected label");
    EXPECT_EQ(error("sum by (a b) (x)"),
              "1:11: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\"");
    EXPECT_EQ(error("sum (x) by test"),
              "1:12: unexpected identifier \"test\" in grouping opts, expected \"(\"");
    EXPECT_EQ(error("sum(x) by"), "1:10: unexpected end of input in grouping opts, expected \"(\"");
    EXPECT_EQ(error("sum by (job) x"), "1:14: unexpected identifier \"x\" in aggregation");
    // Syntax errors inside an aggregation's arguments name it, as in Prometheus.
    EXPECT_EQ(error("sum(x-)"), "1:7: unexpected \")\" in aggregation");
    EXPECT_EQ(error("sum by (a) (x y)"), "1:15: unexpected identifier \"y\" in aggregation");
    EXPECT_EQ(error("vector(1) + sum(rate(x-))"), "1:24: unexpected \")\" in aggregation");
    EXPECT_EQ(error("rate(sum((x*)))"), "1:13: unexpected \")\" in aggregation");
    EXPECT_EQ(error("sum(x, @)"), "1:6: trailing commas not allowed in function call args");
    EXPECT_EQ(error("sum(foo{a=})"), "1:11: unexpected \"}\" in label matching, expected string");
    EXPECT_EQ(error("sum(x) y"), "1:8: unexpected identifier \"y\"");
    EXPECT_EQ(error("(sum(x) y)"), "1:9: unexpected identifier \"y\"");
    EXPECT_EQ(error("sum some_metric by (test)"), "1:5: unexpected identifier \"some_metric\"");
    EXPECT_EQ(error("MIN keep_common (some_metric)"), "1:5: unexpected identifier \"keep_common\"");
    EXPECT_EQ(error("MIN (some_metric) keep_common"),
              "1:19: unexpected identifier \"keep_common\"");
}

// ---- operators ----------------------------------------------------------------------------

TEST(PromqlParseBinary, PrecedenceAndAssociativity) {
    EXPECT_EQ(parsed("1 + 2 * 3"), "(1 + (2 * 3))");
    EXPECT_EQ(parsed("1 * 2 + 3"), "((1 * 2) + 3)");
    EXPECT_EQ(parsed("a - b - c"), "((a{__name__=\"a\"} - b{__name__=\"b\"}) - c{__name__=\"c\"})");
    EXPECT_EQ(parsed("1 / 2 % 3 * 4"), "(((1 / 2) % 3) * 4)");
    EXPECT_EQ(parsed("2 ^ 3 ^ 2"), "(2 ^ (3 ^ 2))");
    EXPECT_EQ(parsed("2 * 3 ^ 2"), "(2 * (3 ^ 2))");
    EXPECT_EQ(parsed("2 ^ 3 * 2"), "((2 ^ 3) * 2)");
    EXPECT_EQ(parsed("1 + 2 > bool 3 - 4"), "((1 + 2) > bool (3 - 4))");
    EXPECT_EQ(parsed("x == y != z"),
              "((x{__name__=\"x\"} == y{__name__=\"y\"}) != z{__name__=\"z\"})");
    EXPECT_EQ(parsed("x >= 1 <= 2"), "((x{__name__=\"x\"} >= 1) <= 2)");
    EXPECT_EQ(parsed("x > 1 < 2"), "((x{__name__=\"x\"} > 1) < 2)");
    EXPECT_EQ(parsed("(1 + 2) * 3"), "((1 + 2) * 3)");
    EXPECT_EQ(parsed("((x))"), "x{__name__=\"x\"}");
    EXPECT_EQ(parsed("1 - -1"), "(1 - -1)");
    EXPECT_EQ(parsed("1+-+-1"), "(1 + 1)");
    EXPECT_EQ(parsed("a/b"), "(a{__name__=\"a\"} / b{__name__=\"b\"})");
    EXPECT_EQ(parsed("foo -1"), "(foo{__name__=\"foo\"} - 1)");
    EXPECT_EQ(parsed("1 + # comment\n 2"), "(1 + 2)");
}

TEST(PromqlParseBinary, Modifiers) {
    EXPECT_EQ(parsed("a + on(job) b"), "(a{__name__=\"a\"} + on(job) b{__name__=\"b\"})");
    EXPECT_EQ(parsed("a + ignoring(x, y,) b"),
              "(a{__name__=\"a\"} + ignoring(x,y) b{__name__=\"b\"})");
    EXPECT_EQ(parsed("a * on() b"), "(a{__name__=\"a\"} * on() b{__name__=\"b\"})");
    EXPECT_EQ(parsed("a == bool on(job) b"),
              "(a{__name__=\"a\"} == bool on(job) b{__name__=\"b\"})");
    EXPECT_EQ(parsed("a > bool 1"), "(a{__name__=\"a\"} > bool 1)");
    EXPECT_EQ(parsed("1 == bool 2"), "(1 == bool 2)");
    EXPECT_EQ(parsed("a != b"), "(a{__name__=\"a\"} != b{__name__=\"b\"})");
    EXPECT_EQ(parsed("a ON(job) + 1"), "error: 1:3: unexpected <ON>");
    EXPECT_EQ(parsed("a + ON(job) b"), "(a{__name__=\"a\"} + on(job) b{__name__=\"b\"})");
    // Prometheus drops an empty matching clause unless both sides are instant vectors.
    EXPECT_EQ(parsed("1 + on() a"), "(1 + a{__name__=\"a\"})");
    EXPECT_EQ(parsed("a + ignoring() 1"), "(a{__name__=\"a\"} + 1)");
    EXPECT_EQ(parsed("scalar(a) + on() vector(1)"), "(scalar(a{__name__=\"a\"}) + vector(1))");
}

TEST(PromqlParseBinary, TypeErrors) {
    EXPECT_EQ(error("1 == 1"), "1:3: comparisons between scalars must use BOOL modifier");
    EXPECT_EQ(error("scalar(x) > (1)"), "1:11: comparisons between scalars must use BOOL modifier");
    EXPECT_EQ(error("foo + bool bar"),
              "1:5: bool modifier can only be used on comparison operators");
    EXPECT_EQ(error("foo + bool 10"),
              "1:5: bool modifier can only be used on comparison operators");
    EXPECT_EQ(error("a + b[5m]"),
              "1:5: binary expression must contain only scalar and instant vector types");
    EXPECT_EQ(error("a[5m] + b"),
              "1:1: binary expression must contain only scalar and instant vector types");
    EXPECT_EQ(error("1 * (b[5m])"),
              "1:5: binary expression must contain only scalar and instant vector types");
    EXPECT_EQ(error("\"s\" + 1"),
              "1:1: binary expression must contain only scalar and instant vector types");
    EXPECT_EQ(error("foo == on(bar) 10"),
              "1:1: vector matching only allowed between instant vectors");
    EXPECT_EQ(error("(1) + on(bar) foo"),
              "1:1: vector matching only allowed between instant vectors");
    // Operands are checked before the operator.
    EXPECT_EQ(error("rate(x) == 1"),
              "1:6: expected type range vector in call to function \"rate\", got instant vector");
}

TEST(PromqlParseBinary, UnsupportedAndSyntaxErrors) {
    EXPECT_EQ(error("a and b"),
              "1:3: set operator \"and\" is not supported by pulse (supported "
              "operators: " +
                  kSupportedOperators + ")");
    EXPECT_EQ(error("a + b OR c"),
              "1:7: set operator \"or\" is not supported by pulse (supported "
              "operators: " +
                  kSupportedOperators + ")");
    EXPECT_EQ(error("a unless b"),
              "1:3: set operator \"unless\" is not supported by pulse "
              "(supported operators: " +
                  kSupportedOperators + ")");
    EXPECT_EQ(error("a atan2 b"),
              "1:3: operator \"atan2\" is not supported by pulse (supported "
              "operators: " +
                  kSupportedOperators + ")");
    EXPECT_EQ(error("a + on(x) group_left b"),
              "1:11: group_left is not supported by pulse (only one-to-one vector matching)");
    EXPECT_EQ(error("a + ignoring(x) GROUP_RIGHT(y) b"),
              "1:17: group_right is not supported by pulse (only one-to-one vector matching)");
    EXPECT_EQ(error("foo + group_left(baz) bar"), "1:7: unexpected <group_left>");
    EXPECT_EQ(error("a - on(b) ignoring(c) d"), "1:11: unexpected <ignoring>");
    EXPECT_EQ(error("a == on(b) bool c"), "1:12: unexpected <bool>");
    EXPECT_EQ(error("a + on b"),
              "1:8: unexpected identifier \"b\" in grouping opts, expected \"(\"");
    EXPECT_EQ(error("1+"), "1:3: unexpected end of input");
    EXPECT_EQ(error("1 /  "), "1:6: unexpected end of input");
    EXPECT_EQ(error("*1"), "1:1: unexpected <op:*>");
    EXPECT_EQ(error("++-++-+-+-<"), "1:11: unexpected <op:<>");
    EXPECT_EQ(error("-="), "1:2: unexpected \"=\"");
    EXPECT_EQ(error("e-+=/(0)"), "1:4: unexpected \"=\"");
    EXPECT_EQ(error("a = b"), "1:3: unexpected \"=\"");
    EXPECT_EQ(error("1 !~ 1"), "1:3: unexpected character after '!': '~'");
    EXPECT_EQ(error("1 =~ 1"), "1:3: unexpected character after '=': '~'");
    EXPECT_EQ(error("1 !"), "1:3: unexpected character after '!': '\xef\xbf\xbd'");
    EXPECT_EQ(error("bool"), "1:1: unexpected <bool>");
    EXPECT_EQ(error("@ 1"), "1:1: unexpected <op:@>");
    EXPECT_EQ(error("foo bar"), "1:5: unexpected identifier \"bar\"");
    EXPECT_EQ(error("foo a:b"), "1:5: unexpected metric identifier \"a:b\"");
}

TEST(PromqlParseUnary, SignsAndFolding) {
    // A sign on a number literal folds into it (as Prometheus does), starting at the sign.
    EXPECT_EQ(parsed("-1"), "-1");
    EXPECT_EQ(pos_of("-1"), "(0)");
    EXPECT_EQ(parsed("+1"), "1");
    EXPECT_EQ(parsed("--1"), "1");
    EXPECT_EQ(parsed("-(1)"), "(-1)");
    EXPECT_EQ(parsed("-x"), "(-x{__name__=\"x\"})");
    EXPECT_EQ(parsed("+x"), "(+x{__name__=\"x\"})");
    EXPECT_EQ(parsed("- -x"), "(-(-x{__name__=\"x\"}))");
    // Unary binds tighter than * but looser than ^.
    EXPECT_EQ(parsed("-x * y"), "((-x{__name__=\"x\"}) * y{__name__=\"y\"})");
    EXPECT_EQ(parsed("-x ^ y"), "(-(x{__name__=\"x\"} ^ y{__name__=\"y\"}))");
    EXPECT_EQ(parsed("-2 ^ 2"), "(-(2 ^ 2))");
    EXPECT_EQ(parsed("2 ^ -2"), "(2 ^ -2)");
    EXPECT_EQ(parsed("2 ^ -x ^ 2"), "(2 ^ (-(x{__name__=\"x\"} ^ 2)))");
    EXPECT_EQ(parsed("-rate(x[5m])"), "(-rate(x{__name__=\"x\"}[300000ms]))");
    EXPECT_EQ(parsed("-sum(x)"), "(-sum(x{__name__=\"x\"}))");
}

TEST(PromqlParseUnary, Errors) {
    EXPECT_EQ(error("-\"string\""),
              "1:1: unary expression only allowed on expressions of type scalar or instant "
              "vector, got \"string\"");
    EXPECT_EQ(error("-test[5m]"),
              "1:1: unary expression only allowed on expressions of type scalar or instant "
              "vector, got \"range vector\"");
    EXPECT_EQ(error("-"), "1:2: unexpected end of input");
}

TEST(PromqlParseUnsupported, ModifiersAndSubqueries) {
    EXPECT_EQ(error("foo offset 5m"), "1:5: offset modifier is not supported by pulse");
    EXPECT_EQ(error("foo[5m] offset 5m"), "1:9: offset modifier is not supported by pulse");
    EXPECT_EQ(error("sum(foo) OFFSET 1m"), "1:10: offset modifier is not supported by pulse");
    EXPECT_EQ(error("1 offset 1d"), "1:3: offset modifier is not supported by pulse");
    EXPECT_EQ(error("foo @ 100"), "1:5: @ modifier is not supported by pulse");
    EXPECT_EQ(error("foo @ start()"), "1:5: @ modifier is not supported by pulse");
    EXPECT_EQ(error("foo[5m:1m]"), "1:4: subquery is not supported by pulse");
    EXPECT_EQ(error("rate(foo[5m])[1h:]"), "1:14: subquery is not supported by pulse");
    EXPECT_EQ(error("max_over_time((a + b)[10m:30s])"), "1:22: subquery is not supported by pulse");
    EXPECT_EQ(error("foo[5m:1m1]"), "1:4: subquery is not supported by pulse");
}

// ---- general ------------------------------------------------------------------------------

TEST(PromqlParseErrors, EmptyTrailingAndUnbalanced) {
    EXPECT_EQ(error(""), "1:1: no expression found in input");
    EXPECT_EQ(error("   \n "), "1:1: no expression found in input");
    EXPECT_EQ(error("# just a comment\n\n"), "1:1: no expression found in input");
    EXPECT_EQ(error("("), "1:2: unclosed left parenthesis");
    EXPECT_EQ(error("((1)"), "1:5: unclosed left parenthesis");
    EXPECT_EQ(error("(1))"), "1:4: unexpected right parenthesis ')'");
    EXPECT_EQ(error(")"), "1:1: unexpected right parenthesis ')'");
    EXPECT_EQ(error("()"), "1:2: unexpected \")\"");
    EXPECT_EQ(error("(1 2)"), "1:4: unexpected number \"2\"");
    EXPECT_EQ(error("foo )"), "1:5: unexpected right parenthesis ')'");
    EXPECT_EQ(error("foo ]"), "1:5: unexpected right bracket ']'");
    EXPECT_EQ(error("foo ,"), "1:5: unexpected \",\"");
    EXPECT_EQ(error("foo ;"), "1:5: unexpected character: ';'");
    EXPECT_EQ(error("foo \xc3\xa9"), "1:5: unexpected character: '\xc3\xa9'");
    EXPECT_EQ(error("foo \xff"), "1:5: unexpected character: '\xef\xbf\xbd'");
    EXPECT_EQ(error("foo\t\x01"), "1:5: unexpected character: '\\x01'");
}

TEST(PromqlParseErrors, DescribeCountsLinesAndByteColumns) {
    EXPECT_EQ(error("foo +\n  bar baz"), "2:7: unexpected identifier \"baz\"");
    EXPECT_EQ(error("\n\n   )"), "3:4: unexpected right parenthesis ')'");
    EXPECT_EQ(error("\"\xc3\xa9\" foo"), "1:6: unexpected identifier \"foo\"");  // bytes
    const ParseResult r = parse("sum(x) by");
    ASSERT_TRUE(std::holds_alternative<ParseError>(r));
    const ParseError &e = std::get<ParseError>(r);
    EXPECT_EQ(e.pos, 9u);
    EXPECT_EQ(e.message, "unexpected end of input in grouping opts, expected \"(\"");
    EXPECT_EQ(e.describe("sum(x) by"), "1:10: " + e.message);
    EXPECT_EQ(e.describe("a\nb"), "2:2: " + e.message);  // past the end: clamped
    EXPECT_EQ((ParseError{0, "m"}.describe("")), "1:1: m");
}

TEST(PromqlParseErrors, FirstErrorWins) {
    // Syntax errors (anywhere) come before type errors, as Prometheus only type-checks a
    // syntactically valid tree.
    EXPECT_EQ(error("rate(x) + 1 +"), "1:14: unexpected end of input");
    EXPECT_EQ(error("{} + foo{a=}"), "1:12: unexpected \"}\" in label matching, expected string");
    // Type errors in checkAST's order: left operand, right operand, then the operator.
    EXPECT_EQ(error("rate(a) + rate(b)"),
              "1:6: expected type range vector in call to function \"rate\", got instant vector");
    EXPECT_EQ(error("1 == rate(b)"),
              "1:11: expected type range vector in call to function \"rate\", got instant vector");
    EXPECT_EQ(error("{} == bool 1 + 1"),
              "1:1: vector selector must contain at least one non-empty matcher");
}

TEST(PromqlParseErrors, NestingLimit) {
    const std::string deep_ok = std::string(900, '(') + "1" + std::string(900, ')');
    EXPECT_EQ(parsed(deep_ok), "1");
    const std::string too_deep = std::string(1001, '(') + "1" + std::string(1001, ')');
    EXPECT_EQ(error(too_deep), "1:1001: expression is nested too deeply (more than 1000 levels)");
    std::string long_chain = "1";
    for (int i = 0; i < 1000; ++i) long_chain += "+1";
    EXPECT_EQ(error(long_chain), "1:1: expression is nested too deeply (more than 1000 levels)");
    std::string ok_chain = "1";
    for (int i = 0; i < 999; ++i) ok_chain += "+1";
    EXPECT_EQ(error(ok_chain), "parsed: " + parsed(ok_chain));
    const std::string signs = std::string(2000, '-') + "x";
    EXPECT_EQ(error(signs).substr(0, 42), "1:1001: expression is nested too deeply (m");
    const std::string calls = [] {
        std::string s;
        for (int i = 0; i < 1200; ++i) s += "vector(scalar(";
        return s + "x" + std::string(2400, ')');
    }();
    EXPECT_NE(error(calls).find("expression is nested too deeply"), std::string::npos);
    // Prometheus' own stress input: a long flat chain is fine below the limit.
    std::string flat = "(";
    for (int i = 0; i < 400; ++i) flat += "-{}-1";
    flat += ")";
    EXPECT_EQ(error(flat), "1:3: vector selector must contain at least one non-empty matcher");
}

TEST(PromqlParsePositions, EveryNode) {
    const std::string e =
        R"(sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / on(job) (2 * -up))";
    // Binary@0 (Aggregation@0 (Call@14 (Selector@19))) (Binary@69 (2@69) (Unary@73 (up@74))):
    // a node starts at its own first character, inside its parentheses.
    EXPECT_EQ(pos_of(e), "(0 (0 (14 (19{__name__@19 code@39}))) (69 (69) (73 (74{__name__@74}))))");
    EXPECT_EQ(e.substr(69, 1), "2");
    EXPECT_EQ(e.substr(73, 3), "-up");
    // A binary expression starts with its left operand's parentheses.
    EXPECT_EQ(pos_of("(a) + b"), "(0 (1{__name__@1}) (6{__name__@6}))");
    EXPECT_EQ(pos_of(R"({a="b", c="d"} * -1)"), "(0 (0{a@1 c@8}) (17))");
    EXPECT_EQ(pos_of("histogram_quantile(0.9, x)"), "(0 (19) (24{__name__@24}))");
    EXPECT_EQ(pos_of("  foo  "), "(2{__name__@2})");
    EXPECT_EQ(pos_of("a\n + \nb"), "(0 (0{__name__@0}) (6{__name__@6}))");
}

TEST(PromqlParseExamples, DocumentationQueries) {
    // The queries docs/operations.md and docs/migration.md show for pulse's own metrics.
    for (
        const char *q : {
            R"(sum by (server, location, status) (rate(nginx_http_requests_total{status=~"5.."}[5m])))",
            R"(sum by (upstream, status) (rate(nginx_http_upstream_requests_total[5m])))",
            R"(histogram_quantile(0.95, sum by (server, location, le) (rate(nginx_http_request_duration_seconds_bucket[5m]))))",
            R"(sum by (pod) (rate(nginx_http_requests_total{status=~"5.."}[5m])))",
            R"(sum(rate(nginx_http_requests_total{job="pulse-nginx"}[5m])))",
            "server:nginx_http_requests:rate5m",
            R"(sum(rate(x{code=~"5.."}[5m])) / sum(rate(x[5m])) > bool 0.05)",
            R"e(label_replace(up{job="a"}, "host", "$1", "instance", "(.*):.*"))e",
            "clamp_min(x - 1, 0)",
        }) {
        const ParseResult r = parse(q);
        EXPECT_TRUE(std::holds_alternative<NodePtr>(r))
            << q << ": " << std::get<ParseError>(r).describe(q);
    }
    EXPECT_EQ(error("sum(server:nginx_http_requests:rate5m offset 1w)"),
              "1:39: offset modifier is not supported by pulse");
}

}  // namespace
}  // namespace pulse::promql
