#include "core/cache_policy.h"

#include <algorithm>
#include <array>
#include <utility>

#include "common/ascii_case.h"
#include "common/trim.h"

namespace pulse {

namespace {

constexpr std::int64_t kMaxLifetime = 2147483647;  // 2^31 - 1 seconds
constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kYear = 365 * kDay;

using common::iends_with;
using common::iequals;
using common::istarts_with;
using common::to_lower;
using common::trim;

constexpr bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
constexpr bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

struct ExtensionKind {
    std::string_view ext;
    StaticKind kind;
};

constexpr ExtensionKind kExtensions[] = {
    // images
    {"png", StaticKind::image},
    {"jpg", StaticKind::image},
    {"jpeg", StaticKind::image},
    {"jpe", StaticKind::image},
    {"gif", StaticKind::image},
    {"webp", StaticKind::image},
    {"avif", StaticKind::image},
    {"svg", StaticKind::image},
    {"svgz", StaticKind::image},
    {"ico", StaticKind::image},
    {"cur", StaticKind::image},
    {"bmp", StaticKind::image},
    {"tif", StaticKind::image},
    {"tiff", StaticKind::image},
    {"apng", StaticKind::image},
    {"jxl", StaticKind::image},
    {"heic", StaticKind::image},
    {"heif", StaticKind::image},
    // fonts
    {"woff", StaticKind::font},
    {"woff2", StaticKind::font},
    {"ttf", StaticKind::font},
    {"otf", StaticKind::font},
    {"eot", StaticKind::font},
    // styles and scripts
    {"css", StaticKind::style},
    {"js", StaticKind::script},
    {"mjs", StaticKind::script},
    {"cjs", StaticKind::script},
    {"wasm", StaticKind::script},
    {"map", StaticKind::script},
    // media
    {"mp4", StaticKind::media},
    {"m4v", StaticKind::media},
    {"webm", StaticKind::media},
    {"ogv", StaticKind::media},
    {"ogg", StaticKind::media},
    {"oga", StaticKind::media},
    {"opus", StaticKind::media},
    {"mp3", StaticKind::media},
    {"m4a", StaticKind::media},
    {"aac", StaticKind::media},
    {"flac", StaticKind::media},
    {"wav", StaticKind::media},
    {"mov", StaticKind::media},
    {"mkv", StaticKind::media},
    {"avi", StaticKind::media},
    {"mpeg", StaticKind::media},
    {"mpg", StaticKind::media},
    {"vtt", StaticKind::media},
    // documents
    {"html", StaticKind::document},
    {"htm", StaticKind::document},
    {"xhtml", StaticKind::document},
    {"json", StaticKind::document},
    {"xml", StaticKind::document},
    {"rss", StaticKind::document},
    {"atom", StaticKind::document},
    {"webmanifest", StaticKind::document},
    {"manifest", StaticKind::document},
    {"appcache", StaticKind::document},
    {"txt", StaticKind::document},
};

constexpr std::string_view kKindNames[kStaticKindCount] = {"none",   "image", "font",    "style",
                                                           "script", "media", "document"};

constexpr bool is_static_kind(StaticKind k) {
    return k == StaticKind::image || k == StaticKind::font || k == StaticKind::style ||
           k == StaticKind::script || k == StaticKind::media;
}

// How long an unversioned file of each kind is kept, and how long after that it may still
// be served while it is revalidated.
struct KindDefault {
    std::int64_t max_age;
    std::int64_t stale_while_revalidate;
};
constexpr KindDefault kind_default(StaticKind k) {
    switch (k) {
        case StaticKind::image:
            return {kDay, kDay};
        case StaticKind::font:
            return {30 * kDay, kDay};
        case StaticKind::style:
            return {3600, 60};
        case StaticKind::script:
            return {3600, 60};
        case StaticKind::media:
            return {kDay, kDay};
        case StaticKind::none:
        case StaticKind::document:
            break;
    }
    return {0, 0};
}

// Character classes for the fingerprint scan: one table load per character.
enum : std::uint8_t {
    kDigit = 1,
    kHexLetter = 2,
    kUpper = 4,
    kLower = 8,
    kRollup = 16,     // [A-Za-z0-9_-]
    kSeparator = 32,  // '.' and '-': where a hash piece ends
};

constexpr std::array<std::uint8_t, 256> kCharClass = [] {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        std::uint8_t v = 0;
        if (c >= '0' && c <= '9') v |= kDigit | kRollup;
        if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHexLetter;
        if (c >= 'A' && c <= 'Z') v |= kUpper | kRollup;
        if (c >= 'a' && c <= 'z') v |= kLower | kRollup;
        if (c == '_' || c == '-') v |= kRollup;
        if (c == '.' || c == '-') v |= kSeparator;
        t[static_cast<std::size_t>(c)] = v;
    }
    return t;
}();

constexpr std::uint8_t char_class(char c) {
    return kCharClass[static_cast<unsigned char>(c)];
}

// 8 to 64 hex characters with at least one digit and one letter.
constexpr bool is_hex_hash(std::string_view s) {
    if (s.size() < 8 || s.size() > 64) return false;
    std::uint8_t seen = 0;
    for (char c : s) {
        std::uint8_t k = char_class(c);
        if (!(k & (kDigit | kHexLetter))) return false;
        seen |= k;
    }
    return (seen & kDigit) && (seen & kHexLetter);
}

// Rollup's "<name>-<8 chars of [A-Za-z0-9_-]>" with a digit, an uppercase and a lowercase
// letter among the 8 (see classify in cache_policy.h).
constexpr bool ends_with_rollup_hash(std::string_view part) {
    constexpr std::size_t kHash = 8;
    if (part.size() < kHash + 2 || part[part.size() - kHash - 1] != '-') return false;
    std::uint8_t seen = 0;
    for (char c : part.substr(part.size() - kHash)) {
        std::uint8_t k = char_class(c);
        if (!(k & kRollup)) return false;
        seen |= k;
    }
    return (seen & kDigit) && (seen & kUpper) && (seen & kLower);
}

// Whether the file name's stem (the name before its extension) holds a hash: one pass,
// splitting at '.' and '-'; a '.'-separated part is also checked for Rollup's suffix.
bool stem_has_hash(std::string_view stem) {
    const char *p = stem.data(), *end = p + stem.size();
    const char *piece = p, *part = p;
    std::uint8_t seen = 0;
    bool hex = true;  // every character of the piece so far is a hex digit
    for (;; ++p) {
        std::uint8_t k = p < end ? char_class(*p) : static_cast<std::uint8_t>(kSeparator);
        if (!(k & kSeparator)) {
            seen |= k;
            hex = hex && (k & (kDigit | kHexLetter));
            continue;
        }
        auto len = static_cast<std::size_t>(p - piece);
        if (hex && len >= 8 && len <= 64 && (seen & kDigit) && (seen & kHexLetter)) return true;
        if (p == end || *p == '.') {
            if (static_cast<std::size_t>(p - part) >= 10 &&
                ends_with_rollup_hash({part, static_cast<std::size_t>(p - part)})) {
                return true;
            }
            if (p == end) return false;
            part = p + 1;
        }
        piece = p + 1;
        seen = 0;
        hex = true;
    }
}

bool query_has_hash(std::string_view query) {
    while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view param = query.substr(0, amp);
        std::size_t eq = param.find('=');
        if (eq != std::string_view::npos) {
            std::string_view name = param.substr(0, eq);
            if ((name == "v" || name == "hash") && is_hex_hash(param.substr(eq + 1))) return true;
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return false;
}

// No "." or ".." segment, no backslash, no percent-encoded ".", "/" or "\".
bool path_is_plain(std::string_view path) {
    std::size_t segment_start = 0;
    for (std::size_t i = 0; i <= path.size(); ++i) {
        if (i == path.size() || path[i] == '/') {
            std::string_view segment = path.substr(segment_start, i - segment_start);
            if (segment == "." || segment == "..") return false;
            segment_start = i + 1;
            continue;
        }
        char c = path[i];
        if (c == '\\') return false;
        if (c == '%' && i + 2 < path.size()) {
            std::string_view esc = path.substr(i + 1, 2);
            if (iequals(esc, "2e") || iequals(esc, "2f") || iequals(esc, "5c")) return false;
        }
    }
    return true;
}

bool under_versioned_prefix(std::string_view path, const std::vector<std::string> &prefixes) {
    for (const auto &p : prefixes) {
        if (!p.empty() && path.starts_with(p)) return path_is_plain(path);
    }
    return false;
}

// A configuration word for an error message: quoted, with bytes outside printable ASCII
// (and the quote and backslash) escaped.
std::string quoted(std::string_view word) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (char ch : word) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        } else {
            out += ch;
        }
    }
    out += '"';
    return out;
}

}  // namespace

std::string_view asset_class_label(AssetClass c) {
    switch (c) {
        case AssetClass::fingerprinted:
            return "fingerprinted";
        case AssetClass::static_asset:
            return "static";
        case AssetClass::document:
            return "document";
        case AssetClass::untouched:
            break;
    }
    return "untouched";
}

namespace {

// Extensions of up to 8 characters, lowercased and packed into one integer, sorted at
// compile time: a lookup is a handful of integer comparisons, not 70 string compares.
constexpr std::uint64_t pack(std::string_view s) {
    std::uint64_t key = 0;
    for (std::size_t i = 0; i < s.size() && i < 8; ++i) {
        key |= static_cast<std::uint64_t>(static_cast<unsigned char>(to_lower(s[i]))) << (8 * i);
    }
    return key;
}

struct PackedExtension {
    std::uint64_t key;
    StaticKind kind;
};

constexpr std::size_t count_short_extensions() {
    std::size_t n = 0;
    for (const auto &e : kExtensions) n += e.ext.size() <= 8 ? 1 : 0;
    return n;
}

constexpr auto kPackedExtensions = [] {
    std::array<PackedExtension, count_short_extensions()> table{};
    std::size_t n = 0;
    for (const auto &e : kExtensions) {
        if (e.ext.size() <= 8) table[n++] = {pack(e.ext), e.kind};
    }
    std::sort(table.begin(), table.end(),
              [](const auto &a, const auto &b) { return a.key < b.key; });
    return table;
}();

}  // namespace

StaticKind kind_from_extension(std::string_view ext) {
    if (ext.empty()) return StaticKind::none;
    if (ext.size() > 8) {
        for (const auto &e : kExtensions) {
            if (e.ext.size() > 8 && iequals(ext, e.ext)) return e.kind;
        }
        return StaticKind::none;
    }
    for (char c : ext) {
        if (c == '\0') return StaticKind::none;  // packing could not tell "js" from "js\0"
    }
    std::uint64_t key = pack(ext);
    auto it = std::lower_bound(kPackedExtensions.begin(), kPackedExtensions.end(), key,
                               [](const PackedExtension &e, std::uint64_t k) { return e.key < k; });
    return it != kPackedExtensions.end() && it->key == key ? it->kind : StaticKind::none;
}

namespace {

// `rest` starts with `lowercase_word` and the word ends there (end, ';', ' ' or tab).
constexpr bool word_is(std::string_view rest, std::string_view lowercase_word) {
    if (!istarts_with(rest, lowercase_word)) return false;
    if (rest.size() == lowercase_word.size()) return true;
    char next = rest[lowercase_word.size()];
    return next == ';' || next == ' ' || next == '\t';
}

// The subtype up to its parameters.
constexpr std::string_view subtype_of(std::string_view rest) {
    std::size_t end = 0;
    while (end < rest.size() && rest[end] != ';' && rest[end] != ' ' && rest[end] != '\t') ++end;
    return rest.substr(0, end);
}

}  // namespace

// Dispatches on the first letter of the type, so a lookup compares one or two words.
StaticKind kind_from_content_type(std::string_view type) {
    while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
    if (type.empty()) return StaticKind::none;
    switch (to_lower(type.front())) {
        case 'i':
            return istarts_with(type, "image/") ? StaticKind::image : StaticKind::none;
        case 'f':
            return istarts_with(type, "font/") ? StaticKind::font : StaticKind::none;
        case 'v':
            return istarts_with(type, "video/") ? StaticKind::media : StaticKind::none;
        case 't': {
            if (!istarts_with(type, "text/")) return StaticKind::none;
            std::string_view rest = type.substr(5);
            if (word_is(rest, "css")) return StaticKind::style;
            if (word_is(rest, "javascript") || word_is(rest, "ecmascript"))
                return StaticKind::script;
            if (word_is(rest, "html") || word_is(rest, "xml") || word_is(rest, "cache-manifest")) {
                return StaticKind::document;
            }
            return StaticKind::none;
        }
        case 'a': {
            if (istarts_with(type, "audio/")) return StaticKind::media;
            if (!istarts_with(type, "application/")) return StaticKind::none;
            std::string_view rest = type.substr(12);
            if (word_is(rest, "javascript") || word_is(rest, "x-javascript") ||
                word_is(rest, "ecmascript") || word_is(rest, "wasm")) {
                return StaticKind::script;
            }
            if (istarts_with(rest, "font-") || istarts_with(rest, "x-font-") ||
                word_is(rest, "vnd.ms-fontobject")) {
                return StaticKind::font;
            }
            std::string_view sub = subtype_of(rest);
            if (iequals(sub, "json") || iequals(sub, "xml") || iequals(sub, "xhtml+xml") ||
                iends_with(sub, "+json") || iends_with(sub, "+xml")) {
                return StaticKind::document;
            }
            return StaticKind::none;
        }
        default:
            return StaticKind::none;
    }
}

namespace {

// The last path segment, found by one scan back from the end of the path (the segment is
// short; the path may not be), with the extension's dot.
struct FileName {
    std::string_view name;
    std::string_view ext;  // without the dot; empty when there is none
};

constexpr FileName split_file_name(std::string_view path) {
    std::size_t start = path.size(), dot = std::string_view::npos;
    while (start > 0 && path[start - 1] != '/') {
        --start;
        if (path[start] == '.' && dot == std::string_view::npos) dot = start;
    }
    FileName f{path.substr(start), {}};
    if (dot != std::string_view::npos && dot != start && dot + 1 != path.size()) {
        f.ext = path.substr(dot + 1);
    }
    return f;
}

// A document body: the content types kind_from_content_type calls documents, checked
// with a first-letter dispatch so a script or an image costs two comparisons.
bool is_document_type(std::string_view type) {
    if (type.empty()) return false;
    char first = to_lower(type.front());
    if (first != 't' && first != 'a') return false;
    return kind_from_content_type(type) == StaticKind::document;
}

}  // namespace

AssetClass classify(std::string_view path, std::string_view query, std::string_view content_type,
                    const std::vector<std::string> &versioned_prefixes, StaticKind *kind,
                    std::string_view *extension) {
    StaticKind ignored;
    StaticKind &out = kind != nullptr ? *kind : ignored;
    FileName file = split_file_name(path);
    if (extension != nullptr) *extension = file.ext;
    StaticKind by_ext = kind_from_extension(file.ext);

    // A document is never immutable, and a document body says so whatever the URL says.
    if (by_ext == StaticKind::document || is_document_type(content_type)) {
        out = StaticKind::document;
        return AssetClass::document;
    }
    // Without an extension, the content type names the kind; with an unknown one, nothing
    // does (a program's output, not a file).
    StaticKind k = by_ext;
    if (file.ext.empty() && !content_type.empty()) k = kind_from_content_type(content_type);
    if ((!file.ext.empty() &&
         stem_has_hash(file.name.substr(0, file.name.size() - file.ext.size() - 1))) ||
        (!query.empty() && query_has_hash(query)) ||
        under_versioned_prefix(path, versioned_prefixes)) {
        out = k;
        return AssetClass::fingerprinted;
    }
    if (is_static_kind(k)) {
        out = k;
        return AssetClass::static_asset;
    }
    out = StaticKind::none;
    return AssetClass::untouched;
}

bool cache_control_forbids_caching(std::string_view cc) {
    std::size_t i = 0;
    const std::size_t n = cc.size();
    while (i < n) {
        while (i < n && (cc[i] == ' ' || cc[i] == '\t' || cc[i] == ',')) ++i;
        std::size_t start = i;
        while (i < n && cc[i] != ',' && cc[i] != '=' && cc[i] != ' ' && cc[i] != '\t') ++i;
        std::string_view name = cc.substr(start, i - start);
        if (iequals(name, "no-store") || iequals(name, "private") || iequals(name, "no-cache")) {
            return true;
        }
        // The rest of the directive, up to a comma outside a quoted string.
        while (i < n && cc[i] != ',') {
            if (cc[i] == '"') {
                for (++i; i < n && cc[i] != '"'; ++i) {
                    if (cc[i] == '\\') ++i;
                }
            }
            if (i < n) ++i;
        }
    }
    return false;
}

std::optional<std::int64_t> parse_lifetime(std::string_view text) {
    struct Unit {
        char symbol;
        std::int64_t seconds;
    };
    // In decreasing order: a combination must follow it.
    static constexpr Unit kUnits[] = {{'y', kYear}, {'M', 30 * kDay}, {'w', 7 * kDay}, {'d', kDay},
                                      {'h', 3600},  {'m', 60},        {'s', 1}};
    constexpr std::size_t kNoUnitYet = sizeof(kUnits) / sizeof(kUnits[0]);

    if (text.empty()) return std::nullopt;
    std::int64_t total = 0;
    std::size_t next_unit = 0;  // the first unit still allowed
    bool any_unit = false;
    std::size_t i = 0;
    while (i < text.size()) {
        if (!is_digit(text[i])) return std::nullopt;
        std::int64_t value = 0;
        for (; i < text.size() && is_digit(text[i]); ++i) {
            value = value * 10 + (text[i] - '0');
            if (value > kMaxLifetime) return std::nullopt;
        }
        if (i == text.size()) {  // a bare number: seconds, and only on its own
            if (any_unit) return std::nullopt;
            return value;
        }
        std::size_t u = next_unit;
        while (u < kNoUnitYet && kUnits[u].symbol != text[i]) ++u;
        if (u == kNoUnitYet) return std::nullopt;  // unknown, repeated or out of order
        ++i;
        if (value > (kMaxLifetime - total) / kUnits[u].seconds) return std::nullopt;
        total += value * kUnits[u].seconds;
        next_unit = u + 1;
        any_unit = true;
    }
    return total;
}

// ---------------------------------------------------------------------------------------
// CachePolicy

CachePolicy::CachePolicy() {
    fingerprinted_.seconds = kYear;
    document_.no_cache = true;
    for (std::size_t i = 0; i < kStaticKindCount; ++i) {
        auto k = static_cast<StaticKind>(i);
        if (is_static_kind(k)) {
            static_by_kind_[i].seconds = kind_default(k).max_age;
        } else {
            static_by_kind_[i].off = true;  // never asked for: header_for answers nullptr
        }
    }
    rebuild();
}

CacheHeader CachePolicy::build(AssetClass cls, StaticKind kind, const Lifetime &l) {
    if (l.off) return {};
    if (l.no_cache) return {"no-cache", std::nullopt};
    std::string n = std::to_string(l.seconds);
    std::string value;
    if (cls == AssetClass::fingerprinted) {
        value = "public, max-age=" + n + (l.seconds > 0 ? ", immutable" : "");
    } else if (cls == AssetClass::static_asset && is_static_kind(kind)) {
        std::int64_t swr = std::min(kind_default(kind).stale_while_revalidate, l.seconds);
        value = "public, max-age=" + n;
        if (swr > 0) value += ", stale-while-revalidate=" + std::to_string(swr);
    } else {
        value = "max-age=" + n;
    }
    return {std::move(value), l.seconds};
}

void CachePolicy::rebuild() {
    fingerprinted_header_ = build(AssetClass::fingerprinted, StaticKind::none, fingerprinted_);
    document_header_ = build(AssetClass::document, StaticKind::document, document_);
    for (std::size_t i = 0; i < kStaticKindCount; ++i) {
        static_headers_[i] =
            build(AssetClass::static_asset, static_cast<StaticKind>(i), static_by_kind_[i]);
    }
    for (auto &rule : by_extension_) {
        AssetClass cls =
            is_static_kind(rule.kind) ? AssetClass::static_asset : AssetClass::document;
        rule.header = build(cls, rule.kind, rule.lifetime);
    }
}

std::optional<std::string> CachePolicy::add_rule(std::string_view target, std::string_view value) {
    enum class Target { fingerprinted, all_static, document, kind, extension };
    Target t;
    StaticKind kind = StaticKind::none;
    std::string ext;
    if (iequals(target, "fingerprinted")) {
        t = Target::fingerprinted;
    } else if (iequals(target, "static")) {
        t = Target::all_static;
    } else if (iequals(target, "document")) {
        t = Target::document;
    } else if (!target.empty() && target.front() == '.') {
        std::string_view e = target.substr(1);
        bool ok = !e.empty() && e.size() <= 16;
        for (char c : e) {
            ok = ok && (is_digit(c) || is_alpha(c) || c == '_' || c == '+' || c == '-');
        }
        if (!ok) return "unknown cache rule target " + quoted(target);
        t = Target::extension;
        for (char c : e) ext += to_lower(c);
    } else {
        t = Target::kind;
        for (std::size_t i = 0; i < kStaticKindCount; ++i) {
            auto k = static_cast<StaticKind>(i);
            if (is_static_kind(k) && iequals(target, kKindNames[i])) kind = k;
        }
        if (kind == StaticKind::none) return "unknown cache rule target " + quoted(target);
    }

    Lifetime l;
    if (iequals(value, "off")) {
        l.off = true;
    } else if (iequals(value, "no-cache")) {
        l.no_cache = true;
    } else if (auto seconds = parse_lifetime(value)) {
        l.seconds = *seconds;
    } else {
        return "invalid lifetime " + quoted(value);
    }

    switch (t) {
        case Target::fingerprinted:
            fingerprinted_ = l;
            break;
        case Target::document:
            document_ = l;
            break;
        case Target::kind:
            static_by_kind_[static_cast<std::size_t>(kind)] = l;
            break;
        case Target::all_static:
            for (std::size_t i = 0; i < kStaticKindCount; ++i) {
                if (is_static_kind(static_cast<StaticKind>(i))) static_by_kind_[i] = l;
            }
            break;
        case Target::extension: {
            auto it = std::find_if(by_extension_.begin(), by_extension_.end(),
                                   [&](const ExtensionRule &r) { return r.ext == ext; });
            if (it == by_extension_.end()) {
                StaticKind k = kind_from_extension(ext);
                by_extension_.push_back({std::move(ext), k, l, {}});
            } else {
                it->lifetime = l;
            }
            break;
        }
    }
    rebuild();
    return std::nullopt;
}

const CacheHeader *CachePolicy::header_for(AssetClass cls, StaticKind kind,
                                           std::string_view ext) const {
    // An extension rule for this response: one whose extension belongs to the response's
    // class (an unknown extension belongs to documents and untouched responses).
    if (cls != AssetClass::fingerprinted && !ext.empty()) {
        for (const auto &rule : by_extension_) {
            if (!iequals(ext, rule.ext)) continue;
            bool applies = is_static_kind(rule.kind)
                               ? cls == AssetClass::static_asset && kind == rule.kind
                           : rule.kind == StaticKind::document
                               ? cls == AssetClass::document
                               : cls == AssetClass::document || cls == AssetClass::untouched;
            if (applies) return rule.lifetime.off ? nullptr : &rule.header;
            break;
        }
    }
    switch (cls) {
        case AssetClass::fingerprinted:
            return fingerprinted_.off ? nullptr : &fingerprinted_header_;
        case AssetClass::static_asset: {
            if (!is_static_kind(kind)) return nullptr;
            auto i = static_cast<std::size_t>(kind);
            return static_by_kind_[i].off ? nullptr : &static_headers_[i];
        }
        case AssetClass::document:
            return document_.off ? nullptr : &document_header_;
        case AssetClass::untouched:
            break;
    }
    return nullptr;
}

}  // namespace pulse
