#include "http_url.h"

#include <gtest/gtest.h>

#include <map>

namespace {

using namespace pulse::sidecar;

HttpUrl parse(const std::string &text) {
    auto r = parse_http_url(text);
    if (auto *e = std::get_if<std::string>(&r)) ADD_FAILURE() << text << ": " << *e;
    return std::get_if<HttpUrl>(&r) ? std::get<HttpUrl>(r) : HttpUrl{};
}

std::string error_of(const std::string &text) {
    auto r = parse_http_url(text);
    return std::get_if<std::string>(&r) ? std::get<std::string>(r) : "";
}

TEST(HttpUrl, SchemeHostPortTarget) {
    HttpUrl u = parse("http://127.0.0.1:8080/metrics");
    EXPECT_FALSE(u.https);
    EXPECT_EQ(u.host, "127.0.0.1");
    EXPECT_EQ(u.port, 8080);
    EXPECT_EQ(u.target, "/metrics");
    EXPECT_FALSE(u.user);

    u = parse("HTTPS://Kubernetes.default.svc");
    EXPECT_TRUE(u.https);
    EXPECT_EQ(u.host, "Kubernetes.default.svc");
    EXPECT_EQ(u.port, 443);
    EXPECT_EQ(u.target, "/");
}

TEST(HttpUrl, QueryKeptFragmentDropped) {
    EXPECT_EQ(parse("http://h/a/b?x=1&y=%2F#frag").target, "/a/b?x=1&y=%2F");
    EXPECT_EQ(parse("http://h?labelSelector=a").target, "/?labelSelector=a");
    EXPECT_EQ(parse("http://h:81#x").target, "/");
}

TEST(HttpUrl, Ipv6InBrackets) {
    HttpUrl u = parse("http://[fd00::1]:9145/signals");
    EXPECT_EQ(u.host, "fd00::1");
    EXPECT_EQ(u.port, 9145);
    EXPECT_EQ(url_authority(u), "[fd00::1]:9145");
    EXPECT_EQ(url_host_header(u), "[fd00::1]:9145");
    EXPECT_EQ(url_host_header(parse("https://[::1]/")), "[::1]");
}

TEST(HttpUrl, UserinfoDecoded) {
    HttpUrl u = parse("http://us%40er:p%3Ass@h:1/");
    EXPECT_EQ(u.user, "us@er");
    EXPECT_EQ(u.password, "p:ss");
    EXPECT_EQ(u.host, "h");
    u = parse("http://user@h/");
    EXPECT_EQ(u.user, "user");
    EXPECT_FALSE(u.password);
}

TEST(HttpUrl, HostHeaderOmitsTheDefaultPort) {
    EXPECT_EQ(url_host_header(parse("http://h:80/")), "h");
    EXPECT_EQ(url_host_header(parse("http://h:443/")), "h:443");
    EXPECT_EQ(url_host_header(parse("https://h:443/")), "h");
    EXPECT_EQ(url_absolute_target(parse("http://h/x?y")), "http://h:80/x?y");
}

TEST(HttpUrl, Errors) {
    EXPECT_NE(error_of("ftp://h/"), "");
    EXPECT_NE(error_of("127.0.0.1:8080/metrics"), "");
    EXPECT_NE(error_of("http:///x"), "");
    EXPECT_NE(error_of("http://h:0/"), "");
    EXPECT_NE(error_of("http://h:65536/"), "");
    EXPECT_NE(error_of("http://h:8o/"), "");
    EXPECT_NE(error_of("http://[::1/"), "");
    EXPECT_NE(error_of("http://[nope]/"), "");
    EXPECT_NE(error_of("http://::1/"), "");
    EXPECT_NE(error_of("http://h/a b"), "");
    EXPECT_NE(error_of("http://u%zz@h/"), "");
    EXPECT_NE(error_of(""), "");
}

TEST(HttpUrl, IpAddresses) {
    EXPECT_TRUE(is_ip_address("10.0.0.7"));
    EXPECT_TRUE(is_ip_address("::1"));
    EXPECT_TRUE(is_ip_address("fd00::a:1"));
    EXPECT_FALSE(is_ip_address("localhost"));
    EXPECT_FALSE(is_ip_address("10.0.0.256"));
    EXPECT_FALSE(is_ip_address(""));
}

TEST(NoProxy, NamesMatchThemselvesAndTheirSubdomains) {
    EXPECT_TRUE(no_proxy_matches("example.com", "example.com"));
    EXPECT_TRUE(no_proxy_matches("example.com", "www.Example.COM"));
    EXPECT_TRUE(no_proxy_matches(".example.com", "www.example.com"));
    EXPECT_TRUE(no_proxy_matches(".example.com", "example.com"));
    EXPECT_TRUE(no_proxy_matches("example.com.", "example.com."));
    EXPECT_FALSE(no_proxy_matches("example.com", "nonexample.com"));
    EXPECT_FALSE(no_proxy_matches("www.example.com", "example.com"));
    EXPECT_TRUE(no_proxy_matches("a.org, svc ,b.net", "kubernetes.default.svc"));
    EXPECT_TRUE(no_proxy_matches("a.org,,localhost", "localhost"));
    EXPECT_FALSE(no_proxy_matches("", "localhost"));
}

TEST(NoProxy, StarAloneMatchesEverything) {
    EXPECT_TRUE(no_proxy_matches("*", "anything"));
    EXPECT_TRUE(no_proxy_matches("*", "10.0.0.1"));
    EXPECT_FALSE(no_proxy_matches("*.example.com", "www.example.com"));  // as libcurl
}

TEST(NoProxy, AddressesAndNetworks) {
    EXPECT_TRUE(no_proxy_matches("10.96.0.1", "10.96.0.1"));
    EXPECT_FALSE(no_proxy_matches("10.96.0.1", "10.96.0.10"));
    EXPECT_TRUE(no_proxy_matches("10.0.0.0/8", "10.96.0.1"));
    EXPECT_TRUE(no_proxy_matches("10.96.0.0/12", "10.111.255.1"));
    EXPECT_FALSE(no_proxy_matches("10.96.0.0/12", "10.112.0.1"));
    EXPECT_FALSE(no_proxy_matches("10.0.0.0/33", "10.0.0.1"));
    EXPECT_TRUE(no_proxy_matches("fd00::/8", "fd12::1"));
    EXPECT_TRUE(no_proxy_matches("::1", "::1"));
    EXPECT_TRUE(no_proxy_matches("[::1]", "::1"));
    EXPECT_FALSE(no_proxy_matches("localhost", "127.0.0.1"));  // names never match addresses
    EXPECT_FALSE(no_proxy_matches("127.0.0.1", "localhost"));
}

struct Env {
    std::map<std::string, std::string> vars;
    EnvLookup lookup() const {
        return [this](const char *name) -> const char * {
            auto it = vars.find(name);
            return it == vars.end() ? nullptr : it->second.c_str();
        };
    }
};

std::optional<HttpUrl> proxy(const Env &env, const std::string &url) {
    auto r = proxy_for_url(parse(url), env.lookup());
    if (auto *e = std::get_if<std::string>(&r)) ADD_FAILURE() << url << ": " << *e;
    return std::get_if<std::optional<HttpUrl>>(&r) ? std::get<std::optional<HttpUrl>>(r)
                                                   : std::nullopt;
}

TEST(ProxyFromEnv, AsLibcurlReadsIt) {
    Env env;
    EXPECT_FALSE(proxy(env, "http://h/"));
    env.vars["HTTP_PROXY"] = "http://ignored:1";  // never the upper case http one
    EXPECT_FALSE(proxy(env, "http://h/"));
    env.vars["http_proxy"] = "proxy.local:3128";
    auto p = proxy(env, "http://h/");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host, "proxy.local");
    EXPECT_EQ(p->port, 3128);
    EXPECT_FALSE(proxy(env, "https://h/"));

    env.vars["HTTPS_PROXY"] = "http://user:pw@upper";
    p = proxy(env, "https://h/");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host, "upper");
    EXPECT_EQ(p->port, 1080);  // libcurl's default proxy port
    EXPECT_EQ(p->user, "user");
    env.vars["https_proxy"] = "";  // set and empty: no proxy, the upper case one not read
    EXPECT_FALSE(proxy(env, "https://h/"));

    Env all;
    all.vars["ALL_PROXY"] = "http://all:8";
    ASSERT_TRUE(proxy(all, "https://h/"));
    all.vars["all_proxy"] = "http://lower:9";
    EXPECT_EQ(proxy(all, "http://h/")->host, "lower");
    all.vars["NO_PROXY"] = "h";
    EXPECT_FALSE(proxy(all, "http://h/"));
    EXPECT_TRUE(proxy(all, "http://g/"));
    all.vars["no_proxy"] = "g";  // the lower case one wins
    EXPECT_TRUE(proxy(all, "http://h/"));
    EXPECT_FALSE(proxy(all, "http://g/"));
}

TEST(ProxyFromEnv, OnlyHttpProxies) {
    Env env;
    env.vars["https_proxy"] = "socks5://127.0.0.1:1080";
    auto r = proxy_for_url(parse("https://h/"), env.lookup());
    ASSERT_TRUE(std::holds_alternative<std::string>(r));
    EXPECT_NE(std::get<std::string>(r).find("socks5"), std::string::npos);
}

TEST(BasicCredentials, Base64OfUserColonPassword) {
    EXPECT_EQ(basic_credentials("Aladdin", "open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    EXPECT_EQ(basic_credentials("a", ""), "YTo=");
    EXPECT_EQ(basic_credentials("ab", "c"), "YWI6Yw==");
    EXPECT_EQ(basic_credentials("ab", "cd"), "YWI6Y2Q=");
}

}  // namespace
