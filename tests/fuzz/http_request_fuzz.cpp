// libFuzzer target for the sidecar's HTTP request handling (tests/fuzz/run.sh runs it): the
// bytes a client sends, read as sidecar/app/http_server.cpp reads them (Beast's request
// parser with the front's limits, then the head's sizes against HttpLimits, then the
// HttpRequest a handler gets: split_target, the fields, the body), and what handlers ask
// of it (header(), param()). The parser's limits, the head's sizes and the HttpRequest come
// from sidecar/lib/http_request_reading.h, the lines the server reads requests with.
//
// Checks, beyond no crash: the request line is the input's first line, as sent; path and
// query put back together are the target; header() answers the first field of that name
// in any case; param() answers the first parameter of that name, decoded, and the decoding
// survives percent_encode; and the HttpRequest written out again as HTTP/1.1 (with a
// Content-Length for its body) parses again to the same request.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "common/ascii_case.h"
#include "common/percent_encoding.h"
#include "http_limits.h"
#include "http_message.h"
#include "http_request_reading.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using namespace pulse;
using sidecar::HttpRequest;

[[noreturn]] void broken(const char *what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

std::string_view view(beast::string_view s) {
    return {s.data(), s.size()};
}

// The request the front would hand to its handler, or nullopt where it answers itself
// (a malformed request, a limit broken) or waits for more bytes.
std::optional<HttpRequest> read_request(std::string_view bytes) {
    const sidecar::HttpLimits limits;
    http::request_parser<http::string_body> parser;
    sidecar::limit_request_parser(parser, limits);
    parser.eager(true);
    beast::error_code ec;
    std::size_t used = 0;
    while (!parser.is_done() && used < bytes.size()) {
        const std::size_t n =
            parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
        if (ec == http::error::need_more) return std::nullopt;  // the client has more to send
        if (ec) return std::nullopt;                            // 400, 413, 414 or 431
        if (n == 0) break;
        used += n;
    }
    // A request's end is never the connection's (no body runs to EOF): unfinished, the
    // front waits for the rest until its deadline and closes without an answer.
    if (!parser.is_done()) return std::nullopt;
    auto &message = parser.get();
    auto [line, fields] = sidecar::head_sizes(message);
    if (sidecar::status_for_head(line, fields, limits) != 0) return std::nullopt;

    HttpRequest request = sidecar::request_from(message);
    auto [path, query] = sidecar::split_target(view(message.target()));
    const std::string_view target = view(message.target());
    const std::string joined = target.find('?') == std::string_view::npos
                                   ? std::string(path) + std::string(query)
                                   : std::string(path) + "?" + std::string(query);
    if (joined != target || path.find('?') != std::string_view::npos)
        broken("path and query are not the target");
    if (!bytes.starts_with(request.method + " " + std::string(target) + " HTTP/1."))
        broken("the request line is not the input's first line");
    return request;
}

void check_lookups(const HttpRequest &r) {
    for (const auto &[name, value] : r.headers) {
        std::optional<std::string> got = r.header(name);
        if (!got) broken("header() misses a field");
        for (const auto &[n, v] : r.headers) {
            if (common::iequals(n, name)) {
                if (*got != v) broken("header() is not the first field of that name");
                break;
            }
        }
    }
    // A name nobody sent: one longer than every field's name.
    std::size_t longest = 0;
    for (const auto &[n, v] : r.headers) longest = std::max(longest, n.size());
    if (r.header(std::string(longest + 1, 'Z'))) broken("header() answers a field nobody sent");
    std::string_view q = r.query;
    std::size_t items = 0;
    while (!q.empty() && items++ < 64) {
        const std::size_t amp = q.find('&');
        const std::string_view item = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        const std::size_t eq = item.find('=');
        const std::string name = common::percent_decode(item.substr(0, eq), common::Plus::space);
        const std::optional<std::string> value = r.param(name);
        if (!value) broken("param() misses a parameter");
        if (common::percent_decode(common::percent_encode(*value)) != *value)
            broken("a decoded parameter does not survive percent_encode");
    }
}

std::string written(const HttpRequest &r) {
    // A target is never empty: an empty path means it was "?" and a query.
    const bool question = r.path.empty() || !r.query.empty();
    std::string out = r.method + " " + r.path + (question ? "?" + r.query : "") + " HTTP/1.1\r\n";
    for (const auto &[name, value] : r.headers) {
        if (common::iequals(name, "Content-Length") || common::iequals(name, "Transfer-Encoding"))
            continue;
        out += name + ": " + value + "\r\n";
    }
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char *>(data), size);
    const std::optional<HttpRequest> request = read_request(bytes);
    if (!request) return 0;
    check_lookups(*request);

    const std::string again_text = written(*request);
    const std::optional<HttpRequest> again = read_request(again_text);
    if (!again) {
        // Beyond the limits only because of the Content-Length the copy adds.
        if (again_text.size() > 8 * 1024) return 0;
        broken("the request written out again does not parse");
    }
    auto without_framing = [](const HttpRequest &r) {
        std::vector<std::pair<std::string, std::string>> h;
        for (const auto &f : r.headers) {
            if (!common::iequals(f.first, "Content-Length") &&
                !common::iequals(f.first, "Transfer-Encoding"))
                h.push_back(f);
        }
        return h;
    };
    if (again->method != request->method || again->path != request->path ||
        again->query != request->query || again->body != request->body ||
        without_framing(*again) != without_framing(*request))
        broken("the request written out again parses to another request");
    return 0;
}
