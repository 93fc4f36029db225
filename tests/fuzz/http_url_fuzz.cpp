// libFuzzer target for the URLs the sidecar's HTTP client takes (sidecar/lib/http_url.h):
// the scrape and source URLs of the config, the proxy variables and no_proxy of the
// environment. Input lines (LF-separated): URL, no_proxy, a proxy variable's value.
//
// Checks, beyond no crash: a parsed URL has a host, a port and a target that starts with
// "/" and has no fragment; its absolute form (what a proxy is sent) parses back to the
// same URL; the Host header and the authority name the host; "*" in no_proxy matches every
// host; and a proxy picked from the environment is itself a parsed http:// URL.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http_url.h"

namespace {

using namespace pulse::sidecar;

[[noreturn]] void broken(const char *what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

std::string_view next_line(std::string_view &rest) {
    const std::size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    return line;
}

void check_url(const HttpUrl &u) {
    if (u.host.empty()) broken("a parsed URL without a host");
    if (u.port == 0) broken("a parsed URL without a port");
    if (u.target.empty() || u.target[0] != '/') broken("a target that does not start with /");
    if (u.target.find('#') != std::string::npos) broken("a fragment kept in the target");
    if (url_authority(u).find(u.host) == std::string::npos) broken("the authority lost the host");
    if (url_host_header(u).find(u.host) == std::string::npos) broken("Host lost the host");

    const std::string absolute = url_absolute_target(u);
    auto again = parse_http_url(absolute);
    const HttpUrl *back = std::get_if<HttpUrl>(&again);
    if (back == nullptr) broken("the absolute target does not parse back");
    if (back->host != u.host || back->port != u.port || back->target != u.target ||
        back->https != u.https)
        broken("the absolute target parses back to another URL");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view rest(reinterpret_cast<const char *>(data), size);
    const std::string url(next_line(rest));
    const std::string no_proxy(next_line(rest));
    const std::string proxy(next_line(rest));

    auto parsed = parse_http_url(url);
    if (const std::string *error = std::get_if<std::string>(&parsed)) {
        if (error->empty()) broken("an empty error");
        return 0;
    }
    const HttpUrl &u = std::get<HttpUrl>(parsed);
    check_url(u);
    if (!no_proxy_matches("*", u.host)) broken("* does not match every host");
    (void)no_proxy_matches(no_proxy, u.host);
    (void)basic_credentials(u.user.value_or(""), u.password.value_or(""));

    const EnvLookup env = [&](const char *name) -> const char * {
        const std::string_view n(name);
        if (n == "no_proxy") return no_proxy.c_str();
        if (n == "http_proxy" || n == "https_proxy") return proxy.c_str();
        return nullptr;
    };
    auto picked = proxy_for_url(u, env);
    if (const auto *p = std::get_if<std::optional<HttpUrl>>(&picked); p != nullptr && *p) {
        if ((*p)->https) broken("an https:// proxy was accepted");
        check_url(**p);
    }
    return 0;
}
