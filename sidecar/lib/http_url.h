// The URLs pulse-sidecar's HTTP client takes (http:// and https://), and the proxy that
// libcurl's rules pick for one from the environment: pure logic, no network.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pulse::sidecar {

struct HttpUrl {
    bool https = false;
    std::string host;          // an IPv6 address without its brackets
    std::uint16_t port = 0;    // the scheme's (80, 443) when the URL names none
    std::string target = "/";  // path and query as written, "/" when empty; no fragment
    // user[:password]@ before the host, percent-decoded: the client sends them as Basic
    // credentials, as libcurl did.
    std::optional<std::string> user, password;
};

// "http[s]://[user[:password]@]host[:port][/path][?query][#fragment]", or why not.
std::variant<HttpUrl, std::string> parse_http_url(std::string_view url);

// An IP address (IPv4, or IPv6 without brackets) rather than a name.
bool is_ip_address(std::string_view host);

// "host:port", an IPv6 address in brackets: a CONNECT request's target.
std::string url_authority(const HttpUrl &url);
// The Host header: url_authority without the scheme's default port.
std::string url_host_header(const HttpUrl &url);
// "http://host:port/path?query": the target of a request sent to a proxy.
std::string url_absolute_target(const HttpUrl &url);

// The value of an environment variable, nullptr when unset (std::getenv in the client).
using EnvLookup = std::function<const char *(const char *name)>;

// The proxy libcurl would send a request for `url` through, from the environment:
// `http_proxy` (lower case only) for http://, `https_proxy` then `HTTPS_PROXY` for
// https://, else `all_proxy` then `ALL_PROXY`; a set but empty variable means none; a host
// `no_proxy` (else `NO_PROXY`) matches goes direct. A proxy without a scheme is http://,
// without a port :1080. Only http:// proxies are supported: any other scheme is an error.
std::variant<std::optional<HttpUrl>, std::string> proxy_for_url(const HttpUrl &url,
                                                                const EnvLookup &env);

// Whether `host` is in a no_proxy list, by libcurl's rules: "*" alone matches every host;
// else a comma (or blank) separated list of names, each matching itself and its
// subdomains (a leading or trailing dot ignored, case ignored), and of IP addresses with an
// optional /bits network prefix, matching IP hosts.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

// Base64 of "user:password", the value of a Basic Authorization header after "Basic ".
std::string basic_credentials(std::string_view user, std::string_view password);

}  // namespace pulse::sidecar
