#include "scraper.h"

#include <curl/curl.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pulse::sidecar {

namespace {

constexpr std::size_t kMaxBody = 64 * 1024 * 1024;  // a runaway answer is an error, not OOM

struct Buffer {
    std::string *out;
    bool too_big = false;
};

std::size_t write_body(char *data, std::size_t size, std::size_t n, void *user) {
    auto b = static_cast<Buffer *>(user);
    if (b->out->size() + size * n > kMaxBody) {
        b->too_big = true;
        return 0;
    }
    b->out->append(data, size * n);
    return size * n;
}

struct CurlGlobal {
    CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

void ensure_global() {
    static CurlGlobal global;
}

}  // namespace

struct Scraper::Impl {
    std::string url;
    ScrapeOptions options;
    CURL *curl = nullptr;
    curl_slist *headers = nullptr;
    char error[CURL_ERROR_SIZE] = {};

    void set_headers(const std::string *token) {
        curl_slist_free_all(headers);
        headers = curl_slist_append(nullptr, ("Accept: " + options.accept).c_str());
        if (token)
            headers = curl_slist_append(headers, ("Authorization: Bearer " + *token).c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    }
};

namespace {
ScrapeOptions timeouts(double connect_timeout, double total_timeout) {
    ScrapeOptions o;
    o.connect_timeout = connect_timeout;
    o.total_timeout = total_timeout;
    return o;
}
}  // namespace

Scraper::Scraper(std::string url, double connect_timeout, double total_timeout)
    : Scraper(std::move(url), timeouts(connect_timeout, total_timeout)) {}

Scraper::Scraper(std::string url, ScrapeOptions options) : impl_(std::make_unique<Impl>()) {
    ensure_global();
    impl_->url = std::move(url);
    impl_->options = std::move(options);
    impl_->curl = curl_easy_init();
    if (impl_->curl == nullptr) throw std::runtime_error("curl_easy_init failed");
    CURL *c = impl_->curl;
    const ScrapeOptions &o = impl_->options;
    impl_->set_headers(nullptr);
    curl_easy_setopt(c, CURLOPT_URL, impl_->url.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout * 1000));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o.total_timeout * 1000));
    if (!o.tls_ca.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.tls_ca.c_str());
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "pulse-sidecar");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, impl_->error);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
}

Scraper::~Scraper() {
    curl_easy_cleanup(impl_->curl);
    curl_slist_free_all(impl_->headers);
}

ScrapeResult Scraper::scrape() {
    ScrapeResult r;
    if (!impl_->options.bearer_token_file.empty()) {
        std::ifstream in(impl_->options.bearer_token_file);
        std::stringstream token;
        if (in.is_open()) token << in.rdbuf();
        if (!in.is_open() || in.bad()) {
            r.error = "scrape " + impl_->url + ": cannot read bearer_token_file " +
                      impl_->options.bearer_token_file;
            return r;
        }
        std::string t = token.str();
        while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' '))
            t.pop_back();
        impl_->set_headers(&t);
    }
    Buffer buffer{&r.body};
    impl_->error[0] = '\0';
    curl_easy_setopt(impl_->curl, CURLOPT_WRITEDATA, &buffer);
    auto start = std::chrono::steady_clock::now();
    CURLcode rc = curl_easy_perform(impl_->curl);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (rc != CURLE_OK) {
        r.error = buffer.too_big    ? "answer larger than 64 MiB"
                  : impl_->error[0] ? impl_->error
                                    : curl_easy_strerror(rc);
        r.error = "scrape " + impl_->url + ": " + r.error;
        return r;
    }
    curl_easy_getinfo(impl_->curl, CURLINFO_RESPONSE_CODE, &r.status);
    char *type = nullptr;
    curl_easy_getinfo(impl_->curl, CURLINFO_CONTENT_TYPE, &type);
    if (type != nullptr) r.content_type = type;
    if (r.status != 200) {
        r.error = "scrape " + impl_->url + ": HTTP status " + std::to_string(r.status);
        return r;
    }
    r.ok = true;
    return r;
}

long http_request(const std::string &method, const std::string &url, double timeout,
                  std::string &body, std::string &error) {
    ensure_global();
    CURL *c = curl_easy_init();
    if (c == nullptr) {
        error = "curl_easy_init failed";
        return 0;
    }
    char errbuf[CURL_ERROR_SIZE] = {};
    Buffer buffer{&body};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST") curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &buffer);
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    } else {
        error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    }
    curl_easy_cleanup(c);
    return status;
}

}  // namespace pulse::sidecar
