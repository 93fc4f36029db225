// The cache policy's classifier and headers (ngx_module/core/cache_policy.h).
#include "core/cache_policy.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

// Readable names in failure messages (found by argument-dependent lookup).
static void PrintTo(AssetClass c, std::ostream *os) {
    *os << asset_class_label(c);
}
static void PrintTo(StaticKind k, std::ostream *os) {
    static constexpr const char *kNames[] = {"none",   "image", "font",    "style",
                                             "script", "media", "document"};
    *os << kNames[static_cast<std::size_t>(k)];
}

namespace {

using namespace std::literals;

// A Meteor bundle (SHA-1), a Sprockets digest (SHA-256) and an MD5, as they appear in URLs.
constexpr std::string_view kSha1 = "a3c5f7e9b1d2c4e6f8a0b2c4d6e8f0a1b3c5d7e9";
constexpr std::string_view kSha256 =
    "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";
constexpr std::string_view kMd5 = "5d41402abc4b2a76b9719d911017c592";
static_assert(kSha1.size() == 40 && kSha256.size() == 64 && kMd5.size() == 32);

std::string cat(std::string_view a, std::string_view b, std::string_view c = {}) {
    std::string s(a);
    s += b;
    s += c;
    return s;
}

const std::vector<std::string> kNext{"/_next/static/"};
const std::vector<std::string> kNoPrefixes{};

constexpr auto FP = AssetClass::fingerprinted;
// Whether classify finds the URL fingerprinted (no content type: the URL decides; the
// paths below name no document, which would never be).
bool fingerprinted(std::string_view path, std::string_view query,
                   const std::vector<std::string> &prefixes) {
    return classify(path, query, "", prefixes) == AssetClass::fingerprinted;
}

// The extension classify reads off the path.
std::string_view extension_of(std::string_view path) {
    std::string_view ext = "unset";
    classify(path, "", "", {}, nullptr, &ext);
    return ext;
}

constexpr auto ST = AssetClass::static_asset;
constexpr auto DOC = AssetClass::document;
constexpr auto NO = AssetClass::untouched;

// ---------------------------------------------------------------------------------------
// classify: real-world URLs

struct UrlCase {
    std::string path;
    std::string query;
    std::string type;
    AssetClass cls;
    StaticKind kind;
};

TEST(CacheClassify, RealWorldUrls) {
    using K = StaticKind;
    const std::string legacy = cat("/__browser.legacy/", kSha1, ".js");
    const UrlCase cases[] = {
        // Meteor
        {cat("/", kSha1, ".js"), "meteor_js_resource=true", "application/javascript; charset=UTF-8",
         FP, K::script},
        {cat("/", kSha1, ".css"), "meteor_css_resource=true", "text/css; charset=UTF-8", FP,
         K::style},
        {cat("/", kSha1, ".js"), "", "application/javascript", FP, K::script},
        {legacy, "meteor_js_resource=true", "application/javascript", FP, K::script},
        {cat("/__cordova/", kSha1, ".css"), "", "text/css", FP, K::style},
        {cat("/__cordova/", kSha1, ".js"), "meteor_js_resource=true", "", FP, K::script},
        {"/packages/materialize/fonts/roboto.woff2", "hash=3f2a9c1b5e7d", "font/woff2", FP,
         K::font},
        {"/", "", "text/html; charset=utf-8", DOC, K::document},
        {"/sockjs/info", "cb=abc123xyz", "application/json; charset=UTF-8", DOC, K::document},
        {"/favicon.ico", "", "image/x-icon", ST, K::image},
        // Next.js
        {"/_next/static/chunks/pages/_app-3f2a9c1b5e7d9a0b.js", "", "application/javascript", FP,
         K::script},
        {"/_next/static/Xk2sd9aBc3pQ-r_Tz1/_buildManifest.js", "", "application/javascript", FP,
         K::script},
        {"/_next/static/Xk2sd9aBc3pQ-r_Tz1/_ssgManifest.js", "", "application/javascript", FP,
         K::script},
        {"/_next/static/css/3f2a9c1b5e7d9a0b.css", "", "text/css", FP, K::style},
        {"/_next/static/media/inter-latin.woff2", "", "font/woff2", FP, K::font},
        {"/_next/static/chunks/webpack", "", "application/octet-stream", FP, K::none},
        {"/_next/image", "url=%2Fhero.png&w=1080&q=75", "image/webp", ST, K::image},
        {"/_next/data/Xk2sd9aBc3pQ-r_Tz1/index.json", "", "application/json", DOC, K::document},
        {"/_next/static/../../api/secret", "", "application/octet-stream", NO, K::none},
        {"/_next/static/%2e%2e/%2E%2E/api/secret", "", "application/octet-stream", NO, K::none},
        {"/blog/hello-world", "", "text/html; charset=utf-8", DOC, K::document},
        // Vite / Rollup
        {"/assets/index-BkS9ysgA.js", "", "application/javascript", FP, K::script},
        {"/assets/index-4sK2Rs8m.css", "", "text/css", FP, K::style},
        {"/assets/vendor-a1B2c3D4.js", "", "text/javascript", FP, K::script},
        {"/assets/chunk-Dq_3x-Zy.js", "", "text/javascript", FP, K::script},
        {"/assets/logo-Cq9tZxLm.svg", "", "image/svg+xml", FP, K::image},
        {"/assets/index-BkS9ysgA.js.map", "", "application/octet-stream", FP, K::script},
        {"/vite.svg", "", "image/svg+xml", ST, K::image},
        {"/assets/index-BkSysgAb.js", "", "text/javascript", ST, K::script},  // no digit
        {"/assets/index-12345678.js", "", "text/javascript", ST, K::script},  // no letter
        // An SPA answering index.html for an asset it no longer has: never immutable.
        {"/assets/index-BkS9ysgA.js", "", "text/html", DOC, K::document},
        // webpack
        {"/static/js/main.3f2a9c1b.chunk.js", "", "application/javascript", FP, K::script},
        {"/static/css/2.8e0f3c1a.chunk.css", "", "text/css", FP, K::style},
        {"/dist/vendors~main.3f2a9c1b.js", "", "application/javascript", FP, K::script},
        {"/dist/3f2a9c1b5e7d9a0b1c2d.png", "", "image/png", FP, K::image},
        {"/dist/bundle.js", "", "application/javascript", ST, K::script},
        // Create React App
        {"/static/js/main.8d1f2c3a.js", "", "application/javascript", FP, K::script},
        {"/static/js/787.28cb0dcd.chunk.js", "", "application/javascript", FP, K::script},
        {"/static/media/logo.6ce24c58023cc2f8fd88fe9d219db6c6.svg", "", "image/svg+xml", FP,
         K::image},
        {"/manifest.json", "", "application/json", DOC, K::document},
        {"/logo192.png", "", "image/png", ST, K::image},
        {"/service-worker.js", "", "application/javascript", ST, K::script},
        // Angular
        {"/main.5f0e2a7c9b3d1e4f.js", "", "application/javascript", FP, K::script},
        {"/polyfills.8e0f3c1a2b4d6e8f.js", "", "application/javascript", FP, K::script},
        {"/styles.1a2b3c4d5e6f7a8b.css", "", "text/css", FP, K::style},
        {"/assets/i18n/en.json", "", "application/json", DOC, K::document},
        // Rails: Sprockets, Webpacker, Active Storage
        {cat("/assets/application-", kSha256, ".css"), "", "text/css", FP, K::style},
        {cat("/assets/application-", kSha256, ".js"), "", "application/javascript", FP, K::script},
        {"/packs/js/application-3f2a9c1b5e7d9a0b1c2d.js", "", "application/javascript", FP,
         K::script},
        {"/rails/active_storage/blobs/redirect/eyJfcmFpbHMiOnsi--3f2a9c1b5e/photo.jpg", "",
         "image/jpeg", ST, K::image},
        {"/users/sign_in", "", "text/html; charset=utf-8", DOC, K::document},
        // Hugo
        {cat("/css/main.min.", kSha256, ".css"), "", "text/css", FP, K::style},
        {cat("/js/bundle.", kMd5, ".js"), "", "application/javascript", FP, K::script},
        {"/index.xml", "", "application/rss+xml", DOC, K::document},
        {"/posts/my-first-post/", "", "text/html", DOC, K::document},
        {"/images/photo_hu3f2a9c1b5e7d9a0b1c2d3e4f5a6b7c8d_123456_800x0_resize_q75_box.jpg", "",
         "image/jpeg", ST, K::image},
        {"/sitemap.xml", "", "application/xml", DOC, K::document},
        // WordPress
        {"/wp-content/themes/twentytwentyfour/style.css", "ver=1.0", "text/css", ST, K::style},
        {"/wp-includes/js/jquery/jquery.min.js", "ver=3.7.1", "application/javascript", ST,
         K::script},
        {"/wp-content/uploads/2024/01/photo-1024x768.jpg", "", "image/jpeg", ST, K::image},
        {"/wp-content/uploads/2024/01/hero-1200x630.png", "", "image/png", ST, K::image},
        {"/wp-admin/admin-ajax.php", "", "application/json; charset=UTF-8", DOC, K::document},
        {"/wp-json/wp/v2/posts", "", "application/json", DOC, K::document},
        {"/wp-content/plugins/contact-form-7/includes/js/index.js", "ver=5.8.4",
         "application/javascript", ST, K::script},
        {"/wp-includes/js/wp-emoji-release.min.js", "ver=6.4.2", "application/javascript", ST,
         K::script},
        {"/index.php", "p=123", "text/html; charset=UTF-8", DOC, K::document},
        // Words and numbers that look like hashes but are not
        {"/about-us.js", "", "application/javascript", ST, K::script},
        {"/deadline.css", "", "text/css", ST, K::style},
        {"/reactivate.js", "", "application/javascript", ST, K::script},
        {"/facade.css", "", "text/css", ST, K::style},
        {"/decade.css", "", "text/css", ST, K::style},
        {"/feedback.png", "", "image/png", ST, K::image},
        {"/deadbeef.js", "", "application/javascript", ST, K::script},
        {"/jquery-3.7.1.min.js", "", "application/javascript", ST, K::script},
        {"/report-2024.pdf", "", "application/pdf", NO, K::none},
        {"/users/12345678.json", "", "application/json", DOC, K::document},
        {"/fonts/roboto-v30-latin-regular.woff2", "", "font/woff2", ST, K::font},
        {"/img/icon-arrow-32x32.png", "", "image/png", ST, K::image},
        {"/3f2a9c1.js", "", "application/javascript", ST, K::script},  // 7 hex: too short
        {cat("/", kSha256, "a.js"), "", "application/javascript", ST, K::script},  // 65: too long
        // Query versions
        {"/app.js", "v=abc", "application/javascript", ST, K::script},
        {"/app.js", "v=3f2a9c1b5e", "application/javascript", FP, K::script},
        {"/app.js", "v=1.2.3", "application/javascript", ST, K::script},
        {"/app.js", "v=20240101", "application/javascript", ST, K::script},
        {"/app.js", "version=3f2a9c1b5e", "application/javascript", ST, K::script},
        {"/site.css", "v=deadbeef", "text/css", ST, K::style},
        {"/app.js", "hash=3f2a9c1b5e7d", "application/javascript", FP, K::script},
        // Case, traversal, encodings
        {"/LOGO.PNG", "", "image/png", ST, K::image},
        {"/fonts/ICONS.WOFF2", "", "", ST, K::font},  // a 304: no content type
        {"/assets/../logo.png", "", "image/png", ST, K::image},
        {"/assets/%2e%2e/logo.png", "", "image/png", ST, K::image},
        {"/APP.3F2A9C1B.JS", "", "application/javascript", FP, K::script},
        // Documents, downloads, everything else
        {"/index.html", "", "text/html", DOC, K::document},
        {"/", "", "", NO, K::none},  // a 304 for "/": nothing to go by
        {"/api/users", "", "application/json", DOC, K::document},
        {"/api/users/507f1f77bcf86cd799439011", "", "application/json", DOC, K::document},
        {"/api/users/507f1f77bcf86cd799439011", "", "", NO, K::none},
        {"/manifest.webmanifest", "", "application/manifest+json", DOC, K::document},
        {"/robots.txt", "", "text/plain", DOC, K::document},
        {"/.well-known/security.txt", "", "text/plain", DOC, K::document},
        {"/app.js.map", "", "application/octet-stream", ST, K::script},
        {"/download.zip", "", "application/zip", NO, K::none},
        {"/downloads/setup.3f2a9c1b5e.zip", "", "application/zip", FP, K::none},
        {"/index.3f2a9c1b.html", "", "text/html", DOC, K::document},
        {"/data.3f2a9c1b.json", "", "application/json", DOC, K::document},
        {"/events", "", "text/event-stream", NO, K::none},
        {"/video/intro.mp4", "", "video/mp4", ST, K::media},
        {"/audio/track.mp3", "", "audio/mpeg", ST, K::media},
        {"/captcha.php", "", "image/png", NO, K::none},
        {"/avatar/42", "", "image/png", ST, K::image},
        // nginx without mime.types serves ".js" as its default_type, text/plain.
        {"/app.3f2a9c1b.js", "", "text/plain", FP, K::script},
        {"/app.js", "", "text/plain", ST, K::script},
        {"/notes", "", "text/plain", NO, K::none},
    };
    static_assert(sizeof(cases) / sizeof(cases[0]) >= 60);
    for (const auto &c : cases) {
        SCOPED_TRACE(c.path + "?" + c.query + " [" + c.type + "]");
        StaticKind kind = StaticKind::media;  // overwritten whatever the class
        EXPECT_EQ(classify(c.path, c.query, c.type, kNext, &kind), c.cls);
        EXPECT_EQ(kind, c.kind);
        EXPECT_EQ(classify(c.path, c.query, c.type, kNext), c.cls);  // without `kind`
    }
}

TEST(CacheClassify, VersionedPrefixesAreConfigurable) {
    const std::vector<std::string> build{"/build/", "/static/v2/"};
    EXPECT_EQ(classify("/build/main.js", "", "application/javascript", build), FP);
    EXPECT_EQ(classify("/static/v2/site.css", "", "text/css", build), FP);
    // Replaced, not added to: the default prefix no longer applies.
    EXPECT_EQ(classify("/_next/static/chunks/main.js", "", "application/javascript", build), ST);
    EXPECT_EQ(classify("/_next/static/chunks/main.js", "", "application/javascript", kNoPrefixes),
              ST);
    EXPECT_EQ(classify("/_next/static/chunks/main.js", "", "application/javascript", kNext), FP);
    // A prefix is a plain, case-sensitive string prefix.
    EXPECT_EQ(classify("/BUILD/main.js", "", "application/javascript", build), ST);
    EXPECT_EQ(classify("/builder/main.js", "", "application/javascript", {"/build"}), FP);
    // Documents under a prefix are still documents.
    EXPECT_EQ(classify("/build/index.html", "", "text/html", build), DOC);
}

// ---------------------------------------------------------------------------------------
// what classify calls fingerprinted

TEST(CacheFingerprint, HexRunLengthsAndMixing) {
    struct Case {
        std::string_view path;
        bool fingerprinted;
    };
    const Case cases[] = {
        {"/a.3f2a9c1.js", false},  // 7
        {"/a.3f2a9c1b.js", true},  // 8
        {"/a-3f2a9c1b.js", true},
        {"/3f2a9c1b.js", true},  // the whole stem
        {"/a.abcdefab.js", false},
        {"/a.12345678.js", false},
        {"/a.3F2A9C1B.js", true},  // either case
        {"/a.3f2a9c1g.js", false},
        {"/a.x3f2a9c1b.js", false},  // a part, not a substring
        {"/a.3f2a9c1b_x.js", false},
        {"/a.3f2a9c1b.min.js", true},
        {"/x-y-z-3f2a9c1b-w.css", true},
        {"/3f2a9c1b", false},  // no extension: an id, not a file name
        {"/commit/3f2a9c1b5e7d9a0b1c2d3e4f5a6b7c8d9e0f1a2b", false},
        {"/3f2a9c1b.", false},
        {"/.3f2a9c1b", false},
        {"/3f2a9c1b/app.js", false},  // directories are not looked at
        {"/a.3f2a9c1b.js/", false},   // the last segment is empty
        {"", false},
        {"/", false},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.path));
        EXPECT_EQ(fingerprinted(c.path, "", kNoPrefixes), c.fingerprinted);
    }
    std::string run64 = cat("/a.", kSha256, ".js");
    std::string run65 = cat("/a.", kSha256, "0.js");
    EXPECT_TRUE(fingerprinted(run64, "", kNoPrefixes));
    EXPECT_FALSE(fingerprinted(run65, "", kNoPrefixes));
}

TEST(CacheFingerprint, RollupNames) {
    struct Case {
        std::string_view path;
        bool fingerprinted;
    };
    const Case cases[] = {
        // Rollup's
        {"/index-BkS9ysgA.js", true},
        {"/vendor-a1B2c3D4.js", true},
        {"/chunk-Dq_3x-Zy.js", true},
        {"/a-_-_-1xYz.js", true},
        {"/index-BkS9ysgA.js.map", true},
        {"/index-BkS9ysgA.min.js", true},
        // Not Rollup's
        {"/index-BkS9ysg.js", false},    // 7
        {"/index-BkS9ysgAB.js", false},  // 9
        {"/-BkS9ysgA.js", false},        // no name before the dash
        {"/index_BkS9ysgA.js", false},   // an underscore is not the separator
        {"/index-BkS9ys!A.js", false},   // outside the alphabet
        {"/index-BkSzysgA.js", false},   // no digit
        {"/index-12345678.js", false},   // no letter
        {"/index-________.js", false},   // neither
        {"/index-x7k2m9q4.js", false},   // one case only: as often a name as a hash
        {"/index-X7K2M9Q4.js", false},
        {"/photo-1024x768.jpg", false},  // WordPress's thumbnails
        {"/photo-768x1024.jpg", false},
        {"/holiday-IMG_1234.jpg", false},
        {"/promo-DSC01234.jpg", false},
        {"/banner-summer24.png", false},
        {"/slide-image001.jpg", false},
        {"/logo-retina2x.png", false},
        {"/about-us.js", false},
        {"/my-component.js", false},
        {"/index.BkS9ysgA-x.js", false},
        {"/index-BkS9ysgA", false},  // no extension
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.path));
        EXPECT_EQ(fingerprinted(c.path, "", kNoPrefixes), c.fingerprinted);
    }
}

TEST(CacheFingerprint, QueryVersions) {
    struct Case {
        std::string query;
        bool fingerprinted;
    };
    const Case cases[] = {
        {"v=3f2a9c1b5e", true},
        {"hash=3f2a9c1b5e", true},
        {"a=1&v=3f2a9c1b", true},
        {"v=3f2a9c1b&a=1", true},
        {"&&v=3f2a9c1b&", true},
        {cat("v=", kSha256), true},
        {cat("v=", kSha256, "0"), false},
        {"v=3f2a9c1", false},
        {"v=abc", false},
        {"v=deadbeef", false},
        {"v=20240101", false},
        {"v=1.2.3", false},
        {"v=", false},
        {"v", false},
        {"V=3f2a9c1b5e", false},
        {"xv=3f2a9c1b5e", false},
        {"ver=3f2a9c1b5e", false},
        {"version=3f2a9c1b5e", false},
        {"hash=3f2a9c1b5e-x", false},
        {"x=v=3f2a9c1b5e", false},
        {"q=3f2a9c1b5e", false},
        {"", false},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.query);
        EXPECT_EQ(fingerprinted("/app.js", c.query, kNoPrefixes), c.fingerprinted);
    }
}

TEST(CacheFingerprint, PrefixesAreNotTrustedThroughTraversal) {
    struct Case {
        std::string_view path;
        bool fingerprinted;
    };
    const Case cases[] = {
        {"/_next/static/chunks/main.js", true},
        {"/_next/static/", true},
        {"/_next/static", false},
        {"/_next/staticx/main.js", false},
        {"/_NEXT/static/main.js", false},
        {"/x/_next/static/main.js", false},
        {"/_next/static/../../etc/passwd", false},
        {"/_next/static/./main", false},
        {"/_next/static/..", false},
        {"/_next/static/%2e%2e/api", false},
        {"/_next/static/%2E./api", false},
        {"/_next/static/..%2fapi", false},
        {"/_next/static/x%2Fy", false},
        {"/_next/static/x%5cy", false},
        {"/_next/static/..\\api", false},
        {"/_next/static/a..b/main", true},  // dots inside a name are fine
        {"/_next/static/.hidden/main", true},
        {"/_next/static/x%20y", true},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.path));
        EXPECT_EQ(fingerprinted(c.path, "", kNext), c.fingerprinted);
    }
    // An empty prefix would match everything: it is ignored.
    EXPECT_FALSE(fingerprinted("/main.js", "", {""}));
}

// The fingerprint rule for file names read as docs/cache-policy.md states it, forward, a
// piece at a time: the reference the classifier's one pass back from the end must match.
namespace reference {

bool hex_piece(std::string_view piece) {
    if (piece.size() < 8 || piece.size() > 64) return false;
    bool digit = false, letter = false;
    for (char c : piece) {
        bool d = c >= '0' && c <= '9';
        bool l = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!d && !l) return false;
        digit |= d;
        letter |= l;
    }
    return digit && letter;
}

bool rollup_part(std::string_view part) {
    if (part.size() < 10 || part[part.size() - 9] != '-') return false;
    bool digit = false, upper = false, lower = false;
    for (char c : part.substr(part.size() - 8)) {
        bool d = c >= '0' && c <= '9', u = c >= 'A' && c <= 'Z', l = c >= 'a' && c <= 'z';
        if (!d && !u && !l && c != '_' && c != '-') return false;
        digit |= d;
        upper |= u;
        lower |= l;
    }
    return digit && upper && lower;
}

std::vector<std::string_view> split(std::string_view s, std::string_view separators) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || separators.find(s[i]) != std::string_view::npos) {
            out.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    return out;
}

std::string_view extension(std::string_view path) {
    std::string_view name = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
    std::size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return {};
    return name.substr(dot + 1);
}

bool name_hashed(std::string_view path) {
    std::string_view name = path.substr(path.rfind('/') + 1);
    if (extension(path).empty()) return false;
    std::string_view stem = name.substr(0, name.rfind('.'));
    for (std::string_view piece : split(stem, ".-")) {
        if (hex_piece(piece)) return true;
    }
    for (std::string_view part : split(stem, ".")) {
        if (rollup_part(part)) return true;
    }
    return false;
}

}  // namespace reference

TEST(CacheFingerprint, OnePassBackMatchesTheRuleReadForward) {
    // Names built from the pieces that matter: hex runs of every length around 8 and 64,
    // Rollup-like suffixes, separators, slashes, words and odd bytes.
    std::uint64_t state = 0x2545f4914f6cdd1dULL;
    auto next = [&](std::uint64_t bound) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state % bound;
    };
    const std::string_view hex = "0123456789abcdefABCDEF";
    const std::string_view rollup =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-";
    const std::string_view words[] = {"app", "index", "js", "min", "chunk", "", "%2e", "\xff"};
    std::size_t hashed = 0;
    for (int n = 0; n < 200000; ++n) {
        std::string path;
        for (auto tokens = next(9); tokens > 0; --tokens) {
            switch (next(7)) {
                case 0:
                case 1:
                    for (auto len = next(3) == 0 ? next(70) : 6 + next(5); len > 0; --len)
                        path += hex[next(hex.size())];
                    break;
                case 2:
                    path += '-';
                    for (int i = 0; i < 8; ++i) path += rollup[next(rollup.size())];
                    break;
                case 3:
                    path += ".-/"[next(3)];
                    break;
                case 4:  // any byte: what a word-at-a-time test could take for a hex digit
                    for (auto len = 1 + next(3); len > 0; --len)
                        path += static_cast<char>(next(256));
                    break;
                default:
                    path += words[next(std::size(words))];
                    break;
            }
        }
        if (next(3) != 0) path += next(2) ? ".js" : ".css";
        SCOPED_TRACE(path);
        bool expected = reference::name_hashed(path);
        ASSERT_EQ(fingerprinted(path, "", kNoPrefixes), expected);
        ASSERT_EQ(extension_of(path), reference::extension(path));
        hashed += expected;
    }
    // Every byte at every place of a hash right before the extension.
    for (int b = 0; b < 256; ++b) {
        for (std::size_t at = 0; at < 8; ++at) {
            std::string path = "/x/0000abcd.js";
            path[3 + at] = static_cast<char>(b);
            SCOPED_TRACE(testing::Message() << "byte " << b << " at " << at);
            ASSERT_EQ(fingerprinted(path, "", kNoPrefixes), reference::name_hashed(path));
        }
    }
    // The names cover both answers.
    EXPECT_GT(hashed, 20000u);
    EXPECT_LT(hashed, 180000u);
}

// ---------------------------------------------------------------------------------------
// the extension, kind_from_extension, kind_from_content_type

TEST(CachePathExtension, LastSegmentOnly) {
    struct Case {
        std::string_view path;
        std::string_view ext;
    };
    const Case cases[] = {
        {"/a/b.js", "js"},
        {"/app.3f2a9c1b.js", "js"},
        {"/archive.tar.gz", "gz"},
        {"/LOGO.PNG", "PNG"},
        {"noslash.css", "css"},
        {"/a.b/c", ""},
        {"/a.b/", ""},
        {"/", ""},
        {"", ""},
        {"/.htaccess", ""},
        {"/..", ""},
        {"/a/.", ""},
        {"/file.", ""},
        {"/a..b", "b"},
        {"/x.y.z", "z"},
        {"/a.js/..", ""},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.path));
        std::string_view ext = extension_of(c.path);
        EXPECT_EQ(ext, c.ext);
        if (!ext.empty()) {  // a view into the path, not a copy
            EXPECT_EQ(ext.data() + ext.size(), c.path.data() + c.path.size());
        }
    }
}

TEST(CacheKind, FromExtension) {
    struct Case {
        std::string_view ext;
        StaticKind kind;
    };
    const Case cases[] = {
        {"png", StaticKind::image},
        {"PNG", StaticKind::image},
        {"JpEg", StaticKind::image},
        {"svg", StaticKind::image},
        {"ico", StaticKind::image},
        {"webp", StaticKind::image},
        {"avif", StaticKind::image},
        {"woff2", StaticKind::font},
        {"woff", StaticKind::font},
        {"ttf", StaticKind::font},
        {"otf", StaticKind::font},
        {"eot", StaticKind::font},
        {"css", StaticKind::style},
        {"js", StaticKind::script},
        {"mjs", StaticKind::script},
        {"wasm", StaticKind::script},
        {"map", StaticKind::script},
        {"mp4", StaticKind::media},
        {"webm", StaticKind::media},
        {"mp3", StaticKind::media},
        {"html", StaticKind::document},
        {"HTM", StaticKind::document},
        {"json", StaticKind::document},
        {"xml", StaticKind::document},
        {"txt", StaticKind::document},
        {"webmanifest", StaticKind::document},
        {"manifest", StaticKind::document},
        {"", StaticKind::none},
        {"jsx", StaticKind::none},
        {"j", StaticKind::none},
        {"js ", StaticKind::none},
        {".js", StaticKind::none},
        {"zip", StaticKind::none},
        {"pdf", StaticKind::none},
        {"php", StaticKind::none},
        {"pngx", StaticKind::none},
        {"webmanifestwebmanifest", StaticKind::none},
        {"j\0s"sv, StaticKind::none},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.ext));
        EXPECT_EQ(kind_from_extension(c.ext), c.kind);
    }
}

TEST(CacheKind, FromContentType) {
    struct Case {
        std::string_view type;
        StaticKind kind;
    };
    const Case cases[] = {
        {"text/css; charset=utf-8", StaticKind::style},
        {"text/css", StaticKind::style},
        {"  TEXT/CSS ;charset=x", StaticKind::style},
        {"image/png", StaticKind::image},
        {"image/svg+xml", StaticKind::image},
        {"image/x-icon", StaticKind::image},
        {"font/woff2", StaticKind::font},
        {"application/font-woff", StaticKind::font},
        {"application/x-font-ttf", StaticKind::font},
        {"application/vnd.ms-fontobject", StaticKind::font},
        {"application/javascript", StaticKind::script},
        {"text/javascript;charset=utf-8", StaticKind::script},
        {"application/x-javascript", StaticKind::script},
        {"application/wasm", StaticKind::script},
        {"video/mp4", StaticKind::media},
        {"audio/ogg", StaticKind::media},
        {"text/html", StaticKind::document},
        {"Text/HTML; charset=UTF-8", StaticKind::document},
        {"application/xhtml+xml", StaticKind::document},
        {"application/json", StaticKind::document},
        {"application/problem+json", StaticKind::document},
        {"application/manifest+json", StaticKind::document},
        {"application/rss+xml", StaticKind::document},
        {"application/xml", StaticKind::document},
        {"text/xml", StaticKind::document},
        {"text/cache-manifest", StaticKind::document},
        {"text/plain", StaticKind::none},
        {"application/octet-stream", StaticKind::none},
        {"text/event-stream", StaticKind::none},
        {"application/pdf", StaticKind::none},
        {"text/htmlx", StaticKind::none},
        {"text/css2", StaticKind::none},
        {"image", StaticKind::none},
        {"xml", StaticKind::none},
        {"text/+json", StaticKind::none},
        {"", StaticKind::none},
        {";", StaticKind::none},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.type));
        EXPECT_EQ(kind_from_content_type(c.type), c.kind);
    }
}

TEST(CacheLabels, ClassAndKindNames) {
    EXPECT_EQ(asset_class_label(AssetClass::fingerprinted), "fingerprinted");
    EXPECT_EQ(asset_class_label(AssetClass::static_asset), "static");
    EXPECT_EQ(asset_class_label(AssetClass::document), "document");
    EXPECT_EQ(asset_class_label(AssetClass::untouched), "untouched");
}

// ---------------------------------------------------------------------------------------
// cache_control_forbids_caching

TEST(CacheForbidsCaching, DirectivesNotSubstrings) {
    struct Case {
        std::string_view value;
        bool forbids;
    };
    const Case cases[] = {
        {"no-store", true},
        {"private", true},
        {"no-cache", true},
        {"NO-STORE", true},
        {"Private", true},
        {"public, max-age=60, no-store", true},
        {"max-age=0,private", true},
        {"  no-cache  ", true},
        {"private=\"set-cookie\"", true},
        {"private=\"set-cookie, x-foo\", max-age=5", true},
        {"no-cache=\"x\"", true},
        {"no-cache = \"x\"", true},
        {"\tno-store\t,", true},
        {",,, private", true},
        {"public, max-age=60", false},
        {"s-maxage=10", false},
        {"max-age=0, must-revalidate", false},
        {"x-no-store-ish", false},
        {"no-store-ish", false},
        {"xprivate", false},
        {"no-cachex", false},
        {"public, foo=\"a, no-store, private\"", false},
        {"foo=\"a \\\" , no-store\"", false},
        {"foo=no-store", false},
        {"max-age=private", false},
        {"", false},
        {",", false},
        {"foo=\"unterminated, no-store", false},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.value));
        EXPECT_EQ(cache_control_forbids_caching(c.value), c.forbids);
    }
}

// ---------------------------------------------------------------------------------------
// parse_lifetime

TEST(CacheLifetime, GoodDurations) {
    struct Case {
        std::string_view text;
        std::int64_t seconds;
    };
    const Case cases[] = {
        {"0", 0},
        {"0s", 0},
        {"45s", 45},
        {"10m", 600},
        {"12h", 43200},
        {"30d", 2592000},
        {"1w", 604800},
        {"1M", 2592000},
        {"1y", 31536000},
        {"1d12h", 129600},
        {"1h30m", 5400},
        {"1y1M1w1d1h1m1s", 31536000 + 2592000 + 604800 + 86400 + 3600 + 60 + 1},
        {"3600", 3600},
        {"007s", 7},
        {"68y", 68LL * 31536000},
        {"2147483647", 2147483647},
        {"2147483647s", 2147483647},
        {"68y28d", 68LL * 31536000 + 28 * 86400},
        {"68y35d", 68LL * 31536000 + 35 * 86400},
        {"68y35d3h", 68LL * 31536000 + 35 * 86400 + 3 * 3600},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.text));
        EXPECT_EQ(parse_lifetime(c.text), std::optional<std::int64_t>(c.seconds));
    }
}

TEST(CacheLifetime, RejectsGarbageNegativesAndOverflow) {
    const std::string_view cases[] = {
        "",
        "7x",
        "d",
        "-1d",
        "+1d",
        "-0",
        "1.5h",
        "1 d",
        " 1d",
        "1d ",
        "1D",  // units are case-sensitive, as nginx's: "M" is a month, "m" a minute
        "1H",
        "1ms",
        "12h1d",  // out of order
        "1d1d",   // repeated
        "1m1M",
        "1h30",  // a number after a unit needs one too
        "1dd",
        "2147483648",
        "69y",
        "68y36d",
        "68y35d4h",
        "99999999999999999999999",
        "9999999999999999999y",
        "1\0d"sv,
        "off",
        "no-cache",
    };
    for (auto text : cases) {
        SCOPED_TRACE(std::string(text));
        EXPECT_EQ(parse_lifetime(text), std::nullopt);
    }
}

// ---------------------------------------------------------------------------------------
// CachePolicy

struct Expected {
    std::string_view cache_control;
    std::optional<std::int64_t> max_age;
};

void expect_header(const CacheHeader *h, std::optional<Expected> want) {
    if (!want) {
        EXPECT_EQ(h, nullptr);
        return;
    }
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->cache_control, want->cache_control);
    EXPECT_EQ(h->max_age, want->max_age);
}

constexpr std::int64_t kYearSeconds = 31536000;

TEST(CachePolicyHeaders, DefaultsExactly) {
    CachePolicy p;
    expect_header(p.header_for(FP, StaticKind::script, "js"),
                  Expected{"public, max-age=31536000, immutable", kYearSeconds});
    expect_header(p.header_for(FP, StaticKind::none, ""),
                  Expected{"public, max-age=31536000, immutable", kYearSeconds});
    expect_header(p.header_for(ST, StaticKind::image, "png"),
                  Expected{"public, max-age=86400, stale-while-revalidate=86400", 86400});
    expect_header(p.header_for(ST, StaticKind::font, "woff2"),
                  Expected{"public, max-age=2592000, stale-while-revalidate=86400", 2592000});
    expect_header(p.header_for(ST, StaticKind::style, "css"),
                  Expected{"public, max-age=3600, stale-while-revalidate=60", 3600});
    expect_header(p.header_for(ST, StaticKind::script, "js"),
                  Expected{"public, max-age=3600, stale-while-revalidate=60", 3600});
    expect_header(p.header_for(ST, StaticKind::media, "mp4"),
                  Expected{"public, max-age=86400, stale-while-revalidate=86400", 86400});
    expect_header(p.header_for(DOC, StaticKind::document, "html"),
                  Expected{"no-cache", std::nullopt});
    expect_header(p.header_for(DOC, StaticKind::document, ""), Expected{"no-cache", std::nullopt});
    expect_header(p.header_for(NO, StaticKind::none, "zip"), std::nullopt);
    expect_header(p.header_for(NO, StaticKind::none, ""), std::nullopt);
    EXPECT_EQ(p.versioned_prefixes, std::vector<std::string>{"/_next/static/"});
}

TEST(CachePolicyHeaders, ImpossibleCombinationsAreLeftUntouched) {
    CachePolicy p;
    expect_header(p.header_for(ST, StaticKind::none, ""), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::document, "html"), std::nullopt);
    expect_header(p.header_for(ST, static_cast<StaticKind>(42), "png"), std::nullopt);
    expect_header(p.header_for(static_cast<AssetClass>(42), StaticKind::image, "png"),
                  std::nullopt);
}

TEST(CachePolicyHeaders, PrebuiltNotBuiltPerCall) {
    CachePolicy p;
    ASSERT_EQ(p.add_rule(".pdf", "1d"), std::nullopt);
    const CacheHeader *a = p.header_for(ST, StaticKind::image, "png");
    const CacheHeader *b = p.header_for(ST, StaticKind::image, "gif");
    EXPECT_NE(a, nullptr);
    EXPECT_EQ(a, b);
    EXPECT_EQ(p.header_for(NO, StaticKind::none, "pdf"), p.header_for(NO, StaticKind::none, "PDF"));
    EXPECT_NE(p.header_for(FP, StaticKind::script, "js"),
              p.header_for(ST, StaticKind::script, "js"));
}

TEST(CachePolicyRules, ClassAndKindDurations) {
    CachePolicy p;
    ASSERT_EQ(p.add_rule("fingerprinted", "30d"), std::nullopt);
    expect_header(p.header_for(FP, StaticKind::script, "js"),
                  Expected{"public, max-age=2592000, immutable", 2592000});
    ASSERT_EQ(p.add_rule("fingerprinted", "0"), std::nullopt);
    expect_header(p.header_for(FP, StaticKind::script, "js"), Expected{"public, max-age=0", 0});

    // stale-while-revalidate: the kind's own, never beyond the lifetime.
    ASSERT_EQ(p.add_rule("static", "2h"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::image, "png"),
                  Expected{"public, max-age=7200, stale-while-revalidate=7200", 7200});
    expect_header(p.header_for(ST, StaticKind::font, "woff"),
                  Expected{"public, max-age=7200, stale-while-revalidate=7200", 7200});
    expect_header(p.header_for(ST, StaticKind::script, "js"),
                  Expected{"public, max-age=7200, stale-while-revalidate=60", 7200});
    expect_header(p.header_for(ST, StaticKind::media, "mp4"),
                  Expected{"public, max-age=7200, stale-while-revalidate=7200", 7200});
    ASSERT_EQ(p.add_rule("image", "1y"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::image, "png"),
                  Expected{"public, max-age=31536000, stale-while-revalidate=86400", kYearSeconds});
    ASSERT_EQ(p.add_rule("style", "10s"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::style, "css"),
                  Expected{"public, max-age=10, stale-while-revalidate=10", 10});
    ASSERT_EQ(p.add_rule("script", "0"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::script, "js"), Expected{"public, max-age=0", 0});
    ASSERT_EQ(p.add_rule("media", "no-cache"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::media, "mp4"), Expected{"no-cache", std::nullopt});
    ASSERT_EQ(p.add_rule("font", "off"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::font, "woff2"), std::nullopt);

    ASSERT_EQ(p.add_rule("document", "5m"), std::nullopt);
    expect_header(p.header_for(DOC, StaticKind::document, "html"), Expected{"max-age=300", 300});
    ASSERT_EQ(p.add_rule("document", "off"), std::nullopt);
    expect_header(p.header_for(DOC, StaticKind::document, "html"), std::nullopt);
    ASSERT_EQ(p.add_rule("fingerprinted", "off"), std::nullopt);
    expect_header(p.header_for(FP, StaticKind::script, "js"), std::nullopt);
    ASSERT_EQ(p.add_rule("fingerprinted", "no-cache"), std::nullopt);
    expect_header(p.header_for(FP, StaticKind::script, "js"), Expected{"no-cache", std::nullopt});
}

TEST(CachePolicyRules, LaterRulesWin) {
    CachePolicy p;
    ASSERT_EQ(p.add_rule("image", "1h"), std::nullopt);
    ASSERT_EQ(p.add_rule("image", "2h"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::image, "png"),
                  Expected{"public, max-age=7200, stale-while-revalidate=7200", 7200});
    ASSERT_EQ(p.add_rule("static", "off"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::image, "png"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::style, "css"), std::nullopt);
    ASSERT_EQ(p.add_rule("font", "30d"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::font, "woff2"),
                  Expected{"public, max-age=2592000, stale-while-revalidate=86400", 2592000});
    expect_header(p.header_for(ST, StaticKind::image, "png"), std::nullopt);
    ASSERT_EQ(p.add_rule("static", "1d"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::font, "woff2"),
                  Expected{"public, max-age=86400, stale-while-revalidate=86400", 86400});
    ASSERT_EQ(p.add_rule(".css", "1h"), std::nullopt);
    ASSERT_EQ(p.add_rule(".CSS", "off"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::style, "css"), std::nullopt);
    ASSERT_EQ(p.add_rule(".css", "90s"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::style, "css"),
                  Expected{"public, max-age=90, stale-while-revalidate=60", 90});
}

TEST(CachePolicyRules, ExtensionBeatsKindWhateverTheOrder) {
    CachePolicy p;
    ASSERT_EQ(p.add_rule(".css", "10m"), std::nullopt);
    ASSERT_EQ(p.add_rule("style", "1d"), std::nullopt);  // after, yet not for .css
    ASSERT_EQ(p.add_rule("static", "2d"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::style, "css"),
                  Expected{"public, max-age=600, stale-while-revalidate=60", 600});
    expect_header(p.header_for(ST, StaticKind::style, "CSS"),
                  Expected{"public, max-age=600, stale-while-revalidate=60", 600});
    // Another style (no extension: by content type) has the kind's.
    expect_header(p.header_for(ST, StaticKind::style, ""),
                  Expected{"public, max-age=172800, stale-while-revalidate=60", 172800});

    ASSERT_EQ(p.add_rule(".png", "off"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::image, "png"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::image, "gif"),
                  Expected{"public, max-age=172800, stale-while-revalidate=86400", 172800});
    ASSERT_EQ(p.add_rule(".woff2", "no-cache"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::font, "woff2"), Expected{"no-cache", std::nullopt});
}

TEST(CachePolicyRules, ExtensionRulesStayInTheirClass) {
    CachePolicy p;
    ASSERT_EQ(p.add_rule(".js", "10m"), std::nullopt);
    ASSERT_EQ(p.add_rule(".json", "60s"), std::nullopt);
    ASSERT_EQ(p.add_rule(".pdf", "1d"), std::nullopt);
    ASSERT_EQ(p.add_rule(".php", "30s"), std::nullopt);

    // Fingerprinted URLs only follow the fingerprinted rule.
    expect_header(p.header_for(FP, StaticKind::script, "js"),
                  Expected{"public, max-age=31536000, immutable", kYearSeconds});
    // A static extension's rule is not for a document at that URL (an SPA's fallback page,
    // a redirect the caller made a document).
    expect_header(p.header_for(DOC, StaticKind::document, "js"),
                  Expected{"no-cache", std::nullopt});
    expect_header(p.header_for(DOC, StaticKind::script, "js"), Expected{"no-cache", std::nullopt});
    expect_header(p.header_for(ST, StaticKind::script, "js"),
                  Expected{"public, max-age=600, stale-while-revalidate=60", 600});
    // A document extension's rule is for documents; shaped as a document's.
    expect_header(p.header_for(DOC, StaticKind::document, "json"), Expected{"max-age=60", 60});
    expect_header(p.header_for(DOC, StaticKind::document, "html"),
                  Expected{"no-cache", std::nullopt});
    // An unknown extension's rule gives its untouched files and its documents a lifetime.
    expect_header(p.header_for(NO, StaticKind::none, "pdf"), Expected{"max-age=86400", 86400});
    expect_header(p.header_for(NO, StaticKind::none, "PDF"), Expected{"max-age=86400", 86400});
    expect_header(p.header_for(DOC, StaticKind::document, "php"), Expected{"max-age=30", 30});
    expect_header(p.header_for(NO, StaticKind::none, "zip"), std::nullopt);
    expect_header(p.header_for(NO, StaticKind::none, "js"), std::nullopt);
    expect_header(p.header_for(NO, StaticKind::none, "json"), std::nullopt);
}

TEST(CachePolicyRules, KeywordsAreCaseInsensitive) {
    CachePolicy p;
    ASSERT_EQ(p.add_rule("STATIC", "Off"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::image, "png"), std::nullopt);
    ASSERT_EQ(p.add_rule("Image", "NO-CACHE"), std::nullopt);
    expect_header(p.header_for(ST, StaticKind::image, "png"), Expected{"no-cache", std::nullopt});
    ASSERT_EQ(p.add_rule("Fingerprinted", "1d"), std::nullopt);
    expect_header(p.header_for(FP, StaticKind::none, ""),
                  Expected{"public, max-age=86400, immutable", 86400});
    ASSERT_EQ(p.add_rule("DOCUMENT", "1m"), std::nullopt);
    expect_header(p.header_for(DOC, StaticKind::document, ""), Expected{"max-age=60", 60});
}

TEST(CachePolicyRules, BadRulesNameTheBadWordAndChangeNothing) {
    struct Case {
        std::string_view target;
        std::string_view value;
        std::string_view error;
    };
    const Case cases[] = {
        {".wo ff", "1d", R"(unknown cache rule target ".wo ff")"},
        {"banana", "1d", R"(unknown cache rule target "banana")"},
        {"", "1d", R"(unknown cache rule target "")"},
        {".", "1d", R"(unknown cache rule target ".")"},
        {"..css", "1d", R"(unknown cache rule target "..css")"},
        {".tar.gz", "1d", R"(unknown cache rule target ".tar.gz")"},
        {".css/", "1d", R"(unknown cache rule target ".css/")"},
        {".abcdefghijklmnopq", "1d", R"(unknown cache rule target ".abcdefghijklmnopq")"},
        {"css", "1d", R"(unknown cache rule target "css")"},
        {"images", "1d", R"(unknown cache rule target "images")"},
        {"none", "1d", R"(unknown cache rule target "none")"},
        {"untouched", "1d", R"(unknown cache rule target "untouched")"},
        {" static", "1d", R"(unknown cache rule target " static")"},
        {".\x01\xff", "1d", R"(unknown cache rule target ".\x01\xff")"},
        {"say\"hi\\", "1d", R"(unknown cache rule target "say\"hi\\")"},
        {"banana", "7x", R"(unknown cache rule target "banana")"},  // the target first
        {"static", "7x", R"(invalid lifetime "7x")"},
        {"image", "", R"(invalid lifetime "")"},
        {"image", "-1d", R"(invalid lifetime "-1d")"},
        {"image", "forever", R"(invalid lifetime "forever")"},
        {"image", "no cache", R"(invalid lifetime "no cache")"},
        {"image", "on", R"(invalid lifetime "on")"},
        {"image", "12h1d", R"(invalid lifetime "12h1d")"},
        {"fingerprinted", "69y", R"(invalid lifetime "69y")"},
        {".css", "99999999999999999999", R"(invalid lifetime "99999999999999999999")"},
        {"document", "1h\n", R"(invalid lifetime "1h\x0a")"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.target) + " " + std::string(c.value));
        CachePolicy p;
        auto err = p.add_rule(c.target, c.value);
        ASSERT_TRUE(err.has_value());
        EXPECT_EQ(*err, c.error);
        // Nothing changed.
        expect_header(p.header_for(ST, StaticKind::image, "png"),
                      Expected{"public, max-age=86400, stale-while-revalidate=86400", 86400});
        expect_header(p.header_for(ST, StaticKind::style, "css"),
                      Expected{"public, max-age=3600, stale-while-revalidate=60", 3600});
        expect_header(p.header_for(FP, StaticKind::none, ""),
                      Expected{"public, max-age=31536000, immutable", kYearSeconds});
        expect_header(p.header_for(DOC, StaticKind::document, "html"),
                      Expected{"no-cache", std::nullopt});
    }
}

TEST(CachePolicyRules, GoodTargetsAndValues) {
    const std::string_view targets[] = {
        "fingerprinted",    "static", "document", "image", "font", "style",
        "script",           "media",  ".woff2",   ".JPG",  ".c++", ".x_y-z",
        ".abcdefghijklmnop"};
    const std::string_view values[] = {"1y", "30d",   "12h",      "10m", "45s",
                                       "0",  "1d12h", "no-cache", "off"};
    for (auto t : targets) {
        for (auto v : values) {
            SCOPED_TRACE(std::string(t) + " " + std::string(v));
            CachePolicy p;
            EXPECT_EQ(p.add_rule(t, v), std::nullopt);
        }
    }
}

// Through classify, as the module calls it.
TEST(CachePolicyRules, EndToEnd) {
    CachePolicy p;
    ASSERT_EQ(p.add_rule(".css", "10m"), std::nullopt);
    ASSERT_EQ(p.add_rule("image", "off"), std::nullopt);
    ASSERT_EQ(p.add_rule("fingerprinted", "30d"), std::nullopt);
    auto header = [&](std::string_view path, std::string_view query, std::string_view type) {
        StaticKind kind = StaticKind::none;
        std::string_view ext;
        AssetClass cls = classify(path, query, type, p.versioned_prefixes, &kind, &ext);
        return p.header_for(cls, kind, ext);
    };
    expect_header(header("/rules/a.css", "", "text/css"),
                  Expected{"public, max-age=600, stale-while-revalidate=60", 600});
    expect_header(header("/rules/b.png", "", "image/png"), std::nullopt);
    expect_header(header("/rules/c.5d41402abc.js", "", "application/javascript"),
                  Expected{"public, max-age=2592000, immutable", 2592000});
    expect_header(header("/rules/c.5d41402abc.css", "", "text/css"),
                  Expected{"public, max-age=2592000, immutable", 2592000});
    expect_header(header("/index.html", "", "text/html"), Expected{"no-cache", std::nullopt});
    expect_header(header("/files/report.zip", "", "application/zip"), std::nullopt);
    expect_header(header("/font.woff2", "", "font/woff2"),
                  Expected{"public, max-age=2592000, stale-while-revalidate=86400", 2592000});
}

// ---------------------------------------------------------------------------------------
// The request path does not allocate. Counted with AddressSanitizer's allocator hooks, so
// only in the sanitizer build (PULSE_SANITIZE=ON).

#if defined(__SANITIZE_ADDRESS__)
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *,
                                                                             std::size_t),
                                                         void (*free_hook)(const volatile void *));

std::size_t g_allocations = 0;
bool g_counting = false;
void count_malloc(const volatile void *, std::size_t) {
    if (g_counting) ++g_allocations;
}
void ignore_free(const volatile void *) {}
#endif

TEST(CacheAllocation, RequestPathDoesNotAllocate) {
#if defined(__SANITIZE_ADDRESS__)
    static const bool installed =
        __sanitizer_install_malloc_and_free_hooks(count_malloc, ignore_free) != 0;
    ASSERT_TRUE(installed);
    CachePolicy p;
    ASSERT_EQ(p.add_rule(".pdf", "1d"), std::nullopt);
    ASSERT_EQ(p.add_rule(".css", "10m"), std::nullopt);
    const std::string meteor = cat("/__cordova/", kSha1, ".css");
    const std::string long_path(100000, 'a');
    struct Case {
        std::string_view path, query, type;
    };
    const Case cases[] = {
        {"/assets/index-BkS9ysgA.js", "", "application/javascript"},
        {meteor, "meteor_css_resource=true", "text/css"},
        {"/_next/static/chunks/main.js", "", ""},
        {"/_next/static/../x", "v=3f2a9c1b5e", ""},
        {"/site.css", "a=1&v=3f2a9c1b5e", "text/css; charset=utf-8"},
        {"/report.PDF", "", "application/pdf"},
        {"/index.html", "", "text/html"},
        {long_path, long_path, long_path},
    };
    std::size_t found = 0;
    g_allocations = 0;
    g_counting = true;
    for (const auto &c : cases) {
        StaticKind kind = StaticKind::none;
        std::string_view ext;
        AssetClass cls = classify(c.path, c.query, c.type, p.versioned_prefixes, &kind, &ext);
        found += p.header_for(cls, kind, ext) != nullptr;
        found += classify(c.path, c.query, "", p.versioned_prefixes) == AssetClass::fingerprinted;
        found += kind_from_content_type(c.type) != StaticKind::none;
        found += kind_from_extension(ext) != StaticKind::none;
        found += cache_control_forbids_caching(c.type);
    }
    found += cache_control_forbids_caching("public, max-age=60, private=\"set-cookie\"");
    g_counting = false;
    EXPECT_EQ(g_allocations, 0u);
    EXPECT_GT(found, 0u);  // the calls did happen
    // The counter does count.
    g_allocations = 0;
    g_counting = true;
    std::string s(1000, 'x');
    g_counting = false;
    EXPECT_GT(g_allocations, 0u);
    EXPECT_EQ(s.size(), 1000u);
#else
    GTEST_SKIP() << "allocation counting needs the sanitizer build (PULSE_SANITIZE=ON)";
#endif
}

}  // namespace
}  // namespace pulse
