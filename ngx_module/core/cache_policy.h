// The cache policy: which class a response's URL belongs to (fingerprinted asset, static
// but unversioned, document, or none of these), and which Cache-Control each class gets.
//
// Everything the request path needs is decided at configuration time: the classifier
// scans the URL once, without allocating, and the policy hands back a header value built
// when the configuration was read.
//
// Classification (`classify`), in this order:
//  1. Documents are never cached as immutable. A response is a document when its content
//     type says so (HTML, XHTML, JSON and +json, XML and +xml, text/cache-manifest) —
//     whatever its URL says, so an SPA's index.html answered for a missing hashed asset
//     is not kept for a year — or when its extension does (html, htm, xhtml, json, xml,
//     rss, atom, webmanifest, manifest, appcache, txt). text/plain alone is not a
//     document type: nginx's default_type gives it to files it has no type for (a ".js"
//     served without mime.types), but the "txt" extension is (robots.txt, security.txt,
//     ads.txt are read by crawlers that must see the current one).
//  2. A fingerprinted URL (see `classify`) is immutable whatever its extension
//     (a hashed ".zip" or ".map" too), the document exception above aside.
//  3. Static but unversioned: a known static extension (image, font, style, script,
//     media); a URL with no extension at all is classified by its content type instead.
//     An unknown extension (".php", ".cgi", ".pdf", ".zip") is never static by content
//     type: "/captcha.php" answering image/png is a program, not a file.
//  4. Everything else is untouched.
//
// Headers (`CachePolicy::header_for`), defaults:
//   fingerprinted  public, max-age=31536000, immutable                  (1 year)
//   image          public, max-age=86400, stale-while-revalidate=86400    (1 day)
//   font           public, max-age=2592000, stale-while-revalidate=86400  (30 days)
//   style, script  public, max-age=3600, stale-while-revalidate=60        (1 hour)
//   media          public, max-age=86400, stale-while-revalidate=86400    (1 day)
//   document       no-cache                                               (Expires in the past)
//   untouched      nothing (header_for returns nullptr)
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

enum class AssetClass : std::uint8_t { fingerprinted, static_asset, document, untouched };
inline constexpr std::size_t kAssetClassCount = 4;

// The `policy` label of nginx_http_cache_policy_responses_total: "fingerprinted",
// "static", "document", "untouched".
std::string_view asset_class_label(AssetClass c);

// What kind of static file an extension or content type names; it chooses the default
// lifetime of unversioned static files.
enum class StaticKind : std::uint8_t { none, image, font, style, script, media, document };
inline constexpr std::size_t kStaticKindCount = 7;

// By extension (case-insensitive, without the dot): "png" -> image, "html" -> document.
//   image:    png jpg jpeg jpe gif webp avif svg svgz ico cur bmp tif tiff apng jxl heic heif
//   font:     woff woff2 ttf otf eot
//   style:    css
//   script:   js mjs cjs wasm map (a source map follows the script or style it describes)
//   media:    mp4 m4v webm ogv ogg oga opus mp3 m4a aac flac wav mov mkv avi mpeg mpg vtt
//   document: html htm xhtml json xml rss atom webmanifest manifest appcache txt
StaticKind kind_from_extension(std::string_view ext);
// By content type, parameters and case ignored: "text/css; charset=utf-8" -> style.
//   image/*; font/* and the legacy application/font-*, application/x-font-*,
//   application/vnd.ms-fontobject; text/css; text/javascript, application/javascript,
//   application/x-javascript, application/ecmascript, text/ecmascript, application/wasm;
//   audio/*, video/*; documents as listed at the top. Anything else (text/plain,
//   application/octet-stream, text/event-stream...) is none.
StaticKind kind_from_content_type(std::string_view type);

// A URL is fingerprinted when it carries a content hash, so its content can never
// change. The file name (last path segment) must have an extension; its stem (the name
// without the last extension) is cut at "." and "-" into parts:
// - a part of 8 to 64 hex characters (either case) with at least one digit and one
//   letter: "app.3f2a9c1b.js", "main-3f2a9c1b5e.css", "2.8e0f3c1a.chunk.css", Sprockets'
//   "application-<64 hex>.css", and Meteor's "/<40 hex>.js" bundles (also under
//   /__browser.legacy/ and /__cordova/). "feedback", "facade", "decade" (no digit),
//   "12345678", "2024" (no letter) and "jquery-3.7.1" are not hashes;
// - Vite/Rollup's "<name>-<8 chars of [A-Za-z0-9_-]>" at the end of a dot-separated part,
//   with at least one digit, one uppercase and one lowercase letter among the 8
//   ("index-BkS9ysgA.js", "vendor-a1B2c3D4.js", "chunk-Dq_3x-Zy.js",
//   "index-BkS9ysgA.js.map"). Rollup's base64url hashes nearly always mix all three;
//   names people write rarely do: "photo-1024x768.jpg" (WordPress thumbnails),
//   "holiday-IMG_1234.jpg", "banner-summer24.png", "slide-image001.jpg" are not hashes.
//   A Rollup hash without a digit or in one case only (about 29% of them, mostly for
//   lack of a digit) is missed and gets the static lifetime, which is safe;
//   "about-us.js" is too short;
// - a query parameter "v" or "hash" (exact, lowercase names) whose value is 8 to 64 hex
//   characters with a digit and a letter ("?v=3f2a9c1b5e"; not "?v=abc", "?v=1.2.3",
//   "?v=20240101");
// - a path starting with one of `versioned_prefixes` (plain string prefixes, compared
//   case-sensitively: end them with "/"), unless the path has a "." or ".." segment, a
//   backslash or a percent-encoded "." or "/" (%2e, %2f, %5c): nginx hands over
//   normalised URIs, a path that still has these is not trusted to be under the prefix.
// Hashes in directory names are not recognised (they are as often user or record ids).
//
// Classifies a response (see the top of this file). `content_type` may be empty (a 304
// has none): the URL decides. `kind` receives document for documents, the static kind
// for static assets, the kind of the extension (or, without one, of the content type)
// for fingerprinted URLs, none for untouched ones. `extension` receives the extension of
// the last path segment ("app.3f2a9c1b.js" -> "js"), a view into `path`, or empty: no
// dot, a trailing dot, or a name that only starts with one (".htaccess", "..").
// Linear in the length of the path and query, no allocation.
//
// Redirects: the content type of a redirect describes its stub body, not what the URL
// names; callers pass an empty content type for 3xx, as for 304.
AssetClass classify(std::string_view path, std::string_view query, std::string_view content_type,
                    const std::vector<std::string> &versioned_prefixes, StaticKind *kind = nullptr,
                    std::string_view *extension = nullptr);
// The same with the content type read already: the content type matters to the class
// only as `type_kind`, kind_from_content_type(content_type), so a caller can read each
// content type once (ClassifyMemo::content_type_kind) and not once per URL.
AssetClass classify(std::string_view path, std::string_view query, StaticKind type_kind,
                    const std::vector<std::string> &versioned_prefixes, StaticKind *kind = nullptr,
                    std::string_view *extension = nullptr);

// An upstream Cache-Control the policy must keep (unless told to override): it says
// no-store, private or no-cache as a directive (any case, with or without an argument:
// `private="set-cookie"`, `no-cache="x"`), not as a part of another token
// ("x-no-store-ish") nor inside a quoted argument (`foo="a, no-store"`).
bool cache_control_forbids_caching(std::string_view cache_control);

// One class's answer: the Cache-Control value, and how long Expires lies ahead
// (nullopt: "Expires" is set to a date in the past, as nginx's `expires epoch` does for
// no-cache; for untouched nothing is set at all).
struct CacheHeader {
    std::string cache_control;
    std::optional<std::int64_t> max_age;  // seconds
};

// Lifetimes by class and kind, with the operator's `pulse_cache_rule`s applied.
//
// Rules (`add_rule`), each replacing what an earlier rule said for the same target:
// - targets: "fingerprinted"; "static" (every static kind at once); "document"; a kind
//   ("image", "font", "style", "script", "media"); an extension with its dot (".woff2",
//   case-insensitive, [A-Za-z0-9_+-], up to 16 characters).
// - values: a lifetime (`parse_lifetime`), "no-cache" (Cache-Control: no-cache, Expires
//   in the past) or "off" (leave those responses untouched).
// - keywords (targets, "no-cache", "off") are case-insensitive, as nginx's own are;
//   lifetime units are not ("M" is a month, "m" a minute).
// - an extension rule beats a kind or class rule for that extension, whichever came
//   first; it applies to responses of the class its extension belongs to (".css" to
//   unversioned styles, ".json" to documents) and, for an extension the classifier does
//   not know (".pdf", ".zip", ".php"), to documents and untouched responses with it — a
//   rule can give such files a lifetime, and the caller then counts them as static
//   (header_for returned a header for an untouched class). Fingerprinted URLs are only
//   changed by the "fingerprinted" rule.
// Headers for a lifetime N seconds:
//   fingerprinted                 public, max-age=N, immutable   ("public, max-age=0" for 0)
//   a static kind, or an
//   extension of one              public, max-age=N, stale-while-revalidate=S where S is
//                                 min(the kind's default S, N): a kind keeps its tolerance
//                                 for staleness but never beyond the lifetime itself; the
//                                 directive is left out when S is 0
//   document, or an extension
//   of a document or of none      max-age=N (no "public": pages may differ per user, as
//                                 nginx's own `expires` does)
//   Expires lies N seconds ahead.
class CachePolicy {
  public:
    CachePolicy();

    // `target`: "fingerprinted", "static", "document", a kind ("image", "font", "style",
    // "script", "media"), or an extension with its dot (".woff2"). `value`: a duration
    // ("1y", "30d", "12h", "10m", "45s", "0"), "no-cache", or "off" (leave untouched).
    // Returns an error message, or nothing: `unknown cache rule target ".wo ff"`,
    // `invalid lifetime "7x"` (bytes outside printable ASCII are shown as \xNN).
    // A failed rule changes nothing.
    std::optional<std::string> add_rule(std::string_view target, std::string_view value);

    std::vector<std::string> versioned_prefixes{"/_next/static/"};

    // The header for a response of `cls` whose static kind (for static_asset) is `kind`
    // and whose extension is `ext`; nullptr when the response is to be left untouched.
    // A pointer into this policy, valid until the next add_rule; no allocation.
    const CacheHeader *header_for(AssetClass cls, StaticKind kind, std::string_view ext) const;

    // What this policy answers for a response: classify with its versioned prefixes, then
    // header_for. `type_kind` is kind_from_content_type of the response's content type.
    struct Decision {
        AssetClass cls;
        StaticKind kind;
        std::uint16_t ext_size;  // the extension is the last ext_size bytes of the path
        const CacheHeader *header = nullptr;  // nullptr: leave the response untouched
    };
    Decision decide(std::string_view path, std::string_view query, StaticKind type_kind) const;

  private:
    struct Lifetime {
        bool off = false;
        bool no_cache = false;
        std::int64_t seconds = 0;
    };
    // `kind`: for static_asset, the kind (it chooses stale-while-revalidate); for an
    // extension rule, the extension's kind decides the shape (see above).
    static CacheHeader build(AssetClass cls, StaticKind kind, const Lifetime &l);
    void rebuild();

    Lifetime fingerprinted_, document_;
    std::array<Lifetime, kStaticKindCount> static_by_kind_;  // indexed by StaticKind
    struct ExtensionRule {
        std::string ext;  // lowercase, no dot
        StaticKind kind;  // kind_from_extension(ext)
        Lifetime lifetime;
        CacheHeader header;
    };
    std::vector<ExtensionRule> by_extension_;
    CacheHeader fingerprinted_header_, document_header_;
    std::array<CacheHeader, kStaticKindCount> static_headers_;
};

// Parses a lifetime into seconds, nginx style: a number with a unit, "1y" (365 days),
// "1M" (30 days), "1w", "30d", "12h", "10m", "45s", or several in decreasing order, each
// unit once ("1d12h", "1h30m"); a bare number is seconds ("0", "3600"). Rejected:
// empty text, signs, spaces, unknown or repeated units, units out of order ("12h1d"),
// a number after a unit without one ("1h30"), and anything above 2147483647 seconds
// (about 68 years, the largest delta-seconds every cache must understand).
std::optional<std::int64_t> parse_lifetime(std::string_view text);

}  // namespace pulse
