// The adapter's two kinds of HTTP client (http_client.h): GETs to the Kubernetes API with
// the service account's bearer token and CA, and the parallel /signals reads of many pods
// (all of one API request's reads at once in one thread, each with the fetch timeout).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace pulse::sidecar {

struct HttpResult {
    long status = 0;  // 0: no HTTP answer (see error)
    std::string body;
    std::string error;  // transport error, one line
};

struct KubeOptions {
    std::string api_url;     // "https://10.96.0.1:443", no trailing slash needed
    std::string token_file;  // empty: no Authorization header
    std::string ca_file;     // empty: the system's trust store
    double timeout = 10;     // seconds, whole request
    // A client certificate and key (PEM), for a user authenticated by certificate
    // (`pulse-sidecar hpa explain` with an admin's credentials); empty: none.
    std::string client_cert, client_key;
};

class KubeClient {
  public:
    explicit KubeClient(KubeOptions options);
    ~KubeClient();
    KubeClient(const KubeClient &) = delete;
    KubeClient &operator=(const KubeClient &) = delete;

    // GET {api_url}{path_and_query}. The token file is read at every call, so a rotated
    // service account token is picked up. Thread-safe; connections are reused.
    HttpResult get(const std::string &path_and_query);

    const KubeOptions &options() const { return options_; }

  private:
    struct Pool;
    KubeOptions options_;
    std::unique_ptr<Pool> pool_;
};

// GETs every URL at once (plain HTTP, no proxy, at most `max_body` bytes each) and returns
// one result per URL, in order. Each transfer has `timeout` seconds in all.
std::vector<HttpResult> fetch_all(const std::vector<std::string> &urls, double timeout,
                                  std::size_t max_body = 1024 * 1024);

}  // namespace pulse::sidecar
