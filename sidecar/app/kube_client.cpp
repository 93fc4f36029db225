#include "kube_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace pulse::sidecar {

namespace {

struct Sink {
    std::string *out;
    std::size_t max;
    bool too_big = false;
};

std::size_t write_body(char *data, std::size_t size, std::size_t n, void *user) {
    auto sink = static_cast<Sink *>(user);
    if (sink->out->size() + size * n > sink->max) {
        sink->too_big = true;
        return 0;
    }
    sink->out->append(data, size * n);
    return size * n;
}

void ensure_curl_global() {
    static const bool once = [] {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return true;
    }();
    (void)once;
}

std::string read_token(const std::string &path, std::string &error) {
    std::ifstream in(path);
    if (!in) {
        error = "cannot read the token file " + path;
        return {};
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string token = ss.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
        token.pop_back();
    return token;
}

std::string transfer_error(CURLcode rc, const char *errbuf, const Sink &sink) {
    if (sink.too_big) return "answer larger than " + std::to_string(sink.max) + " bytes";
    return errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
}

}  // namespace

// Idle easy handles: each keeps its connection (and TLS session) to the API server.
struct KubeClient::Pool {
    std::mutex mutex;
    std::vector<CURL *> idle;

    ~Pool() {
        for (CURL *c : idle) curl_easy_cleanup(c);
    }
    CURL *take() {
        {
            std::lock_guard lock(mutex);
            if (!idle.empty()) {
                CURL *c = idle.back();
                idle.pop_back();
                return c;
            }
        }
        return curl_easy_init();
    }
    void give_back(CURL *c) {
        std::lock_guard lock(mutex);
        if (idle.size() < 16) {
            idle.push_back(c);
            return;
        }
        curl_easy_cleanup(c);
    }
};

KubeClient::KubeClient(KubeOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()) {
    ensure_curl_global();
    while (!options_.api_url.empty() && options_.api_url.back() == '/') options_.api_url.pop_back();
}

KubeClient::~KubeClient() = default;

HttpResult KubeClient::get(const std::string &path_and_query) {
    HttpResult r;
    std::string token;
    if (!options_.token_file.empty()) {
        token = read_token(options_.token_file, r.error);
        if (!r.error.empty()) return r;
    }
    CURL *c = pool_->take();
    if (c == nullptr) {
        r.error = "curl_easy_init failed";
        return r;
    }
    curl_easy_reset(c);  // keeps the connection cache
    std::string url = options_.api_url + path_and_query;
    char errbuf[CURL_ERROR_SIZE] = {};
    Sink sink{&r.body, 64 * 1024 * 1024};
    curl_slist *headers = curl_slist_append(nullptr, "Accept: application/json");
    std::string auth;
    if (!token.empty()) {
        auth = "Authorization: Bearer " + token;
        headers = curl_slist_append(headers, auth.c_str());
    }
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.client_cert.empty()) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, options_.client_cert.c_str());
        curl_easy_setopt(c, CURLOPT_SSLKEY, options_.client_key.c_str());
    }
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(options_.timeout, 5.0) * 1000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "pulse-sidecar-adapter");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    } else {
        r.error = "GET " + url + ": " + transfer_error(rc, errbuf, sink);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(headers);
    pool_->give_back(c);
    return r;
}

std::vector<HttpResult> fetch_all(const std::vector<std::string> &urls, double timeout,
                                  std::size_t max_body) {
    ensure_curl_global();
    std::vector<HttpResult> results(urls.size());
    if (urls.empty()) return results;
    struct Transfer {
        CURL *curl = nullptr;
        Sink sink{nullptr, 0};
        char errbuf[CURL_ERROR_SIZE] = {};
    };
    std::vector<Transfer> transfers(urls.size());
    CURLM *multi = curl_multi_init();
    if (multi == nullptr) {
        for (auto &r : results) r.error = "curl_multi_init failed";
        return results;
    }
    long timeout_ms = std::max(1L, static_cast<long>(timeout * 1000));
    curl_slist *close_header = curl_slist_append(nullptr, "Connection: close");
    for (std::size_t i = 0; i < urls.size(); ++i) {
        Transfer &t = transfers[i];
        t.sink = Sink{&results[i].body, max_body};
        t.curl = curl_easy_init();
        if (t.curl == nullptr) {
            results[i].error = "curl_easy_init failed";
            continue;
        }
        curl_easy_setopt(t.curl, CURLOPT_URL, urls[i].c_str());
        curl_easy_setopt(t.curl, CURLOPT_PROXY, "");  // pod IPs are reached directly
        // One request per connection, closed at once: a sidecar serves with a few threads,
        // and an idle keep-alive connection would hold one of them until the batch ends.
        curl_easy_setopt(t.curl, CURLOPT_HTTPHEADER, close_header);
        curl_easy_setopt(t.curl, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(t.curl, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(t.curl, CURLOPT_USERAGENT, "pulse-sidecar-adapter");
        curl_easy_setopt(t.curl, CURLOPT_ERRORBUFFER, t.errbuf);
        curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, write_body);
        curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t.sink);
        curl_easy_setopt(t.curl, CURLOPT_PRIVATE, reinterpret_cast<char *>(i));
        curl_multi_add_handle(multi, t.curl);
    }
    int running = 0;
    do {
        CURLMcode mc = curl_multi_perform(multi, &running);
        if (mc != CURLM_OK) break;
        if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    } while (running > 0);
    int left = 0;
    while (CURLMsg *msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        char *priv = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        auto i = reinterpret_cast<std::size_t>(priv);
        if (i >= urls.size()) continue;
        if (msg->data.result == CURLE_OK) {
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &results[i].status);
        } else {
            results[i].error =
                "GET " + urls[i] + ": " +
                transfer_error(msg->data.result, transfers[i].errbuf, transfers[i].sink);
        }
    }
    for (std::size_t i = 0; i < transfers.size(); ++i) {
        if (transfers[i].curl == nullptr) continue;
        if (results[i].status == 0 && results[i].error.empty())
            results[i].error = "GET " + urls[i] + ": not finished";
        curl_multi_remove_handle(multi, transfers[i].curl);
        curl_easy_cleanup(transfers[i].curl);
    }
    curl_multi_cleanup(multi);
    curl_slist_free_all(close_header);
    return results;
}

}  // namespace pulse::sidecar
