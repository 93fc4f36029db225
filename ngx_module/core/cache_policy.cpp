#include "core/cache_policy.h"

#include <algorithm>
#include <array>
#include <cstring>
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

// Character classes for the file name scans: one table load per character.
enum : std::uint16_t {
    kDigit = 1,
    kHexLetter = 2,
    kUpper = 4,
    kLower = 8,
    kRollup = 16,     // [A-Za-z0-9_-]
    kSeparator = 32,  // '.' and '-': where a hash piece ends
    kHex = 64,        // [0-9A-Fa-f]
    kSlash = 128,     // '/': where the file name starts
    kDot = 256,       // '.': where the extension starts
    kNul = 512,       // '\0': never part of a known extension
};

constexpr std::array<std::uint16_t, 256> kCharClass = [] {
    std::array<std::uint16_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        std::uint16_t v = 0;
        if (c >= '0' && c <= '9') v |= kDigit | kRollup;
        if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHexLetter;
        if (c >= 'A' && c <= 'Z') v |= kUpper | kRollup;
        if (c >= 'a' && c <= 'z') v |= kLower | kRollup;
        if (c == '_' || c == '-') v |= kRollup;
        if (c == '.' || c == '-') v |= kSeparator;
        if (v & (kDigit | kHexLetter)) v |= kHex;
        if (c == '/') v |= kSlash;
        if (c == '.') v |= kDot;
        if (c == 0) v |= kNul;
        t[static_cast<std::size_t>(c)] = v;
    }
    return t;
}();

constexpr std::uint16_t char_class(char c) {
    return kCharClass[static_cast<unsigned char>(c)];
}

// 8 to 64 hex characters with at least one digit and one letter.
constexpr bool is_hex_hash(std::string_view s) {
    if (s.size() < 8 || s.size() > 64) return false;
    std::uint16_t seen = 0;
    for (char c : s) {
        std::uint16_t k = char_class(c);
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
    std::uint16_t seen = 0;
    for (char c : part.substr(part.size() - kHash)) {
        std::uint16_t k = char_class(c);
        if (!(k & kRollup)) return false;
        seen |= k;
    }
    return (seen & kDigit) && (seen & kUpper) && (seen & kLower);
}

// Eight characters at once (SWAR): which of the eight bytes of `w` are hex digits, and
// which of those are letters (the high bit of each byte says).
struct HexBytes {
    std::uint64_t hex, letters;
};

constexpr HexBytes hex_bytes(std::uint64_t w) {
    constexpr std::uint64_t k01 = 0x0101010101010101ULL, k7f = 0x7f * k01, k80 = 0x80 * k01;
    // Per byte, (b & 0x7f) + (0x80 - c) carries into the byte's high bit when b & 0x7f >= c,
    // and never into the next byte.
    auto at_least = [](std::uint64_t low7, std::uint64_t c) { return (low7 + (0x80 - c) * k01); };
    std::uint64_t ascii = ~w & k80;
    std::uint64_t low = w & k7f;
    std::uint64_t digits = at_least(low, '0') & ~at_least(low, '9' + 1);
    std::uint64_t folded = (w | 0x20 * k01) & k7f;  // 'A'-'F' as 'a'-'f'; nothing else lands there
    std::uint64_t letters = at_least(folded, 'a') & ~at_least(folded, 'f' + 1);
    return {(digits | letters) & ascii, letters & ascii};
}

inline std::uint64_t load_word(const char *p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
}

// The common fingerprint: a hex piece right before the extension's dot ("app.3f2a9c1b.js",
// "main-3f2a9c1b5e.css", a Meteor bundle), read eight characters at a time. True only
// when that piece is a hash; false says nothing (stem_has_hash reads the whole stem).
[[gnu::always_inline]] inline bool last_piece_is_hex_hash(const char *begin, const char *dot) {
    constexpr std::uint64_t k80 = 0x8080808080808080ULL;
    if (dot - begin < 8) return false;
    HexBytes h = hex_bytes(load_word(dot - 8));
    if (h.hex != k80 || h.letters == 0 || h.letters == k80) return false;  // a digit, a letter
    // The piece may go on (up to 64): eight more at a time where it can, else one.
    const char *q = dot - 8;
    while (q != begin && (char_class(q[-1]) & kHex) && dot - q <= 64) {
        q -= q - begin >= 8 && hex_bytes(load_word(q - 8)).hex == k80 ? 8 : 1;
    }
    if (q != begin && !(char_class(q[-1]) & (kSeparator | kSlash))) return false;
    return dot - q <= 64;
}

// Whether the stem of a file name (the name before the dot of `ext`, which extension_of
// found in `path`) holds a hash. The stem is cut at '.' and '-' into pieces; it holds one
// when a piece is 8 to 64 hex characters with a digit and a letter, or when a
// '.'-separated part ends with Rollup's suffix. The usual case first, eight characters at
// a time; else one pass back from the dot, one table load per character, until a hash.
[[gnu::always_inline]] inline bool stem_has_hash(std::string_view path, std::string_view ext) {
    const char *const begin = path.data();
    const char *const dot = ext.data() - 1;
    if (last_piece_is_hex_hash(begin, dot)) return true;
    const char *piece_end = dot, *part_end = dot;
    std::uint16_t seen = 0;     // the classes of the piece's characters
    std::uint16_t all = 0xfff;  // the classes every character of the piece has
    for (const char *q = dot;; --q) {
        // The character before q, or a slash at the start of the path.
        std::uint16_t k = q != begin ? char_class(q[-1]) : static_cast<std::uint16_t>(kSlash);
        if (!(k & (kSeparator | kSlash))) {
            seen |= k;
            all &= k;
            continue;
        }
        // The piece [q, piece_end) is whole: a '.' or '-' is before it, or the name starts.
        auto len = static_cast<std::size_t>(piece_end - q);
        if ((all & kHex) && len >= 8 && len <= 64 && (seen & kDigit) && (seen & kHexLetter)) {
            return true;
        }
        if (k & (kSlash | kDot)) {
            // So is the part [q, part_end).
            auto part = static_cast<std::size_t>(part_end - q);
            if (part >= 10 && ends_with_rollup_hash({q, part})) return true;
            if (k & kSlash) return false;
            part_end = q - 1;
        }
        piece_end = q - 1;
        seen = 0;
        all = 0xfff;
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
        if (p.empty() || path.size() < p.size()) continue;
        // Most paths differ from a prefix in their first bytes: a word compared first.
        if (p.size() >= 8) {
            std::uint64_t a, b;
            std::memcpy(&a, path.data(), 8);
            std::memcpy(&b, p.data(), 8);
            if (a != b) continue;
        }
        if (path.starts_with(p)) return path_is_plain(path);
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

// Extensions of up to 8 characters, lowercased and packed into one integer, in an
// open-addressed table made at compile time: a lookup is a multiply and, nearly always,
// one comparison, not a search.
constexpr std::uint64_t pack(std::string_view s) {
    std::uint64_t key = 0;
    for (std::size_t i = 0; i < s.size() && i < 8; ++i) {
        key |= static_cast<std::uint64_t>(static_cast<unsigned char>(to_lower(s[i]))) << (8 * i);
    }
    return key;
}

struct PackedExtension {
    std::uint64_t key;  // 0: an empty slot
    StaticKind kind;
};

constexpr std::size_t kExtensionSlots = 256;  // a power of two, 4x the extensions

constexpr std::size_t extension_slot(std::uint64_t key) {
    return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ULL) >> 56) % kExtensionSlots;
}

constexpr auto kPackedExtensions = [] {
    std::array<PackedExtension, kExtensionSlots> table{};
    for (const auto &e : kExtensions) {
        if (e.ext.size() > 8) continue;
        std::size_t i = extension_slot(pack(e.ext));
        while (table[i].key != 0) i = (i + 1) % kExtensionSlots;
        table[i] = {pack(e.ext), e.kind};
    }
    return table;
}();

constexpr StaticKind kind_of_packed(std::uint64_t key) {
    for (std::size_t i = extension_slot(key);; i = (i + 1) % kExtensionSlots) {
        if (kPackedExtensions[i].key == key) return kPackedExtensions[i].kind;
        if (kPackedExtensions[i].key == 0) return StaticKind::none;
    }
}

[[gnu::noinline]] StaticKind kind_of_long_extension(std::string_view ext) {
    for (const auto &e : kExtensions) {
        if (e.ext.size() > 8 && iequals(ext, e.ext)) return e.kind;
    }
    return StaticKind::none;
}

// The extension of a path's last segment (the text after the name's last '.', unless
// that dot ends the name or starts it: ".htaccess", "..") and its kind, read once back
// from the end of the path (the name is short, the path may not be), packing the
// extension as it goes.
struct Extension {
    std::string_view ext;  // without the dot; empty when there is none
    StaticKind kind = StaticKind::none;
};

[[gnu::always_inline]] inline Extension read_extension(std::string_view path) {
    const char *const begin = path.data();
    const char *const end = begin + path.size();
    const char *p = end;
    std::uint64_t key = 0;  // pack(ext) while it fits: its last character read first
    std::uint16_t seen = 0;
    while (p != begin) {
        std::uint16_t k = char_class(p[-1]);
        if (k & (kDot | kSlash)) break;
        seen |= k;
        key = key << 8 | static_cast<unsigned char>(to_lower(p[-1]));
        --p;
    }
    // p is just past the name's last '.' or '/', or at the start of the path.
    if (p == end || p == begin || p[-1] == '/') return {};
    const char *dot = p - 1;
    if (dot == begin || dot[-1] == '/') return {};
    std::string_view ext(p, static_cast<std::size_t>(end - p));
    if (seen & kNul) return {ext, StaticKind::none};  // packing could not tell "js" from "js\0"
    if (ext.size() > 8) return {ext, kind_of_long_extension(ext)};
    return {ext, kind_of_packed(key)};
}

}  // namespace

StaticKind kind_from_extension(std::string_view ext) {
    if (ext.empty()) return StaticKind::none;
    if (ext.size() > 8) return kind_of_long_extension(ext);
    for (char c : ext) {
        if (c == '\0') return StaticKind::none;  // packing could not tell "js" from "js\0"
    }
    return kind_of_packed(pack(ext));
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

AssetClass classify(std::string_view path, std::string_view query, std::string_view content_type,
                    const std::vector<std::string> &versioned_prefixes, StaticKind *kind,
                    std::string_view *extension) {
    return classify(path, query, kind_from_content_type(content_type), versioned_prefixes, kind,
                    extension);
}

namespace {

struct Classified {
    AssetClass cls;
    StaticKind kind;
    std::string_view ext;
};

// See classify.
[[gnu::always_inline]] inline Classified classify_path(
    std::string_view path, std::string_view query, StaticKind type_kind,
    const std::vector<std::string> &versioned_prefixes) {
    Extension e = read_extension(path);
    // A document is never immutable, and a document body says so whatever the URL says.
    if (e.kind == StaticKind::document || type_kind == StaticKind::document) {
        return {AssetClass::document, StaticKind::document, e.ext};
    }
    // Without an extension, the content type names the kind; with an unknown one, nothing
    // does (a program's output, not a file).
    StaticKind k = e.ext.empty() ? type_kind : e.kind;
    if ((!e.ext.empty() && stem_has_hash(path, e.ext)) ||
        (!query.empty() && query_has_hash(query)) ||
        under_versioned_prefix(path, versioned_prefixes)) {
        return {AssetClass::fingerprinted, k, e.ext};
    }
    if (is_static_kind(k)) return {AssetClass::static_asset, k, e.ext};
    return {AssetClass::untouched, StaticKind::none, e.ext};
}

}  // namespace

AssetClass classify(std::string_view path, std::string_view query, StaticKind type_kind,
                    const std::vector<std::string> &versioned_prefixes, StaticKind *kind,
                    std::string_view *extension) {
    Classified c = classify_path(path, query, type_kind, versioned_prefixes);
    if (kind != nullptr) *kind = c.kind;
    if (extension != nullptr) *extension = c.ext;
    return c.cls;
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

[[gnu::flatten]] CachePolicy::Decision CachePolicy::decide(std::string_view path,
                                                           std::string_view query,
                                                           StaticKind type_kind) const {
    Classified c = classify_path(path, query, type_kind, versioned_prefixes);
    return {c.cls, c.kind, static_cast<std::uint16_t>(c.ext.size()),
            header_for(c.cls, c.kind, c.ext)};
}

}  // namespace pulse
