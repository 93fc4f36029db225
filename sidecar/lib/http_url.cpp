#include "http_url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "common/ascii_case.h"
#include "common/percent_encoding.h"

namespace pulse::sidecar {

using common::iequals;

namespace {

bool is_ipv4(std::string_view host) {
    char buf[INET_ADDRSTRLEN];
    if (host.size() >= sizeof buf) return false;
    std::memcpy(buf, host.data(), host.size());
    buf[host.size()] = '\0';
    unsigned char addr[4];
    return inet_pton(AF_INET, buf, addr) == 1;
}

// The 16 bytes of an IPv6 address, or of an IPv4 one (then in the first 4).
std::optional<std::array<unsigned char, 16>> address_bytes(std::string_view host, int family) {
    char buf[INET6_ADDRSTRLEN + 1];
    if (host.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, host.data(), host.size());
    buf[host.size()] = '\0';
    std::array<unsigned char, 16> addr{};
    if (inet_pton(family, buf, addr.data()) != 1) return std::nullopt;
    return addr;
}

// `host` (an IP address of `family`) within network/bits; no bits: equal.
bool in_network(std::string_view host, std::string_view network, int family) {
    unsigned bits = family == AF_INET ? 32 : 128;
    if (std::size_t slash = network.find('/'); slash != std::string_view::npos) {
        std::string_view b = network.substr(slash + 1);
        auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), bits);
        if (ec != std::errc() || end != b.data() + b.size() || b.empty()) return false;
        if (bits > (family == AF_INET ? 32u : 128u)) return false;
        network = network.substr(0, slash);
    }
    auto a = address_bytes(host, family), n = address_bytes(network, family);
    if (!a || !n) return false;
    unsigned full = bits / 8, rest = bits % 8;
    if (std::memcmp(a->data(), n->data(), full) != 0) return false;
    if (rest == 0) return true;
    unsigned mask = (0xffu << (8 - rest)) & 0xffu;
    return ((*a)[full] & mask) == ((*n)[full] & mask);
}

// The authority and the rest of a URL whose scheme (and "://") is already taken off.
std::variant<HttpUrl, std::string> parse_rest(std::string_view rest, bool https,
                                              std::uint16_t default_port) {
    HttpUrl url;
    url.https = https;
    std::size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (std::size_t hash = tail.find('#'); hash != std::string_view::npos)
        tail = tail.substr(0, hash);
    if (tail.empty()) {
        url.target = "/";
    } else if (tail.front() == '?') {
        // (assign + append: g++ 12 at -O3 warns falsely of "/" + std::string, -Wrestrict)
        url.target.assign(1, '/');
        url.target.append(tail);
    } else {
        url.target = std::string(tail);
    }

    if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        std::size_t colon = userinfo.find(':');
        auto user = common::percent_decode_strict(userinfo.substr(0, colon));
        if (!user) return std::string("malformed user name (bad % escape)");
        url.user = std::move(*user);
        if (colon != std::string_view::npos) {
            auto password = common::percent_decode_strict(userinfo.substr(colon + 1));
            if (!password) return std::string("malformed password (bad % escape)");
            url.password = std::move(*password);
        }
    }

    std::string_view host, port;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::string("unclosed [ in the host");
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::string("junk after the ] of the host");
            port = after.substr(1);
        }
        if (!address_bytes(host, AF_INET6)) return std::string("bad IPv6 address in the host");
    } else {
        std::size_t colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return std::string("an IPv6 address must be in brackets");
    }
    if (host.empty()) return std::string("no host");
    url.host = std::string(host);
    url.port = default_port;
    if (!port.empty()) {
        unsigned value = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
            return "bad port \"" + std::string(port) + "\"";
        url.port = static_cast<std::uint16_t>(value);
    }
    return url;
}

}  // namespace

std::variant<HttpUrl, std::string> parse_http_url(std::string_view text) {
    for (char c : text) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            return std::string("malformed URL (a blank or control character in it)");
    }
    std::size_t sep = text.find("://");
    if (sep == std::string_view::npos) return std::string("not an http:// or https:// URL");
    std::string_view scheme = text.substr(0, sep);
    bool https;
    if (iequals(scheme, "http")) {
        https = false;
    } else if (iequals(scheme, "https")) {
        https = true;
    } else {
        return "unsupported protocol \"" + std::string(scheme) + "\"";
    }
    return parse_rest(text.substr(sep + 3), https, https ? 443 : 80);
}

bool is_ip_address(std::string_view host) {
    return is_ipv4(host) || address_bytes(host, AF_INET6).has_value();
}

std::string url_authority(const HttpUrl &url) {
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    return host + ":" + std::to_string(url.port);
}

std::string url_host_header(const HttpUrl &url) {
    if (url.port == (url.https ? 443 : 80))
        return url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    return url_authority(url);
}

std::string url_absolute_target(const HttpUrl &url) {
    return std::string(url.https ? "https://" : "http://") + url_authority(url) + url.target;
}

std::variant<std::optional<HttpUrl>, std::string> proxy_for_url(const HttpUrl &url,
                                                                const EnvLookup &env) {
    // libcurl: the lower case name first; HTTP_PROXY never (a CGI script's environment
    // has it from the request's Proxy: header).
    const char *name = url.https ? "https_proxy" : "http_proxy";
    const char *value = env(name);
    if (value == nullptr && url.https) {
        name = "HTTPS_PROXY";
        value = env(name);
    }
    if (value == nullptr) {
        name = "all_proxy";
        value = env(name);
    }
    if (value == nullptr) {
        name = "ALL_PROXY";
        value = env(name);
    }
    if (value == nullptr || *value == '\0') return std::optional<HttpUrl>();

    const char *no_proxy = env("no_proxy");
    if (no_proxy == nullptr) no_proxy = env("NO_PROXY");
    if (no_proxy != nullptr && no_proxy_matches(no_proxy, url.host))
        return std::optional<HttpUrl>();

    std::string_view proxy = value;
    std::string_view rest = proxy;
    if (std::size_t sep = proxy.find("://"); sep != std::string_view::npos) {
        std::string_view scheme = proxy.substr(0, sep);
        if (!iequals(scheme, "http")) {
            return "the proxy " + std::string(name) + "=" + std::string(proxy) + ": " +
                   std::string(scheme) + ":// proxies are not supported, only http://";
        }
        rest = proxy.substr(sep + 3);
    }
    for (char c : rest) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            return "the proxy " + std::string(name) +
                   " is malformed (a blank or control character)";
    }
    auto parsed = parse_rest(rest, false, 1080);
    if (auto *error = std::get_if<std::string>(&parsed))
        return "the proxy " + std::string(name) + "=" + std::string(proxy) + ": " + *error;
    return std::optional<HttpUrl>(std::move(std::get<HttpUrl>(parsed)));
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host) {
    if (host.empty() || no_proxy.empty()) return false;
    if (no_proxy == "*") return true;
    if (host.size() > 1 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    int family = 0;
    if (is_ipv4(host)) {
        family = AF_INET;
    } else if (address_bytes(host, AF_INET6)) {
        family = AF_INET6;
    } else if (host.back() == '.') {
        host.remove_suffix(1);
    }
    auto is_separator = [](char c) { return c == ',' || c == ' ' || c == '\t'; };
    std::size_t i = 0;
    while (i < no_proxy.size()) {
        while (i < no_proxy.size() && is_separator(no_proxy[i])) ++i;
        std::size_t start = i;
        while (i < no_proxy.size() && !is_separator(no_proxy[i])) ++i;
        std::string_view token = no_proxy.substr(start, i - start);
        if (token.empty()) continue;
        if (family != 0) {
            if (token.size() > 1 && token.front() == '[' && token.find(']') != std::string::npos) {
                std::size_t close = token.find(']');
                std::string t =
                    std::string(token.substr(1, close - 1)) + std::string(token.substr(close + 1));
                if (in_network(host, t, family)) return true;
            } else if (in_network(host, token, family)) {
                return true;
            }
            continue;
        }
        if (token.back() == '.') token.remove_suffix(1);
        if (!token.empty() && token.front() == '.') token.remove_prefix(1);
        if (token.empty()) continue;
        if (token.size() == host.size()) {
            if (iequals(token, host)) return true;
        } else if (token.size() < host.size()) {
            if (host[host.size() - token.size() - 1] == '.' &&
                iequals(token, host.substr(host.size() - token.size())))
                return true;
        }
    }
    return false;
}

std::string basic_credentials(std::string_view user, std::string_view password) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string in = std::string(user) + ":" + std::string(password);
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                     static_cast<unsigned char>(in[i + 1]) << 8 |
                     static_cast<unsigned char>(in[i + 2]);
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += kAlphabet[v >> 6 & 63];
        out += kAlphabet[v & 63];
    }
    if (std::size_t left = in.size() - i; left > 0) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (left == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += left == 2 ? kAlphabet[v >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

}  // namespace pulse::sidecar
