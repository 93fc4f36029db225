#include "scraper.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "http_client.h"

namespace pulse::sidecar {

namespace {

constexpr std::size_t kMaxBody = 64 * 1024 * 1024;  // a runaway answer is an error, not OOM

ScrapeOptions timeouts(double connect_timeout, double total_timeout) {
    ScrapeOptions o;
    o.connect_timeout = connect_timeout;
    o.total_timeout = total_timeout;
    return o;
}

}  // namespace

struct Scraper::Impl {
    std::string url;
    ScrapeOptions options;
    HttpClientOptions client;
    HttpConnection connection;  // kept alive between scrapes

    ScrapeResult scrape();
};

Scraper::Scraper(std::string url, double connect_timeout, double total_timeout)
    : Scraper(std::move(url), timeouts(connect_timeout, total_timeout)) {}

Scraper::Scraper(std::string url, ScrapeOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->url = std::move(url);
    impl_->options = std::move(options);
    HttpClientOptions &c = impl_->client;
    c.connect_timeout = impl_->options.connect_timeout;
    c.total_timeout = impl_->options.total_timeout;
    c.max_body = kMaxBody;
    c.decode = true;  // Accept-Encoding: gzip
    c.ca_file = impl_->options.tls_ca;
    c.user_agent = "pulse-sidecar";
}

Scraper::~Scraper() = default;

ScrapeResult Scraper::scrape() {
    try {
        return impl_->scrape();
    } catch (const std::exception &e) {
        ScrapeResult r;
        r.error = "scrape " + impl_->url + ": " + e.what();
        return r;
    }
}

ScrapeResult Scraper::Impl::scrape() {
    ScrapeResult r;
    HttpClientRequest request;
    request.url = url;
    request.headers.emplace_back("Accept", options.accept);
    if (!options.bearer_token_file.empty()) {
        std::ifstream in(options.bearer_token_file);
        std::stringstream token;
        if (in.is_open()) token << in.rdbuf();
        if (!in.is_open() || in.bad()) {
            r.error =
                "scrape " + url + ": cannot read bearer_token_file " + options.bearer_token_file;
            return r;
        }
        std::string t = token.str();
        while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' '))
            t.pop_back();
        request.headers.emplace_back("Authorization", "Bearer " + t);
    }
    auto start = std::chrono::steady_clock::now();
    HttpClientResponse response = connection.perform(request, client);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (response.status == 0) {
        r.error = "scrape " + url + ": " +
                  (response.too_big ? std::string("answer larger than 64 MiB") : response.error);
        return r;
    }
    r.status = response.status;
    r.content_type = std::move(response.content_type);
    r.body = std::move(response.body);
    if (r.status != 200) {
        r.error = "scrape " + url + ": HTTP status " + std::to_string(r.status);
        return r;
    }
    r.ok = true;
    return r;
}

long http_request(const std::string &method, const std::string &url, double timeout,
                  std::string &body, std::string &error) {
    try {
        HttpClientOptions options;
        options.connect_timeout = 2;
        options.total_timeout = timeout;
        options.max_body = kMaxBody;
        HttpClientRequest request;
        request.method = method;
        request.url = url;
        HttpConnection connection;
        HttpClientResponse response = connection.perform(request, options);
        if (response.status == 0) {
            error = response.too_big ? std::string("answer larger than 64 MiB") : response.error;
            return 0;
        }
        body += response.body;
        return response.status;
    } catch (const std::exception &e) {
        error = e.what();
        return 0;
    }
}

}  // namespace pulse::sidecar
