// The PromQL parser: a port of Prometheus 2.42's lexer (promql/parser/lex.go), a
// precedence-climbing parser for its grammar (generated_parser.y: operator precedence,
// keywords usable as metric and label names, error messages) and a port of its type checks
// (parse.go's checkAST), restricted to the subset ast.h holds. As in Prometheus, syntax
// errors are found first; the type checks run on a syntactically valid tree only, in
// checkAST's order, and the first error found is the one reported.
#include "parser.h"

#include "evaluator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "common/ascii_case.h"

namespace pulse::promql {
namespace {

// Deeper trees are refused rather than risking the stack (the parser, the type checks and
// the tree's destruction all recurse once per level).
constexpr std::size_t kMaxNesting = 1000;
// Go's regexp/syntax refuses parse trees higher than this (maxHeight): "expression nests
// too deeply".
constexpr int kMaxRegexHeight = 1000;

// ---- Go's rune handling and quoting (%q, %#U), which Prometheus' messages use ----------

constexpr std::int32_t kEof = -1;
constexpr std::int32_t kRuneError = 0xFFFD;

struct Rune {
    std::int32_t value;
    std::size_t width;
    bool invalid;  // not valid UTF-8: value is kRuneError, width 1
};

// utf8.DecodeRuneInString.
Rune decode_rune(std::string_view s, std::size_t pos) {
    if (pos >= s.size()) return {kEof, 0, false};
    const auto c0 = static_cast<unsigned char>(s[pos]);
    if (c0 < 0x80) return {c0, 1, false};
    const Rune bad{kRuneError, 1, true};
    auto cont = [&](std::size_t i) -> int {
        if (pos + i >= s.size()) return -1;
        const auto c = static_cast<unsigned char>(s[pos + i]);
        return (c & 0xC0) == 0x80 ? (c & 0x3F) : -1;
    };
    if (c0 >= 0xC2 && c0 <= 0xDF) {
        const int c1 = cont(1);
        if (c1 < 0) return bad;
        return {((c0 & 0x1F) << 6) | c1, 2, false};
    }
    if (c0 >= 0xE0 && c0 <= 0xEF) {
        const int c1 = cont(1), c2 = cont(2);
        if (c1 < 0 || c2 < 0) return bad;
        const std::int32_t r = ((c0 & 0x0F) << 12) | (c1 << 6) | c2;
        if (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF)) return bad;
        return {r, 3, false};
    }
    if (c0 >= 0xF0 && c0 <= 0xF4) {
        const int c1 = cont(1), c2 = cont(2), c3 = cont(3);
        if (c1 < 0 || c2 < 0 || c3 < 0) return bad;
        const std::int32_t r = ((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
        if (r < 0x10000 || r > 0x10FFFF) return bad;
        return {r, 4, false};
    }
    return bad;
}

void append_utf8(std::string &out, std::uint32_t r) {
    if (r < 0x80) {
        out.push_back(static_cast<char>(r));
    } else if (r < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (r >> 6)));
        out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else if (r < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (r >> 12)));
        out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (r >> 18)));
        out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
    }
}

// An approximation of strconv.IsPrint: exact for ASCII, close enough elsewhere.
bool is_print(std::int32_t r) {
    if (r < 0x20 || r == 0x7F) return false;
    if (r < 0x7F) return true;
    if (r <= 0xA0 || r == 0xAD) return false;
    if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) || r == 0x205F ||
        r == 0x3000 || r == 0xFEFF)
        return false;
    if ((r >= 0xD800 && r <= 0xDFFF) || (r >= 0xE000 && r <= 0xF8FF) || r > 0x10FFFF) return false;
    return true;
}

std::string hex_digits(std::uint32_t v, int width, bool upper) {
    static constexpr char kLower[] = "0123456789abcdef";
    static constexpr char kUpper[] = "0123456789ABCDEF";
    std::string out;
    while (v != 0 || static_cast<int>(out.size()) < width) {
        out.push_back((upper ? kUpper : kLower)[v & 0xF]);
        v >>= 4;
    }
    std::reverse(out.begin(), out.end());
    return out;
}

void append_escaped_rune(std::string &out, std::int32_t r, char quote) {
    if (r == quote || r == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(r));
        return;
    }
    if (is_print(r)) {
        append_utf8(out, static_cast<std::uint32_t>(r));
        return;
    }
    switch (r) {
        case '\a':
            out += "\\a";
            return;
        case '\b':
            out += "\\b";
            return;
        case '\f':
            out += "\\f";
            return;
        case '\n':
            out += "\\n";
            return;
        case '\r':
            out += "\\r";
            return;
        case '\t':
            out += "\\t";
            return;
        case '\v':
            out += "\\v";
            return;
        default:
            break;
    }
    const auto u = static_cast<std::uint32_t>(r);
    if (u < 0x20 || u == 0x7F) {
        out += "\\x" + hex_digits(u, 2, false);
    } else if (u < 0x10000) {
        out += "\\u" + hex_digits(u, 4, false);
    } else {
        out += "\\U" + hex_digits(u, 8, false);
    }
}

// fmt's %q of a string (strconv.Quote).
std::string go_quote(std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size();) {
        const Rune r = decode_rune(s, i);
        if (r.invalid) {
            out += "\\x" + hex_digits(static_cast<unsigned char>(s[i]), 2, false);
        } else {
            append_escaped_rune(out, r.value, '"');
        }
        i += r.width;
    }
    out.push_back('"');
    return out;
}

// fmt's %q of a rune (strconv.QuoteRune); eof and invalid runes print as U+FFFD.
std::string go_quote_rune(std::int32_t r) {
    if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = kRuneError;
    std::string out = "'";
    append_escaped_rune(out, r, '\'');
    out.push_back('\'');
    return out;
}

// fmt's %#U: "U+0063 'c'".
std::string go_pound_u(std::int32_t r) {
    if (r < 0) r = kRuneError;
    std::string out = "U+" + hex_digits(static_cast<std::uint32_t>(r), 4, true);
    if (is_print(r)) {
        out += " '";
        append_utf8(out, static_cast<std::uint32_t>(r));
        out += "'";
    }
    return out;
}

// The first n runes of s (fmt's precision on %q).
std::string_view first_runes(std::string_view s, std::size_t n) {
    std::size_t i = 0;
    for (std::size_t k = 0; k < n && i < s.size(); ++k) i += decode_rune(s, i).width;
    return s.substr(0, i);
}

bool is_space(std::int32_t r) {
    return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}
bool is_digit(std::int32_t r) {
    return r >= '0' && r <= '9';
}
bool is_alpha(std::int32_t r) {
    return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}
bool is_alnum(std::int32_t r) {
    return is_alpha(r) || is_digit(r);
}

// model.LabelNameRE: ^[a-zA-Z_][a-zA-Z0-9_]*$
bool is_label_name(std::string_view s) {
    if (s.empty() || !is_alpha(static_cast<unsigned char>(s[0]))) return false;
    return std::all_of(s.begin() + 1, s.end(),
                       [](char c) { return is_alnum(static_cast<unsigned char>(c)); });
}

int digit_value(std::int32_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 16;
}

// ---- Tokens (lex.go's ItemType, in its order: the categories are ranges) -------------

enum class T {
    eof,
    error,
    identifier,
    metric_identifier,
    number,
    duration,
    string,
    left_paren,
    right_paren,
    left_brace,
    right_brace,
    left_bracket,
    right_bracket,
    comma,
    eql,  // =
    colon,
    // Operators.
    add,
    div,
    eqlc,
    eql_regex,
    gte,
    gtr,
    land,
    lor,
    lss,
    lte,
    lunless,
    mod,
    mul,
    neq,
    neq_regex,
    pow,
    sub,
    at,
    atan2,
    // Aggregators.
    avg,
    bottomk,
    count,
    count_values,
    group,
    max,
    min,
    quantile,
    stddev,
    stdvar,
    sum,
    topk,
    // Keywords.
    kw_bool,
    by,
    group_left,
    group_right,
    ignoring,
    offset,
    on,
    without,
    // Preprocessors.
    start,
    end,
};

bool is_operator(T t) {
    return t >= T::add && t <= T::atan2;
}
bool is_aggregator(T t) {
    return t >= T::avg && t <= T::topk;
}
bool is_keyword(T t) {
    return t >= T::kw_bool && t <= T::without;
}

std::optional<T> keyword(std::string_view word) {
    static const std::unordered_map<std::string, T> kKeywords = {
        {"and", T::land},
        {"or", T::lor},
        {"unless", T::lunless},
        {"atan2", T::atan2},
        {"sum", T::sum},
        {"avg", T::avg},
        {"count", T::count},
        {"min", T::min},
        {"max", T::max},
        {"group", T::group},
        {"stddev", T::stddev},
        {"stdvar", T::stdvar},
        {"topk", T::topk},
        {"bottomk", T::bottomk},
        {"count_values", T::count_values},
        {"quantile", T::quantile},
        {"offset", T::offset},
        {"by", T::by},
        {"without", T::without},
        {"on", T::on},
        {"ignoring", T::ignoring},
        {"group_left", T::group_left},
        {"group_right", T::group_right},
        {"bool", T::kw_bool},
        {"start", T::start},
        {"end", T::end},
        {"inf", T::number},
        {"nan", T::number},
    };
    const auto it = kKeywords.find(common::lowercase(word));
    if (it == kKeywords.end()) return std::nullopt;
    return it->second;
}

struct Token {
    T type = T::eof;
    std::size_t pos = 0;
    std::string_view text;
    std::string error;  // T::error: the message
};

// Item.desc(): how "unexpected ..." names a token.
std::string describe_token(const Token &t) {
    if (t.type == T::eof) return "end of input";
    if (t.type == T::at) return "<op:@>";
    if (t.type == T::identifier) return "identifier " + go_quote(t.text);
    if (t.type == T::metric_identifier) return "metric identifier " + go_quote(t.text);
    if (is_keyword(t.type)) return "<" + std::string(t.text) + ">";
    if (is_operator(t.type)) return "<op:" + std::string(t.text) + ">";
    if (is_aggregator(t.type)) return "<aggr:" + std::string(t.text) + ">";
    const std::string quoted =
        t.text.size() > 10 ? go_quote(first_runes(t.text, 10)) + "..." : go_quote(t.text);
    switch (t.type) {
        case T::number:
            return "number " + quoted;
        case T::duration:
            return "duration " + quoted;
        case T::string:
            return "string " + quoted;
        default:
            return quoted;
    }
}

// ---- Lexer: lex.go's state machine, one token per step ---------------------------------

class Lexer {
  public:
    explicit Lexer(std::string_view input) : in_(input) {}

    // Every token up to and including the first EOF or error; comments are dropped.
    std::vector<Token> run() {
        while (tokens_.empty() ||
               (tokens_.back().type != T::eof && tokens_.back().type != T::error))
            step();
        return std::move(tokens_);
    }

  private:
    std::int32_t next() {
        const Rune r = decode_rune(in_, pos_);
        width_ = r.width;
        pos_ += r.width;
        last_invalid_ = r.invalid;
        return r.value;
    }
    std::int32_t peek() {
        const std::int32_t r = next();
        backup();
        return r;
    }
    void backup() { pos_ -= width_; }
    bool accept(std::string_view valid) {
        const std::int32_t r = next();
        if (r >= 0 && r < 0x80 && valid.find(static_cast<char>(r)) != std::string_view::npos)
            return true;
        backup();
        return false;
    }
    void accept_run(std::string_view valid) {
        while (accept(valid)) {
        }
    }
    void emit(T type) {
        tokens_.push_back(Token{type, start_, in_.substr(start_, pos_ - start_), {}});
        start_ = pos_;
    }
    void ignore() { start_ = pos_; }
    // An error token, at the start of what was being lexed (Prometheus' l.start).
    void error(std::string message) {
        tokens_.push_back(Token{T::error, start_, {}, std::move(message)});
    }

    void step() {
        if (expect_duration_) {
            expect_duration_ = false;
            lex_duration();
            return;
        }
        if (brace_open_) {
            lex_inside_braces();
            return;
        }
        if (in_.substr(pos_).starts_with('#')) {
            lex_line_comment();
            return;
        }
        const std::int32_t r = next();
        switch (r) {
            case kEof:
                if (paren_depth_ != 0) return error("unclosed left parenthesis");
                if (bracket_open_) return error("unclosed left bracket");
                return emit(T::eof);
            case ',':
                return emit(T::comma);
            case '*':
                return emit(T::mul);
            case '/':
                return emit(T::div);
            case '%':
                return emit(T::mod);
            case '+':
                return emit(T::add);
            case '-':
                return emit(T::sub);
            case '^':
                return emit(T::pow);
            case '=':
                if (const std::int32_t t = peek(); t == '=') {
                    next();
                    return emit(T::eqlc);
                } else if (t == '~') {
                    return error("unexpected character after '=': " + go_quote_rune(t));
                }
                return emit(T::eql);
            case '!':
                if (const std::int32_t t = next(); t != '=')
                    return error("unexpected character after '!': " + go_quote_rune(t));
                return emit(T::neq);
            case '<':
                if (peek() == '=') {
                    next();
                    return emit(T::lte);
                }
                return emit(T::lss);
            case '>':
                if (peek() == '=') {
                    next();
                    return emit(T::gte);
                }
                return emit(T::gtr);
            case '"':
            case '\'':
                string_open_ = r;
                return lex_string();
            case '`':
                string_open_ = r;
                return lex_raw_string();
            case '(':
                ++paren_depth_;
                return emit(T::left_paren);
            case ')':
                // Prometheus reports this one just after the ')'; we point at the ')' itself.
                if (paren_depth_ == 0) return error("unexpected right parenthesis ')'");
                --paren_depth_;
                return emit(T::right_paren);
            case '{':
                brace_open_ = true;
                return emit(T::left_brace);
            case '[':
                if (bracket_open_) return error("unexpected left bracket '['");
                got_colon_ = false;
                emit(T::left_bracket);
                while (is_space(peek())) next();
                ignore();
                bracket_open_ = true;
                expect_duration_ = true;
                return;
            case ']':
                if (!bracket_open_) return error("unexpected right bracket ']'");
                bracket_open_ = false;
                return emit(T::right_bracket);
            case '@':
                return emit(T::at);
            default:
                break;
        }
        if (is_space(r)) {
            while (is_space(peek())) next();
            return ignore();
        }
        if (is_digit(r) || (r == '.' && is_digit(peek()))) {
            backup();
            return lex_number_or_duration();
        }
        if (is_alpha(r) || r == ':') {
            if (!bracket_open_) {
                backup();
                return lex_keyword_or_identifier();
            }
            // Inside brackets any letter lexes as the subquery's colon, as in Prometheus.
            if (got_colon_) return error("unexpected colon " + go_quote_rune(r));
            got_colon_ = true;
            return emit(T::colon);
        }
        error("unexpected character: " + go_quote_rune(r));
    }

    void lex_inside_braces() {
        if (in_.substr(pos_).starts_with('#')) return lex_line_comment();
        const std::int32_t r = next();
        switch (r) {
            case kEof:
                return error("unexpected end of input inside braces");
            case ',':
                return emit(T::comma);
            case '"':
            case '\'':
                string_open_ = r;
                return lex_string();
            case '`':
                string_open_ = r;
                return lex_raw_string();
            case '=':
                if (next() == '~') return emit(T::eql_regex);
                backup();
                return emit(T::eql);
            case '!':
                switch (const std::int32_t nr = next(); nr) {
                    case '~':
                        return emit(T::neq_regex);
                    case '=':
                        return emit(T::neq);
                    default:
                        return error("unexpected character after '!' inside braces: " +
                                     go_quote_rune(nr));
                }
            case '{':
                return error("unexpected left brace '{'");
            case '}':
                brace_open_ = false;
                return emit(T::right_brace);
            default:
                break;
        }
        if (is_space(r)) {
            while (is_space(peek())) next();
            return ignore();
        }
        if (is_alpha(r)) {
            while (is_alnum(next())) {
            }
            backup();
            return emit(T::identifier);
        }
        error("unexpected character inside braces: " + go_quote_rune(r));
    }

    void lex_line_comment() {
        ++pos_;  // '#'
        std::int32_t r = next();
        while (r != '\r' && r != '\n' && r != kEof) r = next();
        backup();
        ignore();
    }

    // lexEscape; false after an error.
    bool lex_escape() {
        int n = 0;
        std::uint32_t base = 0, max = 0;
        std::int32_t ch = next();
        switch (ch) {
            case 'a':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
            case 'v':
            case '\\':
                return true;
            case '0':
            case '1':
            case '2':
            case '3':
            case '4':
            case '5':
            case '6':
            case '7':
                n = 3, base = 8, max = 255;
                break;
            case 'x':
                ch = next();
                n = 2, base = 16, max = 255;
                break;
            case 'u':
                ch = next();
                n = 4, base = 16, max = 0x10FFFF;
                break;
            case 'U':
                ch = next();
                n = 8, base = 16, max = 0x10FFFF;
                break;
            case kEof:
                error("escape sequence not terminated");
                return false;
            default:
                if (ch == string_open_) return true;
                error("unknown escape sequence " + go_pound_u(ch));
                return false;
        }
        std::uint32_t x = 0;
        while (n > 0) {
            const auto d = static_cast<std::uint32_t>(digit_value(ch));
            if (d >= base) {
                if (ch == kEof) {
                    error("escape sequence not terminated");
                } else {
                    error("illegal character " + go_pound_u(ch) + " in escape sequence");
                }
                return false;
            }
            x = x * base + d;
            --n;
            if (n > 0) ch = next();
        }
        if (x > max || (x >= 0xD800 && x < 0xE000)) {
            error("escape sequence is an invalid Unicode code point");
            return false;
        }
        return true;
    }

    void lex_string() {
        for (;;) {
            const std::int32_t r = next();
            if (r == '\\') {
                if (!lex_escape()) return;
                continue;
            }
            if (last_invalid_) return error("invalid UTF-8 rune");
            if (r == kEof || r == '\n') return error("unterminated quoted string");
            if (r == string_open_) break;
        }
        emit(T::string);
    }

    void lex_raw_string() {
        for (;;) {
            const std::int32_t r = next();
            if (last_invalid_) return error("invalid UTF-8 rune");
            if (r == kEof) return error("unterminated raw string");
            if (r == string_open_) break;
        }
        emit(T::string);
    }

    // scanNumber: true when what follows the number is not alphanumeric.
    bool scan_number() {
        std::string_view digits = "0123456789";
        if (accept("0") && accept("xX")) digits = "0123456789abcdefABCDEF";
        accept_run(digits);
        if (accept(".")) accept_run(digits);
        if (accept("eE")) {
            accept("+-");
            accept_run("0123456789");
        }
        return !is_alnum(peek());
    }

    bool accept_remaining_duration() {
        if (!accept("smhdwy")) return false;
        accept("s");  // ms
        while (accept("0123456789")) {
            accept_run("0123456789");
            if (!accept("smhdw")) return false;  // y only comes first
            accept("s");
        }
        return !is_alnum(next());
    }

    void lex_duration() {
        if (scan_number()) return error("missing unit character in duration");
        if (!accept_remaining_duration())
            return error("bad duration syntax: " + go_quote(in_.substr(start_, pos_ - start_)));
        backup();
        emit(T::duration);
    }

    void lex_number_or_duration() {
        if (scan_number()) return emit(T::number);
        if (accept_remaining_duration()) {
            backup();
            return emit(T::duration);
        }
        error("bad number or duration syntax: " + go_quote(in_.substr(start_, pos_ - start_)));
    }

    void lex_keyword_or_identifier() {
        for (;;) {
            const std::int32_t r = next();
            if (is_alnum(r) || r == ':') continue;
            backup();
            break;
        }
        const std::string_view word = in_.substr(start_, pos_ - start_);
        if (const auto kw = keyword(word)) return emit(*kw);
        emit(word.find(':') == std::string_view::npos ? T::identifier : T::metric_identifier);
    }

    std::string_view in_;
    std::size_t pos_ = 0, start_ = 0, width_ = 0;
    bool last_invalid_ = false;
    int paren_depth_ = 0;
    bool brace_open_ = false, bracket_open_ = false, got_colon_ = false;
    bool expect_duration_ = false;
    std::int32_t string_open_ = 0;
    std::vector<Token> tokens_;
};

// ---- Literals ---------------------------------------------------------------------------

// strutil.Unquote of a string the lexer accepted (so every escape is valid).
std::string unquote(std::string_view quoted) {
    if (quoted.size() < 2) return {};
    const char quote = quoted.front();
    const std::string_view s = quoted.substr(1, quoted.size() - 2);
    if (quote == '`') return std::string(s);
    std::string out;
    out.reserve(s.size());
    auto at = [&](std::size_t i) -> char { return i < s.size() ? s[i] : '0'; };
    auto hex = [&](std::size_t i, int n) {
        std::uint32_t v = 0;
        for (int k = 0; k < n; ++k) {
            const int d =
                digit_value(static_cast<unsigned char>(at(i + static_cast<std::size_t>(k))));
            v = v * 16 + static_cast<std::uint32_t>(d < 16 ? d : 0);
        }
        return v;
    };
    for (std::size_t i = 0; i < s.size();) {
        if (s[i] != '\\') {
            out.push_back(s[i++]);
            continue;
        }
        const char e = at(i + 1);
        i += 2;
        switch (e) {
            case 'a':
                out.push_back('\a');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'v':
                out.push_back('\v');
                break;
            case 'x':
                out.push_back(static_cast<char>(hex(i, 2)));
                i += 2;
                break;
            case 'u':
                append_utf8(out, hex(i, 4));
                i += 4;
                break;
            case 'U':
                append_utf8(out, hex(i, 8));
                i += 8;
                break;
            default:
                if (e >= '0' && e <= '7') {
                    const unsigned v = static_cast<unsigned>(e - '0') * 64 +
                                       static_cast<unsigned>(at(i) - '0') * 8 +
                                       static_cast<unsigned>(at(i + 1) - '0');
                    out.push_back(static_cast<char>(v & 0xFF));
                    i += 2;
                } else {
                    out.push_back(e);  // \\ and the escaped quote
                }
        }
    }
    return out;
}

// strconv.ParseInt(s, 0, 64) for an unsigned token: 0x.. hex, 0.. octal, else decimal.
std::optional<std::int64_t> go_parse_int(std::string_view s) {
    int base = 10;
    std::string_view digits = s;
    if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        digits = s.substr(2);
    } else if (s.size() >= 2 && s[0] == '0') {
        base = 8;
        digits = s.substr(1);
    }
    if (digits.empty()) return std::nullopt;
    std::uint64_t v = 0;
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    for (const char c : digits) {
        const int d = digit_value(static_cast<unsigned char>(c));
        if (d >= base) return std::nullopt;
        const auto ud = static_cast<std::uint64_t>(d);
        const auto ub = static_cast<std::uint64_t>(base);
        if (v > (kMax - ud) / ub) return std::nullopt;  // out of range: ParseFloat decides
        v = v * ub + ud;
    }
    return static_cast<std::int64_t>(v);
}

// strconv.ParseFloat(s, 64) for a number token; nullopt with `error` set on failure.
std::optional<double> go_parse_float(std::string_view s, std::string &error) {
    const std::string low = common::lowercase(s);
    if (low == "inf") return std::numeric_limits<double>::infinity();
    if (low == "nan") return std::numeric_limits<double>::quiet_NaN();
    auto syntax = [&]() -> std::optional<double> {
        error = "strconv.ParseFloat: parsing " + go_quote(s) + ": invalid syntax";
        return std::nullopt;
    };
    // Decimal only: Go's hexadecimal floats need a 'p' exponent, which never lexes here.
    std::size_t i = 0, mantissa_digits = 0, int_digits = 0;
    while (i < s.size() && is_digit(static_cast<unsigned char>(s[i]))) ++i, ++mantissa_digits;
    int_digits = i;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && is_digit(static_cast<unsigned char>(s[i]))) ++i, ++mantissa_digits;
    }
    const std::size_t mantissa_end = i;
    if (mantissa_digits == 0) return syntax();
    long long exponent = 0;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        bool negative = false;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
        const std::size_t exp_start = i;
        while (i < s.size() && is_digit(static_cast<unsigned char>(s[i]))) {
            exponent = std::min(exponent * 10 + (s[i] - '0'), 1'000'000'000LL);
            ++i;
        }
        if (i == exp_start) return syntax();
        if (negative) exponent = -exponent;
    }
    if (i != s.size()) return syntax();
    double value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc::result_out_of_range) {
        // Overflow is an error (±Inf in Go); underflow rounds to 0 without one.
        long long first_nonzero = -1, k = 0;
        for (std::size_t j = 0; j < mantissa_end; ++j) {
            if (s[j] == '.') continue;
            if (s[j] != '0') {
                first_nonzero = k;
                break;
            }
            ++k;
        }
        const long long magnitude =
            static_cast<long long>(int_digits) - first_nonzero - 1 + exponent;
        if (first_nonzero >= 0 && magnitude >= 0) {
            error = "strconv.ParseFloat: parsing " + go_quote(s) + ": value out of range";
            return std::nullopt;
        }
        return 0.0;
    }
    if (ec != std::errc() || end != s.data() + s.size()) return syntax();
    return value;
}

// model.ParseDuration (prometheus/common v0.39) and parse.go's "> 0" check, in ms.
std::optional<std::int64_t> parse_duration(std::string_view s, std::string &error) {
    struct Unit {
        std::string_view name;
        std::int64_t ms;
    };
    static constexpr Unit kUnits[] = {{"y", 1000LL * 60 * 60 * 24 * 365},
                                      {"w", 1000LL * 60 * 60 * 24 * 7},
                                      {"d", 1000LL * 60 * 60 * 24},
                                      {"h", 1000LL * 60 * 60},
                                      {"m", 1000LL * 60},
                                      {"s", 1000},
                                      {"ms", 1}};
    constexpr std::int64_t kMaxNs = std::numeric_limits<std::int64_t>::max();
    if (s.empty()) {
        error = "empty duration string";
        return std::nullopt;
    }
    std::size_t i = 0, next_unit = 0;
    __int128 total_ns = 0;
    bool overflow = false;
    while (i < s.size()) {
        const std::size_t digits_start = i;
        std::int64_t n = 0;
        while (i < s.size() && is_digit(static_cast<unsigned char>(s[i]))) {
            n = n > (kMaxNs - 9) / 10 ? kMaxNs : n * 10 + (s[i] - '0');  // Atoi saturates
            ++i;
        }
        std::size_t unit = std::size(kUnits);
        if (i > digits_start && i < s.size()) {
            if (s.substr(i).starts_with("ms")) {
                unit = 6;
            } else {
                for (std::size_t u = 0; u < 6; ++u)
                    if (s[i] == kUnits[u].name[0]) unit = u;
            }
        }
        if (unit == std::size(kUnits) || unit < next_unit) {
            error = "not a valid duration string: " + go_quote(s);
            return std::nullopt;
        }
        i += kUnits[unit].name.size();
        next_unit = unit + 1;
        const std::int64_t unit_ns = kUnits[unit].ms * 1'000'000;
        if (n > kMaxNs / unit_ns) {
            overflow = true;
        } else {
            total_ns += static_cast<__int128>(n) * unit_ns;
            if (total_ns > kMaxNs) overflow = true;
        }
    }
    if (overflow) {
        error = "duration out of range";
        return std::nullopt;
    }
    const auto ms = static_cast<std::int64_t>(total_ns / 1'000'000);
    if (ms == 0) {
        error = "duration must be greater than 0";
        return std::nullopt;
    }
    return ms;
}

// ---- Regular expressions ---------------------------------------------------------------
// What \p{...} accepts in Go 1.19's regexp: "Any", the Unicode categories and scripts
// (Unicode 13.0), as unicode.Categories and unicode.Scripts name them.
bool is_unicode_class_name(std::string_view name) {
    // clang-format off
    static constexpr std::string_view kNames[] = {
        "Any", "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me",
        "Mn", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk",
        "Sm", "So", "Z", "Zl", "Zp", "Zs", "Adlam", "Ahom", "Anatolian_Hieroglyphs", "Arabic",
        "Armenian", "Avestan", "Balinese", "Bamum", "Bassa_Vah", "Batak", "Bengali", "Bhaiksuki",
        "Bopomofo", "Brahmi", "Braille", "Buginese", "Buhid", "Canadian_Aboriginal", "Carian",
        "Caucasian_Albanian", "Chakma", "Cham", "Cherokee", "Chorasmian", "Common", "Coptic",
        "Cuneiform", "Cypriot", "Cyrillic", "Deseret", "Devanagari", "Dives_Akuru", "Dogra",
        "Duployan", "Egyptian_Hieroglyphs", "Elbasan", "Elymaic", "Ethiopic", "Georgian",
        "Glagolitic", "Gothic", "Grantha", "Greek", "Gujarati", "Gunjala_Gondi", "Gurmukhi", "Han",
        "Hangul", "Hanifi_Rohingya", "Hanunoo", "Hatran", "Hebrew", "Hiragana", "Imperial_Aramaic",
        "Inherited", "Inscriptional_Pahlavi", "Inscriptional_Parthian", "Javanese", "Kaithi",
        "Kannada", "Katakana", "Kayah_Li", "Kharoshthi", "Khitan_Small_Script", "Khmer", "Khojki",
        "Khudawadi", "Lao", "Latin", "Lepcha", "Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian",
        "Lydian", "Mahajani", "Makasar", "Malayalam", "Mandaic", "Manichaean", "Marchen",
        "Masaram_Gondi", "Medefaidrin", "Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive",
        "Meroitic_Hieroglyphs", "Miao", "Modi", "Mongolian", "Mro", "Multani", "Myanmar",
        "Nabataean", "Nandinagari", "New_Tai_Lue", "Newa", "Nko", "Nushu", "Nyiakeng_Puachue_Hmong",
        "Ogham", "Ol_Chiki", "Old_Hungarian", "Old_Italic", "Old_North_Arabian", "Old_Permic",
        "Old_Persian", "Old_Sogdian", "Old_South_Arabian", "Old_Turkic", "Oriya", "Osage",
        "Osmanya", "Pahawh_Hmong", "Palmyrene", "Pau_Cin_Hau", "Phags_Pa", "Phoenician",
        "Psalter_Pahlavi", "Rejang", "Runic", "Samaritan", "Saurashtra", "Sharada", "Shavian",
        "Siddham", "SignWriting", "Sinhala", "Sogdian", "Sora_Sompeng", "Soyombo", "Sundanese",
        "Syloti_Nagri", "Syriac", "Tagalog", "Tagbanwa", "Tai_Le", "Tai_Tham", "Tai_Viet", "Takri",
        "Tamil", "Tangut", "Telugu", "Thaana", "Thai", "Tibetan", "Tifinagh", "Tirhuta", "Ugaritic",
        "Vai", "Wancho", "Warang_Citi", "Yezidi", "Yi", "Zanabazar_Square"
    };
    // clang-format on
    return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

// Prometheus compiles a label matcher's pattern as Go's regexp (RE2 syntax, Perl flags)
// anchored, ^(?:pattern)$, then parses the pattern alone; label_replace() compiles the
// anchored form only. Re2Check follows Go's regexp/syntax parser to find the same first
// error, worded as Go words it, positions (the `...` part) included. The evaluator runs
// the patterns on RE2 (Debian's libre2), which speaks the same syntax; regex_problem()
// below also asks RE2, for the few patterns Go accepts and RE2 does not.

class Re2Check {
  public:
    explicit Re2Check(std::string_view s) : s_(s) {}

    // Go's error ("missing closing ): `^(?:(a)$`"), or nothing when Go accepts the pattern.
    std::optional<std::string> run() {
        try {
            alternation();
            if (i_ < s_.size()) go_fail("unexpected )", s_);  // the only way to stop early
        } catch (const GoError &e) {
            return e.text;
        }
        return std::nullopt;
    }

  private:
    // A parsed piece, as the node Go's parser makes of it, for Go's limits on counted
    // repetitions (repeatIsValid) and on the tree's height (checkHeight). The height
    // follows Go's tree: a run of literal characters is one node, a concatenation or an
    // alternation inside another is merged into it, single characters and classes in an
    // alternation become one class, a non-capturing group adds no node. Go's factoring of
    // common prefixes in an alternation (xa|xb(c) as x(?:a|b(c))) is not followed: with
    // hundreds of such alternations nested, Go may find the limit a little earlier.
    struct Frag {
        enum class Kind {
            rune,       // one literal character
            literal,    // a run of literal characters
            cls,        // a character class, `.`, \d and the like
            leaf,       // another node without parts (^, \b, an empty match, ...)
            concat,     // a concatenation (of 2 parts or more)
            alternate,  // an alternation (of 2 parts or more)
            other,      // a capture or a repetition
        };
        Kind kind = Kind::leaf;
        int height = 1;   // Go's calcHeight of the node
        double need = 0;  // the least n for which Go's repeatIsValid(re, n) holds
    };
    using Kind = Frag::Kind;
    struct GoError {
        std::string text;
    };

    [[noreturn]] static void go_fail(std::string_view code, std::string_view expr) {
        throw GoError{std::string(code) + ": `" + std::string(expr) + "`"};
    }
    // A node of this height: Go refuses a tree higher than maxHeight, naming the whole
    // expression.
    Frag node(Kind kind, int height, double need) const {
        if (height > kMaxRegexHeight) go_fail("expression nests too deeply", s_);
        return Frag{kind, height, need};
    }

    // A concatenation or an alternation being built: how many parts Go's node would have
    // (2 stands for 2 or more) and the highest of them.
    struct Parts {
        int count = 0;
        int highest = 0;
        double need = 0;
        Frag only;  // the part, while there is one
        void add(const Frag &f, bool merged_part) {
            need = std::max(need, f.need);
            if (merged_part) {  // a concatenation in a concatenation, ...: its parts
                count += 2;
                highest = std::max(highest, f.height - 1);
                return;
            }
            only = f;
            ++count;
            highest = std::max(highest, f.height);
        }
    };

    // nextRune: a rune, or Go's invalid UTF-8 error (with the rest of the pattern).
    Rune rune_at(std::size_t j) const {
        const Rune r = decode_rune(s_, j);
        if (r.invalid) go_fail("invalid UTF-8", s_.substr(j));
        return r;
    }

    Frag alternation() {
        Parts parts;
        bool classes = false;  // single characters and classes: merged into one class
        for (;;) {
            const Frag f = concat();
            if (f.kind == Kind::rune || f.kind == Kind::cls) {
                parts.need = std::max(parts.need, f.need);
                if (!classes) parts.add(Frag{Kind::cls, 1, f.need}, false);
                classes = true;
            } else {
                parts.add(f, f.kind == Kind::alternate);
            }
            if (i_ >= s_.size() || s_[i_] != '|') break;
            ++i_;
        }
        if (parts.count == 1) return parts.only;
        return node(Kind::alternate, parts.highest + 1, parts.need);
    }

    // {n}, {n,}, {n,m} at i: where it ends, or false when the '{' is a literal.
    bool counted_repeat(std::size_t i, long &min, long &max, std::size_t &end) const {
        auto digits = [&](std::size_t &j, long &v) {
            const std::size_t from = j;
            for (v = 0; j < s_.size() && s_[j] >= '0' && s_[j] <= '9'; ++j)
                v = std::min(v * 10 + (s_[j] - '0'), 100000L);
            return j > from;
        };
        std::size_t j = i + 1;
        if (!digits(j, min)) return false;
        max = min;
        if (j < s_.size() && s_[j] == ',') {
            ++j;
            if (!digits(j, max)) max = -1;
        }
        if (j >= s_.size() || s_[j] != '}') return false;
        end = j + 1;
        return true;
    }

    Frag concat() {
        Parts parts;
        bool literal_end = false;  // the last part is literal text, which the next one joins
        auto commit = [&](const Frag &f) {
            const bool literal = f.kind == Kind::rune || f.kind == Kind::literal;
            if (literal && literal_end) {
                parts.only.kind = Kind::literal;
            } else {
                parts.add(f, f.kind == Kind::concat);
            }
            literal_end = literal;
        };
        Frag last;
        bool has_last = false;                        // an item that a repetition can apply to
        std::size_t last_repeat = std::string::npos;  // where the repetition just before started
        auto push = [&](Frag f) {
            if (has_last) commit(last);
            last = f;
            has_last = true;
        };
        while (i_ < s_.size() && s_[i_] != '|' && s_[i_] != ')') {
            const char c = s_[i_];
            long min = 0, max = -1;
            std::size_t end = 0;
            if (c == '*' || c == '+' || c == '?') {
                end = i_ + 1;
                min = c == '+' ? 1 : 0;
                max = c == '?' ? 1 : -1;
            } else if (c == '{' && counted_repeat(i_, min, max, end)) {
                if (min > 1000 || max > 1000 || (max >= 0 && min > max))
                    go_fail("invalid repeat count", s_.substr(i_, end - i_));
            }
            if (end != 0) {
                if (end < s_.size() && s_[end] == '?') ++end;  // non-greedy
                if (last_repeat != std::string::npos)
                    go_fail("invalid nested repetition operator",
                            s_.substr(last_repeat, end - last_repeat));
                if (!has_last)
                    go_fail("missing argument to repetition operator", s_.substr(i_, end - i_));
                double need = last.need;
                if (c == '{') {
                    // Go refuses nested counted repetitions of more than 1000 copies in all.
                    const double m = static_cast<double>(max >= 0 ? max : min);
                    if (max == 0) {
                        need = 0;
                    } else if (m > 0) {
                        need = std::max(m, m * last.need);
                    }
                    if ((min >= 2 || max >= 2) && need > 1000)
                        go_fail("invalid repeat count", s_.substr(i_, end - i_));
                }
                last = node(Kind::other, last.height + 1, need);
                last_repeat = i_;
                i_ = end;
                continue;
            }
            last_repeat = std::string::npos;
            if (c == '\\' && i_ + 1 < s_.size() && s_[i_ + 1] == 'Q') {
                // \Q...\E: literals, each its own item.
                const std::size_t from = i_ + 2;
                std::size_t to = s_.find("\\E", from);
                i_ = to == std::string_view::npos ? s_.size() : to + 2;
                if (to == std::string_view::npos) to = s_.size();
                for (std::size_t j = from; j < to; j += rune_at(j).width) push(Frag{Kind::rune});
                continue;
            }
            if (auto f = atom()) push(*f);
        }
        if (has_last) commit(last);
        if (parts.count == 0) return Frag{Kind::leaf};  // an empty match
        if (parts.count == 1) return parts.only;
        return node(Kind::concat, parts.highest + 1, parts.need);
    }

    // One item; nullopt for a flags-only group such as (?i).
    std::optional<Frag> atom() {
        const char c = s_[i_];
        switch (c) {
            case '(':
                return group();
            case '[':
                return char_class();
            case '^':
            case '$':
                ++i_;
                return Frag{Kind::leaf};
            case '.':
                ++i_;
                return Frag{Kind::cls};
            case '\\':
                break;
            default:
                i_ += rune_at(i_).width;
                return Frag{Kind::rune};  // '{' too, as a literal
        }
        if (i_ + 1 < s_.size()) {
            switch (s_[i_ + 1]) {
                case 'A':
                case 'z':
                case 'B':
                case 'b':
                    i_ += 2;
                    return Frag{Kind::leaf};
                case 'C':
                    go_fail("invalid escape sequence", s_.substr(i_, 2));
                case 'p':
                case 'P':
                    unicode_class();
                    return Frag{Kind::cls};
                case 'd':
                case 'D':
                case 's':
                case 'S':
                case 'w':
                case 'W':
                    i_ += 2;
                    return Frag{Kind::cls};
                default:
                    break;
            }
        }
        escape();
        return Frag{Kind::rune};
    }

    std::optional<Frag> group() {
        const std::size_t open = i_;
        if (i_ + 1 < s_.size() && s_[i_ + 1] == '?') {
            const std::string_view t = s_.substr(i_);
            if (t.size() > 4 && t[2] == 'P' && t[3] == '<') {
                const std::size_t end = t.find('>');
                if (end == std::string_view::npos) {
                    for (std::size_t j = i_; j < s_.size(); j += rune_at(j).width) {
                    }
                    go_fail("invalid named capture", t);
                }
                const std::string_view name = t.substr(4, end - 4);
                for (std::size_t j = 0; j < name.size(); j += decode_rune(name, j).width)
                    if (decode_rune(name, j).invalid) go_fail("invalid UTF-8", name.substr(j));
                if (name.empty() || !std::all_of(name.begin(), name.end(), [](char ch) {
                        return is_alnum(static_cast<unsigned char>(ch));
                    }))
                    go_fail("invalid named capture", t.substr(0, end + 1));
                i_ += end + 1;
            } else {
                // Flags, then ')' (for the rest of the group) or ':' (a group).
                std::size_t j = i_ + 2;
                int sign = 1;
                bool saw = false;
                for (;;) {
                    if (j >= s_.size())
                        go_fail("invalid or unsupported Perl syntax", s_.substr(open));
                    const Rune r = rune_at(j);
                    j += r.width;
                    if (r.value == 'i' || r.value == 's' || r.value == 'm' || r.value == 'U') {
                        saw = true;
                        continue;
                    }
                    if (r.value == '-' && sign > 0) {
                        sign = -1;
                        saw = false;
                        continue;
                    }
                    if ((r.value == ':' || r.value == ')') && (sign > 0 || saw)) {
                        i_ = j;
                        if (r.value == ')') return std::nullopt;
                        break;
                    }
                    go_fail("invalid or unsupported Perl syntax", s_.substr(open, j - open));
                }
            }
        } else {
            ++i_;
        }
        const bool capture = open + 1 >= s_.size() || s_[open + 1] != '?' || s_[open + 2] == 'P';
        // Re2Check recurses once per group: deeper nesting than Go's height limit is refused
        // with Go's words. Go itself refuses it unless the groups are all redundant, as in
        // (?:(?:(?:a))), which adds no node to its tree.
        if (++depth_ > kMaxRegexHeight) go_fail("expression nests too deeply", s_);
        const Frag inner = alternation();
        --depth_;
        if (i_ >= s_.size()) go_fail("missing closing )", s_);
        ++i_;  // ')'
        return capture ? node(Kind::other, inner.height + 1, inner.need) : inner;
    }

    // \pN, \p{Name}, \PN, \P{^Name} (i_ at the '\').
    void unicode_class() {
        const std::size_t start = i_;
        const std::size_t j = i_ + 2;
        if (j >= s_.size()) go_fail("invalid character class range", s_.substr(start));
        const Rune r = rune_at(j);
        std::size_t end = j + r.width;
        // One letter: a Unicode category (C, L, M, N, P, S or Z).
        if (r.value != '{' &&
            (r.value >= 0x80 || std::string_view("CLMNPSZ").find(static_cast<char>(r.value)) ==
                                    std::string_view::npos))
            go_fail("invalid character class range", s_.substr(start, end - start));
        if (r.value == '{') {
            const std::size_t close = s_.find('}', start);
            if (close == std::string_view::npos) {
                for (std::size_t k = start; k < s_.size(); k += rune_at(k).width) {
                }
                go_fail("invalid character class range", s_.substr(start));
            }
            end = close + 1;
            std::string_view name = s_.substr(j + 1, close - j - 1);
            for (std::size_t k = 0; k < name.size(); k += rune_at(j + 1 + k).width) {
            }
            if (name.starts_with('^')) name.remove_prefix(1);
            if (!is_unicode_class_name(name))
                go_fail("invalid character class range", s_.substr(start, end - start));
        }
        i_ = end;
    }

    // parseEscape: one escaped character (i_ at the '\'), its value.
    std::int32_t escape() {
        const std::size_t start = i_;
        std::size_t j = i_ + 1;
        auto invalid = [&]() { go_fail("invalid escape sequence", s_.substr(start, j - start)); };
        if (j >= s_.size()) go_fail("trailing backslash at end of expression", "");
        const Rune c = rune_at(j);
        j += c.width;
        auto octal = [&](std::size_t k) { return k < s_.size() && s_[k] >= '0' && s_[k] <= '7'; };
        std::int32_t value = c.value;
        if (c.value < 0x80 && (c.value == '_' || !is_alnum(c.value))) {
            // Escaped punctuation is itself (and \_ too).
        } else if (c.value == '0' || (c.value >= '1' && c.value <= '7' && octal(j))) {
            value = c.value - '0';
            for (int k = 0; k < 2 && octal(j); ++k, ++j) value = value * 8 + (s_[j] - '0');
        } else if (c.value == 'x') {
            if (j >= s_.size()) invalid();
            const Rune d = rune_at(j);
            j += d.width;
            if (d.value == '{') {
                int n = 0;
                value = 0;
                for (;;) {
                    if (j >= s_.size()) invalid();
                    const Rune h = rune_at(j);
                    j += h.width;
                    if (h.value == '}') break;
                    const int v = digit_value(h.value);
                    if (v >= 16) invalid();
                    value = value * 16 + v;
                    if (value > 0x10FFFF) invalid();
                    ++n;
                }
                if (n == 0) invalid();
            } else {
                const Rune e = decode_rune(s_, j);
                if (e.invalid) go_fail("invalid UTF-8", s_.substr(j));
                j += e.width;
                const int x = digit_value(d.value), y = digit_value(e.value);
                if (x >= 16 || y >= 16) invalid();
                value = x * 16 + y;
            }
        } else if (std::string_view("afnrtv").find(static_cast<char>(c.value)) !=
                       std::string_view::npos &&
                   c.value < 0x80) {
            // A C escape.
        } else {
            invalid();
        }
        i_ = j;
        return value;
    }

    // A bracket expression (i_ at the '['): ranges, \d-style and \p classes, [:alpha:].
    Frag char_class() {
        const std::size_t whole = i_;
        ++i_;
        if (i_ < s_.size() && s_[i_] == '^') ++i_;
        bool first = true;  // a ']' first is a literal
        while (i_ >= s_.size() || s_[i_] != ']' || first) {
            first = false;
            if (s_.size() - i_ > 2 && s_[i_] == '[' && s_[i_ + 1] == ':') {
                const std::size_t close = s_.find(":]", i_ + 2);
                if (close != std::string_view::npos) {
                    const std::string_view name = s_.substr(i_, close + 2 - i_);
                    static constexpr std::string_view kPosix[] = {
                        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph",
                        "lower", "print", "punct", "space", "upper", "word",  "xdigit"};
                    std::string_view bare = name.substr(2, name.size() - 4);
                    const bool negated = bare.starts_with('^');
                    if (negated) bare.remove_prefix(1);
                    if (std::find(std::begin(kPosix), std::end(kPosix), bare) == std::end(kPosix))
                        go_fail("invalid character class range", name);
                    i_ = close + 2;
                    continue;
                }
            }
            if (i_ + 1 < s_.size() && s_[i_] == '\\' && (s_[i_ + 1] == 'p' || s_[i_ + 1] == 'P')) {
                unicode_class();
                continue;
            }
            if (i_ + 1 < s_.size() && s_[i_] == '\\' &&
                std::string_view("dDsSwW").find(s_[i_ + 1]) != std::string_view::npos) {
                i_ += 2;
                continue;
            }
            const std::size_t range = i_;
            const std::int32_t lo = class_char(whole);
            if (s_.size() - i_ >= 2 && s_[i_] == '-' && s_[i_ + 1] != ']') {
                ++i_;
                const std::int32_t hi = class_char(whole);
                if (hi < lo) go_fail("invalid character class range", s_.substr(range, i_ - range));
            }
        }
        ++i_;  // ']'
        return Frag{Kind::cls};
    }

    std::int32_t class_char(std::size_t whole) {
        if (i_ >= s_.size()) go_fail("missing closing ]", s_.substr(whole));
        if (s_[i_] == '\\') return escape();
        const Rune r = rune_at(i_);
        i_ += r.width;
        return r.value;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    int depth_ = 0;
};

// A label matcher's or label_replace()'s pattern, checked as Prometheus checks it (see
// Re2Check); `anchored_only` for label_replace(). The problem, if any: Go's error, or
// RE2's when RE2 refuses what Go accepts (a pattern too large for the evaluator's memory
// budget per pattern, where Go's limit is higher). For a matcher, whether it matches "",
// as RE2 answers it (the non-empty matcher rule).
struct RegexProblem {
    bool go = false;  // Prometheus refuses it too
    std::string text;
};

std::optional<RegexProblem> regex_problem(const std::string &pattern, bool anchored_only,
                                          bool *matches_empty) {
    if (auto e = Re2Check("^(?:" + pattern + ")$").run()) return RegexProblem{true, *e};
    if (!anchored_only)
        if (auto e = Re2Check(pattern).run()) return RegexProblem{true, *e};
    const RegexCheck re2 = check_regex(pattern);
    if (!re2.error.empty()) return RegexProblem{false, re2.error};
    if (matches_empty != nullptr) *matches_empty = re2.matches_empty;
    return std::nullopt;
}

// ---- Functions and types ------------------------------------------------------------------

enum class VT { none, scalar, vector, matrix, string };

std::string documented(VT t) {
    switch (t) {
        case VT::scalar:
            return "scalar";
        case VT::vector:
            return "instant vector";
        case VT::matrix:
            return "range vector";
        case VT::string:
            return "string";
        case VT::none:
            break;
    }
    return "none";
}

struct Signature {
    std::string_view name;
    VT args[5];
    std::size_t arity;
    VT ret;
};

constexpr Signature kFunctions[] = {
    {"rate", {VT::matrix}, 1, VT::vector},
    {"irate", {VT::matrix}, 1, VT::vector},
    {"increase", {VT::matrix}, 1, VT::vector},
    {"delta", {VT::matrix}, 1, VT::vector},
    {"avg_over_time", {VT::matrix}, 1, VT::vector},
    {"max_over_time", {VT::matrix}, 1, VT::vector},
    {"min_over_time", {VT::matrix}, 1, VT::vector},
    {"last_over_time", {VT::matrix}, 1, VT::vector},
    {"histogram_quantile", {VT::scalar, VT::vector}, 2, VT::vector},
    {"label_replace", {VT::vector, VT::string, VT::string, VT::string, VT::string}, 5, VT::vector},
    {"clamp_min", {VT::vector, VT::scalar}, 2, VT::vector},
    {"clamp_max", {VT::vector, VT::scalar}, 2, VT::vector},
    {"scalar", {VT::vector}, 1, VT::scalar},
    {"vector", {VT::scalar}, 1, VT::vector},
};

// promql/parser/functions.go at v2.42.0.
// clang-format off
constexpr std::string_view kPrometheusFunctions[] = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "days_in_month", "day_of_month", "day_of_week", "day_of_year", "deg",
    "delta", "deriv", "exp", "floor", "histogram_count", "histogram_sum", "histogram_fraction",
    "histogram_quantile", "holt_winters", "hour", "idelta", "increase", "irate", "label_replace",
    "label_join", "last_over_time", "ln", "log10", "log2", "max_over_time", "min_over_time",
    "minute", "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad",
    "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt",
    "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp",
    "vector", "year"
};
// clang-format on

const Signature *find_function(std::string_view name) {
    for (const Signature &f : kFunctions)
        if (f.name == name) return &f;
    return nullptr;
}

std::string supported_functions() {
    std::string out;
    for (const Signature &f : kFunctions) {
        if (!out.empty()) out += ", ";
        out += f.name;
    }
    return out;
}

constexpr std::string_view kSupportedOperators = "+, -, *, /, %, ^, ==, !=, >, <, >=, <=";

// ---- Parser -----------------------------------------------------------------------------

struct Failure {
    std::size_t pos;
    std::string message;
};

// What the type checks need beyond the tree.
struct Info {
    std::size_t outer = 0;   // start including enclosing parentheses (Prometheus' ParenExpr)
    std::size_t op_pos = 0;  // Binary: the operator
    std::size_t height = 1;  // tree height below and including the node
    VT type = VT::none;      // Prometheus' Expr.Type()
    bool nonempty = false;   // VectorSelector: a matcher that does not match ""
};

struct Parsed {
    std::shared_ptr<Node> node;
    bool parenthesized = false;
    bool bare_selector = false;  // a vector selector, without parentheses or range yet
};

// Operator precedences, lowest first (generated_parser.y's %left/%right lines).
int precedence(T t) {
    switch (t) {
        case T::lor:
            return 1;
        case T::land:
        case T::lunless:
            return 2;
        case T::eqlc:
        case T::neq:
        case T::lte:
        case T::lss:
        case T::gte:
        case T::gtr:
            return 3;
        case T::add:
        case T::sub:
            return 4;
        case T::mul:
        case T::div:
        case T::mod:
        case T::atan2:
            return 5;
        case T::pow:
            return 6;
        default:
            return 0;
    }
}
constexpr int kPowPrecedence = 6;

BinaryOp binary_op(T t) {
    switch (t) {
        case T::add:
            return BinaryOp::add;
        case T::sub:
            return BinaryOp::sub;
        case T::mul:
            return BinaryOp::mul;
        case T::div:
            return BinaryOp::div;
        case T::mod:
            return BinaryOp::mod;
        case T::pow:
            return BinaryOp::pow;
        case T::eqlc:
            return BinaryOp::eq;
        case T::neq:
            return BinaryOp::ne;
        case T::gtr:
            return BinaryOp::gt;
        case T::lss:
            return BinaryOp::lt;
        case T::gte:
            return BinaryOp::ge;
        default:  // T::lte: the set operators and atan2 never get here
            return BinaryOp::le;
    }
}

bool is_comparison(BinaryOp op) {
    return op == BinaryOp::eq || op == BinaryOp::ne || op == BinaryOp::gt || op == BinaryOp::lt ||
           op == BinaryOp::ge || op == BinaryOp::le;
}

// generated_parser.y's metric_identifier, without the aggregators (handled apart).
bool is_metric_keyword(T t) {
    return t == T::metric_identifier || t == T::by || t == T::land || t == T::lor ||
           t == T::lunless || t == T::offset || t == T::without || t == T::start || t == T::end;
}

// generated_parser.y's maybe_label.
bool is_maybe_label(T t) {
    return t == T::identifier || t == T::metric_identifier || is_aggregator(t) || t == T::kw_bool ||
           t == T::by || t == T::group_left || t == T::group_right || t == T::ignoring ||
           t == T::land || t == T::lor || t == T::lunless || t == T::offset || t == T::on ||
           t == T::start || t == T::end || t == T::atan2;
}

class Parser {
  public:
    explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

    NodePtr run() {
        if (peek().type == T::eof) fail(0, "no expression found in input");
        const Parsed e = expr(0);
        if (const Token &t = next(); t.type != T::eof) unexpected(t);
        check(*e.node);
        return e.node;
    }

  private:
    // ---- tokens and errors ----
    const Token &peek() const { return toks_[i_]; }
    const Token &next() {
        const Token &t = toks_[i_];
        if (i_ + 1 < toks_.size()) ++i_;  // the last token (EOF or error) stays
        return t;
    }

    [[noreturn]] static void fail(std::size_t pos, std::string message) {
        throw Failure{pos, std::move(message)};
    }

    // parser.unexpected: "unexpected <token>[ in <context>][, expected <expected>]".
    // Inside an aggregation's arguments, Prometheus' error recovery names the aggregation.
    [[noreturn]] void unexpected(const Token &t, std::string_view context = {},
                                 std::string_view expected = {}) const {
        if (t.type == T::error) fail(t.pos, t.error);
        if (context.empty() && aggregation_depth_ > 0) context = "aggregation";
        std::string message = "unexpected " + describe_token(t);
        if (!context.empty()) message += " in " + std::string(context);
        if (!expected.empty()) message += ", expected " + std::string(expected);
        fail(t.pos, std::move(message));
    }

    // ---- nodes ----
    Info &info(const Node *n) { return info_.at(n); }

    template <typename V>
    std::shared_ptr<Node> make(V value, std::size_t pos, VT type,
                               std::initializer_list<const Node *> children = {}) {
        std::size_t height = 1;
        for (const Node *c : children) height = std::max(height, info(c).height + 1);
        return make_with_height(std::move(value), pos, type, height);
    }

    template <typename V>
    std::shared_ptr<Node> make_with_height(V value, std::size_t pos, VT type, std::size_t height) {
        if (height > kMaxNesting) fail(pos, nesting_message());
        auto n = std::make_shared<Node>();
        n->value = std::move(value);
        n->pos = pos;
        Info &i = info_[n.get()];
        i = Info{};
        i.outer = pos;
        i.height = height;
        i.type = type;
        return n;
    }

    static std::string nesting_message() {
        return "expression is nested too deeply (more than " + std::to_string(kMaxNesting) +
               " levels)";
    }

    // ---- grammar ----
    // The functions that recurse (expr, unary, primary, call, call_body, aggregation) keep
    // small stack frames: everything else, error messages included, is in functions they
    // call and return from ([[gnu::noinline]] where the compiler would fold them in).

    [[noreturn]] [[gnu::noinline]] static void fail_nesting(std::size_t pos) {
        fail(pos, nesting_message());
    }

    class Nest {
      public:
        Nest(Parser &p, std::size_t pos) : p_(p) {
            if (p_.depth_ >= kMaxNesting) fail_nesting(pos);
            ++p_.depth_;
        }
        ~Nest() { --p_.depth_; }
        Nest(const Nest &) = delete;
        Nest &operator=(const Nest &) = delete;

      private:
        Parser &p_;
    };

    Parsed expr(int min_precedence) {
        const Nest nest(*this, peek().pos);
        Parsed lhs = unary();
        for (;;) {
            const Token &op = peek();
            const int prec = precedence(op.type);
            if (prec == 0 || prec < min_precedence) return lhs;
            Binary b = binary_operator();
            Parsed rhs = expr(op.type == T::pow ? prec : prec + 1);
            lhs = finish_binary(std::move(lhs), std::move(b), op.pos, std::move(rhs));
        }
    }

    // The operator (peeked) and its modifiers: `op [bool] [on|ignoring (labels)]`.
    [[gnu::noinline]] Binary binary_operator() {
        const Token &op = next();
        if (op.type == T::land || op.type == T::lor || op.type == T::lunless)
            fail(op.pos, "set operator " + go_quote(common::lowercase(op.text)) +
                             " is not supported by pulse (supported operators: " +
                             std::string(kSupportedOperators) + ")");
        if (op.type == T::atan2)
            fail(op.pos, "operator \"atan2\" is not supported by pulse (supported operators: " +
                             std::string(kSupportedOperators) + ")");
        Binary b;
        b.op = binary_op(op.type);
        if (peek().type == T::kw_bool) {
            next();
            b.return_bool = true;
        }
        if (peek().type == T::on || peek().type == T::ignoring) {
            b.on = next().type == T::on;
            b.has_matching = true;
            b.matching_labels = grouping_labels();
            if (const Token &g = peek(); g.type == T::group_left || g.type == T::group_right)
                fail(g.pos, common::lowercase(g.text) +
                                " is not supported by pulse (only one-to-one vector matching)");
        }
        return b;
    }

    [[gnu::noinline]] Parsed finish_binary(Parsed lhs, Binary b, std::size_t op_pos, Parsed rhs) {
        const VT lt = info(lhs.node.get()).type, rt = info(rhs.node.get()).type;
        // Prometheus drops the matching unless both sides are instant vectors (and refuses
        // it, in the type checks, if it names labels).
        if ((lt != VT::vector || rt != VT::vector) && b.matching_labels.empty()) {
            b.has_matching = false;
            b.on = false;
        }
        const std::size_t pos = info(lhs.node.get()).outer;
        const VT type = lt == VT::scalar && rt == VT::scalar ? VT::scalar : VT::vector;
        const Node *l = lhs.node.get(), *r = rhs.node.get();
        b.lhs = std::move(lhs.node);
        b.rhs = std::move(rhs.node);
        auto node = make(std::move(b), pos, type, {l, r});
        info(node.get()).op_pos = op_pos;
        return Parsed{std::move(node)};
    }

    // unary_expr: `unary_op expr %prec MUL`, so its operand takes only `^` along.
    Parsed unary() {
        const Token &sign = peek();
        if (sign.type != T::add && sign.type != T::sub) return postfix(primary());
        next();
        Parsed operand = expr(kPowPrecedence);
        return finish_unary(sign, std::move(operand));
    }

    [[gnu::noinline]] Parsed finish_unary(const Token &sign, Parsed operand) {
        const bool negate = sign.type == T::sub;
        if (auto *number = std::get_if<NumberLiteral>(&operand.node->value);
            number != nullptr && !operand.parenthesized) {
            // Prometheus folds the sign into a number literal, which then starts at the sign.
            if (negate) number->value = -number->value;
            operand.node->pos = sign.pos;
            info(operand.node.get()).outer = sign.pos;
            return Parsed{std::move(operand.node)};
        }
        const Node *child = operand.node.get();
        return Parsed{make(Unary{negate, operand.node}, sign.pos, info(child).type, {child})};
    }

    Parsed primary() {
        const Token &t = next();
        if (t.type == T::left_paren) {
            Parsed inner = expr(0);
            close_paren(inner, t.pos);
            return inner;
        }
        if (t.type == T::identifier && peek().type == T::left_paren) return call(t);
        if (is_aggregator(t.type) && starts_aggregation(peek().type)) return aggregation(t);
        return leaf(t);
    }

    static bool starts_expression(T t) {
        return t == T::number || t == T::string || t == T::left_paren || t == T::left_brace ||
               t == T::identifier || t == T::add || t == T::sub || is_aggregator(t) ||
               is_metric_keyword(t);
    }

    static bool starts_aggregation(T next) {
        return next == T::left_paren || next == T::by || next == T::without;
    }

    [[gnu::noinline]] void close_paren(Parsed &inner, std::size_t open_pos) {
        if (const Token &close = next(); close.type != T::right_paren) unexpected(close);
        info(inner.node.get()).outer = open_pos;
        inner.parenthesized = true;
        inner.bare_selector = false;
    }

    // Number and string literals and vector selectors.
    [[gnu::noinline]] Parsed leaf(const Token &t) {
        switch (t.type) {
            case T::number:
                return Parsed{make(NumberLiteral{number(t)}, t.pos, VT::scalar)};
            case T::string:
                return Parsed{make(StringLiteral{unquote(t.text)}, t.pos, VT::string)};
            case T::left_brace:
                return selector(nullptr, t.pos);
            default:
                break;
        }
        if (t.type == T::identifier || is_aggregator(t.type) || is_metric_keyword(t.type))
            return selector(&t, t.pos);
        unexpected(t);
    }

    // Ranges, and the modifiers pulse does not support, bind tighter than any operator.
    [[gnu::noinline]] Parsed postfix(Parsed p) {
        for (;;) {
            const Token &t = peek();
            if (t.type == T::offset) fail(t.pos, "offset modifier is not supported by pulse");
            if (t.type == T::at) fail(t.pos, "@ modifier is not supported by pulse");
            if (t.type != T::left_bracket) return p;
            next();
            const Token &d = next();
            if (d.type != T::duration) unexpected(d, "subquery selector", "duration");
            std::string error;
            const auto ms = parse_duration(d.text, error);
            if (!ms) fail(d.pos, error);
            const Token &close = next();
            if (close.type == T::colon) fail(t.pos, "subquery is not supported by pulse");
            if (close.type != T::right_bracket)
                unexpected(close, "subquery or range", "\":\" or \"]\"");
            if (!p.bare_selector) fail(t.pos, "ranges only allowed for vector selectors");
            std::get<VectorSelector>(p.node->value).range_ms = *ms;
            info(p.node.get()).type = VT::matrix;
            p.bare_selector = false;
        }
    }

    double number(const Token &t) {
        if (const auto i = go_parse_int(t.text)) return static_cast<double>(*i);
        std::string error;
        const auto f = go_parse_float(t.text, error);
        if (!f) fail(t.pos, "error parsing number: " + error);
        return *f;
    }

    // function_call_body: `( )` or `( expr, ... )`, no trailing comma.
    std::vector<Parsed> call_body() {
        std::vector<Parsed> args;
        if (open_call_body()) return args;
        do {
            args.push_back(expr(0));
        } while (call_body_separator());
        return args;
    }

    // Reads the '('; true when a ')' follows (no arguments), which it reads too.
    [[gnu::noinline]] bool open_call_body() {
        if (const Token &open = next(); open.type != T::left_paren) unexpected(open);
        if (peek().type != T::right_paren) return false;
        next();
        return true;
    }

    // After an argument: true after a ',', false after the closing ')'.
    [[gnu::noinline]] bool call_body_separator() {
        const Token &t = next();
        if (t.type == T::right_paren) return false;
        if (t.type != T::comma) unexpected(t);
        // As in Prometheus, a comma that no argument follows is a trailing comma.
        if (!starts_expression(peek().type) && peek().type != T::error)
            fail(t.pos, "trailing commas not allowed in function call args");
        return true;
    }

    Parsed call(const Token &name) {
        std::vector<Parsed> args = call_body();
        return finish_call(name, args);
    }

    [[gnu::noinline]] Parsed finish_call(const Token &name, std::vector<Parsed> &args) {
        const Signature *f = find_function(name.text);
        if (f == nullptr) {
            const bool known =
                std::find(std::begin(kPrometheusFunctions), std::end(kPrometheusFunctions),
                          name.text) != std::end(kPrometheusFunctions);
            if (known)
                fail(name.pos,
                     "function " + go_quote(name.text) +
                         " is not supported by pulse (supported: " + supported_functions() + ")");
            fail(name.pos, "unknown function " + go_quote(name.text));
        }
        Call c;
        c.function = std::string(name.text);
        std::size_t height = 1;
        for (Parsed &a : args) {
            height = std::max(height, info(a.node.get()).height + 1);
            c.args.push_back(std::move(a.node));
        }
        return Parsed{make_with_height(std::move(c), name.pos, f->ret, height)};
    }

    struct Grouping {
        bool present = false;
        bool without = false;
        std::vector<std::string> labels;
    };

    Parsed aggregation(const Token &op) {
        Grouping g;
        aggregation_modifier(g, true);
        ++aggregation_depth_;
        std::vector<Parsed> args = call_body();
        --aggregation_depth_;
        aggregation_modifier(g, false);
        return finish_aggregation(op, g, args);
    }

    // `by (...)` or `without (...)`, before the arguments (then a '(' must follow) or after.
    [[gnu::noinline]] void aggregation_modifier(Grouping &g, bool before) {
        if (g.present || (peek().type != T::by && peek().type != T::without)) return;
        g.present = true;
        g.without = next().type == T::without;
        g.labels = grouping_labels();
        if (before && peek().type != T::left_paren) unexpected(peek(), "aggregation");
    }

    [[gnu::noinline]] Parsed finish_aggregation(const Token &op, Grouping &g,
                                                std::vector<Parsed> &args) {
        Aggregation a;
        const std::string name = common::lowercase(op.text);
        if (name == "sum") {
            a.op = AggregationOp::sum;
        } else if (name == "avg") {
            a.op = AggregationOp::avg;
        } else if (name == "max") {
            a.op = AggregationOp::max;
        } else if (name == "min") {
            a.op = AggregationOp::min;
        } else if (name == "count") {
            a.op = AggregationOp::count;
        } else {
            fail(op.pos, "aggregation " + go_quote(name) +
                             " is not supported by pulse (supported: sum, avg, max, min, count)");
        }
        if (args.empty()) fail(op.pos, "no arguments for aggregate expression provided");
        if (args.size() != 1)
            fail(op.pos,
                 "wrong number of arguments for aggregate expression provided, expected 1, got " +
                     std::to_string(args.size()));
        a.without = g.without;
        a.grouping = std::move(g.labels);
        const Node *child = args[0].node.get();
        a.expr = std::move(args[0].node);
        return Parsed{make(std::move(a), op.pos, VT::vector, {child})};
    }

    // vector_selector: `name`, `name{...}` or `{...}` (the '{' then already read).
    Parsed selector(const Token *name, std::size_t pos) {
        VectorSelector vs;
        bool nonempty = false;
        if (name != nullptr) {
            vs.name = std::string(name->text);
            vs.matchers.push_back(LabelMatcher{"__name__", LabelMatcher::Op::equal, vs.name, pos});
            nonempty = true;
            if (peek().type == T::left_brace) {
                next();
                label_matchers(vs.matchers, nonempty);
            }
        } else {
            label_matchers(vs.matchers, nonempty);
        }
        auto node = make(std::move(vs), pos, VT::vector);
        info(node.get()).nonempty = nonempty;
        return Parsed{std::move(node), false, true};
    }

    void label_matchers(std::vector<LabelMatcher> &out, bool &nonempty) {
        const Token *t = &next();
        if (t->type == T::right_brace) return;
        for (;;) {
            if (t->type != T::identifier) unexpected(*t, "label matching", "identifier or \"}\"");
            const Token &op = next();
            LabelMatcher m;
            switch (op.type) {
                case T::eql:
                    m.op = LabelMatcher::Op::equal;
                    break;
                case T::neq:
                    m.op = LabelMatcher::Op::not_equal;
                    break;
                case T::eql_regex:
                    m.op = LabelMatcher::Op::regex;
                    break;
                case T::neq_regex:
                    m.op = LabelMatcher::Op::not_regex;
                    break;
                default:
                    unexpected(op, "label matching", "label matching operator");
            }
            const Token &value = next();
            if (value.type != T::string) unexpected(value, "label matching", "string");
            m.name = std::string(t->text);
            m.value = unquote(value.text);
            m.pos = t->pos;
            bool matches_empty = m.value.empty();
            if (m.op == LabelMatcher::Op::regex || m.op == LabelMatcher::Op::not_regex) {
                if (const auto problem = regex_problem(m.value, false, &matches_empty))
                    fail(t->pos, problem->go ? "error parsing regexp: " + problem->text
                                             : "regular expression " + go_quote(m.value) +
                                                   " is not supported by pulse: RE2 refuses it (" +
                                                   problem->text + ")");
            }
            const bool positive =
                m.op == LabelMatcher::Op::equal || m.op == LabelMatcher::Op::regex;
            if (positive != matches_empty) nonempty = true;
            out.push_back(std::move(m));
            const Token &sep = next();
            if (sep.type == T::right_brace) return;
            if (sep.type != T::comma) unexpected(sep, "label matching", "\",\" or \"}\"");
            t = &next();
            if (t->type == T::right_brace) return;
        }
    }

    // grouping_labels: `( label, ... )`, trailing comma and empty list allowed.
    std::vector<std::string> grouping_labels() {
        if (const Token &open = next(); open.type != T::left_paren)
            unexpected(open, "grouping opts", "\"(\"");
        std::vector<std::string> labels;
        const Token *t = &next();
        if (t->type == T::right_paren) return labels;
        for (;;) {
            if (!is_maybe_label(t->type) || !is_label_name(t->text))
                unexpected(*t, "grouping opts", "label");
            labels.emplace_back(t->text);
            const Token &sep = next();
            if (sep.type == T::right_paren) return labels;
            if (sep.type != T::comma) unexpected(sep, "grouping opts", "\",\" or \")\"");
            t = &next();
            if (t->type == T::right_paren) return labels;
        }
    }

    // ---- type checks: parse.go's checkAST, in its order ----
    VT check(const Node &n) {
        const Info &in = info(&n);
        if (const auto *vs = std::get_if<VectorSelector>(&n.value)) {
            if (!vs->name.empty()) {
                for (std::size_t k = 1; k < vs->matchers.size(); ++k)
                    if (vs->matchers[k].name == "__name__")
                        fail(n.pos, "metric name must not be set twice: " + go_quote(vs->name) +
                                        " or " + go_quote(vs->matchers[k].value));
            } else if (!in.nonempty) {
                fail(n.pos, "vector selector must contain at least one non-empty matcher");
            }
        } else if (const auto *c = std::get_if<Call>(&n.value)) {
            const Signature *f = find_function(c->function);
            if (c->args.size() != f->arity)
                fail(n.pos, "expected " + std::to_string(f->arity) + " argument(s) in call to " +
                                go_quote(c->function) + ", got " + std::to_string(c->args.size()));
            for (std::size_t k = 0; k < c->args.size(); ++k)
                expect_type(*c->args[k], f->args[k], "call to function " + go_quote(c->function));
            if (c->function == "label_replace") {
                const auto &dst = std::get<StringLiteral>(c->args[1]->value).value;
                const auto &regex = std::get<StringLiteral>(c->args[4]->value).value;
                if (const auto problem = regex_problem(regex, true, nullptr))
                    fail(info(c->args[4].get()).outer,
                         problem->go ? "invalid regular expression in label_replace(): " + regex
                                     : "regular expression " + go_quote(regex) +
                                           " in label_replace() is not supported by pulse: RE2 "
                                           "refuses it (" +
                                           problem->text + ")");
                if (!is_label_name(dst))
                    fail(info(c->args[1].get()).outer,
                         "invalid destination label name in label_replace(): " + dst);
            }
        } else if (const auto *a = std::get_if<Aggregation>(&n.value)) {
            expect_type(*a->expr, VT::vector, "aggregation expression");
        } else if (const auto *b = std::get_if<Binary>(&n.value)) {
            const VT lt = check(*b->lhs), rt = check(*b->rhs);
            const bool comparison = is_comparison(b->op);
            if (b->return_bool && !comparison)
                fail(in.op_pos, "bool modifier can only be used on comparison operators");
            if (comparison && !b->return_bool && lt == VT::scalar && rt == VT::scalar)
                fail(in.op_pos, "comparisons between scalars must use BOOL modifier");
            if (lt != VT::scalar && lt != VT::vector)
                fail(info(b->lhs.get()).outer,
                     "binary expression must contain only scalar and instant vector types");
            if (rt != VT::scalar && rt != VT::vector)
                fail(info(b->rhs.get()).outer,
                     "binary expression must contain only scalar and instant vector types");
            if ((lt != VT::vector || rt != VT::vector) && !b->matching_labels.empty())
                fail(n.pos, "vector matching only allowed between instant vectors");
        } else if (const auto *u = std::get_if<Unary>(&n.value)) {
            const VT t = check(*u->expr);
            if (t != VT::scalar && t != VT::vector)
                fail(n.pos,
                     "unary expression only allowed on expressions of type scalar or instant "
                     "vector, got " +
                         go_quote(documented(t)));
        }
        return in.type;
    }

    void expect_type(const Node &n, VT want, const std::string &context) {
        const VT t = check(n);
        if (t != want)
            fail(info(&n).outer,
                 "expected type " + documented(want) + " in " + context + ", got " + documented(t));
    }

    std::vector<Token> toks_;
    std::size_t i_ = 0;
    std::size_t depth_ = 0;
    std::size_t aggregation_depth_ = 0;  // aggregations whose arguments are being read
    std::unordered_map<const Node *, Info> info_;
};

}  // namespace

std::string ParseError::describe(std::string_view expression) const {
    const std::size_t p = std::min(pos, expression.size());
    std::size_t line = 1, line_start = 0;
    for (std::size_t i = 0; i < p; ++i) {
        if (expression[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return std::to_string(line) + ":" + std::to_string(p - line_start + 1) + ": " + message;
}

ParseResult parse(std::string_view expression) {
    try {
        Parser parser(Lexer(expression).run());
        return parser.run();
    } catch (const Failure &f) {
        return ParseError{f.pos, f.message};
    }
}

}  // namespace pulse::promql
